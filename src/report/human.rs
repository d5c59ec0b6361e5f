//! The report for a person at a terminal: cases grouped by the evidence they enforce, one line
//! each, failures and warnings expanded, and at the end the failures again, each with the
//! command that reproduces it, then the warnings and the cases the harness did not model. In colour when asked (`--color`), never otherwise, so a log or a
//! file gets plain text.

use std::fmt::Write;

use super::{CaseOutcome, CaseReport, RunReport};
use crate::checks::Outcome;
use crate::suite::Level;

pub fn render_human(report: &RunReport) -> String {
    human(report, Paint(false))
}

/// The same report with ANSI colours, for a terminal.
pub fn render_human_in_colour(report: &RunReport) -> String {
    human(report, Paint(true))
}

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

    /// A check's message; the lines after the first (a snapshot's diff) indented under it, and
    /// in colour by what each diff line says.
    fn message(self, message: &str) -> String {
        let mut lines = message.lines();
        let mut out = lines.next().unwrap_or_default().to_owned();
        for line in lines {
            let style = match line.as_bytes().first() {
                _ if line.starts_with("---") || line.starts_with("+++") => BOLD,
                Some(b'-') => RED,
                Some(b'+') => GREEN,
                Some(b'?') => YELLOW,
                Some(b'@') => CYAN,
                _ => "",
            };
            let line = if style.is_empty() { line.to_owned() } else { self.paint(style, line) };
            let _ = write!(out, "\n          {line}");
        }
        out
    }
}

fn human(report: &RunReport, paint: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "b24-conform {} against {} (seed {}, wire {})",
        report.version, report.handler, report.seed, report.wire
    );
    for (evidence, cases) in report.groups() {
        let source = format!("{}: {}", evidence.kind.label(), evidence.url);
        let _ = writeln!(out, "\n\u{201c}{}\u{201d}\n  {}", evidence.quote, paint.paint(DIM, &source));
        for case in cases {
            case_lines(&mut out, case, paint);
        }
    }
    if let Some(baseline) = &report.baseline {
        let _ = writeln!(
            out,
            "\nBaseline {}: {} known, {} expired, {} fixed",
            baseline.file,
            baseline.known.len(),
            baseline.expired.len(),
            baseline.fixed.len()
        );
        let lists = [
            ("expired, failing again", &baseline.expired),
            ("fixed, remove it (or --baseline-update)", &baseline.fixed),
        ];
        for (label, list) in lists {
            for d in list {
                let _ = writeln!(out, "  {label}: {} {} ({})", d.case, d.check, d.reason);
            }
        }
    }
    let failing: Vec<_> =
        report.cases.iter().filter(|c| matches!(c.outcome, CaseOutcome::Fail | CaseOutcome::Error)).collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\n{}", paint.paint(BOLD, "Failures, and the commands that reproduce them:"));
        for case in failing {
            let checks: Vec<&str> = case.run_failures().map(|v| v.id).collect();
            let what = if checks.is_empty() { case.outcome.label().to_owned() } else { checks.join(", ") };
            let _ = writeln!(
                out,
                "  {} {}\n  {}",
                paint.outcome(case.outcome, &case.id),
                paint.paint(DIM, &format!("({what})")),
                case.reproduce
            );
            if let Some(shrunk) = &case.shrunk {
                let mutations = serde_json::to_string(&shrunk.mutations).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {} shrunk in {} steps to the valid request with {mutations}\n  {}",
                    case.id, shrunk.steps, shrunk.reproduce
                );
            }
        }
    }
    let warned: Vec<_> = report.cases.iter().filter(|c| c.warnings().next().is_some()).collect();
    if !warned.is_empty() {
        let heading = "Warnings (level should: good practice; --strict makes them fail):";
        let _ = writeln!(out, "\n{}", paint.paint(BOLD, heading));
        for case in warned {
            let checks: Vec<&str> = case.warnings().map(|v| v.id).collect();
            let _ = writeln!(
                out,
                "  {} {}\n  {}",
                paint.outcome(CaseOutcome::Warn, &case.id),
                paint.paint(DIM, &format!("({})", checks.join(", "))),
                case.reproduce
            );
        }
    }
    let unmodelled: Vec<_> = report.cases.iter().filter_map(|c| Some((c, c.not_modelled.as_ref()?))).collect();
    if !unmodelled.is_empty() {
        let _ = writeln!(out, "\n{}", paint.paint(BOLD, "Cases the harness could not judge:"));
        for (case, why) in unmodelled {
            let _ = writeln!(out, "  {} {why}", paint.outcome(CaseOutcome::NotModelled, &case.id));
        }
    }
    if !report.unattributed.is_empty() {
        // Most are harmless: a case that sends a probe as AUTH_ID, which the handler passed on.
        let _ = writeln!(
            out,
            "\nPortal calls with a token the run never issued (no case owns them; e.g. a probe a case sent as AUTH_ID, passed on by the handler):"
        );
        for call in &report.unattributed {
            let _ = writeln!(out, "  {call}");
        }
    }
    let s = &report.summary;
    let style = if report.exit_code() != 0 {
        RED
    } else if s.warned > 0 {
        YELLOW
    } else {
        GREEN
    };
    let _ = writeln!(out, "\n{}", paint.paint(style, &report.summary_line()));
    out
}

fn case_lines(out: &mut String, case: &CaseReport, paint: Paint) {
    let label = format!("{:<5}", case.outcome.label().to_uppercase());
    // The statuses of the redirects followed, then the answer judged: `303→200`.
    let mut statuses: Vec<String> =
        case.redirects.iter().filter(|r| r.followed).map(|r| r.status.to_string()).collect();
    statuses.push(case.response.as_ref().map_or("---".to_owned(), |r| r.status.to_string()));
    let status = statuses.join("→");
    let ms = case.response.as_ref().map_or(String::new(), |r| format!("{} ms", r.elapsed_ms));
    let _ = writeln!(
        out,
        "  {} {:<34} {:<6} {:<8} {status:>3} {ms:>7}  {}",
        paint.outcome(case.outcome, &label),
        case.id,
        case.level.label(),
        case.expect.label(),
        case.title
    );
    if let Some(why) = &case.not_modelled {
        let _ = writeln!(out, "        {why}");
    }
    for known in case.checks.iter().filter(|v| v.outcome == Outcome::Known) {
        let _ = writeln!(out, "        {} (known deviation): {}", known.id, paint.message(&known.message));
    }
    for failure in case.failures() {
        let warning = if failure.level == Level::Should { " (should: a warning)" } else { "" };
        let _ =
            writeln!(out, "        {}{warning}: {}", paint.paint(BOLD, failure.id), paint.message(&failure.message));
    }
    for idle in case.checks.iter().filter(|v| v.outcome == Outcome::NotExercised) {
        let _ = writeln!(out, "        {} not exercised: {}", idle.id, idle.message);
    }
    // What the handler asked of the portals explains most failures; passing cases keep one line
    // each.
    if case.outcome != CaseOutcome::Pass {
        for redirect in &case.redirects {
            let _ = writeln!(out, "        redirect {redirect}");
        }
        for call in &case.portal_calls {
            let _ = writeln!(out, "        portal {call}");
        }
    }
    if let Some(response) = case.response.as_ref().filter(|r| r.truncated) {
        let _ = writeln!(out, "        (answer body cut at {} bytes; --body-cap raises it)", response.body.len());
    }
    if let Some(error) = &case.error {
        let _ = writeln!(out, "        {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn colour_only_when_asked() {
        let report = sample::report();
        let plain = render_human(&report);
        assert!(!plain.contains('\x1b'), "{plain}");
        let coloured = render_human_in_colour(&report);
        assert!(coloured.contains("\x1b[31mFAIL \x1b[0m missing/member_id"), "{coloured}");
        assert!(coloured.contains("\x1b[32mPASS \x1b[0m valid/one"), "{coloured}");
        // Without the escapes it is the plain report.
        let stripped = regex::Regex::new("\x1b\\[[0-9]+m").unwrap().replace_all(&coloured, "");
        assert_eq!(stripped, plain);
    }

    #[test]
    fn warnings_are_shown_apart_and_counted() {
        let text = render_human(&sample::with_warning());
        assert!(text.contains("  WARN  missing/member_id"), "{text}");
        assert!(text.contains("        rejects-invalid (should: a warning): answered 200"), "{text}");
        let end =
            text.split("Warnings (level should: good practice; --strict makes them fail):\n").nth(1).expect(&text);
        assert!(end.starts_with("  missing/member_id (rejects-invalid)\n  curl "), "{end}");
        let failures = text.split("Failures, and the commands").nth(1).expect(&text);
        assert!(!failures.split("Warnings").next().unwrap_or_default().contains("missing/member_id"), "{text}");
        assert!(text.ends_with("3 cases: 1 passed, 1 warned, 0 failed, 1 errored; 0 checks not exercised, 0 cases not modelled (seed 24, 1.23 s)\n"), "{text}");
    }

    #[test]
    fn failures_are_listed_at_the_end_with_their_reproduce_commands() {
        let text = render_human(&sample::report());
        let end = text.split("Failures, and the commands that reproduce them:\n").nth(1).expect(&text);
        assert!(
            end.starts_with("  missing/member_id (rejects-invalid)\n  curl -sS -i -X POST 'http://127.0.0.1:9/handler"),
            "{end}"
        );
        assert!(end.contains("  options/hang (no-server-error)\n  curl "), "{end}");
        assert!(!end.contains("valid/one"), "{end}");
    }
}
