//! `b24-conform merge`: the JSON reports of a run split with `--partition K/4` merge into the
//! report of the unsplit run.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{Scratch, free_port};
use serde_json::Value;

/// Runs the binary with `args` in `scratch`; its exit code, and its stderr for a failure.
fn b24(scratch: &Scratch, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_b24-conform"))
        .args(args)
        .current_dir(&scratch.0)
        .env("TMPDIR", &scratch.0)
        .output()
        .expect("the binary runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("the report")).expect("the report is JSON")
}

/// A port for the portal whose next port (the foreign portal's) is free too.
fn portal_port() -> u16 {
    loop {
        let port = free_port();
        if std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// `report` without what differs from run to run of the same seed: the timings (`elapsed_ms`,
/// `duration_ms`, the `date` header, the milliseconds in messages such as the latency budget's,
/// the Unix times `ts` and `auth[expires]` of the installation events) and the port of the built-in handler, which
/// takes a free one each run. The portal's is fixed.
fn normalised(report: &Value, portal: u16) -> Value {
    // The patterns are made once: a report holds hundreds of thousands of values.
    let address = regex::Regex::new(r"127\.0\.0\.1:(\d+)").unwrap();
    let ms = regex::Regex::new(r"\d+ ms\b").unwrap();
    let unix_time = regex::Regex::new(r"\b(ts|auth%5Bexpires%5D)=\d+").unwrap();
    let text = |s: &str| {
        let s = address.replace_all(s, |c: &regex::Captures| match c[1].parse::<u16>() {
            Ok(port) if port == portal || port == portal + 1 => c[0].to_owned(),
            _ => "127.0.0.1:HANDLER".to_owned(),
        });
        let s = unix_time.replace_all(&s, "$1=N");
        ms.replace_all(&s, "N ms").into_owned()
    };
    each_string(report, &text)
}

/// `value` with `text` applied to each of its strings, and without the timings.
fn each_string(report: &Value, text: &dyn Fn(&str) -> String) -> Value {
    match report {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !matches!(key.as_str(), "elapsed_ms" | "duration_ms"))
                .map(|(key, value)| (key.clone(), each_string(value, text)))
                .collect(),
        ),
        // A header is a [name, value] pair: the date is the time of the answer.
        Value::Array(pair) if pair.len() == 2 && pair[0] == "date" => Value::Array(vec![pair[0].clone()]),
        Value::Array(items) => Value::Array(items.iter().map(|v| each_string(v, text)).collect()),
        Value::String(s) => Value::String(text(s)),
        other => other.clone(),
    }
}

#[test]
fn four_partitions_merge_into_the_unpartitioned_report() {
    let scratch = Scratch::new("four");
    let port = portal_port();
    let addr = format!("127.0.0.1:{port}");
    let run = |out: &str, partition: Option<&str>| {
        let mut args = vec!["run", "--seed", "7", "--portal-addr", &addr, "--format", "json", "--out", out];
        if let Some(partition) = partition {
            args.extend(["--partition", partition]);
        }
        let (code, err) = b24(&scratch, &args);
        assert_eq!(code, Some(0), "run {args:?}: {err}");
    };
    run("whole.json", None);
    for k in 1..=4 {
        run(&format!("part{k}.json"), Some(&format!("{k}/4")));
    }

    // The four parts together hold each case of the whole run exactly once.
    let whole = json(&scratch.0.join("whole.json"));
    let ids = |report: &Value| -> Vec<String> {
        report["cases"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for k in 1..=4 {
        let part = json(&scratch.0.join(format!("part{k}.json")));
        assert_eq!(part["partition"], format!("{k}/4"));
        for id in ids(&part) {
            *seen.entry(id).or_default() += 1;
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "in more than one partition: {twice:?}");
    let mut expected = ids(&whole);
    expected.sort();
    assert_eq!(seen.into_keys().collect::<Vec<_>>(), expected, "the parts' cases are not the whole run's");

    let (code, err) = b24(
        &scratch,
        &["merge", "part3.json", "part1.json", "part4.json", "part2.json", "--format", "json", "--out", "merged.json"],
    );
    assert_eq!(code, Some(0), "{err}");
    let merged = json(&scratch.0.join("merged.json"));
    assert_eq!(ids(&merged), ids(&whole), "the merged cases are not in the whole run's order");
    let (merged, whole) = (normalised(&merged, port), normalised(&whole, port));
    let cases = |report: &Value| report["cases"].as_array().cloned().unwrap_or_default();
    // Requests too long to show whole, which the parts hold cut, are among them.
    assert!(cases(&whole).iter().any(|case| case["request"]["sha256"].is_string()), "no oversize request");
    // Case by case first, so that a difference shows as the one case, not as the whole report.
    for (merged, whole) in cases(&merged).iter().zip(&cases(&whole)) {
        assert_eq!(merged, whole, "case {} differs", whole["id"]);
    }
    assert_eq!(merged, whole);
}

#[test]
fn reports_that_are_not_the_parts_of_one_run_are_refused_with_exit_2() {
    let scratch = Scratch::new("refused");
    let part = |partition: &str| {
        format!(
            r#"{{"tool":"b24-conform","version":"{}","handler":"builtin:reference","seed":24,"wire":"split","partition":"{partition}",
"cases":[
],
"notes":[],
"summary":{{"cases":0,"passed":0,"warned":0,"failed":0,"errored":0,"known":0,"not_modelled":0,"not_exercised":0,"duration_ms":1}}}}"#,
            env!("CARGO_PKG_VERSION")
        )
    };
    std::fs::write(scratch.0.join("a.json"), part("2/4")).unwrap();
    std::fs::write(scratch.0.join("b.json"), part("2/4")).unwrap();
    let (code, err) = b24(&scratch, &["merge", "b.json", "a.json"]);
    assert_eq!((code, err.as_str()), (Some(2), "error: merge: a.json and b.json are both partition 2/4\n"));
    let (code, err) = b24(&scratch, &["merge", "a.json", "missing.json"]);
    assert_eq!(code, Some(2));
    assert!(err.starts_with("error: merge: cannot read missing.json: "), "{err}");
}
