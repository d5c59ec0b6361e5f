//! The JUnit report is standard JUnit XML: it validates against the schema the Jenkins xUnit
//! plugin checks reports with (fixtures/junit/junit-10.xsd), for a passing run, for every fault's
//! failing run, for a handler that never answers, and for one that answers with markup and
//! characters XML forbids. CI viewers (GitLab, GitHub) read the same elements.

mod common;

use common::collect;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use b24_conform::reference::Fault;
use b24_conform::report::{Format, RunReport};
use b24_conform::run::{Handler, RunConfig};
use b24_conform::suite::Level;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/junit/junit-10.xsd");

async fn run_with(config: RunConfig) -> RunReport {
    // Shrinking is tested in tests/generate.rs; here it would only cost time.
    let config = RunConfig { shrink_budget: 0, ..config };
    collect(&config).await.expect("the run happens")
}

/// Whether xmllint is here. CI must have it (.ci/run installs it); elsewhere the schema checks
/// are skipped, loudly.
fn xmllint_present() -> bool {
    if Command::new("xmllint").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "xmllint is missing, and CI must validate the JUnit report: apt-get install -y libxml2-utils"
    );
    // Straight to the process's stderr: libtest captures `eprintln!` of a passing test.
    let _ = std::io::stderr().write_all(
        format!(
            "\n!!!!!!!! xmllint is missing: the JUnit report was NOT validated against {SCHEMA}.\n\
             !!!!!!!! Install it (Debian: apt-get install -y libxml2-utils) and run the tests again.\n\n"
        )
        .as_bytes(),
    );
    false
}

/// Validates `xml` against the schema; panics with xmllint's complaint and the document if not.
fn assert_valid(what: &str, xml: &str) {
    let mut xmllint = Command::new("xmllint")
        .args(["--noout", "--schema", SCHEMA, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint starts");
    xmllint.stdin.take().expect("a pipe").write_all(xml.as_bytes()).expect("xmllint reads the report");
    let out = xmllint.wait_with_output().expect("xmllint ends");
    assert!(out.status.success(), "{what}: {}\n{xml}", String::from_utf8_lossy(&out.stderr));
}

/// The checks common to every report: valid, and one `<testcase>` per case.
fn assert_junit(what: &str, report: &RunReport) -> String {
    let xml = common::text(report, Format::Junit);
    assert_valid(what, &xml);
    assert_eq!(xml.matches("<testcase ").count(), report.cases.len(), "{what}: one testcase per case\n{xml}");
    xml
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passing_run_validates() {
    if !xmllint_present() {
        return;
    }
    let report = run_with(RunConfig::new(Handler::Builtin(None))).await;
    let xml = assert_junit("the reference handler", &report);
    assert!(!xml.contains("<failure") && !xml.contains("<error"), "{xml}");
    assert!(xml.contains("<property name=\"handler\" value=\"builtin:reference\"/>"), "{xml}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fault_validates_and_names_its_check() {
    if !xmllint_present() {
        return;
    }
    // One fault per check: the XML's shape depends on which check fails, not on why.
    let mut seen = std::collections::BTreeSet::new();
    // The frame's faults need a browser (tests/faults.rs judges them there).
    for &fault in Fault::ALL.iter().filter(|f| !f.in_frame() && seen.insert(f.check())) {
        // slow-page holds every page 3.2 s: fire them all at once.
        let mut config = RunConfig { jobs: 256, ..RunConfig::new(Handler::Builtin(Some(fault))) };
        // The snapshot check judges only with the reviewed snapshots at hand (tests/faults.rs).
        if fault.check() == b24_conform::snapshot::CHECK_ID {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots");
            config.snapshots = Some(b24_conform::snapshot::SnapshotConfig::new(dir));
        }
        let report = run_with(config).await;
        let xml = assert_junit(fault.name(), &report);
        assert_eq!(xml.matches("<failure ").count(), report.summary.failed, "{}\n{xml}", fault.name());
        // A warning fails no case, so it is no JUnit failure.
        if fault.level() == Level::Must {
            let failure = format!("<failure message=\"failed: {}\">{}: ", fault.check(), fault.check());
            assert!(xml.contains(&failure), "{xml}");
            assert!(xml.contains("\nreproduce:\ncurl -sS -i -X "), "{xml}");
        }
    }
}

/// A warning is a passing testcase that says so in its output; a case the harness did not model
/// is skipped with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn warnings_and_cases_not_modelled_validate() {
    if !xmllint_present() {
        return;
    }
    let only = |fault, filter: &str| RunConfig {
        filters: vec![filter.to_owned()],
        ..RunConfig::new(Handler::Builtin(Some(fault)))
    };
    let warned = run_with(only(Fault::RateLimit502, "token/*")).await;
    assert_eq!((warned.summary.warned, warned.summary.failed), (1, 0), "{:?}", warned.summary);
    let xml = assert_junit("a warning", &warned);
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(xml.contains("<system-out>warning (should): no-server-error: answered 502"), "{xml}");

    let unmodelled = run_with(only(Fault::CallsUnknownMethod, "valid/*")).await;
    assert!(unmodelled.summary.not_modelled > 0, "{:?}", unmodelled.summary);
    let xml = assert_junit("cases not modelled", &unmodelled);
    assert!(!xml.contains("<failure"), "{xml}");
    let skipped = "<skipped message=\"not modelled by the harness: no.such.method\">";
    assert_eq!(xml.matches(skipped).count(), unmodelled.summary.not_modelled, "{xml}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_that_never_answers_gives_errors_that_validate() {
    if !xmllint_present() {
        return;
    }
    let mut config = RunConfig::new(Handler::Url(handler(|_| None).await));
    config.filters = vec!["missing/*".into()];
    config.limits.timeout = Duration::from_millis(300);
    let report = run_with(config).await;
    assert!(report.summary.errored > 0, "{:?}", report.summary);
    let xml = assert_junit("a silent handler", &report);
    assert_eq!(
        xml.matches("<error message=\"nothing came within 300 ms (--timeout-ms), not even a status line\">").count(),
        report.summary.errored
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_handler_gives_a_report_that_validates() {
    if !xmllint_present() {
        return;
    }
    let hostile = "<script>alert(1)</script> ]]> &amp; \"' ```` \u{ffff}";
    let answer = move |_: &[u8]| {
        let body = format!("{hostile}\u{1}\u{fffe}");
        Some(format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json; x={hostile}\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        ))
    };
    let report = run_with(RunConfig::new(Handler::Url(handler(answer).await))).await;
    assert!(report.summary.failed > 0, "{:?}", report.summary);
    let xml = assert_junit("a hostile handler", &report);
    assert!(xml.contains("Content-Type is application/json; x=&lt;script&gt;alert(1)&lt;/script&gt; ]]&gt;"), "{xml}");
}

/// A loopback handler that answers each request with `answer(request)`, or holds the connection
/// open without a word when that is `None`.
async fn handler(answer: impl Fn(&[u8]) -> Option<String> + Clone + Send + 'static) -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move { serve(socket, answer).await });
        }
    });
    format!("http://{addr}/landing-settings").parse().expect("a URL")
}

async fn serve(mut socket: TcpStream, answer: impl Fn(&[u8]) -> Option<String>) {
    let Some(request) = read_request(&mut socket).await else { return };
    match answer(&request) {
        Some(response) => {
            let _ = socket.write_all(response.as_bytes()).await;
        }
        None => tokio::time::sleep(Duration::from_secs(30)).await,
    }
}

/// The whole request (head and a `content-length` body), or `None` if the client hung up first.
async fn read_request(socket: &mut TcpStream) -> Option<Vec<u8>> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = socket.read(&mut buffer).await.ok().filter(|&n| n > 0)?;
        request.extend_from_slice(&buffer[..read]);
        let Some(head_end) = request.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if request.len() >= head_end + 4 + length {
            return Some(request);
        }
    }
}
