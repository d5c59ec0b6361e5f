//! Error leaks: an answer never shows the handler's insides — a stack trace, a debug dump, an SQL
//! error, a server file path — whatever its status. Bitrix24 shows the answer to any user who
//! opens the settings, and such text maps the server for an attacker.

use super::{Check, Citation, Grade, fail, pass, skip};
use crate::suite::{EvidenceKind, Level};

pub const NO_ERROR_LEAK: Check = Check {
    id: "no-error-leak",
    level: Grade::Fixed(Level::Must),
    title: "No answer shows a stack trace, a debug dump, an SQL error or a server file path",
    evidence: Citation {
        kind: EvidenceKind::Specification,
        url: "https://github.com/OWASP/ASVS/blob/0eb441ae1d8bf23b0a897d4c104c40a7c788f03e/4.0/en/0x15-V7-Error-Logging.md",
        quote: "Verify that a generic message is shown when an unexpected or security sensitive error occurs, potentially with a unique ID which support personnel can use to investigate.",
    },
    judge: |_, exchange, _| {
        let Ok(response) = &exchange.response else { return skip("no answer") };
        let body = response.body.text();
        let headers = response.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect::<Vec<_>>().join("\n");
        // What the request itself carried is a reflection, not a leak (no-reflected-injection
        // owns reflections).
        let mut sent = None;
        for (needle, what) in NEEDLES {
            // Decoding the request is the costly part: only once the answer holds a needle, once.
            let shown = body.contains(needle) || headers.contains(needle);
            if shown && !sent.get_or_insert_with(|| exchange.request.sent_values()).iter().any(|v| v.contains(needle)) {
                return fail(format!("the answer shows {what} ({needle:?})"));
            }
        }
        pass(format!("no sign of the handler's insides in {} bytes", response.body.bytes.len()))
    },
};

/// Text that appears only where a server shows its insides, with what it gives away. Each is
/// specific enough not to occur on an ordinary settings page.
const NEEDLES: &[(&str, &str)] = &[
    ("Traceback (most recent call last)", "a Python stack trace"),
    ("Stack trace:\n#0 ", "a PHP stack trace"),
    (".php on line ", "a PHP error with its file and line"),
    ("PHP Fatal error", "a PHP error"),
    ("Whoops! There was an error", "a Laravel debug page"),
    ("You're seeing this error because you have DEBUG = True", "a Django debug page"),
    ("Werkzeug Debugger", "a Flask debug page"),
    ("    at Object.<anonymous>", "a Node.js stack trace"),
    ("    at Module._compile", "a Node.js stack trace"),
    ("(node:internal/", "a Node.js stack trace"),
    ("Exception in thread \"", "a Java stack trace"),
    ("\tat java.", "a Java stack trace"),
    ("panicked at ", "a Rust panic"),
    ("goroutine 1 [running]", "a Go stack trace"),
    ("SQLSTATE[", "an SQL error"),
    ("You have an error in your SQL syntax", "a MySQL error"),
    ("unterminated quoted string at or near", "a PostgreSQL error"),
    ("sqlite3.OperationalError", "an SQLite error"),
    ("ORA-00933", "an Oracle SQL error"),
    ("Microsoft OLE DB Provider for SQL Server", "an SQL Server error"),
    ("/var/www/", "a server file path"),
    ("/usr/lib/python3", "a server file path"),
    ("C:\\inetpub\\", "a server file path"),
    ("root:x:0:0:", "the contents of /etc/passwd"),
    ("object(stdClass)#", "a PHP var_dump"),
    ("<b>Warning</b>:  ", "a PHP warning"),
    ("<b>Notice</b>:  ", "a PHP notice"),
];
