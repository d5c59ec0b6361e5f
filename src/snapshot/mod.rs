//! Snapshots: per case, a normalised, redacted record of the exchange (its redirects, the
//! status, the headers that matter, the body, the calls to the portal), stored as
//! `<dir>/<case-id>.snap` in insta's file format so `cargo insta review` and a pull request's
//! diff both read it. The `snapshot` check compares each run's record with the stored one; a
//! difference fails it with a readable diff, a missing one is reported as new.
//!
//! Reading and writing the files happens here, called by the `snapshot` check, which the run
//! judges off its async workers; the comparison itself ([`compare`]) is a pure function.

mod diff;
mod file;
mod html;
pub mod name;
mod redact;
pub mod review;

use std::fmt::Write;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::record::{Exchange, HttpResponse, Outcome};
use crate::suite::Case;

pub use redact::Redactions;

/// The id of the check snapshots feed.
pub const CHECK_ID: &str = "snapshot";

/// Where snapshots live and what a run does with them.
#[derive(Clone, Debug)]
pub struct SnapshotConfig {
    /// Holds `<case-id>.snap` files (see [`name`]).
    pub dir: PathBuf,
    /// Write `<case-id>.snap.new` beside each snapshot that is new or differs, for review.
    pub update: bool,
    /// The user's redactions (`--redact REGEX`), after the built-in ones.
    pub redact: Vec<Regex>,
}

impl SnapshotConfig {
    pub fn new(dir: impl Into<PathBuf>) -> SnapshotConfig {
        SnapshotConfig { dir: dir.into(), update: false, redact: Vec::new() }
    }

    /// The stored snapshot of case `id`.
    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{}.snap", name::encode(id)))
    }

    /// The pending snapshot of case `id`, waiting for review.
    pub fn pending_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{}.snap.new", name::encode(id)))
    }
}

/// The snapshots of one run: its configuration and what varies from run to run.
pub struct Snapshots {
    config: SnapshotConfig,
    redactions: Redactions,
    seed: u64,
}

impl Snapshots {
    /// `addresses` are this run's `host:port`s with their names (`portal`, `handler`): they
    /// change every run, so snapshots show the names.
    pub fn new(config: SnapshotConfig, seed: u64, addresses: &[(String, &str)]) -> Snapshots {
        let mut redactions = Redactions::new(config.redact.clone());
        for (address, name) in addresses {
            redactions = redactions.literal(address, name);
        }
        Snapshots { config, redactions, seed }
    }

    /// The `snapshot` check's outcome and message on one case: its record compared with the
    /// stored snapshot, and, when updating, a `.snap.new` written for review where they differ.
    pub fn judge(&self, case: &Case, exchange: &Exchange) -> (Outcome, String) {
        let redactions = self
            .redactions
            .clone()
            .literal(&case.payload.auth_id, "AUTH_ID")
            .literal(&case.payload.refresh_id, "REFRESH_ID");
        let current = record(exchange, &redactions);
        let path = self.config.path(&case.id);
        let stored = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return (Outcome::Fail, format!("cannot read {}: {e}", path.display())),
        };
        let (outcome, mut message) = compare(&current, stored.as_deref().map(file::body), &path);
        if self.config.update {
            let pending = self.config.pending_path(&case.id);
            let written = match outcome {
                Outcome::Pass => remove_stale(&pending),
                _ => std::fs::create_dir_all(&self.config.dir)
                    .and_then(|()| std::fs::write(&pending, file::render(case, self.seed, &current))),
            };
            match (outcome, written) {
                (Outcome::Pass, _) => {}
                (_, Ok(())) => {
                    let _ = write!(message, "\n(written to {}: `b24-conform review` accepts it)", pending.display());
                }
                (_, Err(e)) => {
                    let _ = write!(message, "\n(cannot write {}: {e})", pending.display());
                }
            }
        }
        (outcome, message)
    }
}

fn remove_stale(pending: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(pending) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The `snapshot` check: `current` against the `stored` snapshot's body from `path`.
pub fn compare(current: &str, stored: Option<&str>, path: &Path) -> (Outcome, String) {
    match stored {
        None => (Outcome::New, format!("new: no snapshot at {} yet", path.display())),
        Some(stored) if stored.trim_end() == current.trim_end() => {
            (Outcome::Pass, format!("matches {}", path.display()))
        }
        Some(stored) => (
            Outcome::Fail,
            format!(
                "differs from {} (- stored, + this run):\n{}",
                path.display(),
                diff::render(&format!("{}\n", stored.trim_end()), &format!("{}\n", current.trim_end())).trim_end()
            ),
        ),
    }
}

/// Headers whose change changes what the portal's frame does with the answer; the others
/// (Date, Content-Length, Server, Connection…) vary or say nothing about the handler.
const HEADERS: &[&str] = &[
    "content-type",
    "location",
    "set-cookie",
    "cache-control",
    "x-frame-options",
    "content-security-policy",
    "www-authenticate",
    "access-control-allow-origin",
    "refresh",
];

/// The normalised record of an exchange, redacted: what a snapshot stores.
pub fn record(exchange: &Exchange, redactions: &Redactions) -> String {
    let mut out = String::new();
    // Where a page redirected to is part of what it does; none for most, so no line.
    for redirect in &exchange.redirects {
        let _ = writeln!(out, "redirect: {redirect}");
    }
    match &exchange.response {
        Ok(response) => response_record(&mut out, response),
        Err(error) => {
            let _ = writeln!(out, "no answer: {error}");
        }
    }
    if exchange.portal_calls.is_empty() {
        out.push_str("portal calls: none\n");
    } else {
        out.push_str("portal calls:\n");
        for call in &exchange.portal_calls {
            let _ = write!(out, "  {call}");
            if let Some(b) = &call.binding {
                let _ = write!(out, ", binds {} to {} ({:?})", b.placement, b.handler, b.title);
            }
            out.push('\n');
        }
    }
    redactions.apply(&out)
}

fn response_record(out: &mut String, response: &HttpResponse) {
    let _ = writeln!(out, "status: {}", response.status);
    let mut headers: Vec<&(String, String)> =
        response.headers.iter().filter(|(n, _)| HEADERS.contains(&n.to_ascii_lowercase().as_str())).collect();
    headers.sort_by_key(|(n, _)| n.to_ascii_lowercase());
    if headers.is_empty() {
        out.push_str("headers: none that matter\n");
    } else {
        out.push_str("headers:\n");
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            let value = if name == "set-cookie" { cookie(value) } else { value.clone() };
            let _ = writeln!(out, "  {name}: {value}");
        }
    }
    let text = response.body.text();
    let cut = if response.truncated { format!(", cut at {} bytes", response.body.bytes.len()) } else { String::new() };
    if text.trim().is_empty() {
        let _ = writeln!(out, "body: empty{cut}");
        return;
    }
    let content_type = response.header("content-type").unwrap_or_default().to_ascii_lowercase();
    let (kind, body) = if content_type.contains("html") {
        ("html, normalised", html::normalise(&text))
    } else if content_type.contains("json")
        && let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
    {
        ("json, keys sorted", sorted_json(&value) + "\n")
    } else {
        ("text", text.lines().map(|l| format!("{}\n", l.trim_end())).collect())
    };
    let _ = writeln!(out, "body ({kind}{cut}):");
    for line in body.lines() {
        let _ = writeln!(out, "  {line}");
    }
}

/// A cookie's value is a session id as often as not: its name and attributes are kept.
fn cookie(value: &str) -> String {
    match value.split_once('=') {
        Some((name, rest)) => {
            let attributes = rest.find(';').map_or("", |i| &rest[i..]);
            format!("{name}=[cookie]{attributes}")
        }
        None => value.to_owned(),
    }
}

/// JSON pretty-printed with object keys sorted, so key order does not churn a snapshot.
fn sorted_json(value: &serde_json::Value) -> String {
    fn sort(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sort(v))).collect())
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string_pretty(&sort(value)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixture::{self, answer, call};

    /// An answer of `headers` and `body`, after an expired token's call to the portal.
    fn exchange(headers: &[(&str, &str)], body: &str) -> Exchange {
        let calls = vec![call(401, Some("expired_token"))];
        Exchange {
            response: Ok(answer(200, headers, body)),
            ..fixture::exchange("http://127.0.0.1:1/", 200, "", calls)
        }
    }

    #[test]
    fn a_record_keeps_what_matters_and_redacts_what_varies() {
        let redactions = Redactions::default().literal("127.0.0.1:4711", "portal");
        let page = "<html><body><a href='http://127.0.0.1:4711/x'>Back</a></body></html>";
        let headers = [
            ("Content-Type", "text/html"),
            ("date", "Wed, 25 Nov 2026 21:27:53 GMT"),
            ("content-length", "70"),
            ("set-cookie", "PHPSESSID=8f3a; path=/; HttpOnly"),
        ];
        assert_eq!(
            record(&exchange(&headers, page), &redactions),
            "status: 200\nheaders:\n  content-type: text/html\n  set-cookie: PHPSESSID=[cookie]; path=/; HttpOnly\n\
             body (html, normalised):\n  <html>\n    <body>\n      <a href=\"http://[portal]/x\">Back</a>\n    </body>\n  </html>\n\
             portal calls:\n  home: POST user.current, given token → 401 expired_token\n"
        );
    }

    #[test]
    fn json_bodies_have_their_keys_sorted() {
        let record = record(
            &exchange(&[("content-type", "application/json")], r#"{"b":1,"a":{"d":2,"c":3}}"#),
            &Redactions::default(),
        );
        assert!(record.contains("body (json, keys sorted):\n  {\n    \"a\": {\n      \"c\": 3,"), "{record}");
    }

    #[test]
    fn compare_passes_differs_or_is_new() {
        let path = Path::new("snapshots/a~b.snap");
        assert_eq!(compare("x\n", Some("x"), path).0, Outcome::Pass);
        let (outcome, message) = compare("x\n", None, path);
        assert_eq!((outcome, message.as_str()), (Outcome::New, "new: no snapshot at snapshots/a~b.snap yet"));
        let (outcome, message) = compare("status: 201\n", Some("status: 200\n"), path);
        assert_eq!(outcome, Outcome::Fail);
        assert!(
            message.starts_with("differs from snapshots/a~b.snap (- stored, + this run):\n--- stored\n"),
            "{message}"
        );
        assert!(message.ends_with(&format!("-status: 200\n+status: 201\n?{}^", " ".repeat(10))), "{message}");
    }
}
