//! Speed and memory figures of the harness, printed, never asserted: `cargo bench`.
//!
//! Each figure runs the release binary as a user does (`b24-conform run …`) and times the whole
//! process; its peak resident memory is the child's own (`wait4`). Figures are medians of
//! several runs in this one bench run, so that ratios compare like with like on a loaded
//! machine. `B24_BENCH_LARGE` sets the large run's case count (default 100 000) and
//! `B24_BENCH_BUDGET_S` how many seconds its five runs may take (default 600): past that the
//! bench measures a smaller count and prints the extrapolation, labelled as such.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use b24_conform::payload::{Binding, HttpRequest, Payload, Wire};
use b24_conform::portal::Portal;
use futures::StreamExt;

const BINARY: &str = env!("CARGO_BIN_EXE_b24-conform");

/// Cases in flight at once, for the harness and the plain client loop alike (`run`'s default).
const JOBS: usize = 8;

/// Generated cases of the throughput figures: half valid, half malformed draws.
const CASES: usize = 10_000;

fn main() {
    let scratch = Scratch::new();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");

    // The catalog, as `b24-conform run` runs it by default.
    let catalog = median(9, || scratch.run(&[]));
    println!(
        "catalog, default run: {} cases in {:.0} ms wall median of 9 ({:.0} ms in the run), peak RSS {} MiB",
        catalog.cases().unwrap_or(0),
        ms(catalog.wall),
        catalog.run_seconds().unwrap_or(0.0) * 1000.0,
        catalog.peak_rss_mib()
    );
    let snapshots = scratch.copy_snapshots();
    let snapshotted = median(9, || scratch.run(&["--snapshots", path_str(&snapshots)]));
    println!(
        "catalog with the snapshot check: {:.0} ms median of 9 (ratio {:.2} to the catalog)",
        ms(snapshotted.wall),
        snapshotted.wall.as_secs_f64() / catalog.wall.as_secs_f64()
    );

    for (space, jobs) in [("valid", 32), ("malformed", 32), ("valid", 8)] {
        let filter = format!("{space}/generated*");
        let jobs = jobs.to_string();
        let run = median(5, || scratch.run(&["--filter", &filter, "--cases", "1000", "--jobs", &jobs]));
        println!(
            "1000 {space} draws at --jobs {jobs}: {:.0} ms wall median of 5, {:.0} ms in the run ({:.0} cases/s in the run)",
            ms(run.wall),
            run.run_seconds().unwrap_or(0.0) * 1000.0,
            1000.0 / run.run_seconds().unwrap_or(f64::NAN)
        );
    }

    // Shrinking: a handler that crashes on any LANG with `<`, over 300 malformed draws.
    let shrink = |budget: &str| {
        let args =
            ["--handler", "builtin:reference?fault=lang-markup-500", "--filter", "malformed/*", "--cases", "300"];
        median(5, || scratch.run(&[&args[..], &["--shrink-budget", budget]].concat()))
    };
    let plain = shrink("0");
    let shrinking = shrink("256");
    let steps = shrinking.shrink_steps(&scratch.report());
    println!(
        "shrinking (lang-markup-500, 300 malformed draws): {:.0} ms vs {:.0} ms without, wall medians of 5 ({} shrunk, steps {steps:?})",
        ms(shrinking.wall),
        ms(plain.wall),
        steps.len()
    );

    // (a) Throughput against the built-in handler, and (c) its memory and linearity.
    let generated = |cases: usize| {
        let per_group = (cases / 2).to_string();
        let args = ["--filter", "valid/generated*", "--filter", "malformed/generated*", "--cases", &per_group];
        scratch.run(&args)
    };
    let runs: Vec<Measured> = (0..5).map(|_| generated(CASES)).collect();
    let small = median_of(runs.clone());
    println!(
        "built-in handler, {CASES} generated cases at --jobs {JOBS}: {:.0} cases/s wall median of 5 ({:.2} s wall, {:.2} s in the run: {:.0} cases/s); target ≥ 5 000",
        CASES as f64 / small.wall.as_secs_f64(),
        small.wall.as_secs_f64(),
        small.run_seconds().unwrap_or(f64::NAN),
        CASES as f64 / small.run_seconds().unwrap_or(f64::NAN)
    );
    let cpu = median_by(&runs, |m| m.cpu);
    println!(
        "built-in handler, {CASES} generated cases: {:.0} µs of CPU a case median of 5 (user + system, portal and handler included): ≈ {:.0} cases/s on 2 idle cores",
        cpu.as_secs_f64() * 1e6 / CASES as f64,
        2.0 * CASES as f64 / cpu.as_secs_f64()
    );
    let peak = median_by(&runs, |m| m.max_rss_kib);
    println!(
        "{CASES} generated cases: peak RSS {} MiB median of 5 (runs: {:?} MiB); report {} MB",
        peak / 1024,
        runs.iter().map(Measured::peak_rss_mib).collect::<Vec<_>>(),
        scratch.report_size() / 1_000_000
    );
    // Exchanges a case makes with the built-in handler: the harness's POST, and each of the
    // handler's calls to the portal, as the 10 000-case report records them.
    let exchanges = 1.0 + scratch.portal_calls_per_case();
    large_run(&small, &generated);

    // (b) A handler given by URL: the harness against a small handler in this process, and a
    // plain client loop posting the documented example at it, at the same concurrency.
    let handler = runtime.block_on(TinyHandler::start());
    let url = format!("http://{}/landing-settings", handler.addr);
    let by_url = median(5, || {
        let per_group = (CASES / 2).to_string();
        let args = [
            "--handler",
            &url,
            "--filter",
            "valid/generated*",
            "--filter",
            "malformed/generated*",
            "--cases",
            &per_group,
        ];
        scratch.run(&args)
    });
    let harness_rate = CASES as f64 / by_url.wall.as_secs_f64();
    let loops: Vec<(Duration, Duration)> = (0..5)
        .map(|_| {
            let cpu = own_cpu();
            let wall = runtime.block_on(client_loop(&url, CASES));
            (wall, own_cpu().saturating_sub(cpu))
        })
        .collect();
    let loop_rate = CASES as f64 / median_of(loops.iter().map(|(wall, _)| *wall)).as_secs_f64();
    let loop_cpu = median_of(loops.iter().map(|(_, cpu)| *cpu));
    println!(
        "handler by URL (a small axum page), --jobs {JOBS}: harness {harness_rate:.0} cases/s wall ({:.0} in the run), plain reqwest loop {loop_rate:.0} req/s, medians of 5: ratio {:.2} (target ≥ 0.80)",
        CASES as f64 / by_url.run_seconds().unwrap_or(f64::NAN),
        harness_rate / loop_rate
    );
    println!(
        "CPU, by URL: the harness {:.0} µs a case (its own process), the plain loop {:.0} µs a request (client and handler together), medians of 5",
        by_url.cpu.as_secs_f64() * 1e6 / CASES as f64,
        loop_cpu.as_secs_f64() * 1e6 / CASES as f64
    );
    println!(
        "ceiling of the built-in run: {exchanges:.2} HTTP exchanges a case (the POST and the handler's portal calls), so at the plain loop's {loop_rate:.0} req/s at most {:.0} cases/s were the harness, the handler and the portal free",
        loop_rate / exchanges
    );
    drop(handler);
}

/// CPU time (user + system) this bench process has used so far: the plain loop and the small
/// handler it posts to both run here.
fn own_cpu() -> Duration {
    // SAFETY: rusage is plain data, zero is a valid value of it; getrusage writes it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer to a rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
}

/// The large run: `B24_BENCH_LARGE` cases five times when that fits the time budget, judged
/// against the 10 000-case run (wall within 10 % of 10×). When it does not fit, a smaller
/// count is measured and the large figures are extrapolated from the two counts.
fn large_run(small: &Measured, generated: &impl Fn(usize) -> Measured) {
    let large = env_number("B24_BENCH_LARGE", 100_000);
    let budget = env_number("B24_BENCH_BUDGET_S", 600) as f64;
    let scale = large as f64 / CASES as f64;
    let expected = small.wall.as_secs_f64() * scale;
    if expected * 5.0 <= budget {
        let runs: Vec<Measured> = (0..5).map(|_| generated(large)).collect();
        let wall = median_by(&runs, |m| m.wall);
        let peak = median_by(&runs, |m| m.max_rss_kib);
        println!(
            "{large} generated cases: {:.1} s wall, peak RSS {} MiB, medians of 5; wall {:.2}× of {scale:.0}× the {CASES}-case wall (target ≤ 1.10), RSS target < 64 MiB",
            wall.as_secs_f64(),
            peak / 1024,
            wall.as_secs_f64() / expected
        );
        return;
    }
    // Too long today: a count whose three runs fit the budget (at least twice the small one).
    let middle = ((budget / 3.0 / small.wall.as_secs_f64()) as usize * CASES).clamp(2 * CASES, large);
    let runs: Vec<Measured> = (0..3).map(|_| generated(middle)).collect();
    let wall = median_by(&runs, |m| m.wall).as_secs_f64();
    let peak = median_by(&runs, |m| m.max_rss_kib) as f64 / 1024.0;
    let ratio = middle as f64 / CASES as f64;
    // wall ∝ cases^k through the two counts; memory a straight line through them.
    let k = (wall / small.wall.as_secs_f64()).ln() / ratio.ln();
    let wall_large = small.wall.as_secs_f64() * scale.powf(k);
    let small_peak = small.max_rss_kib as f64 / 1024.0;
    let peak_large = small_peak + (peak - small_peak) / (middle - CASES) as f64 * (large - CASES) as f64;
    println!(
        "{middle} generated cases (not {large}: five runs would take ~{:.0} s, past the {budget:.0} s budget): {wall:.1} s wall, peak RSS {peak:.0} MiB, medians of 3; wall {:.2}× of {ratio:.0}× the {CASES}-case wall",
        expected * 5.0,
        wall / (small.wall.as_secs_f64() * ratio)
    );
    println!(
        "EXTRAPOLATED, not measured: {large} generated cases ≈ {wall_large:.0} s wall ({:.2}× of {scale:.0}× the {CASES}-case wall; wall ∝ cases^{k:.2}), peak RSS ≈ {peak_large:.0} MiB",
        wall_large / expected
    );
}

/// One run of the binary: its wall time, its own peak RSS, and what it wrote to stderr.
#[derive(Clone, Debug)]
struct Measured {
    wall: Duration,
    /// User and system time of the run: on a machine shared with other work, wall time
    /// measures the others too, CPU time only the run.
    cpu: Duration,
    max_rss_kib: u64,
    stderr: String,
}

impl Measured {
    /// The summary line's case count: `10000 cases: 10000 passed, … (seed 24, 7.86 s); …`.
    fn cases(&self) -> Option<usize> {
        let line = self.summary()?;
        line.split_once(" cases")?.0.trim().parse().ok()
    }

    /// The run's own time, from the summary line's `(seed N, S s)`.
    fn run_seconds(&self) -> Option<f64> {
        let line = self.summary()?;
        let after = &line[line.rfind("(seed ")?..];
        let (_, rest) = after.split_once(", ")?;
        let (number, unit) = rest.split_once(' ')?;
        let number: f64 = number.parse().ok()?;
        match unit.trim_start_matches(|c: char| !c.is_alphabetic()) {
            u if u.starts_with("ms") => Some(number / 1000.0),
            u if u.starts_with('s') => Some(number),
            u if u.starts_with("min") => Some(number * 60.0),
            _ => None,
        }
    }

    fn summary(&self) -> Option<&str> {
        self.stderr.lines().rev().find(|l| l.contains(" cases: ") && l.contains("(seed "))
    }

    fn peak_rss_mib(&self) -> u64 {
        self.max_rss_kib / 1024
    }

    /// The shrink steps of each shrunk case in a JSON report.
    fn shrink_steps(&self, report: &Path) -> Vec<u64> {
        let Ok(text) = std::fs::read_to_string(report) else { return Vec::new() };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else { return Vec::new() };
        let cases = json["cases"].as_array().map(Vec::as_slice).unwrap_or_default();
        cases.iter().filter_map(|c| c["shrunk"]["steps"].as_u64()).collect()
    }
}

/// A directory of the bench's own in the system's temporary directory, removed at the end: the
/// runs write their reports there and nothing into the repository.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("b24-conform-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Scratch { dir }
    }

    fn report(&self) -> PathBuf {
        self.dir.join("report.json")
    }

    /// Portal calls a case of the last run's JSON report, which holds one case a line.
    fn portal_calls_per_case(&self) -> f64 {
        // Line by line: a child's peak RSS counts what this process held when it forked the child.
        let Ok(file) = std::fs::File::open(self.report()) else { return f64::NAN };
        let (mut cases, mut calls) = (0usize, 0usize);
        for line in std::io::BufRead::lines(std::io::BufReader::new(file)).map_while(Result::ok) {
            let Ok(case) = serde_json::from_str::<serde_json::Value>(line.trim_end_matches(',')) else { continue };
            if let Some(made) = case.get("portal_calls").and_then(serde_json::Value::as_array) {
                cases += 1;
                calls += made.len();
            }
        }
        calls as f64 / cases as f64
    }

    fn report_size(&self) -> u64 {
        std::fs::metadata(self.report()).map(|m| m.len()).unwrap_or(0)
    }

    /// A copy of the reviewed snapshots, so that a run with the snapshot check writes nothing
    /// beside the originals.
    fn copy_snapshots(&self) -> PathBuf {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
        let to = self.dir.join("snapshots");
        std::fs::create_dir_all(&to).expect("a snapshots directory");
        for entry in std::fs::read_dir(&from).expect("the snapshots directory").flatten() {
            let _ = std::fs::copy(entry.path(), to.join(entry.file_name()));
        }
        to
    }

    /// `b24-conform run ARGS --no-regressions --format json --out DIR/report.json`, in DIR.
    fn run(&self, args: &[&str]) -> Measured {
        let report = self.report();
        let mut command = Command::new(BINARY);
        command
            .arg("run")
            .args(args)
            .args(["--no-regressions", "--format", "json", "--out", path_str(&report)])
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        measure(command)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `command` to its end: wall time, and the child's own peak RSS from `wait4`.
// wait4 reaps the child (std's wait would not give its rusage).
#[allow(clippy::zombie_processes)]
fn measure(mut command: Command) -> Measured {
    let started = Instant::now();
    let mut child = command.spawn().expect("the release binary starts");
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data, zero is a valid value of it; wait4 writes it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, which std has not reaped (we never call child.wait()).
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(reaped, pid, "wait4 reaps the run");
    let cpu = timeval(usage.ru_utime) + timeval(usage.ru_stime);
    // ru_maxrss is in KiB on Linux.
    Measured { wall, cpu, max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0), stderr }
}

fn median(runs: usize, mut run: impl FnMut() -> Measured) -> Measured {
    median_of((0..runs).map(|_| run()).collect::<Vec<_>>())
}

fn median_of<T: Clone + HasWall>(items: impl IntoIterator<Item = T>) -> T {
    let mut items: Vec<T> = items.into_iter().collect();
    items.sort_by_key(HasWall::wall);
    items[items.len() / 2].clone()
}

fn median_by<T: Ord + Copy>(runs: &[Measured], key: impl Fn(&Measured) -> T) -> T {
    let mut keys: Vec<T> = runs.iter().map(key).collect();
    keys.sort();
    keys[keys.len() / 2]
}

trait HasWall {
    fn wall(&self) -> Duration;
}

impl HasWall for Measured {
    fn wall(&self) -> Duration {
        self.wall
    }
}

impl HasWall for Duration {
    fn wall(&self) -> Duration {
        *self
    }
}

/// `count` POSTs of the documented example's placement request (split wire, the frame's
/// headers), `JOBS` at a time, by a plain reqwest client: what a client loop alone achieves
/// against the handler.
async fn client_loop(url: &str, count: usize) -> Duration {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().no_proxy().build().expect("a client");
    let handler = url::Url::parse(url).expect("a URL");
    let home: SocketAddr = ([127, 0, 0, 1], 9).into();
    let binding: Binding = Portal::binding_at(home, SocketAddr::from(([127, 0, 0, 1], 10)));
    let fields = Payload::documented_example().bind(&binding).to_fields();
    let request: HttpRequest = Wire::Split.placement(&handler, &fields, &binding);
    let started = Instant::now();
    futures::stream::iter(0..count)
        .map(|_| {
            let mut builder = client.post(&request.url).body(request.body.clone());
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            async move {
                let response = builder.send().await.expect("the handler answers");
                let _ = response.bytes().await;
            }
        })
        .buffer_unordered(JOBS)
        .for_each(|()| async {})
        .await;
    started.elapsed()
}

/// A handler given by URL: an axum server in this process answering every request with a small
/// HTML page, as a settings page that needs no portal call does.
struct TinyHandler {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TinyHandler {
    async fn start() -> TinyHandler {
        use axum::serve::ListenerExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        let page = |_: axum::body::Bytes| async {
            (
                [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Settings</title></head>\n<body><main><h1>Settings</h1></main></body></html>\n",
            )
        };
        let router = axum::Router::new().fallback(page);
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        TinyHandler { addr, task }
    }
}

impl Drop for TinyHandler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}
