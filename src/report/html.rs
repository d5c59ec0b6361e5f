//! The report as one self-contained HTML page a person can read cold, in the manner of
//! Autobahn|Testsuite: the run's summary on top, then one row per case under the evidence it
//! enforces, with its level; failures and warnings open, with their checks, the exchange, the portal calls and the
//! command that reproduces them; passes folded.
//!
//! The handler is hostile by assumption and its answers are in the page, so every piece of data
//! goes through [`escape`], and the page forbids scripts and loads nothing (Content-Security-Policy)
//! should anything slip through.

use std::fmt::Write;

use super::{CaseOutcome, CaseReport, RunReport, excerpt, seconds};
use crate::html::escape;
use crate::suite::Level;

/// Bytes of each body shown: enough to read any page, bounded so a huge answer cannot make the
/// report unopenable.
const BODY_CAP: usize = 64 * 1024;

const STYLE: &str = "
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 16px 24px; color: #1f2328; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 16px; margin: 28px 0 2px; font-weight: 600; }
h3 { font-size: 13px; margin: 14px 0 4px; text-transform: uppercase; letter-spacing: .04em; color: #59636e; }
code, pre { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f6f8fa; border: 1px solid #d1d9e0; border-radius: 4px; padding: 8px 10px; margin: 0;
      white-space: pre-wrap; overflow-wrap: anywhere; max-height: 360px; overflow: auto; }
table { border-collapse: collapse; }
td, th { padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
.summary { background: #f6f8fa; border: 1px solid #d1d9e0; border-radius: 6px; padding: 12px 16px; }
.summary th { color: #59636e; font-weight: normal; }
.verdict { font-size: 18px; font-weight: 700; padding: 2px 10px; border-radius: 4px; color: #fff; }
.source { color: #59636e; margin: 0 0 6px; font-size: 12.5px; }
details { border-bottom: 1px solid #eaeef2; }
summary { cursor: pointer; padding: 4px 0; display: grid; grid-template-columns: 58px 300px 50px 70px 40px 64px 1fr;
          gap: 8px; align-items: baseline; }
summary .title { color: #3d444d; }
.case > div { padding: 4px 0 14px 66px; }
.badge { display: inline-block; text-align: center; font-size: 11px; font-weight: 700; border-radius: 3px; padding: 1px 0; color: #fff; }
.pass { background: #1a7f37; } .fail { background: #cf222e; } .error { background: #9a6700; } .known { background: #8250df; }
.warn { background: #bc4c00; } .not-modelled { background: #0969da; }
.muted { color: #59636e; }
.checks td.outcome-fail { color: #cf222e; font-weight: 600; }
.checks td.outcome-skip, .checks td.outcome-pass { color: #59636e; }
pre.diff { margin-top: 6px; } .diff .del { background: #ffebe9; } .diff .ins { background: #dafbe1; }
.diff .mark { color: #cf222e; font-weight: 700; }
.checks td.outcome-new { color: #9a6700; font-weight: 600; } .checks td.outcome-known { color: #8250df; font-weight: 600; }
.checks td.outcome-warning { color: #bc4c00; font-weight: 600; } .checks td.outcome-not-exercised { color: #0969da; }
.calls th { color: #59636e; font-weight: normal; border-bottom: 1px solid #d1d9e0; }
";

pub fn render_html(report: &RunReport) -> String {
    let s = &report.summary;
    let (verdict, class) = match (report.exit_code(), s.warned) {
        (0, 0) => ("PASSED", "pass"),
        (0, _) => ("PASSED WITH WARNINGS", "warn"),
        _ => ("FAILED", "fail"),
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>b24-conform {verdict}: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&report.handler)
    );
    let _ = write!(
        out,
        "<h1>b24-conform report</h1>\n<div class=\"summary\"><table>\n\
         <tr><th>Verdict</th><td><span class=\"verdict {class}\">{verdict}</span></td></tr>\n\
         <tr><th>Handler</th><td><code>{}</code></td></tr>\n\
         <tr><th>Cases</th><td>{}</td></tr>\n\
         <tr><th>Duration</th><td>{}</td></tr>\n\
         <tr><th>Seed</th><td>{} (wire {}; the same seed gives the same cases)</td></tr>\n\
         <tr><th>Tool</th><td>{} {}</td></tr>\n",
        escape(&report.handler),
        s.line(report.baseline.is_some()),
        seconds(s.duration_ms),
        report.seed,
        report.wire,
        report.tool,
        report.version
    );
    // Rows are numbered in page order, so the summary can link to the ones that did not pass.
    let groups = report.groups();
    let rows = groups.iter().flat_map(|(_, cases)| cases.iter()).enumerate();
    let links: Vec<String> = rows
        .filter(|(_, case)| case.outcome != CaseOutcome::Pass)
        .map(|(row, case)| format!("<a href=\"#case-{row}\"><code>{}</code></a>", escape(&case.id)))
        .collect();
    if !links.is_empty() {
        let _ = writeln!(out, "<tr><th>Did not pass</th><td>{}</td></tr>", links.join(" "));
    }
    if let Some(baseline) = &report.baseline {
        let _ = writeln!(
            out,
            "<tr><th>Baseline</th><td><code>{}</code>: {} known, {} expired, {} fixed</td></tr>",
            escape(&baseline.file),
            baseline.known.len(),
            baseline.expired.len(),
            baseline.fixed.len()
        );
        for (label, list) in [("Known", &baseline.known), ("Expired", &baseline.expired), ("Fixed", &baseline.fixed)] {
            if list.is_empty() {
                continue;
            }
            let items: Vec<String> = list
                .iter()
                .map(|d| {
                    let until = d.expires.map_or(String::new(), |date| format!(" (until {date})"));
                    format!(
                        "<code>{}</code> <code>{}</code>: {}{until}",
                        escape(&d.case),
                        escape(&d.check),
                        escape(&d.reason)
                    )
                })
                .collect();
            let _ = writeln!(out, "<tr><th>{label}</th><td>{}</td></tr>", items.join("<br>"));
        }
    }
    out.push_str("</table></div>\n");
    let mut row = 0;
    for (evidence, cases) in groups {
        let _ = write!(
            out,
            "<section>\n<h2>\u{201c}{}\u{201d}</h2>\n<p class=\"source\">{}: {}</p>\n",
            escape(&evidence.quote),
            evidence.kind.label(),
            escape(&evidence.url)
        );
        for case in cases {
            case_row(&mut out, row, case);
            row += 1;
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// One case: a summary line, and its details, open when it did not pass.
fn case_row(out: &mut String, row: usize, case: &CaseReport) {
    let outcome = case.outcome.label();
    let open = if case.outcome == CaseOutcome::Pass { "" } else { " open" };
    let (status, ms) = match &case.response {
        Some(r) => (r.status.to_string(), format!("{} ms", r.elapsed_ms)),
        None => ("---".to_owned(), String::new()),
    };
    let _ = write!(
        out,
        "<details class=\"case\" id=\"case-{row}\"{open}><summary><span class=\"badge {outcome}\">{}</span>\
         <code>{}</code><span class=\"muted\">{}</span><span class=\"muted\">{}</span><span>{status}</span>\
         <span class=\"muted\">{ms}</span><span class=\"title\">{}</span></summary>\n<div>\n",
        outcome.to_uppercase(),
        escape(&case.id),
        case.level.label(),
        case.expect.label(),
        escape(&case.title)
    );
    if let Some(why) = &case.not_modelled {
        let _ = writeln!(out, "<p class=\"muted\">{}</p>", escape(why));
    }
    out.push_str("<h3>Checks</h3>\n<table class=\"checks\">\n");
    for verdict in &case.checks {
        // A failure at level should is a warning, and shown as one.
        let outcome = match verdict.outcome.is_failure() && verdict.level == Level::Should {
            true => "warning",
            false => verdict.outcome.label(),
        };
        // The first line is the finding; the lines after it (a snapshot's diff) are preformatted.
        let (line, rest) = verdict.message.split_once('\n').unwrap_or((&verdict.message, ""));
        let block =
            if rest.is_empty() { String::new() } else { format!("<pre class=\"diff\">{}</pre>", diff_lines(rest)) };
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"outcome-{outcome}\">{outcome}</td><td>{}{block}</td></tr>",
            escape(verdict.id),
            escape(line)
        );
    }
    out.push_str("</table>\n");

    let request = &case.request;
    let mut sent = format!("{} {}\n", request.method, request.url);
    for (name, value) in &request.headers {
        let _ = writeln!(sent, "{name}: {value}");
    }
    exchange_part(out, "Request", &sent, &request.body, false);
    match (&case.response, &case.error) {
        (Some(response), _) => {
            let mut head = format!("{}\n", response.status);
            for (name, value) in &response.headers {
                let _ = writeln!(head, "{name}: {value}");
            }
            exchange_part(out, "Response", &head, &response.body, response.truncated);
        }
        (None, error) => {
            let _ = writeln!(
                out,
                "<h3>Response</h3>\n<pre>no answer: {}</pre>",
                escape(error.as_deref().unwrap_or("none"))
            );
        }
    }

    out.push_str("<h3>Portal calls</h3>\n");
    if case.portal_calls.is_empty() {
        out.push_str("<p class=\"muted\">none</p>\n");
    } else {
        out.push_str(
            "<table class=\"calls\">\n<tr><th>portal</th><th>endpoint</th><th>method</th><th>HTTP</th>\
             <th>token</th><th>status</th><th>error</th></tr>\n",
        );
        for call in &case.portal_calls {
            let late = if call.late { " (after the answer)" } else { "" };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}{late}</td><td>{}</td><td>{}</td></tr>",
                call.portal.label(),
                format!("{:?}", call.endpoint).to_lowercase(),
                escape(&call.method),
                escape(&call.http_method),
                call.token.label(),
                call.status,
                escape(call.error.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</table>\n");
    }
    let _ = write!(out, "<h3>Reproduce</h3>\n<pre>{}</pre>\n</div>\n</details>\n", escape(&case.reproduce));
}

/// A diff's lines, escaped, with removed and added lines marked for colour.
fn diff_lines(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let class = match line.as_bytes().first() {
            Some(b'-') if !line.starts_with("---") => "del",
            Some(b'+') if !line.starts_with("+++") => "ins",
            Some(b'?') => "mark",
            _ => "",
        };
        match class {
            "" => out.push_str(&escape(line)),
            class => {
                let _ = write!(out, "<span class=\"{class}\">{}</span>", escape(line));
            }
        }
        out.push('\n');
    }
    out
}

/// A request or response: its head, a blank line and its body, cut at [`BODY_CAP`].
fn exchange_part(out: &mut String, heading: &str, head: &str, body: &[u8], truncated: bool) {
    let (text, left_out) = excerpt(body, BODY_CAP);
    let _ = write!(out, "<h3>{heading}</h3>\n<pre>{}\n{}</pre>\n", escape(head), escape(&text));
    if left_out > 0 {
        let _ = writeln!(out, "<p class=\"muted\">{left_out} more bytes not shown.</p>");
    }
    if truncated {
        out.push_str(
            "<p class=\"muted\">The answer was longer than the run's --body-cap; the rest was not read.</p>\n",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn handler_data_is_escaped_everywhere() {
        let html = render_html(&sample::report());
        // The only markup is the page's own: no tag the handler sent survives.
        assert!(!html.contains("<script") && !html.contains("<p><script") && !html.contains("<b>title"), "{html}");
        assert!(html.contains("&lt;p&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), "{html}");
        assert!(html.contains("<title>b24-conform FAILED: http://127.0.0.1:9/&lt;script&gt;"), "{html}");
        assert!(html.contains("<tr><td>home</td><td>rest</td><td><code>user.current&lt;script&gt;"), "{html}");
        assert!(html.contains("<td>given</td><td>401</td>"), "the call's portal, token role and answer: {html}");
        assert!(html.contains("expired_token&lt;script&gt;"), "{html}");
        assert!(html.contains("no answer: no complete answer within 10000 ms &lt;script&gt;"), "{html}");
        assert!(html.contains("content-type: text/html; x=&lt;script&gt;"), "{html}");
        assert!(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""), "{html}");
    }

    #[test]
    fn summary_first_failures_open_passes_folded() {
        let html = render_html(&sample::report());
        let summary = html.find("3 cases: 1 passed, 0 warned, 1 failed, 1 errored").expect("the summary");
        assert!(summary < html.find("<section>").expect("a group"), "{html}");
        assert!(html.contains("<span class=\"verdict fail\">FAILED</span>"), "{html}");
        assert!(
            html.contains(
                "<details class=\"case\" id=\"case-0\"><summary><span class=\"badge pass\">PASS</span><code>valid/one</code>"
            )
        );
        assert!(html.contains(
            "<details class=\"case\" id=\"case-1\" open><summary><span class=\"badge fail\">FAIL</span><code>missing/member_id</code>"
        ));
        assert!(html.contains(
            "<details class=\"case\" id=\"case-2\" open><summary><span class=\"badge error\">ERROR</span><code>options/hang</code>"
        ));
        assert_eq!(html.matches("<section>").count(), 2);
        assert!(html.contains(
            "<tr><th>Did not pass</th><td><a href=\"#case-1\"><code>missing/member_id</code></a> \
             <a href=\"#case-2\"><code>options/hang</code></a></td></tr>"
        ));
        assert!(html.contains("<h2>\u{201c}Required parameters are marked with *\u{201d}</h2>"));
        assert!(html.contains("<td class=\"outcome-fail\">fail</td><td>answered 200; expected 4xx &lt;script&gt;"));
        assert!(html.contains("<h3>Reproduce</h3>\n<pre>curl -sS -i -X POST &#39;http://127.0.0.1:9/handler"));
    }

    #[test]
    fn warnings_are_marked_apart() {
        let html = render_html(&sample::with_warning());
        assert!(html.contains("3 cases: 1 passed, 1 warned, 0 failed, 1 errored"), "{html}");
        assert!(html.contains("<span class=\"badge warn\">WARN</span><code>missing/member_id</code>"), "{html}");
        assert!(html.contains("<td class=\"outcome-warning\">warning</td><td>answered 200"), "{html}");
    }

    #[test]
    fn bodies_are_capped() {
        let mut report = sample::report();
        if let Some(r) = report.cases[1].response.as_mut() {
            r.body = vec![b'a'; BODY_CAP + 5];
            r.truncated = true;
        }
        let html = render_html(&report);
        assert!(
            html.contains(&format!("{}</pre>\n<p class=\"muted\">5 more bytes not shown.</p>", "a".repeat(BODY_CAP)))
        );
        assert!(html.contains("longer than the run's --body-cap"));
    }
}
