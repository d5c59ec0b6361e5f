//! The report for a person at a terminal: cases grouped by the documentation sentence they
//! enforce, one line each, failures expanded with the command that reproduces them.

use std::fmt::Write;

use super::{CaseOutcome, RunReport, seconds};

pub fn render_human(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "b24-conform {} against {} (seed {}, wire {})",
        report.version, report.handler, report.seed, report.wire
    );
    for (doc, cases) in report.groups() {
        let _ = writeln!(out, "\n\u{201c}{}\u{201d}\n  {}", doc.quote, doc.source);
        for case in cases {
            let label = case.outcome.label().to_uppercase();
            let status = case.response.as_ref().map_or("---".to_owned(), |r| r.status.to_string());
            let ms = case.response.as_ref().map_or(String::new(), |r| format!("{} ms", r.elapsed_ms));
            let _ = writeln!(
                out,
                "  {label:<5} {:<34} {:<8} {status:>3} {ms:>7}  {}",
                case.id,
                case.expect.label(),
                case.title
            );
            for failure in case.failures() {
                let _ = writeln!(out, "        {}: {}", failure.id, failure.message);
            }
            // What the handler asked of the portals explains most failures; passing cases keep
            // one line each.
            if case.outcome != CaseOutcome::Pass {
                for call in &case.portal_calls {
                    let _ = writeln!(out, "        portal {call}");
                }
            }
            if let Some(response) = case.response.as_ref().filter(|r| r.truncated) {
                let _ =
                    writeln!(out, "        (answer body cut at {} bytes; --body-cap raises it)", response.body.len());
            }
            if let Some(error) = &case.error {
                let _ = writeln!(out, "        {error}");
            }
        }
    }
    let failing: Vec<_> = report.cases.iter().filter(|c| c.outcome != CaseOutcome::Pass).collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\nReproduce the failures:");
        for case in failing {
            let _ = writeln!(out, "  # {}\n  {}", case.id, case.reproduce);
            if let Some(shrunk) = &case.shrunk {
                let mutations = serde_json::to_string(&shrunk.mutations).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  # {} shrunk in {} steps to the valid request with {mutations}\n  {}",
                    case.id, shrunk.steps, shrunk.reproduce
                );
            }
        }
    }
    if !report.unattributed.is_empty() {
        let _ = writeln!(out, "\nPortal calls that carried no token of the run (no case owns them):");
        for call in &report.unattributed {
            let _ = writeln!(out, "  {call}");
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} cases: {} passed, {} failed, {} errored in {} (seed {})",
        s.cases,
        s.passed,
        s.failed,
        s.errored,
        seconds(s.duration_ms),
        report.seed
    );
    out
}
