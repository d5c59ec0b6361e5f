//! `fixtures/handlers/python-b24pysdk/`: a LANDING_SETTINGS app built on b24pysdk, the official
//! Python SDK (its Flask decorators parse ONAPPINSTALL and the placement, its client calls REST
//! and refreshes tokens, its app.info check vouches for the request). Started by the real binary
//! with `--handler-cmd`, installed by ONAPPINSTALL or from its installation page, it passes the
//! default suite; with one defect switched on (B24_DEFECT=unescaped-lang) it fails
//! `no-reflected-injection` on the cases that put markup into LANG, and nothing else.
//!
//! The SDK calls the portal over https only, so the run serves it with `--portal-tls`, or by
//! name through the run's proxy (`--intercept`, where the SDK's own OAuth host is used). The
//! virtual environment comes from the fixture's install.sh (CI runs it from `.ci/run`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::{Scratch, free_port};

const FIXTURE: &str = "fixtures/handlers/python-b24pysdk";

/// The virtual environment's interpreter; fails, rather than skips, when install.sh has not
/// been run: CI runs it, and a skipped acceptance test would pass unseen.
fn python() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .expect("neither XDG_CACHE_HOME nor HOME is set");
    let python = cache.join("b24-conform/python-b24pysdk/bin/python");
    assert!(python.is_file(), "{} is missing: run {FIXTURE}/install.sh first", python.display());
    python
}

/// A finished run: its exit code, its JSON report, and its standard error.
struct Run {
    code: Option<i32>,
    report: Value,
    stderr: String,
}

impl Run {
    fn cases(&self) -> &[Value] {
        self.report["cases"].as_array().map(Vec::as_slice).unwrap_or_default()
    }

    /// The ids of the checks `case` failed.
    fn failed_checks(case: &Value) -> BTreeSet<String> {
        let checks = case["checks"].as_array().map(Vec::as_slice).unwrap_or_default();
        checks.iter().filter(|c| c["outcome"] == "fail").filter_map(|c| c["id"].as_str()).map(str::to_owned).collect()
    }
}

/// How Bitrix24 installs the app: the installation event, or the installation page in a frame.
#[derive(Clone, Copy)]
enum Install {
    Event,
    Frame,
}

/// How the app reaches the run's portal: by its loopback address over https (`--portal-tls`),
/// or by name through the run's proxy (`--intercept`).
#[derive(Clone, Copy)]
enum Reach {
    PortalTls,
    Intercept,
}

/// The default suite against the app, installed as `install` says, reaching the portal as
/// `reach` says, with `env` (`NAME=VALUE `…) before its command. The report goes to a scratch
/// directory; nothing is shrunk or recorded.
fn run_app(name: &str, install: Install, reach: Reach, env: &str) -> Run {
    let port = free_port();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let app = root.join(FIXTURE).join("app.py");
    let command = format!("{env}'{}' '{}' {port}", python().display(), app.display());
    let scratch = Scratch::new(name);
    let (form, path) = match install {
        Install::Event => ("event", "/install"),
        Install::Frame => ("frame", "/install-page"),
    };
    let reach = match reach {
        Reach::PortalTls => "--portal-tls",
        Reach::Intercept => "--intercept",
    };
    let flags = ["--shrink-budget", "0", reach, "--install-as", form];
    let (out, report) = common::run_fixture(port, &command, path, &flags, &scratch);
    Run { code: out.status.code(), report, stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
}

/// One line per case that did not pass, with the checks it failed and the first message.
fn not_passed(run: &Run) -> String {
    let mut lines = Vec::new();
    for case in run.cases().iter().filter(|c| c["outcome"] != "pass") {
        let checks = case["checks"].as_array().map(Vec::as_slice).unwrap_or_default();
        let why = checks.iter().find(|c| c["outcome"] == "fail" || c["outcome"] == "error");
        lines.push(format!(
            "{} {} {}: {}",
            case["id"],
            case["outcome"],
            case["response"]["status"],
            why.unwrap_or(&Value::Null)
        ));
    }
    lines.join("\n")
}

/// The run passes: no failure, no error; the installation among the passes.
fn assert_passes(run: &Run, install_case: &str) {
    let summary = &run.report["summary"];
    assert_eq!(run.code, Some(0), "{summary}\n{}\n{}", not_passed(run), run.stderr);
    assert_eq!(summary["failed"], 0, "{summary}");
    assert_eq!(summary["errored"], 0, "{summary}");
    let install = run.cases().iter().find(|c| c["id"] == install_case).expect("the run installed the app");
    assert_eq!(install["outcome"], "pass", "{install}");
    // Warnings (failed `should` checks) do not fail the run; they are listed for the reader.
    eprintln!("{summary}\n{}", not_passed(run));
}

#[test]
fn the_b24pysdk_app_passes_the_default_suite_installed_by_onappinstall() {
    assert_passes(&run_app("event", Install::Event, Reach::PortalTls, ""), "install/onappinstall");
}

#[test]
fn the_b24pysdk_app_passes_the_default_suite_installed_from_its_installation_page() {
    assert_passes(&run_app("frame", Install::Frame, Reach::PortalTls, ""), "install/frame");
}

/// The control: the same app with LANG marked safe in its template fails the run, on exactly
/// the LANG injection probes a browser would act on, for exactly that check.
#[test]
fn the_b24pysdk_app_that_renders_lang_unescaped_fails_no_reflected_injection_on_the_lang_probes() {
    let run = run_app("unescaped-lang", Install::Event, Reach::PortalTls, "B24_DEFECT=unescaped-lang ");
    assert_eq!(run.code, Some(1), "{}\n{}", run.report["summary"], run.stderr);
    let failed: BTreeSet<&str> =
        run.cases().iter().filter(|c| c["outcome"] == "fail").filter_map(|c| c["id"].as_str()).collect();
    // The other LANG probes land in text where they are inert: a quote, a scheme, SQL.
    let expected = BTreeSet::from(["inject/LANG/markup", "inject/LANG/script"]);
    assert_eq!(failed, expected, "{}", not_passed(&run));
    for case in run.cases().iter().filter(|c| c["outcome"] == "fail") {
        assert_eq!(Run::failed_checks(case), BTreeSet::from(["no-reflected-injection".to_owned()]), "{case}");
    }
    assert_eq!(run.report["summary"]["errored"], 0, "{}", not_passed(&run));
}

/// As b24pysdk ships: without B24_OAUTH_URL the app uses the SDK's own BitrixApp, which refreshes
/// and asks app.info at the oauth.bitrix24.tech it hard-codes. Under `--intercept` requests
/// reaches it, and `https://portal-1.bitrix24.test`, through the run's proxy; the app completes
/// the default suite, and its refreshes show in the report.
#[test]
fn the_b24pysdk_app_as_published_passes_the_default_suite_through_the_intercepting_proxy() {
    let run = run_app("intercept", Install::Event, Reach::Intercept, "env -u B24_OAUTH_URL -u B24_SERVER_ENDPOINT ");
    assert_passes(&run, "install/onappinstall");
    let expired = run.cases().iter().find(|c| c["id"] == "token/expired").expect("the token/expired case");
    let calls = expired["portal_calls"].as_array().map(Vec::as_slice).unwrap_or_default();
    assert!(
        calls.iter().any(|c| c["endpoint"] == "oauth" && c["method"] == "refresh_token" && c["status"] == 200),
        "the refresh did not reach the mock OAuth server: {}",
        expired["portal_calls"]
    );
}
