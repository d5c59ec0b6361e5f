//! `--handler-cmd`: the harness starts the handler under test, tells it where the portal is (and,
//! with `--portal-tls`, which CA to trust), waits for it to listen, ends the run when it dies,
//! and stops it, with every process it started, after the run. The handler here is
//! `fixtures/handlers/landing_settings.py` (Python 3, standard library), which verifies the
//! portal's certificate against the CA of SSL_CERT_FILE and nothing else.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use b24_conform::record::{Role, TokenRole};

use b24_conform::run::{Handler, RunConfig};

mod common;
use common::{collect, free_port};

/// Fails, rather than skips, without python3: CI has it, and a skipped acceptance test would
/// pass unseen.
fn require_python3() {
    let probe = Command::new("python3").arg("--version").output();
    assert!(
        probe.as_ref().is_ok_and(|out| out.status.success()),
        "these tests start Python handlers and need python3 (3.8 or later) on PATH: {probe:?}"
    );
}

/// `python3 landing_settings.py PORT`.
fn python_handler(port: u16) -> String {
    require_python3();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/handlers/landing_settings.py");
    format!("python3 '{}' {port}", fixture.display())
}

fn config_for(port: u16, command: String) -> RunConfig {
    let handler = Handler::Url(format!("http://127.0.0.1:{port}/landing-settings").parse().unwrap());
    RunConfig { handler_cmd: Some(command), ..RunConfig::new(handler) }
}

/// A file in the temporary directory for this test alone.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("b24-conform-launch-{}-{name}", std::process::id()))
}

fn b24_conform(args: &[&str]) -> Output {
    common::binary().args(args).output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_handler_started_by_command_completes_the_valid_cases_over_https() {
    let port = free_port();
    let config =
        RunConfig { portal_tls: true, filters: vec!["valid/*".into()], ..config_for(port, python_handler(port)) };
    let started = Instant::now();
    let report = collect(&config).await.expect("the run happens");
    assert_eq!(report.summary.passed, report.summary.cases, "{}", common::human(&report));
    assert!(report.summary.cases >= 10, "{:?}", report.summary);
    assert!(report.cases.iter().all(|c| c.request.url.contains("PROTOCOL=1")), "a payload did not say https");
    // Every case made its calls to the home portal, over https (the portals listen on nothing
    // else), and each succeeded: the handler verified the certificate and went on.
    for case in &report.cases {
        assert!(case.portal_calls.iter().any(|c| c.method == "user.current"), "{}: {:?}", case.id, case.portal_calls);
        assert!(case.portal_calls.iter().all(|c| c.portal == Role::Home && c.succeeded()), "{case:?}");
    }
    eprintln!("{} valid cases through a started Python handler in {:?}", report.summary.cases, started.elapsed());
}

/// The control for the test above: the same handler, not given the run's CA, trusts the
/// system's CAs only, refuses the portal's certificate, and fails the same cases; the run says
/// why.
#[test]
fn the_same_handler_without_the_runs_ca_refuses_the_portal_and_fails_the_valid_cases() {
    let port = free_port();
    let command = format!("SSL_CERT_FILE= {}", python_handler(port));
    let handler = format!("http://127.0.0.1:{port}/");
    let args = ["run", "--portal-tls", "--handler", &handler, "--handler-cmd", &command, "--filter", "valid/*"];
    // Nothing shrunk or recorded: the failures are the point here.
    let quiet = ["--format", "json", "--shrink-budget", "0", "--no-regressions"];
    let out = b24_conform(&[&args[..], &quiet[..]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = report["cases"].as_array().unwrap();
    assert!(cases.len() >= 10 && report["summary"]["passed"] == 0, "{}", report["summary"]);
    for case in cases {
        assert_eq!(case["response"]["status"], 502, "{}", case["id"]);
        let body = case["response"]["body"].as_str().unwrap_or_default();
        assert!(body.contains("CERTIFICATE_VERIFY_FAILED"), "{}: {body}", case["id"]);
        assert_eq!(case["portal_calls"], serde_json::json!([]), "a call passed the TLS handshake");
    }
    // The count can miss the last few: the portal's side of a handshake may end after the case.
    assert!(stderr.contains("warning: the mock portal refused ") && stderr.contains("UnknownCA"), "{stderr}");
}

/// Over https, the OAuth refresh works, and a request naming another portal (the foreign one,
/// over https too) or another member_id is refused without a call.
#[tokio::test(flavor = "multi_thread")]
async fn the_python_handler_refreshes_over_https_and_keeps_tokens_from_other_portals() {
    let port = free_port();
    let config = RunConfig {
        portal_tls: true,
        filters: vec!["token/*".into(), "domain/*".into(), "member-id/*".into()],
        ..config_for(port, python_handler(port))
    };
    let report = collect(&config).await.expect("the run happens");
    assert_eq!(report.summary.passed, report.summary.cases, "{}", common::human(&report));
    let expired = report.cases.iter().find(|c| c.id == "token/expired").unwrap();
    assert_eq!(expired.response.as_ref().map(|r| r.status), Some(200));
    assert!(expired.portal_calls.iter().any(|c| c.method == "refresh_token" && c.succeeded()), "{expired:?}");
    let foreign = report.cases.iter().find(|c| c.id == "domain/foreign").unwrap();
    assert!(foreign.request.url.contains("PROTOCOL=1"), "{}", foreign.request.url);
    assert_eq!(foreign.response.as_ref().map(|r| r.status), Some(403));
    assert!(foreign.portal_calls.is_empty(), "{:?}", foreign.portal_calls);
}

/// The control for the foreign half of the test above: the same handler with a defect switched
/// on (it calls whatever portal DOMAIN names) reaches the foreign portal, which speaks https with
/// the run's CA, attributes the leaked token to its case, and the case fails `token-stays-home`.
#[tokio::test(flavor = "multi_thread")]
async fn a_handler_that_follows_domain_reaches_the_foreign_portal_over_https_and_fails() {
    let port = free_port();
    let command = format!("B24_FOLLOW_DOMAIN=1 {}", python_handler(port));
    let config = RunConfig { portal_tls: true, filters: vec!["domain/foreign".into()], ..config_for(port, command) };
    let report = collect(&config).await.expect("the run happens");
    let case = &report.cases[0];
    let calls = &case.portal_calls;
    assert!(calls.iter().any(|c| c.portal == Role::Foreign && c.token == TokenRole::Given), "{calls:?}");
    assert!(case.failures().any(|v| v.id == "token-stays-home"), "{}", common::human(&report));
}

#[test]
fn the_ca_file_is_written_its_path_printed_and_given_to_the_handler_and_removed_after() {
    let port = free_port();
    let (seen, copy) = (scratch(&format!("env-{port}")), scratch(&format!("ca-{port}.pem")));
    let command = format!(
        "env | grep -E '^(SSL_CERT_FILE|REQUESTS_CA_BUNDLE|NODE_EXTRA_CA_CERTS|CURL_CA_BUNDLE|B24_[A-Z_]+)=' | sort > '{}'; \
         cp \"$SSL_CERT_FILE\" '{}'; exec {}",
        seen.display(),
        copy.display(),
        python_handler(port)
    );
    let handler = format!("http://127.0.0.1:{port}/");
    let out =
        b24_conform(&["run", "--portal-tls", "--handler", &handler, "--handler-cmd", &command, "--filter", "valid/*"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (environment, ca) = (std::fs::read_to_string(&seen), std::fs::read_to_string(&copy));
    let _ = (std::fs::remove_file(&seen), std::fs::remove_file(&copy));
    assert_eq!(out.status.code(), Some(0), "{stderr}");

    let printed = stderr.lines().find_map(|l| l.split_once("CA certificate: ")).map(|(_, path)| path.trim());
    let printed = printed.unwrap_or_else(|| panic!("no CA path on stderr: {stderr}"));
    let environment = environment.unwrap();
    for name in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE"] {
        assert!(environment.contains(&format!("{name}={printed}\n")), "{name} is not {printed}: {environment}");
    }
    assert!(environment.contains("B24_PORTAL_URL=https://127.0.0.1:"), "{environment}");
    assert!(environment.contains("B24_OAUTH_URL=https://127.0.0.1:"), "{environment}");
    let ca = ca.unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----\n") && ca.trim_end().ends_with("-----END CERTIFICATE-----"));
    assert!(!Path::new(printed).exists(), "the CA file {printed} outlived the run");
}

#[test]
fn a_handler_that_exits_before_it_listens_ends_the_run_with_exit_3_and_its_last_lines() {
    let port = free_port();
    let command = "i=1; while [ $i -le 30 ]; do echo \"line $i\" >&2; i=$((i+1)); done; exit 7";
    let out = b24_conform(&["run", "--handler", &format!("http://127.0.0.1:{port}/"), "--handler-cmd", command]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("exited (exit status: 7) before it listened"), "{stderr}");
    // The last lines, not all of them.
    assert!(stderr.contains("| line 30\n") && stderr.contains("| line 11\n"), "{stderr}");
    assert!(!stderr.contains("| line 10\n"), "{stderr}");
    assert!(out.stdout.is_empty(), "the handler's output went to the report: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_handler_that_dies_while_the_cases_run_ends_the_run_with_exit_3_and_its_last_lines() {
    let port = free_port();
    // Listens, lets the readiness probes (which send nothing) come and go, and exits on the
    // first request.
    let server = format!(
        "import socket, sys\n\
         s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', {port})); s.listen(16)\n\
         while True:\n\
         \x20   c, _ = s.accept()\n\
         \x20   if c.recv(1):\n\
         \x20       print('dying on the first request', file=sys.stderr); sys.exit(9)\n"
    );
    require_python3();
    let command = format!("exec python3 -c \"{server}\"");
    let started = Instant::now();
    let out = b24_conform(&["run", "--handler", &format!("http://127.0.0.1:{port}/"), "--handler-cmd", &command]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("exited (exit status: 9) while the cases ran"), "{stderr}");
    assert!(stderr.contains("| dying on the first request"), "{stderr}");
    // Not after every remaining case has waited out its 10 s timeout.
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
}

#[test]
fn a_handler_that_never_listens_ends_the_run_with_exit_3_after_the_wait() {
    let port = free_port();
    let started = Instant::now();
    let out = b24_conform(&[
        "run",
        "--handler",
        &format!("http://127.0.0.1:{port}/"),
        "--handler-wait-ms",
        "300",
        "--handler-cmd",
        "echo starting up; sleep 30",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("within 300 ms") && stderr.contains("| starting up"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the sleeping handler was waited for: {:?}",
        started.elapsed()
    );
}

#[test]
fn a_port_already_taken_is_refused_before_the_command_runs() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", taken.local_addr().unwrap());
    let marker = scratch("never-started");
    let out = b24_conform(&["run", "--handler", &url, "--handler-cmd", &format!("touch '{}'", marker.display())]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("something already listens at"), "{stderr}");
    assert!(!marker.exists(), "the command ran");
}

#[test]
fn a_command_needs_a_handler_url() {
    let out = b24_conform(&["run", "--handler-cmd", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--handler-cmd needs --handler URL"));
}

/// Whether something accepts connections on `port`. A connection to itself does not count: a
/// free port in the ephemeral range can be picked as the source port of the probe.
fn listens(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok_and(|s| s.local_addr().ok() != s.peer_addr().ok())
}

/// Whether process `pid` runs. Zombies do not count: an orphan whose init does not reap it
/// stays one.
#[cfg(target_os = "linux")]
fn runs(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])))
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn after_the_run_the_handler_and_every_process_it_started_are_gone() {
    let port = free_port();
    let pid_file = scratch(&format!("sleeper-{port}"));
    // A child the handler's shell leaves behind: a signal to the shell's pid alone would miss it.
    let command = format!("sleep 300 & echo $! > '{}'; {}", pid_file.display(), python_handler(port));
    let config = RunConfig { filters: vec!["valid/documented-example".into()], ..config_for(port, command) };
    let report = collect(&config).await.expect("the run happens");
    assert_eq!(report.summary.passed, 1, "{}", common::human(&report));

    let sleeper = std::fs::read_to_string(&pid_file).unwrap().trim().to_owned();
    let _ = std::fs::remove_file(&pid_file);
    assert!(!runs(&sleeper), "the shell's child {sleeper} survived the run");
    assert!(!listens(port), "the handler still listens on {port}");
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_to_the_run_stops_the_handler_group_too() {
    require_python3();
    let port = free_port();
    let pid_file = scratch(&format!("term-sleeper-{port}"));
    // Listens and holds every connection unanswered, so the run is still firing when the
    // signal comes; a child left behind stands for a server's workers.
    let server = format!(
        "import socket, time\n\
         s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', {port})); s.listen(64); held = []\n\
         while True:\n\
         \x20   held.append(s.accept())\n"
    );
    let command = format!("sleep 300 & echo $! > '{}'; python3 -c \"{server}\"", pid_file.display());
    let handler = format!("http://127.0.0.1:{port}/");
    let run = common::binary()
        .args(["run", "--handler", &handler, "--handler-cmd", &command, "--filter", "valid/*"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(listens(port) && pid_file.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Command::new("kill").args(["-TERM", &run.id().to_string()]).status().unwrap();
    assert!(signalled.success());
    let out = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let sleeper = std::fs::read_to_string(&pid_file).unwrap_or_default().trim().to_owned();
    let _ = std::fs::remove_file(&pid_file);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("terminated"), "{stderr}");
    assert!(!sleeper.is_empty() && !runs(&sleeper), "the handler's child {sleeper} survived the run");
    assert!(!listens(port), "the handler still listens on {port}");
}

/// A handler started by hand learns the app's OAuth client from the run's stderr (it is the same
/// pair every run): with it the expired token is refreshed at the OAuth server; with another
/// client_id the OAuth server refuses the refresh with invalid_client, as Bitrix24's does.
#[test]
fn a_handler_started_by_hand_refreshes_only_with_the_client_the_run_prints() {
    let made = b24_conform::portal::OauthClient::default();
    // Three ports in a row (portal, foreign portal, OAuth server), below the ephemeral range and
    // apart from free_port's.
    let portal_port = 12_000 + (std::process::id() % 1_000) as u16 * 4;
    let portal = format!("127.0.0.1:{portal_port}");
    let oauth = format!("http://127.0.0.1:{}/oauth/token/", portal_port + 2);
    let refresh_with = |client_id: &str| {
        let port = free_port();
        require_python3();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/handlers/landing_settings.py");
        let mut handler = Command::new("python3")
            .arg(&fixture)
            .arg(port.to_string())
            .env("B24_PORTAL_URL", format!("http://{portal}"))
            .env("B24_OAUTH_URL", &oauth)
            .env("B24_CLIENT_ID", client_id)
            .env("B24_CLIENT_SECRET", &made.secret)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let handler_url = format!("http://127.0.0.1:{port}/");
        let args = ["run", "--portal-addr", &portal, "--handler", &handler_url, "--filter", "token/expired"];
        let out = b24_conform(&[&args[..], &["--format", "json", "--no-regressions", "--shrink-budget", "0"]].concat());
        let _ = handler.kill();
        let _ = handler.wait();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let refresh = report["cases"][0]["portal_calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["method"] == "refresh_token")
            .cloned()
            .unwrap_or_default();
        (String::from_utf8_lossy(&out.stderr).into_owned(), refresh)
    };
    let (stderr, refresh) = refresh_with(&made.id);
    assert!(stderr.contains(&format!("client_id {} client_secret {}", made.id, made.secret)), "{stderr}");
    assert!(stderr.contains(&format!("mock OAuth server at {oauth}")), "{stderr}");
    assert_eq!((refresh["endpoint"].as_str(), refresh["status"].as_u64()), (Some("oauth"), Some(200)), "{refresh}");
    let (_, refresh) = refresh_with("local.someone.else");
    assert_eq!(
        (refresh["status"].as_u64(), refresh["error"].as_str()),
        (Some(401), Some("invalid_client")),
        "{refresh}"
    );
}
