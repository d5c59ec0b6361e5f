//! The report as a pull-request comment (GitHub and GitLab Markdown): a verdict line, a summary
//! table, one section for each case that failed, with the evidence it enforces, the exchange,
//! the failing checks and the command that reproduces it; then the warnings, and the cases the
//! harness did not model, one line each.
//!
//! Everything the handler sends is hostile by assumption: it goes into code spans and fenced
//! blocks longer than any run of backticks in it, and other text is escaped, so no answer can
//! close a fence or inject markup into the comment.

use std::fmt::Write;

use super::{CaseOutcome, CaseReport, RunReport, excerpt, seconds};

/// Bytes of each body shown: a comment has to stay readable, and the curl command has it all.
const BODY_CAP: usize = 2048;

pub fn render_markdown(report: &RunReport) -> String {
    let s = &report.summary;
    let verdict = match (report.exit_code(), s.warned) {
        (0, 0) => "✅ passed",
        (0, _) => "✅ passed with warnings",
        _ => "❌ failed",
    };
    let mut out = format!(
        "## b24-conform {verdict}: {} (seed {}, wire {})\n\n",
        code_span(&report.handler),
        report.seed,
        report.wire
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
    if let Some(baseline) = &report.baseline {
        let _ = writeln!(
            out,
            "\nBaseline {}: {} known, {} expired, {} fixed.",
            code_span(&baseline.file),
            baseline.known.len(),
            baseline.expired.len(),
            baseline.fixed.len()
        );
        for (label, list) in [
            ("Known deviations", &baseline.known),
            ("Expired: failing again", &baseline.expired),
            ("Fixed: remove from the baseline", &baseline.fixed),
        ] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n**{label}**\n");
            for d in list {
                let until = d.expires.map_or(String::new(), |date| format!(" (until {date})"));
                let _ = writeln!(out, "- {} {}: {}{until}", code_span(&d.case), code_span(&d.check), plain(&d.reason));
            }
        }
    }
    for case in report.cases.iter().filter(|c| matches!(c.outcome, CaseOutcome::Fail | CaseOutcome::Error)) {
        out.push('\n');
        section(&mut out, case);
    }
    let warned: Vec<&CaseReport> = report.cases.iter().filter(|c| c.warnings().next().is_some()).collect();
    if !warned.is_empty() {
        out.push_str("\n### 🔶 Warnings (level should: they fail the run only with `--strict`)\n\n");
        for case in warned {
            for warning in case.warnings() {
                let line = warning.message.lines().next().unwrap_or_default();
                let _ = writeln!(out, "- {} {}: {}", code_span(&case.id), code_span(warning.id), plain(line));
            }
        }
    }
    let unmodelled: Vec<_> = report.cases.iter().filter_map(|c| Some((c, c.not_modelled.as_ref()?))).collect();
    if !unmodelled.is_empty() {
        out.push_str("\n### Cases the harness could not judge\n\n");
        for (case, why) in unmodelled {
            let _ = writeln!(out, "- {}: {}", code_span(&case.id), plain(why));
        }
    }
    out
}

fn section(out: &mut String, case: &CaseReport) {
    let mark = if case.outcome == CaseOutcome::Error { "⚠️" } else { "❌" };
    let _ = writeln!(out, "### {mark} {}: {}\n", code_span(&case.id), plain(&case.title));
    let evidence = &case.evidence;
    let _ = writeln!(
        out,
        "> \u{201c}{}\u{201d}\n> \u{2014} {}: {}\n",
        plain(&evidence.quote),
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
        for failure in failures {
            // The first line is the finding; the lines after it (a snapshot's diff) are a block.
            let (line, rest) = failure.message.split_once('\n').unwrap_or((&failure.message, ""));
            let _ = writeln!(out, "- {}: {}", code_span(failure.id), plain(line));
            if !rest.is_empty() {
                out.push('\n');
                for block_line in code_block("diff", rest).lines() {
                    let _ = writeln!(out, "  {block_line}");
                }
            }
        }
        out.push('\n');
    }
    let request = &case.request;
    let _ = writeln!(out, "**Sent** {}\n", code_span(&format!("{} {}", request.method, request.url)));
    body(out, &request.body);
    match (&case.response, &case.error) {
        (Some(response), _) => {
            let content_type = response.header("content-type").unwrap_or("no Content-Type");
            let _ = writeln!(
                out,
                "**Received** {} in {} ms\n",
                code_span(&format!("{} {content_type}", response.status)),
                response.elapsed_ms
            );
            body(out, &response.body);
        }
        (None, error) => {
            let _ = writeln!(out, "**No answer**: {}\n", plain(error.as_deref().unwrap_or("none")));
        }
    }
    if !case.portal_calls.is_empty() {
        out.push_str("**Portal calls**\n\n");
        for call in &case.portal_calls {
            let error = call.error.as_deref().map_or(String::new(), |e| format!(" {}", code_span(e)));
            let late = if call.late { " (after the answer)" } else { "" };
            let _ = writeln!(
                out,
                "- {} portal: {} with the {} token: {}{error}{late}",
                call.portal.label(),
                code_span(&call.method),
                call.token.label(),
                call.status
            );
        }
        out.push('\n');
    }
    out.push_str("**Reproduce**\n\n");
    out.push_str(&code_block("sh", &case.reproduce));
}

/// A body in a fenced block, cut at [`BODY_CAP`], or a note that there was none.
fn body(out: &mut String, bytes: &[u8]) {
    if bytes.is_empty() {
        out.push_str("(empty body)\n\n");
        return;
    }
    let (text, left_out) = excerpt(bytes, BODY_CAP);
    out.push_str(&code_block("text", &text));
    if left_out > 0 {
        let _ = writeln!(out, "({left_out} more bytes not shown)");
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
    format!("{fence}{pad}{}{pad}{fence}", text.replace('\n', " "))
}

fn code_block(info: &str, text: &str) -> String {
    let fence = fence(text, 3);
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{info}\n{text}{newline}{fence}\n")
}

/// Text on one line, with every character that could open inline markup escaped (emphasis,
/// code, links, HTML, entities, strikethrough, tables, mentions and issue references). Block
/// markup cannot start: this text never begins a line.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
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
    use crate::report::sample;

    #[test]
    fn only_the_summary_when_every_case_passes() {
        let mut report = sample::report();
        report.cases.retain(|c| c.outcome == CaseOutcome::Pass);
        report.recount();
        report.summary.duration_ms = 5;
        let text = render_markdown(&report);
        assert!(text.starts_with("## b24-conform ✅ passed: `````````http://127.0.0.1:9/<script>"), "{text}");
        assert!(text.ends_with("| 1 | 1 | 0 | 0 | 0 | 0 | 0 | 0.01 s |\n"), "{text}");
        assert!(!text.contains("###"), "{text}");
    }

    #[test]
    fn a_section_for_each_case_that_did_not_pass() {
        let text = render_markdown(&sample::report());
        assert!(text.starts_with("## b24-conform ❌ failed:"), "{text}");
        assert!(text.contains("| 3 | 1 | 0 | 1 | 1 | 0 | 0 | 1.23 s |"), "{text}");
        assert!(!text.contains("valid/one"), "{text}");
        assert!(text.contains("### ❌ `missing/member_id`: missing/member\\_id \\<b\\>title\\</b\\>\n"), "{text}");
        assert!(text.contains("### ⚠️ `options/hang`"), "{text}");
        assert!(
            text.contains(
                "> \u{201c}Required parameters are marked with \\*\u{201d}\n> \u{2014} documentation: https:"
            ),
            "{text}"
        );
        assert!(text.contains("- `rejects-invalid`: answered 200; expected 4xx \\<script\\>"), "{text}");
        assert!(text.contains("**Sent** `POST http://127.0.0.1:9/handler?DOMAIN="), "{text}");
        assert!(text.contains("**Received** `````````200 text/html; x=<script>"), "{text}");
        assert!(text.contains("**No answer**: no complete answer within 10000 ms"), "{text}");
        assert!(text.contains("- home portal: `````````user.current<script>"), "{text}");
        assert!(text.contains("**Reproduce**\n\n```sh\ncurl -sS -i -X POST"), "{text}");
    }

    #[test]
    fn warnings_are_listed_apart() {
        let text = render_markdown(&sample::with_warning());
        assert!(text.contains("| 3 | 1 | 1 | 0 | 1 | 0 | 0 | 1.23 s |"), "{text}");
        assert!(!text.contains("### ❌"), "{text}");
        assert!(
            text.contains("### 🔶 Warnings (level should: they fail the run only with `--strict`)\n\n- `missing/member_id` `rejects-invalid`: answered 200"),
            "{text}"
        );
    }

    #[test]
    fn backticks_in_the_data_cannot_close_a_fence() {
        let text = render_markdown(&sample::report());
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
    }

    #[test]
    fn bodies_are_capped() {
        let mut report = sample::report();
        if let Some(r) = report.cases[1].response.as_mut() {
            r.body = vec![b'a'; BODY_CAP + 10];
        }
        let text = render_markdown(&report);
        assert!(text.contains(&format!("{}\n```\n(10 more bytes not shown)", "a".repeat(BODY_CAP))), "{text}");
    }
}
