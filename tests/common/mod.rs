//! What the integration tests that start a handler share: a free port for it, and a scratch
//! directory for what the run writes. Each test binary uses a part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, Ordering};

/// A loopback port nothing listens on now, below the range Linux hands out for port 0
/// (32768–60999), so that no portal of a test running beside this one takes it before the
/// handler binds it; spread by process id, counted within the process.
pub fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 10_000 + (std::process::id() % 700) as u16 * 30;
    loop {
        let port = base + NEXT.fetch_add(1, Ordering::Relaxed) % 30;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A directory of the test's own in the temporary directory, removed when dropped: what the run
/// and the handler write goes there, never into the repository.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let binary = env!("CARGO_CRATE_NAME");
        let dir = std::env::temp_dir().join(format!("b24-conform-{binary}-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `config` and keeps the whole report, as the tests read it: every case judged, the calls
/// no case owns, the summary and the baseline's tally. (A run keeps nothing itself.)
pub async fn collect(
    config: &b24_conform::run::RunConfig,
) -> Result<b24_conform::report::RunReport, b24_conform::run::RunError> {
    use b24_conform::record::Event;
    let mut report: Option<b24_conform::report::RunReport> = None;
    let mut observer = |event: &Event<'_>| {
        match event {
            Event::Started(info) => {
                let (handler, seed, wire) = (info.handler.clone(), info.seed, info.wire);
                report = Some(b24_conform::report::RunReport::new(handler, seed, wire, Vec::new(), Default::default()));
            }
            Event::Judged(case) => report.iter_mut().for_each(|r| r.cases.push((*case).clone())),
            Event::Unattributed(call) => report.iter_mut().for_each(|r| r.unattributed.push((*call).clone())),
            Event::Ended(end) => {
                if let Some(report) = &mut report {
                    report.summary = end.summary.clone();
                    report.baseline = end.baseline.clone();
                }
            }
            Event::Answered { .. } | Event::NotRun { .. } => {}
        }
        Ok(())
    };
    b24_conform::run::run(config, &mut observer).await?;
    Ok(report.expect("a run that ends has started"))
}

/// `report` written in `format` as the run writes it, read back; the files its commands read go
/// to a scratch directory. For assertions and their messages.
pub fn text(report: &b24_conform::report::RunReport, format: b24_conform::report::Format) -> String {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let scratch = Scratch::new(&format!("report-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    let path = scratch.0.join("report");
    let file = std::fs::File::create(&path).expect("a report file");
    let options = b24_conform::report::SinkOptions { colour: false, beside: Some(scratch.0.clone()) };
    let mut sink = b24_conform::report::sink(format, Box::new(file), options);
    report.write_to(sink.as_mut(), Vec::new()).expect("the report is written");
    drop(sink);
    std::fs::read_to_string(&path).expect("the report reads back")
}

/// The human report of `report`.
pub fn human(report: &b24_conform::report::RunReport) -> String {
    text(report, b24_conform::report::Format::Human)
}

/// The binary under test, run in a directory of this test process's own in the temporary
/// directory: what it writes by default (the regressions file) never lands in the repository,
/// nor in the way of another test. Kept for the life of the process (tests run side by side).
pub fn binary() -> Command {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let name = format!("b24-conform-{}-{}-cwd", env!("CARGO_CRATE_NAME"), std::process::id());
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).expect("a working directory for the binary");
        dir
    });
    let mut command = Command::new(env!("CARGO_BIN_EXE_b24-conform"));
    command.current_dir(dir);
    command
}

/// Chromium's executable, for the tests that need a real browser; `None` (after a loud banner)
/// where it is missing, so that they skip. Under CI a missing Chromium fails the test: CI must
/// run them (.ci/run installs it).
pub fn chromium() -> Option<PathBuf> {
    let found = b24_conform::browser::find_chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "Chromium is missing, and CI must run the frame tests: apt-get install -y chromium"
        );
        // Straight to the process's stderr: libtest captures `eprintln!` of a passing test.
        use std::io::Write;
        let _ = std::io::stderr().write_all(
            b"\n!!!!!!!! Chromium is missing: the frame tests were SKIPPED.\n\
              !!!!!!!! Install it (Debian: apt-get install -y chromium) and run the tests again.\n\n",
        );
    }
    found
}

/// The suite of accepted frames, one whose token works and one whose token has expired
/// (fixtures/suites/frame.toml): the catalog opens no frame with an expired token.
pub fn frame_suite() -> b24_conform::suite::SuiteSource {
    b24_conform::suite::SuiteSource::File(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/suites/frame.toml"),
    )
}

/// A run of the binary under test against a fixture app that the run starts with `command`
/// (`--handler-cmd`) on `port`: judged at `/settings`, installed from `install` (a path), with
/// `flags` added; nothing recorded for later runs. Its output and its JSON report, both written
/// in `scratch`; a run that writes no report panics with what it printed.
pub fn run_fixture(
    port: u16,
    command: &str,
    install: &str,
    flags: &[&str],
    scratch: &Scratch,
) -> (std::process::Output, serde_json::Value) {
    let origin = format!("http://127.0.0.1:{port}");
    let report = scratch.0.join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_b24-conform"))
        .current_dir(&scratch.0)
        .args(["run", "--no-regressions", "--format", "json"])
        .args(["--handler", &format!("{origin}/settings"), "--install-url", &format!("{origin}{install}")])
        .args(["--handler-cmd", command])
        .args(flags)
        .arg("--out")
        .arg(&report)
        .output()
        .expect("b24-conform runs");
    let text = std::fs::read_to_string(&report).unwrap_or_else(|error| {
        panic!("no report ({error}); exit {:?}\n{}", out.status.code(), String::from_utf8_lossy(&out.stderr))
    });
    (out, serde_json::from_str(&text).expect("the report is JSON"))
}
