//! `--handler-cmd`: the harness starts the handler under test, tells it where the portal is,
//! waits for it to listen, and stops it, with every process it started, after the run. The
//! handler here is `fixtures/handlers/landing_settings.py` (Python 3, standard library).

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use b24_conform::report::render_human;
use b24_conform::run::{Handler, RunConfig, run};

fn fixture() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/handlers/landing_settings.py").display().to_string()
}

/// A loopback port nothing listens on now, for the handler to take.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn config_for(port: u16, command: String) -> RunConfig {
    let handler = Handler::Url(format!("http://127.0.0.1:{port}/landing-settings").parse().unwrap());
    RunConfig { handler_cmd: Some(command), ..RunConfig::new(handler) }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_handler_started_by_command_completes_the_valid_cases_over_https() {
    let port = free_port();
    let config = RunConfig {
        portal_tls: true,
        filters: vec!["valid/*".into()],
        ..config_for(port, format!("exec python3 '{}' {port}", fixture()))
    };
    let started = Instant::now();
    let report = run(&config, |_| {}).await.expect("the run happens");
    assert_eq!(report.summary.passed, report.summary.cases, "{}", render_human(&report));
    assert!(report.summary.cases >= 10, "{:?}", report.summary);
    // The handler called the portal over https with the run's CA, and refreshed nothing it
    // did not have to.
    let calls: Vec<_> = report.cases.iter().flat_map(|c| &c.portal_calls).collect();
    assert!(calls.iter().filter(|c| c.method == "user.current").all(|c| c.succeeded()), "{calls:?}");
    assert!(calls.iter().any(|c| c.method == "landing.site.getlist"), "{calls:?}");
    eprintln!("{} valid cases through a started Python handler in {:?}", report.summary.cases, started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_handler_refreshes_a_refused_token_and_refuses_bad_requests() {
    let port = free_port();
    let config = RunConfig {
        portal_tls: true,
        filters: vec!["token/*".into(), "missing/*".into(), "options/*".into(), "placement/*".into()],
        ..config_for(port, format!("exec python3 '{}' {port}", fixture()))
    };
    let report = run(&config, |_| {}).await.expect("the run happens");
    assert_eq!(report.summary.passed, report.summary.cases, "{}", render_human(&report));
    let expired = report.cases.iter().find(|c| c.id == "token/expired").unwrap();
    assert_eq!(expired.response.as_ref().map(|r| r.status), Some(200));
    assert!(expired.portal_calls.iter().any(|c| c.method == "refresh_token" && c.succeeded()), "{expired:?}");
}

#[test]
fn a_handler_that_exits_before_it_listens_ends_the_run_with_exit_3_and_its_words() {
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_b24-conform"))
        .args(["run", "--handler", &format!("http://127.0.0.1:{port}/"), "--handler-cmd", "echo boom >&2; exit 7"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("boom") && stderr.contains("exit status: 7"), "{stderr}");
    assert!(out.stdout.is_empty(), "the handler's output went to the report: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_handler_that_never_listens_ends_the_run_with_exit_3_after_the_wait() {
    let port = free_port();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_b24-conform"))
        .args(["run", "--handler", &format!("http://127.0.0.1:{port}/"), "--handler-wait-ms", "300"])
        .args(["--handler-cmd", "echo starting up; sleep 30"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("within 300 ms") && stderr.contains("starting up"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the sleeping handler was waited for: {:?}",
        started.elapsed()
    );
}

#[test]
fn a_command_needs_a_handler_url() {
    let out = Command::new(env!("CARGO_BIN_EXE_b24-conform")).args(["run", "--handler-cmd", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--handler-cmd needs --handler URL"));
}

/// Whether something accepts connections on `port`. A connection to itself does not count: a
/// free port in the ephemeral range can be picked as the source port of the probe.
#[cfg(target_os = "linux")]
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
    let pid_file = std::env::temp_dir().join(format!("b24-conform-launch-test-{}-{port}", std::process::id()));
    // A child the handler's shell leaves behind: a kill of the shell's pid alone would miss it.
    let command = format!("sleep 300 & echo $! > '{}'; python3 '{}' {port}", pid_file.display(), fixture());
    let config = RunConfig { filters: vec!["valid/documented-example".into()], ..config_for(port, command) };
    let report = run(&config, |_| {}).await.expect("the run happens");
    assert_eq!(report.summary.passed, 1, "{}", render_human(&report));

    let sleeper = std::fs::read_to_string(&pid_file).unwrap().trim().to_owned();
    let _ = std::fs::remove_file(&pid_file);
    assert!(!runs(&sleeper), "the shell's child {sleeper} survived the run");
    if listens(port) {
        let s = TcpStream::connect(("127.0.0.1", port)).ok().map(|s| (s.local_addr().ok(), s.peer_addr().ok()));
        let ss = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ss -tanp | grep {port}; ps -eo pid,pgid,stat,lstart,cmd | grep -v grep | grep -E 'landing|sleep'"
            ))
            .output()
            .unwrap();
        panic!("the handler still listens on {port}: {s:?} {}", String::from_utf8_lossy(&ss.stdout));
    }
}
