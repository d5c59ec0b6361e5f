//! A small run for the writers' tests, as events: a pass, a failure, an error and a case not
//! run, with what a hostile handler can put into a report (markup, fences, XML-illegal
//! characters, terminal escapes) in every field the handler controls.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{Format, SinkOptions};
use crate::payload::Wire;
use crate::record::{
    BrowserRequest, CaseOutcome, CaseReport, Endpoint, Event, FrameCommand, FrameRecord, HttpRequest, HttpResponse,
    Outcome, PortalCall, Role, RunEnd, RunInfo, Summary, TokenRole, Verdict, fixture,
};
use crate::suite::{Evidence, EvidenceKind, Expectation, Level};

/// Markup, a fence longer than any a writer starts with, an XML CDATA end, a character XML 1.0
/// forbids, a bell, and an escape sequence that would clear a terminal.
pub const HOSTILE: &str = "<script>alert('x')</script> ```````` ]]> \u{ffff} \u{7} \u{1b}[2J & \"q\"";

pub fn info() -> RunInfo {
    RunInfo {
        tool: "b24-conform",
        version: "0.1.0",
        handler: format!("http://127.0.0.1:9/{HOSTILE}"),
        seed: 24,
        wire: Wire::Split,
        partition: None,
        cases: 4,
        notes: Vec::new(),
    }
}

pub fn required() -> Evidence {
    Evidence {
        key: "required".into(),
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/api-reference/landing/embedding/settings.html".into(),
        quote: "Required parameters are marked with *".into(),
        note: None,
    }
}

pub fn request(body: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: "http://127.0.0.1:9/handler?DOMAIN=127.0.0.1%3A1&PROTOCOL=0".into(),
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        body: body.as_bytes().to_vec().into(),
    }
}

pub fn case(id: &str, evidence: &Evidence, expect: Expectation, outcome: CaseOutcome) -> CaseReport {
    let request = request("AUTH_ID=a");
    CaseReport {
        id: id.into(),
        index: 1,
        title: format!("{id} <b>title</b>"),
        level: Level::Must,
        evidence: evidence.clone(),
        expect,
        outcome,
        not_modelled: None,
        checks: vec![Verdict {
            id: "no-server-error",
            level: Level::Must,
            outcome: Outcome::Pass,
            message: "answered 200".into(),
        }],
        reproduce: request.to_curl(),
        request,
        redirects: Vec::new(),
        response: Some(answer("text/html", "<html>fine</html>")),
        error: None,
        portal_calls: Vec::new(),
        frame: None,
        shrunk: None,
        draw: None,
    }
}

pub fn answer(content_type: &str, body: &str) -> HttpResponse {
    HttpResponse { elapsed_ms: 7, ..fixture::answer(200, &[("content-type", content_type)], body) }
}

/// The cases, in firing order.
pub fn cases() -> Vec<CaseReport> {
    let required = required();
    let survive = Evidence {
        key: "survive".into(),
        kind: EvidenceKind::Inference,
        url: "docs/protocol.md#survive".into(),
        quote: "handlers must not crash either way".into(),
        note: None,
    };
    let passed = case("valid/one", &required, Expectation::Accept, CaseOutcome::Pass);

    let mut failed = case("missing/member_id", &required, Expectation::Reject, CaseOutcome::Fail);
    failed.request = request(&format!("x={HOSTILE}"));
    failed.reproduce = failed.request.to_curl();
    failed.response = Some(answer(&format!("text/html; x={HOSTILE}"), &format!("<p>{HOSTILE}</p>\nline two\n")));
    failed.checks.push(Verdict {
        id: "rejects-invalid",
        level: Level::Must,
        outcome: Outcome::Fail,
        message: format!("answered 200; expected 4xx {HOSTILE}"),
    });
    failed.portal_calls.push(call(Some(1)));

    let mut errored = case("options/hang", &survive, Expectation::Tolerate, CaseOutcome::Error);
    errored.request = request("PLACEMENT_OPTIONS=%7B");
    errored.reproduce = errored.request.to_curl();
    errored.response = None;
    errored.checks = vec![Verdict {
        id: "no-server-error",
        level: Level::Must,
        outcome: Outcome::Fail,
        message: "no answer".into(),
    }];
    errored.error = Some(format!("no complete answer within 10000 ms {HOSTILE}"));
    vec![passed, failed, errored]
}

/// A PNG of one red pixel: the smallest screenshot a report can embed.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// What a frame did in the browser, with what a hostile frame can put in every field it
/// controls: it initialised, resized, threw and logged, and sent its token elsewhere.
pub fn frame() -> FrameRecord {
    let command = |command: &str, params: &str, answered: bool| FrameCommand {
        command: command.into(),
        params: params.into(),
        callback: "cb1".into(),
        app_sid: "sid1".into(),
        origin: "http://127.0.0.1:9".into(),
        answered,
    };
    let request = |method: &str, url: &str, status: Option<u16>, failed: Option<&str>| BrowserRequest {
        method: method.into(),
        url: url.into(),
        body: None,
        authorization: None,
        status,
        failed: failed.map(Into::into),
    };
    FrameRecord {
        page: "http://127.0.0.1:1/b24-conform/frame/1".into(),
        commands: vec![
            command("getInitData", "", true),
            command("resizeWindow", &format!("{{\"width\":\"100%\",\"height\":480,\"x\":\"{HOSTILE}\"}}"), true),
            command(&format!("set{HOSTILE}"), &"x".repeat(1000), false),
        ],
        initialised_after_ms: Some(212),
        console_errors: vec![format!("console says {HOSTILE}")],
        exceptions: vec![format!("Uncaught TypeError: {HOSTILE}")],
        requests: vec![
            request("POST", "http://127.0.0.1:9/handler", Some(200), None),
            request("POST", "http://127.0.0.1:1/rest/landing.site.get.json", Some(200), None),
            request(
                "POST",
                &format!("http://telemetry.example/t?auth=a&{HOSTILE}"),
                None,
                Some("net::ERR_PROXY_CONNECTION_FAILED"),
            ),
        ],
        calls: vec![PortalCall { method: "landing.site.get".into(), status: 200, error: None, ..call(Some(1)) }],
        screenshot: PNG.to_vec(),
    }
}

/// [`cases`] opened in a browser: the passing case's frame worked (no error, a screenshot); the
/// failing case's is [`frame`] that never asked for its init data, and its screenshot is not a PNG.
pub fn with_frames() -> Vec<CaseReport> {
    let mut cases = cases();
    let mut good = frame();
    good.commands.truncate(2);
    good.console_errors.clear();
    good.exceptions.clear();
    good.requests.truncate(2);
    cases[0].frame = Some(good);
    cases[1].frame = Some(FrameRecord { initialised_after_ms: None, screenshot: b"GIF89a".to_vec(), ..frame() });
    cases
}

/// The same cases with the failure of `missing/member_id` at level should: a warning.
pub fn with_warning() -> Vec<CaseReport> {
    let mut cases = cases();
    let case = &mut cases[1];
    for verdict in &mut case.checks {
        verdict.level = Level::Should;
    }
    case.rejudge();
    cases
}

pub fn call(owner: Option<usize>) -> PortalCall {
    PortalCall {
        owner,
        portal: Role::Home,
        endpoint: Endpoint::Rest,
        method: format!("user.current{HOSTILE}"),
        http_method: "POST".into(),
        token: if owner.is_some() { TokenRole::Given } else { TokenRole::Foreign },
        status: 401,
        error: Some(format!("expired_token{HOSTILE}")),
        late: false,
        modelled: true,
        binding: None,
        batch: None,
    }
}

/// The case the sample run did not fire.
pub const NOT_RUN: (&str, usize, &str) =
    ("options/later", 4, "not run: the handler stopped answering after options/hang");

/// How the sample run with `cases` ended.
pub fn end(cases: &[CaseReport], not_run: usize) -> RunEnd {
    let mut summary = Summary::of(cases, 1234);
    summary.cases += not_run;
    summary.not_run = not_run;
    RunEnd {
        summary,
        baseline: None,
        answered: true,
        stopped: (not_run > 0).then(|| "the handler stopped answering after options/hang".to_owned()),
        notes: vec![format!("a note from the run {HOSTILE}")],
    }
}

/// The events of a run of `cases`, then one not run and a call no case owns, into `sink`.
pub fn run(sink: &mut dyn super::Sink, cases: &[CaseReport]) {
    let info = info();
    sink.event(&Event::Started(&info)).expect("written");
    for (done, case) in cases.iter().enumerate() {
        let answered = Event::Answered { id: &case.id, done: done + 1, total: info.cases };
        sink.event(&answered).expect("written");
        sink.event(&Event::Judged(case)).expect("written");
    }
    let (id, index, reason) = NOT_RUN;
    sink.event(&Event::NotRun { id, index, reason }).expect("written");
    sink.event(&Event::Unattributed(&call(None))).expect("written");
    sink.event(&Event::Ended(&end(cases, 1))).expect("written");
}

/// The sample run held in memory, as the engine returns it today (for the baseline's tests).
pub fn report() -> super::RunReport {
    let info = info();
    super::RunReport::new(info.handler, info.seed, info.wire, cases(), std::time::Duration::from_millis(1234))
}

/// `report` in `format`.
pub fn render_report(format: Format, report: &super::RunReport) -> String {
    let out = Shared::default();
    let scratch = Scratch::new(&format!("{format:?}-report"));
    let mut sink = super::sink(format, Box::new(out.clone()), scratch.beside());
    report.write_to(sink.as_mut(), Vec::new()).expect("written");
    drop(sink);
    out.text()
}

/// The report in `format` of a run of `cases`, with files beside it in `beside`.
pub fn render(format: Format, cases: &[CaseReport], options: SinkOptions) -> String {
    let out = Shared::default();
    let mut sink = super::sink(format, Box::new(out.clone()), options);
    run(sink.as_mut(), cases);
    drop(sink);
    out.text()
}

/// The report in `format` of a run of `cases`, as a golden output: the path of the directory
/// beside it, in its commands, is `BESIDE` on every machine.
pub fn golden(format: Format, cases: &[CaseReport]) -> String {
    let scratch = Scratch::new("golden");
    let path = scratch.0.display().to_string();
    render(format, cases, scratch.beside()).replace(&path, "BESIDE")
}

/// A failing case with everything a hostile handler can make large: a 2 MiB answer of markup
/// and backticks, 1 000 headers, 100 portal calls, a message quoting 64 KiB of the answer; and
/// a 1 MiB request (an oversize case).
pub fn huge() -> CaseReport {
    let mut case = cases().swap_remove(1);
    let body = "<`".repeat(1 << 20);
    let response = case.response.as_mut().expect("an answer");
    response.body = body.clone().into_bytes().into();
    response.headers = (0..1000).map(|i| (format!("x-{i}"), HOSTILE.repeat(10))).collect();
    case.portal_calls = (0..100).map(|_| call(Some(1))).collect();
    case.checks[1].message = format!("answered 200: {}", &body[..64 << 10]);
    case.request.body = vec![b'x'; 1 << 20].into();
    case.reproduce = case.request.to_curl();
    case
}

/// The report in `format` of `n` cases like [`huge`], each its own id, one group every 10 cases;
/// and its size.
pub fn many(format: Format, n: usize, scratch: &Scratch) -> String {
    let out = Shared::default();
    let mut sink = super::sink(format, Box::new(out.clone()), scratch.beside());
    let info = info();
    sink.event(&Event::Started(&info)).expect("written");
    let mut case = huge();
    for i in 0..n {
        case.id = format!("oversize/generated#{i}");
        case.evidence.key = format!("group-{}", i / 10);
        sink.event(&Event::Judged(&case)).expect("written");
    }
    let mut end = end(&[], 0);
    end.summary.cases = n;
    end.summary.failed = n;
    sink.event(&Event::Ended(&end)).expect("written");
    drop(sink);
    out.text()
}

/// A writer whose bytes the test reads back after the sink is done with it.
#[derive(Clone, Default)]
pub struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("not poisoned").clone()).expect("reports are UTF-8")
    }

    pub fn len(&self) -> usize {
        self.0.lock().expect("not poisoned").len()
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A directory of the test's own in the temporary directory, removed when dropped: files a
/// writer puts beside its report go there, never into the repository.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        // Tests run at once in one process: each its own directory.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("b24-conform-report-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Scratch(dir)
    }

    /// Options that put the files beside the report in this directory.
    pub fn beside(&self) -> SinkOptions {
        SinkOptions { colour: false, beside: Some(self.0.clone()) }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
