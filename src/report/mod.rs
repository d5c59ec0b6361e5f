//! Reports: one streaming writer per format. Each reads the run's events as they happen
//! ([`Event`]) and writes as it goes, keeping only bounded state (counts, a row per evidence
//! group, the first failures up to a budget), never every case: a run of 100 000 cases or a
//! handler that answers 2 MiB bodies makes no writer's memory grow and no report but the JSON
//! one (which lists every case, by design) large.

mod html;
mod human;
mod json;
mod junit;
mod markdown;
mod reproduce;
#[cfg(test)]
pub(crate) mod sample;

use std::borrow::Cow;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::payload::Wire;
use crate::record::http::cut_at_char;
use crate::record::{
    BaselineReport, Body, CaseOutcome, CaseReport, Event, FrameRecord, PortalCall, RunEnd, RunInfo, Summary,
};

pub use reproduce::BODIES;

/// The formats a run's report is written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a person at a terminal.
    #[default]
    Human,
    /// One JSON document (summary, cases, checks, exchanges), for programs.
    Json,
    /// JUnit XML, for CI test-report viewers.
    Junit,
    /// For a pull-request comment.
    Markdown,
    /// One self-contained page, for a person reading cold.
    Html,
}

/// A report writer: it is given every event of a run, in order, and writes as they come.
pub trait Sink {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()>;
}

/// How a report is written, beyond its format.
#[derive(Clone, Debug, Default)]
pub struct SinkOptions {
    /// ANSI colours (the human report only).
    pub colour: bool,
    /// The directory for files beside the report (large request bodies, for `--data-binary
    /// @FILE`); None: the report goes to stdout, and such files go to [`BODIES`] in the working
    /// directory, which the report names in its last line.
    pub beside: Option<PathBuf>,
}

/// The writer of `format`'s report into `out`.
pub fn sink(format: Format, out: Box<dyn Write + Send>, options: SinkOptions) -> Box<dyn Sink + Send> {
    // Every writer writes many small pieces; the buffer makes them few writes.
    let out = BufWriter::new(out);
    let reproducer = reproduce::Reproducer::new(options.beside);
    match format {
        Format::Human => Box::new(human::Human::new(out, options.colour, reproducer)),
        Format::Json => Box::new(json::Json::new(out, reproducer)),
        Format::Junit => Box::new(junit::Junit::new(out, reproducer)),
        Format::Markdown => Box::new(markdown::Markdown::new(out, reproducer)),
        Format::Html => Box::new(html::Html::new(out, reproducer)),
    }
}

/// A whole run in memory, as the engine returns it today: the run's data, not a report.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub tool: &'static str,
    pub version: &'static str,
    pub handler: String,
    pub seed: u64,
    pub wire: Wire,
    pub summary: Summary,
    pub cases: Vec<CaseReport>,
    /// What the baseline made of the run, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineReport>,
    /// Calls to the portals that carried no token of the run, so belong to no case.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unattributed: Vec<PortalCall>,
}

impl RunReport {
    pub fn new(handler: String, seed: u64, wire: Wire, cases: Vec<CaseReport>, duration: Duration) -> RunReport {
        let summary = Summary::of(&cases, duration.as_millis() as u64);
        RunReport {
            tool: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            handler,
            seed,
            wire,
            summary,
            cases,
            baseline: None,
            unattributed: Vec::new(),
        }
    }

    /// The summary's counts again, after the cases' outcomes changed (a baseline).
    pub fn recount(&mut self) {
        self.summary = Summary::of(&self.cases, self.summary.duration_ms);
    }

    /// 0 when every case passed, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        i32::from(failed(&self.summary))
    }

    /// The summary line: the counts, then the seed and the time taken.
    pub fn summary_line(&self) -> String {
        summary_line(&self.summary, self.baseline.is_some(), self.seed)
    }

    /// The events of this run, in order, into `sink`: how a run held in memory is reported.
    pub fn write_to(&self, sink: &mut dyn Sink, notes: Vec<String>) -> io::Result<()> {
        let info = RunInfo {
            tool: self.tool,
            version: self.version,
            handler: self.handler.clone(),
            seed: self.seed,
            wire: self.wire,
            partition: None,
            cases: self.cases.len(),
            notes: Vec::new(),
        };
        sink.event(&Event::Started(&info))?;
        for case in &self.cases {
            sink.event(&Event::Judged(case))?;
        }
        for call in &self.unattributed {
            sink.event(&Event::Unattributed(call))?;
        }
        let answered = self.cases.iter().any(|c| c.response.is_some());
        let end =
            RunEnd { summary: self.summary.clone(), baseline: self.baseline.clone(), stopped: None, answered, notes };
        sink.event(&Event::Ended(&end))
    }
}

/// Whether a run with these counts failed: a case failed at level must, or got no answer.
fn failed(summary: &Summary) -> bool {
    summary.failed + summary.errored > 0
}

/// The summary line: the counts, then the seed and the time taken.
fn summary_line(summary: &Summary, baseline: bool, seed: u64) -> String {
    format!("{} (seed {seed}, {})", summary.line(baseline), seconds(summary.duration_ms))
}

/// The verdict of a run that ended with `end`, as the Markdown and HTML reports head it.
fn verdict(end: &RunEnd) -> Verdict {
    match (failed(&end.summary), end.summary.warned) {
        (false, 0) => Verdict::Passed,
        (false, _) => Verdict::Warned,
        (true, _) => Verdict::Failed,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Passed,
    Warned,
    Failed,
}

/// Whether a case is one a reader has to look at: it failed the run.
fn is_failure(case: &CaseReport) -> bool {
    matches!(case.outcome, CaseOutcome::Fail | CaseOutcome::Error)
}

/// Counts of the cases a report left out for its budget, by outcome, so what it did not show
/// still adds up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Left {
    cases: usize,
    failed: usize,
    errored: usize,
    warned: usize,
}

impl Left {
    fn add(&mut self, outcome: CaseOutcome) {
        self.cases += 1;
        match outcome {
            CaseOutcome::Fail => self.failed += 1,
            CaseOutcome::Error => self.errored += 1,
            CaseOutcome::Warn => self.warned += 1,
            _ => {}
        }
    }

    /// `1 200 more cases (3 failed, 1 errored, 0 warned)`.
    fn line(&self) -> String {
        format!(
            "{} more {} ({} failed, {} errored, {} warned)",
            self.cases,
            if self.cases == 1 { "case" } else { "cases" },
            self.failed,
            self.errored,
            self.warned
        )
    }
}

/// Not-run cases, by the reason given, for a report to say once "N cases not run: REASON"
/// instead of listing them. A run stops for one reason; a merged report may have a few.
#[derive(Clone, Debug, Default)]
struct NotRun {
    reasons: Vec<(String, usize)>,
    /// Not-run cases whose reason did not fit in `reasons`.
    other: usize,
}

/// Distinct reasons kept: bounded, whatever the events say.
const NOT_RUN_REASONS: usize = 8;

impl NotRun {
    fn add(&mut self, reason: &str) {
        if let Some((_, n)) = self.reasons.iter_mut().find(|(r, _)| r == reason) {
            *n += 1;
        } else if self.reasons.len() < NOT_RUN_REASONS {
            self.reasons.push((reason.to_owned(), 1));
        } else {
            self.other += 1;
        }
    }

    /// `3 cases not run: the handler stopped answering after X`, one a reason.
    fn lines(&self) -> Vec<String> {
        let plural = |n: usize| if n == 1 { "case" } else { "cases" };
        let mut lines: Vec<String> = self.reasons.iter().map(|(r, n)| format!("{n} {} {r}", plural(*n))).collect();
        if self.other > 0 {
            lines.push(format!("{} {} not run for other reasons", self.other, plural(self.other)));
        }
        lines
    }
}

/// At most `cap` bytes of `body` as text, cut at a character boundary, and how many bytes of the
/// whole body that leaves out, those the harness did not keep included. Reports show bodies this
/// way so one huge answer cannot swamp them.
pub(crate) fn excerpt(body: &Body, cap: usize) -> (Cow<'_, str>, u64) {
    let cut = cut_at_char(&body.bytes, cap);
    (String::from_utf8_lossy(&body.bytes[..cut]), body.length.saturating_sub(cut as u64))
}

/// At most `cap` bytes of `text`, cut at a character boundary, with " …" when cut: for messages
/// and other text whose length the handler decides.
fn clip(text: &str, cap: usize) -> Cow<'_, str> {
    if text.len() <= cap {
        return Cow::Borrowed(text);
    }
    let mut cut = cap;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!("{} … ({} more bytes)", &text[..cut], text.len() - cut))
}

/// `text` with every character a terminal or a page would act on instead of showing made
/// visible: C0 controls but the tab (and the line feed when `newlines`) as their Unicode
/// pictures (ESC as ␛), DEL as ␡, C1 controls and the bidirectional overrides (which reorder
/// what is shown) as `\u{…}`. What a handler sends can then neither move a terminal's cursor nor
/// hide text in a page or a comment.
fn visible(text: &str, newlines: bool) -> Cow<'_, str> {
    let hidden = |c: char| {
        (c.is_control() && c != '\t' && !(newlines && c == '\n'))
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !hidden(c) => out.push(c),
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
            '\u{7f}' => out.push('\u{2421}'),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// What a case's frame did, in one line for the text reports (the HTML report shows it whole):
/// whether it asked for its init data, how many commands, exceptions (the first quoted), console
/// errors and requests (how many failed).
fn frame_line(frame: &FrameRecord) -> String {
    let init = match frame.initialised_after_ms {
        Some(ms) => format!("asked for its init data after {ms} ms"),
        None => "never asked for its init data".to_owned(),
    };
    let first = frame.exceptions.first().map_or(String::new(), |e| format!(" (first: {})", clip(e, 200)));
    let failed = frame.requests.iter().filter(|r| r.failed.is_some()).count();
    format!(
        "{init}; {} commands; {} uncaught exceptions{first}; {} console errors; {} requests, {failed} failed",
        frame.commands.len(),
        frame.exceptions.len(),
        frame.console_errors.len(),
        frame.requests.len()
    )
}

/// Seconds, as reports show a duration.
pub(crate) fn seconds(ms: u64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_never_cuts_a_character_in_two() {
        let body = |bytes: &[u8]| Body::from(bytes.to_vec());
        assert_eq!(excerpt(&body(b"abc"), 3), (Cow::Borrowed("abc"), 0));
        // "é" is two bytes: a cap in its middle keeps it out whole.
        assert_eq!(excerpt(&body("aéb".as_bytes()), 2), (Cow::Borrowed("a"), 3));
        assert_eq!(excerpt(&body("aéb".as_bytes()), 3), (Cow::Borrowed("aé"), 1));
        assert_eq!(excerpt(&body(&[0xff; 8]), 4).1, 4);
        // Bytes not kept are left out too.
        assert_eq!(excerpt(&Body { length: 10, ..body(b"abc") }, 2), (Cow::Borrowed("ab"), 8));
        assert_eq!(clip("aéb", 2), "a … (3 more bytes)");
    }

    #[test]
    fn control_characters_are_made_visible() {
        assert_eq!(visible("a\tb", false), "a\tb");
        assert_eq!(visible("\u{1b}]0;title\u{7}\r\n\u{7f}", false), "\u{241b}]0;title\u{2407}\u{240d}\u{240a}\u{2421}");
        assert_eq!(visible("a\r\nb", true), "a\u{240d}\nb");
        assert_eq!(visible("\u{9b}2J \u{202e}abc", true), "\\u{9b}2J \\u{202e}abc");
    }

    #[test]
    fn a_frame_in_one_line() {
        let line = frame_line(&sample::frame());
        assert!(line.starts_with("asked for its init data after 212 ms; 3 commands; 1 uncaught exceptions (first: Uncaught TypeError: <script>"), "{line}");
        assert!(line.ends_with("; 1 console errors; 3 requests, 1 failed"), "{line}");
    }

    #[test]
    fn not_run_reasons_are_bounded() {
        let mut not_run = NotRun::default();
        for i in 0..20 {
            not_run.add(&format!("not run: reason {}", i % 10));
        }
        assert_eq!(not_run.reasons.len(), NOT_RUN_REASONS);
        assert_eq!(not_run.lines()[0], "2 cases not run: reason 0");
        assert_eq!(not_run.lines().last().map(String::as_str), Some("4 cases not run for other reasons"));
    }
}
