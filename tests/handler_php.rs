//! The PHP fixture, `fixtures/handlers/php-crest/` (plain PHP and curl in the pattern of
//! Bitrix24's CRest, under `php -S`), run by the real binary with `--handler-cmd` and installed
//! with `--install-url`: it passes the default suite, and its one-defect variant
//! (B24_DEFECT=refresh-without-secret, CRestCurrent's refresh without client_id/client_secret)
//! is flagged by `refreshes-expired-token` on the cases whose token runs out, and nothing else.
//! Under `--intercept`, without B24_OAUTH_URL, it passes the default suite through the run's proxy.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;
use common::{Scratch, free_port};

/// The script that installs PHP and its curl extension (`.ci/run` calls it).
const INSTALL_SCRIPT: &str = "fixtures/handlers/php-crest/install.sh";

/// Fails, rather than skips, without PHP and curl: CI has them, and a skipped acceptance test
/// would pass unseen.
fn require_php_curl() {
    let probe = Command::new("php").args(["-r", "exit(function_exists('curl_init') ? 0 : 1);"]).output();
    assert!(
        probe.as_ref().is_ok_and(|out| out.status.success()),
        "these tests run the PHP fixture and need php with its curl extension: run {INSTALL_SCRIPT} \
         (Debian's php-cli and php-curl): {probe:?}"
    );
}

/// The command that starts the app on `port`, keeping its installation in `state`.
///
/// PHP_CLI_SERVER_WORKERS: `php -S` serves one request at a time otherwise, so the run's
/// concurrent cases would queue behind each other, each waiting on its portal calls.
/// `curl.cainfo`: PHP's curl extension reads no CA variable from the environment, so under
/// `--portal-tls` it is told the run's CA (SSL_CERT_FILE) here; empty without TLS, which leaves
/// curl's default.
fn command(port: u16, state: &Path, env: &str) -> String {
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/handlers/php-crest");
    format!(
        "{env} B24_STATE_DIR='{state}' PHP_CLI_SERVER_WORKERS=4 php -d display_errors=0 \
         -d curl.cainfo=\"$SSL_CERT_FILE\" -S 127.0.0.1:{port} -t '{app}' '{app}/router.php'",
        state = state.display(),
        app = app.display(),
    )
}

/// Runs the default suite, installation included, against the app; its exit code and report.
fn run(name: &str, env: &str, extra: &[&str]) -> (Option<i32>, Value) {
    require_php_curl();
    let scratch = Scratch::new(name);
    let state = scratch.0.join("state");
    let port = free_port();
    let (output, report) = common::run_fixture(port, &command(port, &state, env), "/install", extra, &scratch);
    (output.status.code(), report)
}

/// A failed check: the case, the check, what it said; a warning when its level is `should`
/// (or its severity `warning`, before the grading).
struct Failure<'a> {
    case: &'a str,
    check: &'a str,
    message: &'a str,
    warning: bool,
}

/// Every failed check in the report.
fn failures<'a>(report: &'a Value) -> Vec<Failure<'a>> {
    let text = |v: &'a Value, key: &str| v[key].as_str().unwrap_or_default();
    let cases = report["cases"].as_array().map(Vec::as_slice).unwrap_or_default();
    cases
        .iter()
        .flat_map(|case| {
            let checks = case["checks"].as_array().map(Vec::as_slice).unwrap_or_default();
            checks.iter().filter(|c| c["outcome"] == "fail").map(move |c| Failure {
                case: text(case, "id"),
                check: text(c, "id"),
                message: text(c, "message"),
                warning: c["level"] == "should" || c["severity"] == "warning",
            })
        })
        .collect()
}

/// `case: check: message` lines, for assertion messages.
fn listing<'a>(failures: impl Iterator<Item = &'a Failure<'a>>) -> String {
    failures.map(|f| format!("\n  {}: {}: {}", f.case, f.check, f.message)).collect()
}

/// The run passes: exit 0, no failure, no error (warnings are no failure).
fn assert_passes(code: Option<i32>, report: &Value) {
    let summary = &report["summary"];
    assert_eq!(
        (summary["failed"].as_u64(), summary["errored"].as_u64(), code),
        (Some(0), Some(0), Some(0)),
        "{summary}; failures:{}",
        listing(failures(report).iter().filter(|f| !f.warning))
    );
}

#[test]
fn the_php_crest_app_passes_the_default_suite_installation_included() {
    let (code, report) = run("default", "", &[]);
    assert_passes(code, &report);
    // It bound its settings page from inside a batch, as CRest::callBatch sends commands.
    let install = report["cases"].as_array().and_then(|cases| cases.iter().find(|c| c["id"] == "install/onappinstall"));
    let calls = install.map(|case| case["portal_calls"].to_string()).unwrap_or_default();
    assert!(calls.contains("\"batch\""), "the installation made no batch call: {calls}");
    eprintln!("warnings:{}", listing(failures(&report).iter().filter(|f| f.warning)));
}

#[test]
fn refreshing_without_client_credentials_is_flagged_on_the_cases_whose_token_runs_out() {
    // The run's OAuth server requires the client it gives the app (B24_CLIENT_ID/SECRET), as
    // oauth.bitrix.info does; over https, so PHP's curl is shown to verify the portal against the
    // run's CA, told through curl.cainfo.
    let (code, report) = run("refresh-without-secret", "B24_DEFECT=refresh-without-secret", &["--portal-tls"]);
    // The defect is on: the OAuth server refused each refresh for its missing client.
    let cases = report["cases"].as_array().map(Vec::as_slice).unwrap_or_default();
    let refused: BTreeSet<&str> = cases
        .iter()
        .filter(|case| {
            let calls = case["portal_calls"].as_array().map(Vec::as_slice).unwrap_or_default();
            calls.iter().any(|call| call["endpoint"] == "oauth" && call["error"] == "invalid_client")
        })
        .filter_map(|case| case["id"].as_str())
        .collect();
    assert_eq!(refused, BTreeSet::from(["token/expired", "token/expiring"]));
    let all = failures(&report);
    let failed: BTreeSet<(&str, &str)> = all.iter().filter(|f| !f.warning).map(|f| (f.case, f.check)).collect();
    let expected: BTreeSet<(&str, &str)> =
        ["token/expired", "token/expiring"].into_iter().map(|case| (case, "refreshes-expired-token")).collect();
    assert_eq!(
        failed,
        expected,
        "refused refreshes in {refused:?}; failures:{}",
        listing(all.iter().filter(|f| !f.warning))
    );
    assert_eq!(code, Some(1));
}

/// As CRest ships: no B24_OAUTH_URL (the refresh goes to the OAuth server the installation's
/// server_endpoint names, `https://oauth.bitrix.info/`), and curl takes its proxy from the
/// environment. Under `--intercept` the portal is `https://portal-1.bitrix24.test` with no port,
/// and the app completes the default suite through the run's proxy, its refreshes included.
#[test]
fn the_php_crest_app_passes_the_default_suite_through_the_intercepting_proxy() {
    let (code, report) = run("intercept", "env -u B24_OAUTH_URL", &["--intercept"]);
    assert_passes(code, &report);
    let cases = report["cases"].as_array().map(Vec::as_slice).unwrap_or_default();
    let expired = cases.iter().find(|c| c["id"] == "token/expired").expect("the token/expired case");
    assert!(expired["request"]["url"].as_str().unwrap_or_default().contains("DOMAIN=portal-1.bitrix24.test"));
    let calls = expired["portal_calls"].as_array().map(Vec::as_slice).unwrap_or_default();
    assert!(
        calls.iter().any(|c| c["endpoint"] == "oauth" && c["method"] == "refresh_token" && c["status"] == 200),
        "the refresh did not reach the mock OAuth server: {}",
        expired["portal_calls"]
    );
}
