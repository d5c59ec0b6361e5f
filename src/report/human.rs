//! The report for a person at a terminal, written as the run goes: cases grouped by the evidence
//! they enforce, one line each, failures and warnings expanded with the handler's answer; at the
//! end the failures again, each with the commands that reproduce it, then the warnings, the
//! cases the harness did not model, the cases not run, the summary line and the run's notes.
//!
//! Bounded whatever the run: the first [`LISTED`] cases get their line, the first [`DETAILED`]
//! failures their details, the recap the first [`RECAP`] failures; the rest are counted. What
//! the handler sent is shown with its control characters made visible, so an answer cannot move
//! the cursor, clear the screen or retitle the terminal. In colour when asked (`--color`), never
//! otherwise, so a log or a file gets plain text.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::reproduce::{PORTS_CLOSED, Reproducer};
use super::{Left, NotRun, Sink, clip, excerpt, failed, frame_line, is_failure, summary_line, visible};
use crate::record::{Body, CaseOutcome, CaseReport, Event, Outcome, PortalCall, RunEnd, RunInfo};
use crate::suite::Level;

/// Cases given a line of their own; the rest are counted.
const LISTED: usize = 2_000;
/// Cases that did not pass shown with their details (messages, calls, the answer).
const DETAILED: usize = 100;
/// Failures, and warnings, repeated at the end with their commands.
const RECAP: usize = 50;
/// Portal calls shown for one case, and calls no case owns shown at the end.
const CALLS: usize = 20;
/// A message longer than this (a snapshot's long diff) is cut.
const MESSAGE: usize = 4 * 1024;
/// Of an answer's body: bytes and lines shown, and characters a line.
const BODY_BYTES: usize = 1024;
const BODY_LINES: usize = 8;
const BODY_LINE: usize = 160;
/// The indentation of a case's details, under its line.
const DETAIL: &str = "        ";

/// ANSI styling, or none.
#[derive(Clone, Copy)]
struct Paint(bool);

const RED: &str = "31";
const GREEN: &str = "32";
const YELLOW: &str = "33";
const MAGENTA: &str = "35";
const CYAN: &str = "36";
const BOLD: &str = "1";
const DIM: &str = "2";

impl Paint {
    fn paint(self, style: &str, text: &str) -> String {
        if self.0 && !text.is_empty() { format!("\x1b[{style}m{text}\x1b[0m") } else { text.to_owned() }
    }

    fn outcome(self, outcome: CaseOutcome, text: &str) -> String {
        let style = match outcome {
            CaseOutcome::Pass => GREEN,
            CaseOutcome::Warn => YELLOW,
            CaseOutcome::Fail | CaseOutcome::Error => RED,
            CaseOutcome::Known => MAGENTA,
            CaseOutcome::NotModelled => CYAN,
        };
        self.paint(style, text)
    }

    /// A check's message, made visible; the lines after the first (a snapshot's diff) indented
    /// under it, and in colour by what each diff line says.
    fn message(self, message: &str) -> String {
        let message = clip(message, MESSAGE);
        let mut lines = message.lines();
        let mut out = one_line(lines.next().unwrap_or_default()).into_owned();
        for line in lines {
            let style = match line.as_bytes().first() {
                _ if line.starts_with("---") || line.starts_with("+++") => BOLD,
                Some(b'-') => RED,
                Some(b'+') => GREEN,
                Some(b'?') => YELLOW,
                Some(b'@') => CYAN,
                _ => "",
            };
            let _ = write!(out, "\n  {DETAIL}{}", self.paint(style, &one_line(line)));
        }
        out
    }
}

/// A failure or warning, as the recap at the end repeats it: its commands are made when it is
/// judged, when its request is at hand.
struct Recap {
    id: String,
    outcome: CaseOutcome,
    /// The failing checks.
    what: String,
    /// The curl and the replay line, one a line.
    commands: String,
    /// "shrunk in N steps to …" and the shrunk request's command, if within the files' budget.
    shrunk: Option<(String, Option<String>)>,
}

/// The first `RECAP` of something, and how many more there were.
struct Firsts<T> {
    kept: Vec<T>,
    more: usize,
    cap: usize,
}

impl<T> Firsts<T> {
    fn new(cap: usize) -> Self {
        Firsts { kept: Vec::new(), more: 0, cap }
    }

    /// Whether the next one is kept: the caller builds it only then.
    fn room(&mut self) -> bool {
        let room = self.kept.len() < self.cap;
        if !room {
            self.more += 1;
        }
        room
    }
}

pub(super) struct Human<W> {
    out: W,
    paint: Paint,
    reproducer: Reproducer,
    info: Option<RunInfo>,
    /// The evidence key of the last case listed: a heading opens each change.
    group: Option<String>,
    listed: usize,
    detailed: usize,
    unlisted: Left,
    failures: Firsts<Recap>,
    warnings: Firsts<Recap>,
    unmodelled: Firsts<(String, String)>,
    unattributed: Firsts<String>,
    not_run: NotRun,
}

impl<W: Write> Human<W> {
    pub fn new(out: W, colour: bool, reproducer: Reproducer) -> Self {
        Human {
            out,
            paint: Paint(colour),
            reproducer,
            info: None,
            group: None,
            listed: 0,
            detailed: 0,
            unlisted: Left::default(),
            failures: Firsts::new(RECAP),
            warnings: Firsts::new(RECAP),
            unmodelled: Firsts::new(RECAP),
            unattributed: Firsts::new(CALLS),
            not_run: NotRun::default(),
        }
    }

    fn started(&mut self, info: &RunInfo) -> io::Result<()> {
        let partition = info.partition.as_ref().map_or(String::new(), |p| format!(", partition {p}"));
        writeln!(
            self.out,
            "b24-conform {} against {} (seed {}, wire {}{partition})",
            info.version,
            one_line(&info.handler),
            info.seed,
            info.wire
        )?;
        self.info = Some(info.clone());
        Ok(())
    }

    fn judged(&mut self, case: &CaseReport) -> io::Result<()> {
        if self.listed < LISTED {
            self.listed += 1;
            if self.group.as_deref() != Some(case.evidence.key.as_str()) {
                let evidence = &case.evidence;
                let source = format!("{}: {}", evidence.kind.label(), one_line(&evidence.url));
                writeln!(
                    self.out,
                    "\n\u{201c}{}\u{201d}\n  {}",
                    one_line(&evidence.quote),
                    self.paint.paint(DIM, &source)
                )?;
                self.group = Some(evidence.key.clone());
            }
            let detailed = case.outcome != CaseOutcome::Pass && self.detailed < DETAILED;
            self.detailed += usize::from(detailed);
            let mut lines = String::new();
            case_lines(&mut lines, case, self.paint, detailed);
            self.out.write_all(lines.as_bytes())?;
        } else {
            self.unlisted.add(case.outcome);
        }
        if is_failure(case) && self.failures.room() {
            let checks: Vec<&str> = case.run_failures().map(|v| v.id).collect();
            let what = if checks.is_empty() { case.outcome.label().to_owned() } else { checks.join(", ") };
            let recap = self.recap(case, what)?;
            self.failures.kept.push(recap);
        }
        if case.warnings().next().is_some() && self.warnings.room() {
            let what = case.warnings().map(|v| v.id).collect::<Vec<_>>().join(", ");
            let recap = self.recap(case, what)?;
            self.warnings.kept.push(recap);
        }
        if let Some(why) = &case.not_modelled
            && self.unmodelled.room()
        {
            self.unmodelled.kept.push((case.id.clone(), why.clone()));
        }
        Ok(())
    }

    fn recap(&mut self, case: &CaseReport, what: String) -> io::Result<Recap> {
        let info = self.info.as_ref().ok_or_else(|| io::Error::other("a case came before the run started"))?;
        let commands = self.reproducer.commands(info, case)?;
        let shrunk = match &case.shrunk {
            Some(shrunk) => {
                let mutations = serde_json::to_string(&shrunk.mutations).unwrap_or_default();
                let line =
                    format!("shrunk in {} steps to the valid request with {}", shrunk.steps, clip(&mutations, MESSAGE));
                Some((line, self.reproducer.curl(&format!("{}.shrunk", case.id), &shrunk.request, &shrunk.reproduce)?))
            }
            None => None,
        };
        Ok(Recap { id: case.id.clone(), outcome: case.outcome, what, commands, shrunk })
    }

    fn ended(&mut self, end: &RunEnd) -> io::Result<()> {
        let paint = self.paint;
        let mut out = String::new();
        if self.unlisted.cases > 0 {
            let _ =
                writeln!(out, "\n… and {} not listed here; the JSON report lists every case.", self.unlisted.line());
        }
        if let Some(baseline) = &end.baseline {
            let _ = writeln!(out, "\nBaseline {}: {}", one_line(&baseline.file), baseline.counts());
            let lists = [
                ("expired, failing again", &baseline.expired),
                ("fixed, remove it (or --baseline-update)", &baseline.fixed),
            ];
            for (label, list) in lists {
                for d in list {
                    let _ = writeln!(
                        out,
                        "  {label}: {} {} ({})",
                        one_line(&d.case),
                        one_line(&d.check),
                        one_line(&d.reason)
                    );
                }
            }
        }
        if !self.failures.kept.is_empty() {
            let _ = writeln!(out, "\n{}", paint.paint(BOLD, "Failures, and the commands that reproduce them:"));
            let _ = writeln!(out, "({PORTS_CLOSED})");
            for recap in &self.failures.kept {
                recap_lines(&mut out, recap, paint);
            }
            more(&mut out, self.failures.more, "failure", "failures");
        }
        if !self.warnings.kept.is_empty() {
            let heading = "Warnings (level should: good practice; --strict makes them fail):";
            let _ = writeln!(out, "\n{}", paint.paint(BOLD, heading));
            for recap in &self.warnings.kept {
                recap_lines(&mut out, recap, paint);
            }
            more(&mut out, self.warnings.more, "warning", "warnings");
        }
        if !self.unmodelled.kept.is_empty() {
            let _ = writeln!(out, "\n{}", paint.paint(BOLD, "Cases the harness could not judge:"));
            for (id, why) in &self.unmodelled.kept {
                let _ = writeln!(out, "  {} {}", paint.outcome(CaseOutcome::NotModelled, &one_line(id)), one_line(why));
            }
            more(&mut out, self.unmodelled.more, "case", "cases");
        }
        if !self.unattributed.kept.is_empty() {
            // Most are harmless: a case that sends a probe as AUTH_ID, which the handler passed on.
            let _ = writeln!(
                out,
                "\nPortal calls with a token the run never issued (no case owns them; e.g. a probe a case sent as AUTH_ID, passed on by the handler):"
            );
            for call in &self.unattributed.kept {
                let _ = writeln!(out, "  {call}");
            }
            more(&mut out, self.unattributed.more, "call", "calls");
        }
        // The cases not run say why; a run stopped with none left to run says it alone.
        let mut stops = self.not_run.lines();
        if let (true, Some(stopped)) = (stops.is_empty(), &end.stopped) {
            stops.push(format!("The run stopped: {stopped}."));
        }
        if !stops.is_empty() {
            out.push('\n');
        }
        for stop in stops {
            let _ = writeln!(out, "{}", paint.paint(BOLD, &one_line(&stop)));
        }
        let style = if failed(&end.summary) {
            RED
        } else if end.summary.warned > 0 {
            YELLOW
        } else {
            GREEN
        };
        let seed = self.info.as_ref().map_or(0, |info| info.seed);
        let _ = writeln!(out, "\n{}", paint.paint(style, &summary_line(&end.summary, end.baseline.is_some(), seed)));
        for note in &end.notes {
            let _ = writeln!(out, "{}", one_line(note));
        }
        if let Some(line) = self.reproducer.last_line() {
            let _ = writeln!(out, "{}", one_line(&line));
        }
        self.out.write_all(out.as_bytes())?;
        self.out.flush()
    }
}

impl<W: Write> Sink for Human<W> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match *event {
            Event::Started(info) => self.started(info),
            // Progress is the progress bar's.
            Event::Answered { .. } => Ok(()),
            Event::Judged(case) => self.judged(case),
            Event::NotRun { reason, .. } => {
                self.not_run.add(reason);
                Ok(())
            }
            Event::Unattributed(call) => {
                if self.unattributed.room() {
                    self.unattributed.kept.push(one_line(&call.to_string()).into_owned());
                }
                Ok(())
            }
            Event::Ended(end) => self.ended(end),
        }
    }
}

fn more(out: &mut String, more: usize, one: &str, many: &str) {
    if more > 0 {
        let _ = writeln!(
            out,
            "  … and {more} more {}: the JSON report lists every case.",
            if more == 1 { one } else { many }
        );
    }
}

fn recap_lines(out: &mut String, recap: &Recap, paint: Paint) {
    let what = paint.paint(DIM, &format!("({})", recap.what));
    let _ = writeln!(out, "  {} {what}", paint.outcome(recap.outcome, &one_line(&recap.id)));
    for command in recap.commands.lines() {
        let _ = writeln!(out, "  {}", one_line(command));
    }
    if let Some((line, curl)) = &recap.shrunk {
        let _ = writeln!(out, "  {} {}", one_line(&recap.id), one_line(line));
        if let Some(curl) = curl {
            let _ = writeln!(out, "  {}", one_line(curl));
        }
    }
}

/// A case's line, and when `detailed` what explains it: its failing checks, the calls it made,
/// the answer's body.
fn case_lines(out: &mut String, case: &CaseReport, paint: Paint, detailed: bool) {
    let label = format!("{:<5}", case.outcome.label().to_uppercase());
    // The statuses of the redirects followed, then the answer judged: `303→200`.
    let mut statuses: Vec<String> =
        case.redirects.iter().filter(|r| r.followed).map(|r| r.status.to_string()).take(CALLS).collect();
    statuses.push(case.response.as_ref().map_or("---".to_owned(), |r| r.status.to_string()));
    let status = statuses.join("→");
    let ms = case.response.as_ref().map_or(String::new(), |r| format!("{} ms", r.elapsed_ms));
    let _ = writeln!(
        out,
        "  {} {:<34} {:<6} {:<8} {status:>3} {ms:>7}  {}",
        paint.outcome(case.outcome, &label),
        one_line(&case.id),
        case.level.label(),
        case.expect.label(),
        one_line(&case.title)
    );
    if let Some(why) = &case.not_modelled {
        let _ = writeln!(out, "{DETAIL}{}", one_line(why));
    }
    for idle in case.checks.iter().filter(|v| v.outcome == Outcome::NotExercised) {
        let _ = writeln!(out, "{DETAIL}{} not exercised: {}", idle.id, paint.message(&idle.message));
    }
    if !detailed {
        return;
    }
    for known in case.checks.iter().filter(|v| v.outcome == Outcome::Known) {
        let _ = writeln!(out, "{DETAIL}{} (known deviation): {}", known.id, paint.message(&known.message));
    }
    for failure in case.failures() {
        let warning = if failure.level == Level::Should { " (should: a warning)" } else { "" };
        let _ =
            writeln!(out, "{DETAIL}{}{warning}: {}", paint.paint(BOLD, failure.id), paint.message(&failure.message));
    }
    // What the handler asked of the portals explains most failures.
    for redirect in case.redirects.iter().take(CALLS) {
        let _ = writeln!(out, "{DETAIL}redirect {}", one_line(&redirect.to_string()));
    }
    let calls: &[PortalCall] = &case.portal_calls;
    for call in calls.iter().take(CALLS) {
        let _ = writeln!(out, "{DETAIL}portal {}", one_line(&call.to_string()));
    }
    if calls.len() > CALLS {
        let _ = writeln!(out, "{DETAIL}… and {} more portal calls", calls.len() - CALLS);
    }
    if let Some(frame) = &case.frame {
        let _ = writeln!(out, "{DETAIL}frame {}", one_line(&frame_line(frame)));
    }
    if let Some(response) = &case.response {
        if let Some(note) = &response.note {
            let _ = writeln!(out, "{DETAIL}{}", one_line(&clip(note, MESSAGE)));
        }
        body_lines(out, &response.body);
    }
    if let Some(error) = &case.error {
        let _ = writeln!(out, "{DETAIL}{}", one_line(&clip(error, MESSAGE)));
    }
}

/// The first lines of an answer's body, made visible, under a line that says how long the whole
/// body was (what the harness kept of it may be less).
fn body_lines(out: &mut String, body: &Body) {
    let length = body.length;
    if length == 0 {
        let _ = writeln!(out, "{DETAIL}answer body: empty");
        return;
    }
    let _ = writeln!(out, "{DETAIL}answer body ({length} bytes):");
    let (text, _) = excerpt(body, BODY_BYTES);
    let mut lines = text.lines();
    let mut shown = 0;
    for line in lines.by_ref().take(BODY_LINES) {
        let _ = writeln!(out, "{DETAIL}| {}", one_line(&clip(line, BODY_LINE)));
        shown += line.len() + 1;
    }
    let left_out = length.saturating_sub(shown as u64);
    if left_out > 0 {
        let _ = writeln!(out, "{DETAIL}| … ({left_out} more bytes)");
    }
}

/// `text` on one line, as a terminal can show it: [`visible`], a line break too.
fn one_line(text: &str) -> Cow<'_, str> {
    visible(text, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Format, SinkOptions, sample};

    #[test]
    fn the_report() {
        insta::assert_snapshot!(sample::golden(Format::Human, &sample::cases()));
    }

    #[test]
    fn a_failing_case_says_what_its_frame_did() {
        let report = sample::golden(Format::Human, &sample::with_frames());
        assert!(report.contains("frame never asked for its init data; 3 commands; 1 uncaught exceptions"), "{report}");
        assert_eq!(report.matches("frame never asked").count(), 1, "{report}");
    }

    #[test]
    fn warnings_are_shown_apart_and_counted() {
        insta::assert_snapshot!(sample::golden(Format::Human, &sample::with_warning()));
    }

    #[test]
    fn colour_only_when_asked() {
        let scratch = sample::Scratch::new("human-colour");
        let plain = sample::render(Format::Human, &sample::cases(), scratch.beside());
        let coloured =
            sample::render(Format::Human, &sample::cases(), SinkOptions { colour: true, ..scratch.beside() });
        assert!(coloured.contains("\x1b[31mFAIL \x1b[0m missing/member_id"), "{coloured}");
        assert!(coloured.contains("\x1b[32mPASS \x1b[0m valid/one"), "{coloured}");
        // Without the escapes it is the plain report, and the plain one has none: the handler's
        // own escape sequences are made visible, never passed on.
        let stripped = regex::Regex::new("\x1b\\[[0-9]+m").expect("a pattern").replace_all(&coloured, "");
        assert_eq!(stripped, plain);
        assert!(!plain.contains('\x1b') && !plain.contains('\u{7}'), "{plain}");
        assert!(plain.contains("\u{241b}[2J"), "{plain}");
    }

    #[test]
    fn a_huge_run_stays_small() {
        // 5 000 failing cases, each answering 2 MiB: the report lists LISTED lines, details
        // DETAILED, repeats RECAP, and counts the rest.
        let scratch = sample::Scratch::new("human-huge");
        let out = sample::Shared::default();
        let mut sink = crate::report::sink(Format::Human, Box::new(out.clone()), scratch.beside());
        let info = sample::info();
        sink.event(&Event::Started(&info)).expect("written");
        let mut case = sample::cases().swap_remove(1);
        if let Some(response) = case.response.as_mut() {
            response.body = vec![b'<'; 2 << 20].into();
        }
        for i in 0..5_000 {
            case.id = format!("malformed/generated#{i}");
            sink.event(&Event::Judged(&case)).expect("written");
        }
        sink.event(&Event::Ended(&sample::end(&[], 0))).expect("written");
        drop(sink);
        let text = out.text();
        assert!(out.len() < 1 << 20, "{} bytes", out.len());
        assert_eq!(text.matches("\n  FAIL  ").count(), LISTED, "one line a listed case");
        assert_eq!(text.matches("answer body (2097152 bytes)").count(), DETAILED);
        assert!(text.contains("… and 3000 more cases (3000 failed, 0 errored, 0 warned) not listed here"), "{text}");
        assert!(text.contains("  … and 4950 more failures: the JSON report lists every case."), "{text}");
    }
}
