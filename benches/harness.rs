//! Speed and memory figures of the harness, printed, never asserted: `cargo bench`.
//!
//! Each figure is the median of several runs in this one process, against the built-in
//! reference handler; ratios compare figures of the same run of this bench.

use std::time::{Duration, Instant};

use b24_conform::record::Event;
use b24_conform::reference::Fault;
use b24_conform::report::{CaseOutcome, RunReport};
use b24_conform::run::{Handler, RunConfig, run};
use b24_conform::snapshot::SnapshotConfig;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let once = |config: &RunConfig| -> (Duration, RunReport) {
        let started = Instant::now();
        let mut report = RunReport::new(String::new(), 0, Default::default(), Vec::new(), Duration::ZERO);
        let mut keep = |event: &Event<'_>| {
            match event {
                Event::Judged(case) => report.cases.push((*case).clone()),
                Event::Ended(end) => report.summary = end.summary.clone(),
                _ => {}
            }
            Ok(())
        };
        runtime.block_on(run(config, &mut keep)).expect("the run happens");
        (started.elapsed(), report)
    };
    let median = |config: &RunConfig, runs: usize| -> (Duration, RunReport) {
        let mut timed: Vec<(Duration, RunReport)> = (0..runs).map(|_| once(config)).collect();
        timed.sort_by_key(|(elapsed, _)| *elapsed);
        timed.swap_remove(runs / 2)
    };
    let reference = || RunConfig::new(Handler::Builtin(None));

    let (catalog, report) = median(&reference(), 9);
    println!(
        "catalog, default config: {} cases in {:.0} ms median of 9 ({:.0} cases/s)",
        report.summary.cases,
        ms(catalog),
        report.summary.cases as f64 / catalog.as_secs_f64()
    );

    let snapshots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
    let with_snapshots = RunConfig { snapshots: Some(SnapshotConfig::new(snapshots)), ..reference() };
    let (snapshotted, _) = median(&with_snapshots, 9);
    println!(
        "catalog with the snapshot check: {:.0} ms median of 9 (ratio {:.2} to the catalog)",
        ms(snapshotted),
        snapshotted.as_secs_f64() / catalog.as_secs_f64()
    );

    for (space, jobs) in [("valid", 32), ("malformed", 32), ("valid", 8)] {
        let config = RunConfig {
            filters: vec![format!("{space}/generated*")],
            jobs,
            draw: b24_conform::suite::Draw { count: Some(1000), ..reference().draw },
            ..reference()
        };
        let (elapsed, report) = median(&config, 5);
        let calls: usize = report.cases.iter().map(|c| c.portal_calls.len()).sum();
        println!(
            "1000 {space} draws at --jobs {jobs}: {:.0} ms median of 5 ({:.0} cases/s, {calls} portal calls)",
            ms(elapsed),
            1000.0 / elapsed.as_secs_f64()
        );
    }

    // Shrinking: a handler that crashes on any LANG with `<`, over 300 malformed draws.
    let config = RunConfig {
        filters: vec!["malformed/*".into()],
        draw: b24_conform::suite::Draw { count: Some(300), ..reference().draw },
        ..RunConfig::new(Handler::Builtin(Some(Fault::LangMarkup500)))
    };
    let unshrunk = RunConfig { shrink_budget: 0, ..config.clone() };
    let (plain, _) = median(&unshrunk, 5);
    let (shrinking, report) = median(&config, 5);
    let steps: Vec<usize> = report.cases.iter().filter_map(|c| c.shrunk.as_ref()).map(|s| s.steps).collect();
    let failed = report.cases.iter().filter(|c| c.outcome == CaseOutcome::Fail).count();
    println!(
        "shrinking (lang-markup-500, 300 malformed draws, {failed} failing): {:.0} ms vs {:.0} ms without ({} shrunk, steps {:?})",
        ms(shrinking),
        ms(plain),
        steps.len(),
        steps
    );

    println!("peak resident memory of this process: {} MB", peak_rss_mb().unwrap_or(0));
}

fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

/// VmHWM from /proc (Linux); none elsewhere.
fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
