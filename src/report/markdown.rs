//! The report as a pull-request comment (GitHub and GitLab Markdown), always within
//! [`LIMIT`] characters (GitHub refuses a comment past 65 536): a verdict line, the counts, a
//! table of the evidence groups that did not pass, the first failures each in a `<details>`
//! fold with the evidence it enforces, the exchange, the failing checks and the commands that
//! reproduce it, then the warnings and the cases the harness did not model, one line each; what
//! did not fit is counted and left to the HTML and JSON reports.
//!
//! The verdict comes first but is known last, so the writer keeps the comment's parts (each
//! bounded) and writes them at the end: its memory is bounded by the comment's size.
//!
//! Everything the handler sends is hostile by assumption: it goes into code spans and fenced
//! blocks longer than any run of backticks in it, other text is escaped, and a fold's summary
//! line is HTML-escaped, so no answer can close a fence or inject markup into the comment.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::reproduce::{PORTS_CLOSED, Reproducer};
use super::{Left, NotRun, Sink, Verdict, clip, excerpt, frame_line, is_failure, seconds, verdict, visible};
use crate::html::escape;
use crate::record::{Body, CaseOutcome, CaseReport, Event, RunEnd, RunInfo};

/// The longest comment written, in bytes (so in characters too).
const LIMIT: usize = 60_000;
/// What the folds of the failures may take together while the run goes: [`LIMIT`] but the
/// least the rest of the comment takes. At the end the folds that do not fit beside the rest are
/// left out, from the last.
const FOLDS: usize = LIMIT - 8_000;
/// A fold longer than this is not written: the failures after it still get theirs.
const FOLD: usize = LIMIT / 4;
/// Room a fold leaves for its commands before they are made: a typical curl and replay line.
const COMMANDS: usize = 1024;
/// Of [`LIMIT`], what the warnings', the not-modelled cases' and the baseline's lines may take,
/// each.
const LINES: usize = LIMIT / 20;
/// Groups counted one by one; the groups after them are summed.
const GROUPS: usize = 200;
/// Rows of the groups' table (the groups that did not pass); the others are summed in one row.
const ROWS: usize = 20;
/// Bytes of each body shown in a fold: a comment has to stay readable; the command has it all.
const BODY: usize = 1024;
/// A message (a snapshot's diff, a check's finding quoting the answer) longer than this is cut.
const MESSAGE: usize = 1024;
/// Failing checks shown in a fold.
const CHECKS: usize = 5;
/// Portal calls shown in a fold.
const CALLS: usize = 10;
/// The run's notes and the reasons cases were not run: each cut to this.
const NOTE: usize = 400;
/// Notes of the run shown; a run has a few.
const NOTES: usize = 5;

/// The counts of one group of cases, as a row of the table.
struct Row {
    key: String,
    quote: String,
    cases: usize,
    passed: usize,
    warned: usize,
    failed: usize,
    errored: usize,
}

pub(super) struct Markdown<W> {
    out: W,
    reproducer: Reproducer,
    info: Option<RunInfo>,
    rows: Vec<Row>,
    /// The groups past [`GROUPS`], summed.
    other_rows: Left,
    /// The folds of the first failures, and their outcomes.
    folds: Vec<(String, CaseOutcome)>,
    /// Bytes of `folds`.
    folded: usize,
    /// No fold fits any more: the failures after are counted without rendering them.
    full: bool,
    /// Failing cases whose fold did not fit.
    unfolded: Left,
    warnings: String,
    more_warnings: usize,
    unmodelled: String,
    more_unmodelled: usize,
    not_run: NotRun,
}

impl<W: Write> Markdown<W> {
    pub fn new(out: W, reproducer: Reproducer) -> Self {
        Markdown {
            out,
            reproducer,
            info: None,
            rows: Vec::new(),
            other_rows: Left::default(),
            folds: Vec::new(),
            folded: 0,
            full: false,
            unfolded: Left::default(),
            warnings: String::new(),
            more_warnings: 0,
            unmodelled: String::new(),
            more_unmodelled: 0,
            not_run: NotRun::default(),
        }
    }

    fn judged(&mut self, case: &CaseReport) -> io::Result<()> {
        self.count(case);
        if is_failure(case) {
            let info = self.info.as_ref().ok_or_else(|| io::Error::other("a case came before the run started"))?;
            // The fold is measured without its commands first: they are made (and a body file
            // written) only for a fold that has room for a short command line. If the commands
            // turn out too long for the room left, the folds are full.
            let room = FOLDS.saturating_sub(self.folded).min(FOLD);
            let mut folded = false;
            if !self.full && fold(case, "", true).len() + COMMANDS <= room {
                let commands = self.reproducer.commands(info, case)?;
                let fold = fold(case, &commands, self.folds.is_empty());
                folded = fold.len() <= room;
                if folded {
                    self.folded += fold.len();
                    self.folds.push((fold, case.outcome));
                }
            }
            self.full |= !folded && room < FOLD;
            if !folded {
                self.unfolded.add(case.outcome);
            }
        }
        for warning in case.warnings() {
            let line = warning.message.lines().next().unwrap_or_default();
            let line =
                format!("- {} {}: {}\n", code_span(&case.id), code_span(warning.id), plain(&clip(line, MESSAGE)));
            push_within(&mut self.warnings, &line, &mut self.more_warnings);
        }
        if let Some(why) = &case.not_modelled {
            let line = format!("- {}: {}\n", code_span(&case.id), plain(&clip(why, MESSAGE)));
            push_within(&mut self.unmodelled, &line, &mut self.more_unmodelled);
        }
        Ok(())
    }

    /// Counts `case` in its group's row.
    fn count(&mut self, case: &CaseReport) {
        let evidence = &case.evidence;
        let row = match self.rows.iter().position(|r| r.key == evidence.key) {
            Some(i) => &mut self.rows[i],
            None if self.rows.len() < GROUPS => {
                self.rows.push(Row {
                    key: evidence.key.clone(),
                    quote: clip(&evidence.quote, 120).into_owned(),
                    cases: 0,
                    passed: 0,
                    warned: 0,
                    failed: 0,
                    errored: 0,
                });
                self.rows.last_mut().expect("a row was just added")
            }
            None => {
                self.other_rows.add(case.outcome);
                return;
            }
        };
        row.cases += 1;
        match case.outcome {
            CaseOutcome::Pass | CaseOutcome::Known => row.passed += 1,
            CaseOutcome::Warn => row.warned += 1,
            CaseOutcome::Fail => row.failed += 1,
            CaseOutcome::Error => row.errored += 1,
            CaseOutcome::NotModelled => {}
        }
    }

    fn ended(&mut self, end: &RunEnd) -> io::Result<()> {
        let info = self.info.as_ref().ok_or_else(|| io::Error::other("the run ended before it started"))?;
        let s = &end.summary;
        let mark = match verdict(end) {
            Verdict::Passed => "✅ passed",
            Verdict::Warned => "✅ passed with warnings",
            Verdict::Failed => "❌ failed",
        };
        let partition = info.partition.as_ref().map_or(String::new(), |p| format!(", partition {p}"));
        let mut out = format!(
            "## b24-conform {mark}: {} (seed {}, wire {}{partition})\n\n",
            code_span(&clip(&info.handler, NOTE)),
            info.seed,
            info.wire
        );
        out.push_str(
            "| Cases | Passed | Warned | Failed | Errored | Not exercised | Not modelled | Duration |\n\
             | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            s.cases,
            s.passed,
            s.warned,
            s.failed,
            s.errored,
            s.not_exercised,
            s.not_modelled,
            seconds(s.duration_ms)
        );
        // The cases not run say why; a run stopped with none left to run says it alone.
        let mut stops = self.not_run.lines();
        if let (true, Some(stopped)) = (stops.is_empty(), &end.stopped) {
            stops.push(format!("The run stopped: {stopped}."));
        }
        for stop in stops {
            let _ = writeln!(out, "\n**{}**", plain(&clip(&stop, NOTE)));
        }
        if let Some(baseline) = &end.baseline {
            baseline_lines(&mut out, baseline);
        }
        let mut troubled = self.rows.iter().filter(|r| r.cases > r.passed);
        let mut other = self.other_rows.clone();
        let mut table = String::new();
        for row in troubled.by_ref().take(ROWS) {
            let _ = writeln!(
                table,
                "| {} \u{201c}{}\u{201d} | {} | {} | {} | {} | {} |",
                code_span(&clip(&row.key, 60)),
                plain(&row.quote),
                row.cases,
                row.passed,
                row.warned,
                row.failed,
                row.errored
            );
        }
        for row in troubled {
            other.cases += row.cases;
            other.warned += row.warned;
            other.failed += row.failed;
            other.errored += row.errored;
        }
        if other.failed + other.errored + other.warned > 0 {
            let _ = writeln!(
                table,
                "| other groups | {} | | {} | {} | {} |",
                other.cases, other.warned, other.failed, other.errored
            );
        }
        if !table.is_empty() {
            out.push_str("\n| Evidence | Cases | Passed | Warned | Failed | Errored |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
            out.push_str(&table);
        }
        let mut tail = String::new();
        if !self.warnings.is_empty() {
            tail.push_str("\n### 🔶 Warnings (level should: they fail the run only with `--strict`)\n\n");
            tail.push_str(&self.warnings);
            more(&mut tail, self.more_warnings);
        }
        if !self.unmodelled.is_empty() {
            tail.push_str("\n### Cases the harness could not judge\n\n");
            tail.push_str(&self.unmodelled);
            more(&mut tail, self.more_unmodelled);
        }
        let mut lines: Vec<String> = end.notes.iter().take(NOTES).map(|n| plain(&clip(n, NOTE))).collect();
        lines.extend(self.reproducer.last_line().map(|l| plain(&l)));
        if !lines.is_empty() {
            let _ = writeln!(tail, "\n{}", lines.join("  \n"));
        }
        // The folds that fit beside the rest, and the line that counts the others.
        let heading = format!("\n### Failures\n\n{}\n\n", plain(PORTS_CLOSED));
        let mut room = LIMIT.saturating_sub(out.len() + heading.len() + tail.len() + NOTE);
        let mut unfolded = self.unfolded.clone();
        let mut folds = String::new();
        for (fold, outcome) in &self.folds {
            if fold.len() <= room {
                room -= fold.len();
                folds.push_str(fold);
            } else {
                room = 0;
                unfolded.add(*outcome);
            }
        }
        if !folds.is_empty() {
            out.push_str(&heading);
            out.push_str(&folds);
        }
        if unfolded.cases > 0 {
            let _ = writeln!(
                out,
                "\n{} did not fit in this comment: the HTML report (`--report html=FILE`) and the JSON report list every case.",
                unfolded.line()
            );
        }
        out.push_str(&tail);
        self.out.write_all(out.as_bytes())?;
        self.out.flush()
    }
}

impl<W: Write> Sink for Markdown<W> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match *event {
            Event::Started(info) => {
                self.info = Some(info.clone());
                Ok(())
            }
            Event::Judged(case) => self.judged(case),
            Event::NotRun { reason, .. } => {
                self.not_run.add(reason);
                Ok(())
            }
            // A comment has no room for progress or for the calls no case owns.
            Event::Answered { .. } | Event::Unattributed(_) => Ok(()),
            Event::Ended(end) => self.ended(end),
        }
    }
}

/// Adds `line` to `lines` while they stay within [`LINES`]; counts it in `more` otherwise.
fn push_within(lines: &mut String, line: &str, more: &mut usize) {
    if lines.len() + line.len() <= LINES {
        lines.push_str(line);
    } else {
        *more += 1;
    }
}

fn more(out: &mut String, more: usize) {
    if more > 0 {
        let _ = writeln!(out, "- … and {more} more: the HTML and JSON reports list every case.");
    }
}

fn baseline_lines(out: &mut String, baseline: &crate::record::BaselineReport) {
    let _ = writeln!(out, "\nBaseline {}: {}.", code_span(&baseline.file), baseline.counts());
    let mut lines = String::new();
    let mut left = 0;
    for (label, list) in [
        ("Known deviation", &baseline.known),
        ("Expired, failing again", &baseline.expired),
        ("Fixed, remove it from the baseline", &baseline.fixed),
    ] {
        for d in list {
            let until = d.expires.map_or(String::new(), |date| format!(" (until {date})"));
            let line = format!(
                "- {label}: {} {}: {}{until}\n",
                code_span(&clip(&d.case, NOTE)),
                code_span(&clip(&d.check, NOTE)),
                plain(&clip(&d.reason, NOTE))
            );
            push_within(&mut lines, &line, &mut left);
        }
    }
    if !lines.is_empty() {
        out.push('\n');
        out.push_str(&lines);
        more(out, left);
    }
}

/// A failing case in a fold: the evidence, the checks, the exchange and the commands.
fn fold(case: &CaseReport, commands: &str, open: bool) -> String {
    let mut out = String::new();
    let mark = if case.outcome == CaseOutcome::Error { "⚠️" } else { "❌" };
    let checks: Vec<&str> = case.run_failures().map(|v| v.id).collect();
    // A fold's summary is HTML, not Markdown: escaped as HTML, and a blank line after it so the
    // body is Markdown again.
    let _ = writeln!(
        out,
        "<details{}><summary>{mark} <code>{}</code> {} ({})</summary>\n",
        if open { " open" } else { "" },
        escape(&visible(&case.id, false)),
        escape(&visible(&clip(&case.title, 200), false)),
        escape(&checks.join(", "))
    );
    let evidence = &case.evidence;
    let _ = writeln!(
        out,
        "> \u{201c}{}\u{201d}\n> \u{2014} {}: {}\n",
        plain(&clip(&evidence.quote, NOTE)),
        evidence.kind.label(),
        plain(&evidence.url)
    );
    let _ = writeln!(
        out,
        "Level **{}**, expected **{}**, outcome **{}**.\n",
        case.level.label(),
        case.expect.label(),
        case.outcome.label()
    );
    let failures: Vec<_> = case.failures().collect();
    if !failures.is_empty() {
        out.push_str("**Failing checks**\n\n");
        for failure in failures.iter().take(CHECKS) {
            // The first line is the finding; the lines after it (a snapshot's diff) are a block.
            let message = clip(&failure.message, MESSAGE);
            let (line, rest) = message.split_once('\n').unwrap_or((&message, ""));
            let _ = writeln!(out, "- {}: {}", code_span(failure.id), plain(line));
            if !rest.is_empty() {
                out.push('\n');
                for block_line in code_block("diff", rest).lines() {
                    let _ = writeln!(out, "  {block_line}");
                }
            }
        }
        if failures.len() > CHECKS {
            let _ = writeln!(out, "- … and {} more", failures.len() - CHECKS);
        }
        out.push('\n');
    }
    let request = &case.request;
    let _ = writeln!(out, "**Sent** {}\n", code_span(&clip(&format!("{} {}", request.method, request.url), MESSAGE)));
    body(&mut out, &request.body);
    match (&case.response, &case.error) {
        (Some(response), _) => {
            let content_type = response.header("content-type").unwrap_or("no Content-Type");
            let _ = writeln!(
                out,
                "**Received** {} in {} ms\n",
                code_span(&clip(&format!("{} {content_type}", response.status), NOTE)),
                response.elapsed_ms
            );
            if let Some(note) = &response.note {
                let _ = writeln!(out, "({})\n", plain(&clip(note, NOTE)));
            }
            body(&mut out, &response.body);
        }
        (None, error) => {
            let _ = writeln!(out, "**No answer**: {}\n", plain(&clip(error.as_deref().unwrap_or("none"), MESSAGE)));
        }
    }
    if !case.portal_calls.is_empty() {
        out.push_str("**Portal calls**\n\n");
        for call in case.portal_calls.iter().take(CALLS) {
            let error = call.error.as_deref().map_or(String::new(), |e| format!(" {}", code_span(&clip(e, NOTE))));
            let late = if call.late { " (after the answer)" } else { "" };
            let _ = writeln!(
                out,
                "- {} portal: {} with the {} token: {}{error}{late}",
                call.portal.label(),
                code_span(&clip(&call.method, NOTE)),
                call.token.label(),
                call.status
            );
        }
        if case.portal_calls.len() > CALLS {
            let _ = writeln!(out, "- … and {} more", case.portal_calls.len() - CALLS);
        }
        out.push('\n');
    }
    if let Some(frame) = &case.frame {
        let _ = writeln!(out, "**Frame** {}\n", plain(&frame_line(frame)));
    }
    out.push_str("**Reproduce**\n\n");
    out.push_str(&code_block("sh", commands));
    out.push_str("\n</details>\n");
    out
}

/// A body in a fenced block, cut at [`BODY`], or a note that there was none; the harness may
/// have kept less of it than its whole length.
fn body(out: &mut String, body: &Body) {
    let length = body.length;
    if length == 0 {
        out.push_str("(empty body)\n\n");
        return;
    }
    let (text, left_out) = excerpt(body, BODY);
    out.push_str(&code_block("text", &text));
    if left_out > 0 {
        let _ = writeln!(out, "({left_out} more bytes not shown, of {length})");
    }
    out.push('\n');
}

/// A run of backticks longer than any in `text`, and at least `min` long: a fence `text` cannot
/// close.
fn fence(text: &str, min: usize) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(min.max(longest + 1))
}

fn code_span(text: &str) -> String {
    let fence = fence(text, 1);
    // A span that starts or ends with a backtick needs a space inside its fence; Markdown strips
    // one such space on each side, so the text shows as it is.
    let pad = if text.starts_with('`') || text.ends_with('`') || text.is_empty() { " " } else { "" };
    format!("{fence}{pad}{}{pad}{fence}", visible(text, true).replace('\n', " "))
}

fn code_block(info: &str, text: &str) -> String {
    let fence = fence(text, 3);
    let text = visible(text, true);
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{info}\n{text}{newline}{fence}\n")
}

/// Text on one line, with every character that could open inline markup escaped (emphasis,
/// code, links, HTML, entities, strikethrough, tables, mentions and issue references). Block
/// markup cannot start: this text never begins a line.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in visible(text, true).chars() {
        match c {
            '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '!' | '~' | '|' | '@' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Format, sample};

    #[test]
    fn the_report() {
        insta::assert_snapshot!(sample::golden(Format::Markdown, &sample::cases()));
    }

    #[test]
    fn a_failing_case_says_what_its_frame_did() {
        let report = sample::golden(Format::Markdown, &sample::with_frames());
        assert!(
            report.contains("**Frame** never asked for its init data; 3 commands; 1 uncaught exceptions"),
            "{report}"
        );
        // The passing case's frame is not in a comment about failures.
        assert_eq!(report.matches("**Frame**").count(), 1, "{report}");
    }

    #[test]
    fn warnings_are_listed_apart() {
        insta::assert_snapshot!(sample::golden(Format::Markdown, &sample::with_warning()));
    }

    #[test]
    fn a_comment_fits_whatever_the_run() {
        let scratch = sample::Scratch::new("markdown-many");
        let text = sample::many(Format::Markdown, 3_000, &scratch);
        assert!(text.chars().count() <= LIMIT, "{} characters", text.chars().count());
        assert!(text.contains("<details open><summary>❌ <code>oversize/generated#0</code>"), "{text}");
        assert!(text.contains("more cases (") && text.contains("did not fit in this comment"), "{text}");
        assert!(text.contains("| other groups | 2800 |"), "{text}");
    }

    #[test]
    fn backticks_in_the_data_cannot_close_a_fence() {
        let scratch = sample::Scratch::new("markdown-fence");
        let text = sample::render(Format::Markdown, &sample::cases(), scratch.beside());
        // The hostile text has a run of 8 backticks, so every block holding it is fenced with 9.
        let nine = "`".repeat(9);
        assert!(text.contains(&format!("{nine}text\nx=<script>")), "{text}");
        assert!(text.contains(&format!("{nine}text\n<p><script>")), "{text}");
        // Every fence that opens a block is closed by the same fence before anything else.
        let mut open: Option<&str> = None;
        for line in text.lines() {
            let ticks = line.len() - line.trim_start_matches('`').len();
            match open {
                None if ticks >= 3 => open = Some(&line[..ticks]),
                Some(fence) if line == fence => open = None,
                Some(fence) => assert!(!line.starts_with(fence), "a line inside a block starts with its fence: {line}"),
                None => {}
            }
        }
        assert_eq!(open, None, "a block is left open");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(fence("````", 3), "`````");
        assert_eq!(plain("@team see #1, *now*\n[x](y)"), "\\@team see \\#1, \\*now\\* \\[x\\](y)");
        // A fold's summary is HTML: nothing the handler wrote is markup there.
        assert!(!text.contains("<summary>❌ <code>missing/member_id</code> missing/member_id <b>"), "{text}");
    }
}
