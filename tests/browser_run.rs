//! `run --browser`: the run opens each accepted placement case in headless Chromium, inside a
//! portal page served from the mock portal's origin, and records what the frame did in the
//! case's `frame`; the REST calls the frame makes from the browser reach the mock portal (CORS
//! preflight passed), are attributed to the case, and land in `frame.calls`, never among the
//! handler's own calls. Skipped (loudly) where Chromium is missing; under CI=true a missing
//! Chromium fails.

mod common;

use std::path::Path;

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use b24_conform::record::{CaseReport, FrameRecord, TokenRole};
use b24_conform::run::{Handler, RunConfig};
use common::{Scratch, binary, chromium, collect, free_port};

/// The pinned browser bundle of @bitrix24/b24jssdk the harness ships (assets/b24jssdk).
const SDK: &[u8] = include_bytes!("../assets/b24jssdk/b24jssdk-2.1.0.umd.min.js");

/// A frame app as b24jssdk's docs show it: initialise the frame, then call a REST method from
/// the browser (`actions.v2.call.make`), which posts JSON (a CORS preflight first) and, on
/// `expired_token`, asks the parent to `refreshAuth` and retries.
const PAGE: &str = r#"<!DOCTYPE html><html><body><p id="out">loading</p>
<script src="/b24jssdk.js"></script>
<script>
B24Js.initializeB24Frame().then(async function (b24) {
  var response = await b24.actions.v2.call.make({ method: 'landing.site.getList', params: {} });
  document.getElementById('out').textContent = response.isSuccess ? 'sites read' : 'no sites';
}).catch(function (error) { console.error(String(error)); });
</script></body></html>"#;

/// Starts the frame app on `port`: its page for any POST, the SDK's bundle.
async fn frame_app(port: u16) {
    let app = Router::new().route("/page", post(|| async { Html(PAGE) })).route(
        "/b24jssdk.js",
        get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SDK).into_response() }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("a port for the frame app");
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// A frame's record without its screenshot's bytes, for a failing assertion's message.
fn shown(frame: &FrameRecord) -> String {
    let FrameRecord { commands, console_errors, exceptions, requests, calls, .. } = frame;
    format!(
        "commands {commands:?}\nconsole {console_errors:?}\nexceptions {exceptions:?}\nrequests {requests:?}\ncalls {calls:?}"
    )
}

fn frame(case: &CaseReport) -> &FrameRecord {
    case.frame.as_ref().unwrap_or_else(|| panic!("{} was not opened in the browser", case.id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frames_calls_from_the_browser_are_attributed_to_their_case() {
    if chromium().is_none() {
        return;
    }
    let port = free_port();
    frame_app(port).await;
    let handler = Handler::Url(format!("http://127.0.0.1:{port}/page").parse().expect("a URL"));
    let config = RunConfig {
        suites: vec![common::frame_suite()],
        browser: true,
        jobs: 2,
        shrink_budget: 0,
        ..RunConfig::new(handler)
    };
    let report = collect(&config).await.expect("the run happens");
    assert_eq!(report.cases.len(), 2, "{}", common::human(&report));
    for case in &report.cases {
        let frame = frame(case);
        let init = frame.commands_named("getInitData").next().unwrap_or_else(|| panic!("{}", shown(frame)));
        assert!(init.answered, "{}", shown(frame));
        assert!(frame.exceptions.is_empty() && frame.console_errors.is_empty(), "{}", shown(frame));
        assert!(frame.screenshot.starts_with(b"\x89PNG"), "a PNG of the frame");
        // The handler's server made no call: the browser's calls are not among its calls.
        assert!(case.portal_calls.is_empty(), "{:?}", case.portal_calls);
        // Every call reached the portal: none failed in the browser (CORS preflight passed).
        assert!(frame.requests.iter().all(|r| r.failed.is_none()), "{:?}", frame.requests);
    }
    let calls = |id: &str| -> Vec<(String, TokenRole, u16)> {
        let case = report.cases.iter().find(|c| c.id == id).expect("the case ran");
        frame(case).calls.iter().map(|c| (c.method.clone(), c.token, c.status)).collect()
    };
    let site = "landing.site.getlist".to_owned();
    assert_eq!(calls("frame/valid"), [(site.clone(), TokenRole::Given, 200)]);
    assert_eq!(calls("frame/expired"), [(site.clone(), TokenRole::Given, 401), (site, TokenRole::Refreshed, 200)]);
    let expired = report.cases.iter().find(|c| c.id == "frame/expired").expect("the case ran");
    let refreshes: Vec<_> = frame(expired).commands_named("refreshAuth").collect();
    assert!(refreshes.len() == 1 && refreshes[0].answered, "{}", shown(frame(expired)));
}

/// The JSON report of `run --browser --filter 'valid/*'` against the built-in handler, and its
/// exit code.
fn builtin_report(dir: &Path) -> (serde_json::Value, Option<i32>) {
    let out = dir.join("report.json");
    let status = binary()
        .args(["run", "--browser", "--filter", "valid/*", "--format", "json", "--out"])
        .arg(&out)
        .status()
        .expect("the binary runs");
    let text = std::fs::read_to_string(&out).expect("the report is written");
    (serde_json::from_str(&text).expect("a JSON report"), status.code())
}

#[test]
fn run_browser_against_the_builtin_handler_opens_each_accepted_case() {
    if chromium().is_none() {
        return;
    }
    let scratch = Scratch::new("builtin");
    let (report, code) = builtin_report(&scratch.0);
    assert_eq!(code, Some(0), "{report:#}");
    let cases = report["cases"].as_array().expect("cases");
    assert!(cases.len() >= 4, "{report:#}");
    for case in cases {
        let frame = &case["frame"];
        if case["expect"] != "accept" {
            assert!(frame.is_null(), "a case not accepted is not opened: {case:#}");
            continue;
        }
        // Opened from the mock portal's own origin, the form posted into the frame and answered.
        let page = frame["page"].as_str().unwrap_or_else(|| panic!("{case:#}"));
        assert!(page.starts_with("http://127.0.0.1:") && page.contains("/b24-conform/frame/"), "{page}");
        let requests = frame["requests"].as_array().expect("requests");
        let posted = requests.iter().find(|r| r["method"] == "POST").unwrap_or_else(|| panic!("{frame:#}"));
        assert_eq!(posted["status"], 200, "{posted:#}");
        assert!(posted["body"].as_str().is_some_and(|b| b.contains("AUTH_ID=")), "{posted:#}");
        // The built-in handler's page runs b24jssdk: it asks for its init data, which the
        // portal's page answers, and calls REST from the browser: those calls are the frame's.
        let commands = frame["commands"].as_array().expect("commands");
        let init = commands.iter().find(|c| c["command"] == "getInitData").unwrap_or_else(|| panic!("{frame:#}"));
        assert_eq!(init["answered"], true, "{init:#}");
        assert!(frame["initialised_after_ms"].as_u64().is_some_and(|ms| ms < 5000), "{frame:#}");
        let calls = frame["calls"].as_array().unwrap_or_else(|| panic!("the frame's calls: {frame:#}"));
        assert!(calls.iter().any(|c| c["method"] == "user.current" && c["token"] == "given" && c["status"] == 200));
        // The handler's server-side calls while the browser delivered the case again are not
        // the case's late calls: its server-side checks judge as without a browser.
        assert!(case["portal_calls"].as_array().is_some_and(|calls| calls.iter().all(|c| c.get("late").is_none())));
        let verdict = |id: &str| case["checks"].as_array().and_then(|v| v.iter().find(|v| v["id"] == id)).cloned();
        assert_ne!(verdict("uses-given-token").map(|v| v["outcome"].clone()), Some("fail".into()), "{case:#}");
        // The screenshot is for reports, never in the JSON.
        assert!(frame.get("screenshot").is_none());
    }
    assert!(cases.iter().any(|c| c["expect"] != "accept"), "the filter selects a case that is not opened");
}

#[test]
fn without_chromium_the_run_says_so_once_and_judges_as_without_browser() {
    let scratch = Scratch::new("no-chromium");
    let out = scratch.0.join("report.json");
    let output = binary()
        .args(["run", "--browser", "--filter", "valid/documented-example", "--format", "json", "--out"])
        .arg(&out)
        .env_remove("B24_CHROMIUM")
        .env("PATH", "/nonexistent")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.matches("--browser: Chromium not found").count(), 1, "{stderr}");
    assert!(stderr.contains("B24_CHROMIUM") && stderr.contains("frame checks skipped"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("the report is written")).expect("JSON");
    let cases = report["cases"].as_array().expect("cases");
    assert!(!cases.is_empty() && cases.iter().all(|c| c.get("frame").is_none()), "{report:#}");
    // The report says so too: CI reads it, not the terminal.
    let notes = report["notes"].as_array().expect("notes");
    assert!(
        notes.iter().any(|n| n.as_str().is_some_and(|n| n.starts_with("--browser: Chromium not found"))),
        "{notes:?}"
    );
}
