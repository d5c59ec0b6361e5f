//! The commands a report gives to reproduce a case: a curl that sends the same request, never
//! longer than [`MAX_COMMAND`], and the `b24-conform replay` line that starts the portal (and the
//! handler) again, which the curl alone cannot: its ports closed with the run.
//!
//! A shell refuses a command line past its limit ("Argument list too long") and a reader cannot
//! scroll past a 2 MB line, so a long body goes to a file (`--data-binary @FILE`) and a long URL
//! or header to a curl config file (`-K FILE`), both in [`BODIES`] beside the report.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::payload::Wire;
use crate::record::{Body, CaseReport, HttpRequest, RunInfo};

/// The directory, beside the report, of the files the commands read.
pub const BODIES: &str = "b24-conform-bodies";

/// The longest command a report prints.
pub(crate) const MAX_COMMAND: usize = 8 * 1024;

/// The longest body, as quoted for the shell, that a command carries itself: a few lines on a
/// terminal; anything longer is easier to read and to edit in its file.
const INLINE_BODY: usize = 2 * 1024;

/// The files a report may write beside it, and their bytes: past either, a case's command is the
/// `replay` line alone, so no run fills a disk with the bodies of its failures.
const FILES: usize = 200;
const FILE_BYTES: u64 = 64 << 20;

/// What every report says once, beside its reproduce commands.
pub(crate) const PORTS_CLOSED: &str = "The curl commands name the run's ports, which closed with it; `b24-conform replay` starts the portal (and a builtin handler) again.";

/// The handler `replay` runs against when it is given none.
const DEFAULT_HANDLER: &str = "builtin:reference";

/// Writes reproduce commands, and the files they read.
pub(crate) struct Reproducer {
    dir: PathBuf,
    /// The report goes to stdout: its last line names `dir` once a file is in it.
    to_stdout: bool,
    /// Files written, and their bytes.
    files: usize,
    bytes: u64,
}

impl Reproducer {
    pub fn new(beside: Option<PathBuf>) -> Reproducer {
        let to_stdout = beside.is_none();
        let dir = beside.unwrap_or_else(|| PathBuf::from(".")).join(BODIES);
        Reproducer { dir, to_stdout, files: 0, bytes: 0 }
    }

    /// The commands that reproduce case `id` of the run `info`, one a line: the curl that sends
    /// `request` again (unless its files would pass the budget), then the `replay` line.
    pub fn commands(&mut self, info: &RunInfo, case: &CaseReport) -> io::Result<String> {
        let replay = replay(info, &case.id);
        Ok(match self.curl(&case.id, &case.request, &case.reproduce)? {
            Some(curl) => format!("{curl}\n{replay}"),
            None => replay,
        })
    }

    /// A curl command that sends `request` again; `name` (a case id, or one with a suffix) names
    /// the files it reads, if it needs any. None when they would pass the budget.
    ///
    /// A request the record holds only the start of (a partition's report read back by `merge`)
    /// cannot be written to a file again: its command is the curl `recorded` for it, which reads
    /// the whole body from the partition's file, if the partition wrote one.
    pub fn curl(&mut self, name: &str, request: &HttpRequest, recorded: &str) -> io::Result<Option<String>> {
        if let Some(command) = inline(request) {
            return Ok(Some(command));
        }
        if !request.body.is_whole() {
            return Ok(recorded.starts_with(CURL).then(|| recorded.to_owned()));
        }
        let body = inline_body(&request.body);
        let mut target = target(request);
        let long =
            CURL.len() + request.method.len() + target.len() + body.as_ref().map_or(0, String::len) > MAX_COMMAND;
        let config = long.then(|| {
            // A URL this long (a field of the query string made huge) cannot be sent from a file
            // any other way: curl reads it, and the headers, from a config file.
            let mut config = format!("url = {}\n", config_quote(&request.url));
            for (header, value) in &request.headers {
                let _ = writeln!(config, "header = {}", config_quote(&format!("{header}: {value}")));
            }
            config
        });
        let body_file = if body.is_none() { request.body.bytes.len() } else { 0 };
        let needed = body_file + config.as_ref().map_or(0, String::len);
        if self.files + 2 > FILES || self.bytes + needed as u64 > FILE_BYTES {
            return Ok(None);
        }
        let body = match body {
            Some(body) => body,
            None => {
                let path = self.write(&format!("{}.body", file_name(name)), &request.body.bytes)?;
                format!(" --data-binary @{}", shell_quote(&path))
            }
        };
        if let Some(config) = config {
            let path = self.write(&format!("{}.curl", file_name(name)), config.as_bytes())?;
            target = format!(" -K {}", shell_quote(&path));
        }
        Ok(Some(format!("{CURL}{}{target}{body}", shell_word(&request.method))))
    }

    /// The line a report ends with when it went to stdout and a command reads a file: where the
    /// files are.
    pub fn last_line(&self) -> Option<String> {
        (self.to_stdout && self.files > 0).then(|| {
            format!("The files the commands above read (--data-binary @FILE, -K FILE) are in {}/", self.dir.display())
        })
    }

    fn write(&mut self, name: &str, bytes: &[u8]) -> io::Result<String> {
        let path = self.dir.join(name);
        let context =
            |e: io::Error, what: &Path| io::Error::new(e.kind(), format!("cannot write {}: {e}", what.display()));
        std::fs::create_dir_all(&self.dir).map_err(|e| context(e, &self.dir))?;
        std::fs::write(&path, bytes).map_err(|e| context(e, &path))?;
        self.files += 1;
        self.bytes += bytes.len() as u64;
        Ok(path.display().to_string())
    }
}

/// The start of every command.
const CURL: &str = "curl -sS -i -X ";

/// The curl command that sends `request` on its own, with no file: when it is short enough.
pub(crate) fn inline(request: &HttpRequest) -> Option<String> {
    let command = format!("{CURL}{}{}{}", shell_word(&request.method), target(request), inline_body(&request.body)?);
    (command.len() <= MAX_COMMAND).then_some(command)
}

/// ` 'URL' -H 'name: value'…`
fn target(request: &HttpRequest) -> String {
    let mut target = format!(" {}", shell_quote(&request.url));
    for (header, value) in &request.headers {
        let _ = write!(target, " -H {}", shell_quote(&format!("{header}: {value}")));
    }
    target
}

/// ` --data-binary 'BODY'`, or nothing for no body; None when the body is too long for a command
/// line, cannot be shown as it is, or is not all there.
fn inline_body(body: &Body) -> Option<String> {
    if !body.is_whole() {
        return None;
    }
    let body = &body.bytes;
    if body.is_empty() {
        return Some(String::new());
    }
    if body.len() > INLINE_BODY {
        // Quoting only makes it longer: no need to look at a body of megabytes.
        return None;
    }
    quoted_body(body).filter(|quoted| quoted.len() <= INLINE_BODY).map(|quoted| format!(" --data-binary {quoted}"))
}

/// `b24-conform replay ID --seed S`, with the wire and the handler when they are not the
/// defaults: the command that fires the case again with the portal it needs.
pub(crate) fn replay(info: &RunInfo, id: &str) -> String {
    let mut command = format!("b24-conform replay {} --seed {}", shell_word(id), info.seed);
    if info.wire != Wire::default() {
        let _ = write!(command, " --wire {}", info.wire);
    }
    if info.handler != DEFAULT_HANDLER {
        let _ = write!(command, " --handler {}", shell_word(&info.handler));
    }
    command
}

/// The body quoted for the shell, when it can be shown as it is: text without control
/// characters (a terminal would act on them, and a reader could not see them). None otherwise.
fn quoted_body(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok().filter(|t| !t.chars().any(char::is_control))?;
    Some(shell_quote(text))
}

/// A file name for `name` that no id can turn into a path elsewhere: letters, digits, `_` and `-`
/// kept, `/` made `.`, every other byte `%XX`, so two ids never share a name. Long ids are cut:
/// file systems take 255 bytes.
fn file_name(name: &str) -> String {
    let mut out = String::new();
    for byte in name.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' => out.push(char::from(byte)),
            b'/' => out.push('.'),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
        if out.len() > 200 {
            break;
        }
    }
    out
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` as one shell word: as it is when it needs no quotes.
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    if !text.is_empty() && text.chars().all(plain) { text.to_owned() } else { shell_quote(text) }
}

/// A value in a curl config file: double-quoted, with the escapes curl reads there.
fn config_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::Scratch;

    fn request(url: &str, body: &[u8]) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: url.into(),
            headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
            body: body.to_vec().into(),
        }
    }

    #[test]
    fn a_short_request_is_one_command_as_before() {
        let dir = Scratch::new("reproduce-short");
        let mut reproducer = Reproducer::new(Some(dir.0.clone()));
        let request = request("http://127.0.0.1:9/h?A=1", b"a='b'");
        assert_eq!(reproducer.curl("valid/one", &request, "").expect("no file needed"), Some(request.to_curl()));
        assert_eq!(reproducer.last_line(), None);
        assert!(!dir.0.join(BODIES).exists(), "no file for a short request");
    }

    #[test]
    fn a_long_body_goes_to_a_file_and_a_long_url_to_a_config() {
        let dir = Scratch::new("reproduce-long");
        let mut reproducer = Reproducer::new(Some(dir.0.clone()));
        let body = vec![b'x'; 2 << 20];
        let long = format!("http://127.0.0.1:9/h?LANG={}", "y".repeat(16 << 10));
        let command = reproducer
            .curl("oversize/PLACEMENT_OPTIONS-1MiB#2", &request(&long, &body), "")
            .expect("written")
            .expect("within the budget");
        assert!(command.len() < 400, "{command}");
        let bodies = dir.0.join(BODIES);
        let body_file = bodies.join("oversize.PLACEMENT_OPTIONS-1MiB%232.body");
        let config = bodies.join("oversize.PLACEMENT_OPTIONS-1MiB%232.curl");
        assert_eq!(
            command,
            format!("curl -sS -i -X POST -K '{}' --data-binary @'{}'", config.display(), body_file.display())
        );
        assert_eq!(std::fs::read(&body_file).expect("the body file"), body);
        let config = std::fs::read_to_string(&config).expect("the config file");
        assert!(config.starts_with("url = \"http://127.0.0.1:9/h?LANG=yyy"), "{config}");
        assert!(config.ends_with("\"\nheader = \"content-type: application/x-www-form-urlencoded\"\n"), "{config}");
        // A report beside files names them in its commands, not in a last line.
        assert_eq!(reproducer.last_line(), None);
    }

    #[test]
    fn a_body_with_control_characters_is_never_inline() {
        let dir = Scratch::new("reproduce-control");
        let mut reproducer = Reproducer::new(Some(dir.0.clone()));
        let command =
            reproducer.curl("x", &request("http://h/", b"a\x1b[2Jb"), "").expect("written").expect("a command");
        assert!(command.ends_with("x.body'"), "{command}");
        assert!(!command.contains('\x1b'));
    }

    #[test]
    fn the_files_beside_a_report_are_bounded() {
        let dir = Scratch::new("reproduce-budget");
        let mut reproducer = Reproducer::new(Some(dir.0.clone()));
        let body = vec![b'x'; 1 << 20];
        let written = (0..100)
            .filter(|i| reproducer.curl(&format!("c{i}"), &request("http://h/", &body), "").expect("written").is_some())
            .count();
        assert_eq!(written as u64, FILE_BYTES >> 20);
        let info = RunInfo {
            tool: "b24-conform",
            version: "0",
            handler: "builtin:reference".into(),
            seed: 1,
            wire: Wire::Split,
            partition: None,
            cases: 1,
            notes: Vec::new(),
        };
        let mut case = crate::report::sample::cases().swap_remove(1);
        (case.id, case.request) = ("c100".into(), request("http://h/", &body));
        let commands = reproducer.commands(&info, &case).expect("no file");
        assert_eq!(commands, "b24-conform replay c100 --seed 1", "past the budget, the replay line alone");
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(file_name("../../etc/passwd"), "%2E%2E.%2E%2E.etc.passwd");
        assert_ne!(file_name("a/b"), file_name("a.b"));
        assert_ne!(file_name("a_b"), file_name("a%5Fb"));
        assert!(file_name(&"é".repeat(500)).len() <= 203);
    }

    #[test]
    fn replay_names_what_differs_from_the_defaults() {
        let info = |handler: &str, wire| RunInfo {
            tool: "b24-conform",
            version: "0",
            handler: handler.into(),
            seed: 7,
            wire,
            partition: None,
            cases: 1,
            notes: Vec::new(),
        };
        assert_eq!(
            replay(&info("builtin:reference", Wire::Split), "malformed/generated#3"),
            "b24-conform replay 'malformed/generated#3' --seed 7"
        );
        assert_eq!(
            replay(&info("http://127.0.0.1:8080/x.php?a=1&b=2", Wire::Form), "valid/one"),
            "b24-conform replay valid/one --seed 7 --wire form --handler 'http://127.0.0.1:8080/x.php?a=1&b=2'"
        );
    }
}
