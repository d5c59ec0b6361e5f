//! The report as one self-contained HTML page a person can read cold, in the manner of
//! Autobahn|Testsuite: the run's summary on top, then the cases under the evidence they enforce,
//! a row each; failures and warnings open, with their checks, the exchange, the portal calls and
//! the commands that reproduce them.
//!
//! Streamed, and a few MB at most whatever the handler sends: each part of a case is capped, a
//! passing case is one compact row, and once the page holds [`DETAILS`] bytes the cases after
//! are rows only, once it holds [`PAGE`] they are counted, with "N more cases in the JSON
//! report". The summary is known last, so it is written last and shown first (CSS `order`).
//!
//! A case opened in a browser (`--browser`) shows its frame beside the exchange: a screenshot
//! (a PNG in a data: URI), the frame protocol commands, console errors, uncaught exceptions, the
//! browser's requests and its calls to the portal. A passing case with a frame is a closed fold
//! holding that part. Screenshots have a budget of their own, [`Screenshots`], apart from the
//! page's: the first [`SHOTS`] frames' within [`SHOTS_BYTES`], so frames cannot crowd out the
//! failures' details, nor make the page more than a few MB.
//!
//! The handler is hostile by assumption and its answers are in the page, so every piece of data
//! goes through [`escape`], and the page forbids scripts and loads nothing (Content-Security-Policy)
//! should anything slip through.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::reproduce::{PORTS_CLOSED, Reproducer};
use super::{Left, NotRun, Sink, Verdict, clip, excerpt, is_failure, seconds, summary_line, verdict, visible};
use crate::html::escape;
use base64::Engine as _;

use crate::record::{Body, CaseOutcome, CaseReport, Event, FrameRecord, PortalCall, RunEnd, RunInfo};
use crate::suite::Level;

/// Bytes of the page after which cases are rows without details.
const DETAILS: usize = 2 << 20;
/// Bytes of the page after which cases are only counted.
const PAGE: usize = 3 << 20;
/// Bytes shown of a request's body, and of an answer's.
const REQUEST_BODY: usize = 8 * 1024;
const ANSWER_BODY: usize = 32 * 1024;
/// A message (a snapshot's diff), an error or a header longer than this is cut.
const TEXT: usize = 8 * 1024;
/// Headers, portal calls and redirects shown for one case.
const LIST: usize = 50;
/// Links to the cases that did not pass, in the summary.
const LINKS: usize = 100;
/// Calls no case owns, and notes, in the summary.
const NOTES: usize = 20;
/// Screenshots a page embeds, and their bytes (PNG, before base64) in all and each at most.
const SHOTS: usize = 100;
const SHOTS_BYTES: usize = 2 << 20;
const SHOT: usize = 256 << 10;
/// Characters shown of a frame command's parameters, and of a browser request's URL.
const PARAMS: usize = 300;
const URL: usize = 500;
/// Characters shown of one console error or exception.
const CONSOLE: usize = 1024;

const STYLE: &str = "
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 16px 24px; color: #1f2328; }
main { display: flex; flex-direction: column; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 16px; margin: 28px 0 2px; font-weight: 600; }
h3 { font-size: 13px; margin: 14px 0 4px; text-transform: uppercase; letter-spacing: .04em; color: #59636e; }
code, pre { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f6f8fa; border: 1px solid #d1d9e0; border-radius: 4px; padding: 8px 10px; margin: 0;
      white-space: pre-wrap; overflow-wrap: anywhere; max-height: 360px; overflow: auto; }
table { border-collapse: collapse; }
td, th { padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
.summary { order: -1; background: #f6f8fa; border: 1px solid #d1d9e0; border-radius: 6px; padding: 12px 16px; }
.summary th { color: #59636e; font-weight: normal; }
.verdict { font-size: 18px; font-weight: 700; padding: 2px 10px; border-radius: 4px; color: #fff; }
.source { color: #59636e; margin: 0 0 6px; font-size: 12.5px; }
details, .row { border-bottom: 1px solid #eaeef2; }
summary, .row { padding: 4px 0; display: grid; grid-template-columns: 58px 300px 50px 70px 40px 64px 1fr;
          gap: 8px; align-items: baseline; }
summary { cursor: pointer; }
.title { color: #3d444d; }
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
img.shot { display: block; max-width: 100%; max-height: 600px; border: 1px solid #d1d9e0; }
";

pub(super) struct Html<W> {
    out: W,
    reproducer: Reproducer,
    info: Option<RunInfo>,
    /// Bytes written so far: the budgets are on it.
    written: usize,
    /// The evidence key of the section open, if one is.
    group: Option<String>,
    /// Rows written, which number the cases' anchors.
    rows: usize,
    /// Links to the first cases that did not pass, and how many more did not.
    links: Vec<String>,
    more_links: usize,
    /// Cases past the page's budget, counted.
    left: Left,
    unattributed: Vec<String>,
    more_unattributed: usize,
    not_run: NotRun,
    screenshots: Screenshots,
}

impl<W: Write> Html<W> {
    pub fn new(out: W, reproducer: Reproducer) -> Self {
        Html {
            out,
            reproducer,
            info: None,
            written: 0,
            group: None,
            rows: 0,
            links: Vec::new(),
            more_links: 0,
            left: Left::default(),
            unattributed: Vec::new(),
            more_unattributed: 0,
            not_run: NotRun::default(),
            screenshots: Screenshots::default(),
        }
    }

    fn put(&mut self, text: &str) -> io::Result<()> {
        self.written += text.len();
        self.out.write_all(text.as_bytes())
    }

    /// A case's part of the page, of which `images` bytes are screenshots: those count against
    /// the screenshots' budget, not the page's.
    fn put_case(&mut self, text: &str, images: usize) -> io::Result<()> {
        self.written += text.len().saturating_sub(images);
        self.out.write_all(text.as_bytes())
    }

    fn started(&mut self, info: &RunInfo) -> io::Result<()> {
        self.info = Some(info.clone());
        let page = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>b24-conform report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
             <h1>b24-conform report</h1>\n<main>\n",
            esc(&clip(&info.handler, TEXT))
        );
        self.put(&page)
    }

    fn judged(&mut self, case: &CaseReport) -> io::Result<()> {
        if self.written >= PAGE {
            self.left.add(case.outcome);
            self.screenshots.skip(case);
            return Ok(());
        }
        let mut out = String::new();
        if self.group.as_deref() != Some(case.evidence.key.as_str()) {
            if self.group.is_some() {
                out.push_str("</section>\n");
            }
            let evidence = &case.evidence;
            let _ = write!(
                out,
                "<section>\n<h2>\u{201c}{}\u{201d}</h2>\n<p class=\"source\">{}: {}</p>\n",
                esc(&clip(&evidence.quote, TEXT)),
                evidence.kind.label(),
                esc(&clip(&evidence.url, TEXT))
            );
            self.group = Some(evidence.key.clone());
        }
        let row = self.rows;
        self.rows += 1;
        if case.outcome != CaseOutcome::Pass {
            if self.links.len() < LINKS {
                self.links.push(format!("<a href=\"#case-{row}\"><code>{}</code></a>", esc(&case.id)));
            } else {
                self.more_links += 1;
            }
        }
        let mut images = 0;
        match (&case.frame, case.outcome == CaseOutcome::Pass || self.written >= DETAILS) {
            (Some(frame), true) if self.written < DETAILS => {
                let _ =
                    write!(out, "<details class=\"case\" id=\"case-{row}\"><summary>{}</summary>\n<div>\n", line(case));
                images = frame_part(&mut out, frame, &mut self.screenshots);
                out.push_str("</div>\n</details>\n");
            }
            (_, true) => {
                self.screenshots.skip(case);
                let _ = writeln!(out, "<div class=\"row\" id=\"case-{row}\">{}</div>", line(case));
            }
            (_, false) => {
                let commands = if is_failure(case) || case.warnings().next().is_some() {
                    let info =
                        self.info.as_ref().ok_or_else(|| io::Error::other("a case came before the run started"))?;
                    Some(self.reproducer.commands(info, case)?)
                } else {
                    None
                };
                images = details(&mut out, row, case, commands.as_deref(), &mut self.screenshots);
            }
        }
        self.put_case(&out, images)
    }

    fn ended(&mut self, end: &RunEnd) -> io::Result<()> {
        let info = self.info.clone().ok_or_else(|| io::Error::other("the run ended before it started"))?;
        let mut out = String::new();
        if self.group.is_some() {
            out.push_str("</section>\n");
        }
        if self.left.cases > 0 {
            let _ = writeln!(
                out,
                "<p class=\"muted\">{} are in the JSON report: this page stops at {} MB.</p>",
                esc(&self.left.line()),
                PAGE >> 20
            );
        }
        let s = &end.summary;
        let (verdict, class) = match verdict(end) {
            Verdict::Passed => ("PASSED", "pass"),
            Verdict::Warned => ("PASSED WITH WARNINGS", "warn"),
            Verdict::Failed => ("FAILED", "fail"),
        };
        let partition = info.partition.as_ref().map_or(String::new(), |p| format!("; partition {}", esc(p)));
        let _ = write!(
            out,
            "<div class=\"summary\"><table>\n\
             <tr><th>Verdict</th><td><span class=\"verdict {class}\">{verdict}</span></td></tr>\n\
             <tr><th>Handler</th><td><code>{}</code></td></tr>\n\
             <tr><th>Cases</th><td>{}</td></tr>\n\
             <tr><th>Duration</th><td>{}</td></tr>\n\
             <tr><th>Seed</th><td>{} (wire {}{partition}; the same seed gives the same cases)</td></tr>\n\
             <tr><th>Tool</th><td>{} {}</td></tr>\n",
            esc(&clip(&info.handler, TEXT)),
            esc(&summary_line(s, end.baseline.is_some(), info.seed)),
            seconds(s.duration_ms),
            info.seed,
            info.wire,
            info.tool,
            info.version
        );
        if !self.links.is_empty() {
            let more = if self.more_links > 0 { format!(" and {} more", self.more_links) } else { String::new() };
            let _ = writeln!(out, "<tr><th>Did not pass</th><td>{}{more}</td></tr>", self.links.join(" "));
        }
        if self.screenshots.left_out > 0 {
            let _ = writeln!(out, "<tr><th>Screenshots</th><td>{}</td></tr>", self.screenshots.line());
        }
        if let Some(stopped) = &end.stopped {
            let _ = writeln!(out, "<tr><th>Stopped</th><td>{}</td></tr>", esc(&clip(stopped, TEXT)));
        }
        let not_run = self.not_run.lines();
        if !not_run.is_empty() {
            let lines: Vec<String> = not_run.iter().map(|l| esc(&clip(l, TEXT))).collect();
            let _ = writeln!(out, "<tr><th>Not run</th><td>{}</td></tr>", lines.join("<br>"));
        }
        if let Some(baseline) = &end.baseline {
            baseline_rows(&mut out, baseline);
        }
        if !self.unattributed.is_empty() {
            let more = if self.more_unattributed > 0 {
                format!("<br>and {} more", self.more_unattributed)
            } else {
                String::new()
            };
            let _ =
                writeln!(out, "<tr><th>Calls no case owns</th><td>{}{more}</td></tr>", self.unattributed.join("<br>"));
        }
        let mut notes: Vec<String> = end.notes.iter().take(NOTES).map(|n| esc(&clip(n, TEXT))).collect();
        notes.extend(self.reproducer.last_line().map(|l| esc(&l)));
        if !notes.is_empty() {
            let _ = writeln!(out, "<tr><th>Notes</th><td>{}</td></tr>", notes.join("<br>"));
        }
        out.push_str("</table></div>\n</main>\n</body>\n</html>\n");
        self.put(&out)?;
        self.out.flush()
    }
}

impl<W: Write> Sink for Html<W> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match *event {
            Event::Started(info) => self.started(info),
            Event::Judged(case) => self.judged(case),
            Event::NotRun { reason, .. } => {
                self.not_run.add(reason);
                Ok(())
            }
            Event::Unattributed(call) => {
                if self.unattributed.len() < NOTES {
                    self.unattributed.push(esc(&clip(&call.to_string(), TEXT)));
                } else {
                    self.more_unattributed += 1;
                }
                Ok(())
            }
            Event::Answered { .. } => Ok(()),
            Event::Ended(end) => self.ended(end),
        }
    }
}

fn baseline_rows(out: &mut String, baseline: &crate::record::BaselineReport) {
    let _ =
        writeln!(out, "<tr><th>Baseline</th><td><code>{}</code>: {}</td></tr>", esc(&baseline.file), baseline.counts());
    for (label, list) in [("Known", &baseline.known), ("Expired", &baseline.expired), ("Fixed", &baseline.fixed)] {
        if list.is_empty() {
            continue;
        }
        let mut items: Vec<String> = list
            .iter()
            .take(LINKS)
            .map(|d| {
                let until = d.expires.map_or(String::new(), |date| format!(" (until {date})"));
                format!(
                    "<code>{}</code> <code>{}</code>: {}{until}",
                    esc(&d.case),
                    esc(&d.check),
                    esc(&clip(&d.reason, TEXT))
                )
            })
            .collect();
        if list.len() > LINKS {
            items.push(format!("and {} more", list.len() - LINKS));
        }
        let _ = writeln!(out, "<tr><th>{label}</th><td>{}</td></tr>", items.join("<br>"));
    }
}

/// `text` escaped for the page, its control characters made visible.
fn esc(text: &str) -> String {
    escape(&visible(text, true))
}

/// A case's one line: outcome, id, level, expectation, status, time, title.
fn line(case: &CaseReport) -> String {
    let outcome = case.outcome.label();
    let (status, ms) = match &case.response {
        Some(r) => (r.status.to_string(), format!("{} ms", r.elapsed_ms)),
        None => ("---".to_owned(), String::new()),
    };
    format!(
        "<span class=\"badge {outcome}\">{}</span><code>{}</code><span class=\"muted\">{}</span>\
         <span class=\"muted\">{}</span><span>{status}</span><span class=\"muted\">{ms}</span>\
         <span class=\"title\">{}</span>",
        outcome.to_uppercase(),
        esc(&case.id),
        case.level.label(),
        case.expect.label(),
        esc(&clip(&case.title, TEXT))
    )
}

/// A case that did not pass, open: its line, its checks, the exchange, the portal calls, the
/// frame when it was opened in a browser, and the commands that reproduce it. Returns the bytes
/// of screenshots it holds.
fn details(
    out: &mut String,
    row: usize,
    case: &CaseReport,
    commands: Option<&str>,
    screenshots: &mut Screenshots,
) -> usize {
    let _ = write!(out, "<details class=\"case\" id=\"case-{row}\" open><summary>{}</summary>\n<div>\n", line(case));
    if let Some(why) = &case.not_modelled {
        let _ = writeln!(out, "<p class=\"muted\">{}</p>", esc(&clip(why, TEXT)));
    }
    out.push_str("<h3>Checks</h3>\n<table class=\"checks\">\n");
    for verdict in &case.checks {
        // A failure at level should is a warning, and shown as one.
        let outcome = match verdict.outcome.is_failure() && verdict.level == Level::Should {
            true => "warning",
            false => verdict.outcome.label(),
        };
        // The first line is the finding; the lines after it (a snapshot's diff) are preformatted.
        let message = clip(&verdict.message, TEXT);
        let (line, rest) = message.split_once('\n').unwrap_or((&message, ""));
        let block =
            if rest.is_empty() { String::new() } else { format!("<pre class=\"diff\">{}</pre>", diff_lines(rest)) };
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"outcome-{outcome}\">{outcome}</td><td>{}{block}</td></tr>",
            esc(verdict.id),
            esc(line)
        );
    }
    out.push_str("</table>\n");

    let request = &case.request;
    let mut sent = format!("{} {}\n", request.method, clip(&request.url, TEXT));
    head_lines(&mut sent, &request.headers);
    exchange_part(out, "Request", &sent, &request.body, REQUEST_BODY);
    match (&case.response, &case.error) {
        (Some(response), _) => {
            let mut head = format!("{}\n", response.status);
            head_lines(&mut head, &response.headers);
            if let Some(note) = &response.note {
                let _ = writeln!(head, "({})", clip(note, TEXT));
            }
            exchange_part(out, "Response", &head, &response.body, ANSWER_BODY);
        }
        (None, error) => {
            let _ = writeln!(
                out,
                "<h3>Response</h3>\n<pre>no answer: {}</pre>",
                esc(&clip(error.as_deref().unwrap_or("none"), TEXT))
            );
        }
    }

    calls_part(out, "Portal calls", &case.portal_calls);
    let images = case.frame.as_ref().map_or(0, |frame| frame_part(out, frame, screenshots));
    if let Some(commands) = commands {
        let _ = write!(
            out,
            "<h3>Reproduce</h3>\n<pre>{}</pre>\n<p class=\"muted\">{}</p>\n",
            esc(commands),
            esc(PORTS_CLOSED)
        );
    }
    out.push_str("</div>\n</details>\n");
    images
}

/// What the case's frame did in the browser: where it was opened and when it asked for its init
/// data, its screenshot, the commands it sent, its console errors and uncaught exceptions, the
/// requests it made and its calls to the portal; each list its first [`LIST`] entries. Returns
/// the bytes of the screenshot embedded.
fn frame_part(out: &mut String, frame: &FrameRecord, screenshots: &mut Screenshots) -> usize {
    let init = match frame.initialised_after_ms {
        Some(ms) => format!("asked for its init data after {ms} ms"),
        None => "never asked for its init data".to_owned(),
    };
    let _ = writeln!(
        out,
        "<h3>Frame</h3>\n<p class=\"muted\">Opened in <code>{}</code>; {init}.</p>",
        esc(&clip(&frame.page, URL))
    );
    let images = screenshots.embed(out, &frame.screenshot);

    out.push_str("<h3>Frame commands</h3>\n");
    if frame.commands.is_empty() {
        out.push_str("<p class=\"muted\">none</p>\n");
    } else {
        out.push_str("<table class=\"calls\">\n<tr><th>command</th><th>params</th><th>answered</th></tr>\n");
        for command in frame.commands.iter().take(LIST) {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                esc(&clip(&command.command, PARAMS)),
                esc(&clip(&command.params, PARAMS)),
                if command.answered { "yes" } else { "no" }
            );
        }
        out.push_str("</table>\n");
        more(out, frame.commands.len(), "commands");
    }

    for (heading, texts) in [("Uncaught exceptions", &frame.exceptions), ("Console errors", &frame.console_errors)] {
        if texts.is_empty() {
            continue;
        }
        let lines: Vec<String> = texts.iter().take(LIST).map(|t| esc(&clip(t, CONSOLE))).collect();
        let _ = writeln!(out, "<h3>{heading}</h3>\n<pre>{}</pre>", lines.join("\n"));
        more(out, texts.len(), &heading.to_lowercase());
    }
    if frame.exceptions.is_empty() && frame.console_errors.is_empty() {
        out.push_str("<p class=\"muted\">No uncaught exception, no console error.</p>\n");
    }

    out.push_str("<h3>Browser requests</h3>\n");
    if frame.requests.is_empty() {
        out.push_str("<p class=\"muted\">none</p>\n");
    } else {
        out.push_str("<table class=\"calls\">\n<tr><th>method</th><th>URL</th><th>answer</th></tr>\n");
        for request in frame.requests.iter().take(LIST) {
            let answer = match (&request.failed, request.status) {
                (Some(why), _) => format!("failed: {}", esc(&clip(why, PARAMS))),
                (None, Some(status)) => status.to_string(),
                (None, None) => "none".to_owned(),
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td>{answer}</td></tr>",
                esc(&clip(&request.method, PARAMS)),
                esc(&clip(&request.url, URL))
            );
        }
        out.push_str("</table>\n");
        more(out, frame.requests.len(), "requests");
    }
    calls_part(out, "Portal calls from the frame", &frame.calls);
    images
}

/// "and N more WHAT" under a list of `len` entries of which the first [`LIST`] were shown.
fn more(out: &mut String, len: usize, what: &str) {
    if len > LIST {
        let _ = writeln!(out, "<p class=\"muted\">and {} more {what}</p>", len - LIST);
    }
}

/// The screenshots a page embeds, within their budget: the first [`SHOTS`] frames', at most
/// [`SHOTS_BYTES`] in all and [`SHOT`] each; and how many it left out, for its budget or the
/// page's.
#[derive(Debug, Default)]
struct Screenshots {
    embedded: usize,
    bytes: usize,
    /// Screenshots not embedded because a budget was spent.
    left_out: usize,
}

/// The first bytes of every PNG file.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";

impl Screenshots {
    /// `png` as an image in a data: URI, or a line that says why it is not shown; returns the
    /// bytes of the data: URI written.
    fn embed(&mut self, out: &mut String, png: &[u8]) -> usize {
        let why = if png.is_empty() {
            "No screenshot was taken.".to_owned()
        } else if !png.starts_with(PNG) {
            "The screenshot is not a PNG.".to_owned()
        } else if png.len() > SHOT {
            format!(
                "The screenshot is not shown: {} KB, more than the {} KB a page embeds of one.",
                png.len() >> 10,
                SHOT >> 10
            )
        } else if self.embedded >= SHOTS || self.bytes + png.len() > SHOTS_BYTES {
            self.left_out += 1;
            format!("The screenshot is not shown: {}.", self.limit())
        } else {
            self.embedded += 1;
            self.bytes += png.len();
            let data = base64::engine::general_purpose::STANDARD.encode(png);
            let _ = writeln!(
                out,
                "<img class=\"shot\" alt=\"the frame's screenshot\" src=\"data:image/png;base64,{data}\">"
            );
            return data.len();
        };
        let _ = writeln!(out, "<p class=\"muted\">{why}</p>");
        0
    }

    /// A case shown without its details, past the page's budget: its screenshot is left out.
    fn skip(&mut self, case: &CaseReport) {
        if case.frame.as_ref().is_some_and(|frame| !frame.screenshot.is_empty()) {
            self.left_out += 1;
        }
    }

    fn limit(&self) -> String {
        format!("this page embeds the first {SHOTS} screenshots, {} MB at most", SHOTS_BYTES >> 20)
    }

    /// The summary's line: how many were shown and left out.
    fn line(&self) -> String {
        format!(
            "{} shown, {} left out: {}, and none once it holds {} MB of details",
            self.embedded,
            self.left_out,
            self.limit(),
            DETAILS >> 20
        )
    }
}

/// A heading and a table of portal calls, the first [`LIST`] of them, or "none".
fn calls_part(out: &mut String, heading: &str, calls: &[PortalCall]) {
    let _ = writeln!(out, "<h3>{heading}</h3>");
    if calls.is_empty() {
        out.push_str("<p class=\"muted\">none</p>\n");
        return;
    }
    out.push_str(
        "<table class=\"calls\">\n<tr><th>portal</th><th>endpoint</th><th>method</th><th>HTTP</th>\
         <th>token</th><th>status</th><th>error</th></tr>\n",
    );
    for call in calls.iter().take(LIST) {
        let late = if call.late { " (after the answer)" } else { "" };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}{late}</td><td>{}</td><td>{}</td></tr>",
            call.portal.label(),
            format!("{:?}", call.endpoint).to_lowercase(),
            esc(&clip(&call.method, TEXT)),
            esc(&clip(&call.http_method, TEXT)),
            call.token.label(),
            call.status,
            esc(&clip(call.error.as_deref().unwrap_or(""), TEXT))
        );
    }
    out.push_str("</table>\n");
    if calls.len() > LIST {
        let _ = writeln!(out, "<p class=\"muted\">and {} more calls</p>", calls.len() - LIST);
    }
}

/// `name: value` lines, the first [`LIST`] of them, each cut at [`TEXT`].
fn head_lines(out: &mut String, headers: &[(String, String)]) {
    for (name, value) in headers.iter().take(LIST) {
        let _ = writeln!(out, "{}", clip(&format!("{name}: {value}"), TEXT));
    }
    if headers.len() > LIST {
        let _ = writeln!(out, "… and {} more headers", headers.len() - LIST);
    }
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
            "" => out.push_str(&esc(line)),
            class => {
                let _ = write!(out, "<span class=\"{class}\">{}</span>", esc(line));
            }
        }
        out.push('\n');
    }
    out
}

/// A request or response: its head, a blank line and its body, cut at `cap`; the harness may
/// have kept less of the body than its whole length.
fn exchange_part(out: &mut String, heading: &str, head: &str, body: &Body, cap: usize) {
    let (text, left_out) = excerpt(body, cap);
    let _ = write!(out, "<h3>{heading}</h3>\n<pre>{}\n{}</pre>\n", esc(head), esc(&text));
    if left_out > 0 {
        let _ = writeln!(out, "<p class=\"muted\">{left_out} more bytes not shown, of {}.</p>", body.length);
    }
}

#[cfg(test)]
mod tests {
    use super::{PAGE, SHOT, SHOTS, SHOTS_BYTES};
    use crate::record::FrameRecord;
    use crate::report::{Format, sample};

    /// The frame parts of a page: from each frame's heading to the end of its case.
    fn frame_parts(html: &str) -> String {
        html.split("<h3>Frame</h3>")
            .skip(1)
            .map(|part| part.split("</div>\n</details>").next().unwrap_or(part))
            .collect::<Vec<_>>()
            .join("\n----\n")
    }

    #[test]
    fn the_frame_part() {
        let html = sample::golden(Format::Html, &sample::with_frames());
        insta::assert_snapshot!(frame_parts(&html));
        // A passing case with a frame is a closed fold; the other cases are as without frames.
        assert!(html.contains("<details class=\"case\" id=\"case-0\"><summary>"), "{html}");
        let without = sample::golden(Format::Html, &sample::cases());
        assert!(without.contains("<div class=\"row\" id=\"case-0\">"), "{without}");
        assert!(!html.contains("Uncaught TypeError: <script") && !html.contains("<script>"), "{html}");
    }

    #[test]
    fn frames_cannot_make_a_page_more_than_a_few_mb() {
        // 300 passing cases, each a frame of a large screenshot and every list full.
        let mut frame = sample::frame();
        frame.screenshot = [sample::PNG, &vec![0; SHOT - sample::PNG.len()]].concat();
        frame.commands = frame.commands.iter().cycle().take(crate::record::FRAME_LIST).cloned().collect();
        frame.requests = frame.requests.iter().cycle().take(crate::record::FRAME_LIST).cloned().collect();
        frame.calls = frame.calls.iter().cycle().take(crate::record::FRAME_LIST).cloned().collect();
        let cases: Vec<_> = (0..300)
            .map(|i| {
                let mut case = sample::cases().swap_remove(0);
                case.id = format!("valid/generated#{i}");
                case.frame = Some(frame.clone());
                case
            })
            .collect();
        let scratch = sample::Scratch::new("html-frames");
        let html = sample::render(Format::Html, &cases, scratch.beside());
        let shown = SHOTS_BYTES / SHOT;
        assert!(shown < SHOTS);
        assert_eq!(html.matches("<img class=\"shot\"").count(), shown);
        assert!(html.len() < PAGE + SHOTS_BYTES * 4 / 3 + (1 << 20), "{} bytes", html.len());
        let summary =
            format!("{shown} shown, {} left out: this page embeds the first {SHOTS} screenshots", 300 - shown);
        assert!(html.contains(&summary), "{}", &html[html.len() - 4000..]);
        assert!(html.contains("and 150 more commands"));

        // A screenshot larger than a page embeds of one is not, and says so.
        let mut huge = sample::with_frames();
        huge[0].frame = Some(FrameRecord { screenshot: [sample::PNG, &vec![0; SHOT]].concat(), ..sample::frame() });
        let html = sample::render(Format::Html, &huge, scratch.beside());
        assert!(!html.contains("<img") && html.contains("more than the 256 KB a page embeds of one"), "{html}");
    }

    #[test]
    fn the_report() {
        insta::assert_snapshot!(sample::golden(Format::Html, &sample::cases()));
    }

    #[test]
    fn handler_data_is_escaped_everywhere() {
        let scratch = sample::Scratch::new("html-escaped");
        let html = sample::render(Format::Html, &sample::cases(), scratch.beside());
        // The only markup is the page's own: no tag the handler sent survives.
        assert!(!html.contains("<script") && !html.contains("<p><script") && !html.contains("<b>title"), "{html}");
        assert!(html.contains("content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\""), "{html}");
    }

    #[test]
    fn a_page_stays_a_few_mb_whatever_the_run() {
        let scratch = sample::Scratch::new("html-many");
        let html = sample::many(Format::Html, 20_000, &scratch);
        assert!(html.len() < PAGE + (1 << 20), "{} bytes", html.len());
        assert!(html.ends_with("</table></div>\n</main>\n</body>\n</html>\n"), "the page is whole");
        assert!(
            html.contains("more cases (") && html.contains("are in the JSON report"),
            "{}",
            &html[html.len() - 4000..]
        );
        // The first cases have their details, then rows only, then counts.
        assert!(html.contains("<details class=\"case\" id=\"case-0\" open>"));
        assert!(html.contains("<div class=\"row\" id=\"case-"));
    }

    #[test]
    fn warnings_are_marked_apart() {
        let scratch = sample::Scratch::new("html-warning");
        let html = sample::render(Format::Html, &sample::with_warning(), scratch.beside());
        assert!(html.contains("<span class=\"badge warn\">WARN</span><code>missing/member_id</code>"), "{html}");
        assert!(html.contains("<td class=\"outcome-warning\">warning</td><td>answered 200"), "{html}");
    }
}
