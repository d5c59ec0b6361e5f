//! The run engine as its consumers see it: the events of a run in their documented order, one
//! `Judged` per case; a run that stops early (`--max-failures`); reports that are written whole
//! or not at all; a baseline made from a run that the next identical run matches.

mod common;

use std::collections::HashMap;
use std::process::{Command, Output};

use b24_conform::record::Event;
use b24_conform::run::{Handler, RunConfig, run};
use common::Scratch;

fn b24(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_b24-conform")).args(args).output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What the tests read of one event: its kind, the case it is about, and that case's index.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Started(usize),
    Answered(String, usize, usize),
    Judged(String, usize),
    NotRun(String, usize),
    Unattributed,
    Ended(usize),
}

#[tokio::test(flavor = "multi_thread")]
async fn events_come_in_their_documented_order_with_one_judged_per_case() {
    let mut config = RunConfig::new(Handler::Builtin(None));
    // The installation, plain cases, generated ones and a journey (fired last, alone).
    config.filters =
        ["install/*", "valid/*", "missing/*", "lifecycle/uninstall/*"].iter().map(|f| f.to_string()).collect();
    config.jobs = 4;
    let mut seen = Vec::new();
    let mut observer = |event: &Event<'_>| {
        seen.push(match event {
            Event::Started(info) => Seen::Started(info.cases),
            Event::Answered { id, done, total } => Seen::Answered(id.to_string(), *done, *total),
            Event::Judged(case) => Seen::Judged(case.id.clone(), case.index),
            Event::NotRun { id, index, .. } => Seen::NotRun(id.to_string(), *index),
            Event::Unattributed(_) => Seen::Unattributed,
            Event::Ended(end) => Seen::Ended(end.summary.cases),
        });
        Ok(())
    };
    let end = run(&config, &mut observer).await.expect("the run happens");
    assert_eq!(end.exit_code(), 0, "{:?}", end.summary);

    let Some(Seen::Started(planned)) = seen.first().cloned() else { panic!("not started first: {seen:?}") };
    assert_eq!(seen.last(), Some(&Seen::Ended(planned)), "ended last, every planned case judged");
    let judged: Vec<(String, usize)> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Judged(id, index) => Some((id.clone(), *index)),
            _ => None,
        })
        .collect();
    assert_eq!(judged.len(), planned);
    // The installation first, then the plan's cases in firing order, each once.
    let indexes: Vec<usize> = judged.iter().map(|(_, index)| *index).collect();
    assert_eq!(indexes, (0..planned).collect::<Vec<_>>());
    assert!(judged[0].0.starts_with("install/"), "{judged:?}");
    assert!(judged.last().unwrap().0.starts_with("lifecycle/uninstall/step-3"), "{judged:?}");
    // Each case answered once, before it is judged; `done` counts up to `total`.
    let mut answered: HashMap<&str, usize> = HashMap::new();
    for (at, event) in seen.iter().enumerate() {
        match event {
            Seen::Answered(id, done, total) => {
                assert_eq!((answered.len() + 1, *total), (*done, planned), "{event:?}");
                assert!(answered.insert(id, at).is_none(), "{id} answered twice");
            }
            Seen::Judged(id, _) => {
                assert!(answered.get(id.as_str()).is_some_and(|&a| a < at), "{id} judged unanswered")
            }
            Seen::Unattributed => assert!(!seen[at..].iter().any(|s| matches!(s, Seen::Judged(..))), "after the cases"),
            Seen::NotRun(id, _) => panic!("{id} not run in a run that did not stop"),
            Seen::Started(_) | Seen::Ended(_) => {}
        }
    }
}

#[test]
fn max_failures_stops_firing_and_reports_the_rest_as_not_run() {
    let scratch = Scratch::new("max-failures");
    let report = scratch.0.join("report.json");
    let out = b24(&[
        "run",
        "--handler",
        "builtin:reference?fault=json-page",
        "--max-failures",
        "2",
        "--jobs",
        "2",
        "--shrink-budget",
        "0",
        "--format",
        "json",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let reason = "not run: stopped after 2 failures (--max-failures 2)";
    assert_eq!(doc["stopped"], "stopped after 2 failures (--max-failures 2)");
    let cases = doc["cases"].as_array().unwrap();
    let not_run: Vec<_> = cases.iter().filter(|c| c["outcome"] == "not-run").collect();
    assert!(!not_run.is_empty() && not_run.iter().all(|c| c["reason"] == reason), "{doc}");
    assert_eq!(doc["summary"]["not_run"], not_run.len());
    assert!(doc["summary"]["failed"].as_u64().unwrap() >= 2);
    // Every case of the plan once, judged or not run, in index order.
    let indexes: Vec<u64> = cases.iter().map(|c| c["index"].as_u64().unwrap()).collect();
    assert_eq!(indexes, (0..cases.len() as u64).collect::<Vec<_>>());
    assert!(text(&out.stderr).contains("stopped after 2 failures"), "{}", text(&out.stderr));
}

#[test]
fn an_out_file_that_cannot_be_written_stops_the_run_before_it_starts() {
    let scratch = Scratch::new("out");
    let missing = scratch.0.join("no/such/dir/report.json");
    let started = std::time::Instant::now();
    let out = b24(&["run", "--out", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--out"), "{}", text(&out.stderr));
    // Nothing ran (the catalog takes seconds) and nothing was left behind.
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert!(std::fs::read_dir(&scratch.0).unwrap().next().is_none());
}

#[test]
fn a_baseline_made_from_a_run_matches_the_next_identical_run() {
    let scratch = Scratch::new("baseline");
    let file = scratch.0.join("baseline.toml");
    let path = file.to_str().unwrap();
    // Generated cases fail too (malformed/generated#0…): their ids are the same run after run.
    let run = |extra: &[&str]| {
        let args = [
            "run",
            "--handler",
            "builtin:reference?fault=php-array-500",
            "--filter",
            "options/*",
            "--filter",
            "malformed/*",
            "--shrink-budget",
            "0",
            "--format",
            "json",
            "--baseline",
            path,
        ];
        b24(&[&args[..], extra].concat())
    };
    let json = |out: &Output| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();

    let first = run(&["--baseline-update"]);
    assert_eq!(first.status.code(), Some(1), "the failures are new: {}", text(&first.stderr));
    let failed = json(&first)["summary"]["failed"].as_u64().unwrap();
    assert!(failed > 0);
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(text(&first.stderr).contains("deviations written"), "{}", text(&first.stderr));

    let second = run(&["--baseline-update"]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    let doc = json(&second);
    assert_eq!(doc["summary"]["known"].as_u64(), Some(failed));
    assert_eq!(doc["summary"]["failed"], 0);
    assert_eq!(doc["baseline"]["fixed"].as_array().map(Vec::len), Some(0), "no stale entries");
    assert_eq!(doc["baseline"]["expired"].as_array().map(Vec::len), Some(0));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), written, "the file is stable");
}

#[test]
fn a_run_ended_by_sigterm_leaves_no_partial_report() {
    let scratch = Scratch::new("sigterm");
    let report = scratch.0.join("report.json");
    // Every page takes 3.2 s: the run is still going when the signal comes.
    let child = Command::new(env!("CARGO_BIN_EXE_b24-conform"))
        .args(["run", "--handler", "builtin:reference?fault=slow-page", "--format", "json", "--out"])
        .arg(&report)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let partial = scratch.0.join(".report.json.partial");
    let started = std::time::Instant::now();
    while !partial.exists() && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(partial.exists(), "the report is written to its partial file while the run goes");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(killed.success());
    let out = child.wait_with_output().expect("the run ends");
    assert_eq!(out.status.code(), Some(143), "{}", text(&out.stderr));
    assert!(std::fs::read_dir(&scratch.0).unwrap().next().is_none(), "nothing left in {}", scratch.0.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn shrinking_stops_at_its_time_and_says_so() {
    use b24_conform::reference::Fault;
    let mut config = RunConfig::new(Handler::Builtin(Some(Fault::PhpArray500)));
    config.filters = vec!["malformed/generated*".to_owned()];
    config.draw.count = Some(8);
    config.shrink_time = std::time::Duration::from_millis(1);
    let mut shrunk = Vec::new();
    let mut observer = |event: &Event<'_>| {
        if let Event::Judged(case) = event {
            shrunk.extend(case.shrunk.as_ref().map(|s| (case.id.clone(), s.steps, s.stopped.clone())));
        }
        Ok(())
    };
    let end = run(&config, &mut observer).await.expect("the run happens");
    assert!(end.summary.failed > 0, "{:?}", end.summary);
    assert!(!shrunk.is_empty());
    for (id, steps, stopped) in shrunk {
        assert_eq!(stopped.as_deref(), Some("stopped after 1 ms (--shrink-time-ms 1)"), "{id}");
        assert!(steps <= 1, "{id}: {steps} candidates in 1 ms");
    }
}
