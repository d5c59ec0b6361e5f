//! `--baseline FILE` for CI gates: known failures are reported and don't fail the run; new ones
//! do; fixed entries are reported; expired ones fail again; `--baseline-update` rewrites it.

mod common;

use std::process::Output;

fn b24(args: &[&str]) -> Output {
    common::binary().args(args).output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const OPTIONS_500: &str = "builtin:reference?fault=options-json-500";

fn entry(case: &str, check: &str, expires: &str) -> String {
    format!("[[deviation]]\ncase = \"{case}\"\ncheck = \"{check}\"\nreason = \"TICKET-1 {case}\"\n{expires}\n")
}

#[test]
fn known_new_fixed_and_expired() {
    let dir = std::env::temp_dir().join(format!("b24-conform-baseline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("baseline.toml");
    let path = file.to_str().unwrap();
    // Two cases that the fault fails (the catalog has more; they are not this test's concern).
    let two = ["--filter", "options/not-json", "--filter", "options/truncated-json"];
    let run = |handler: &str| {
        let mut args = vec!["run", "--handler", handler, "--baseline", path, "--format", "json"];
        args.extend_from_slice(&two);
        b24(&args)
    };
    let json = |out: &Output| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();

    // Both failures of the fault are known: the run passes and says so.
    let both = entry("options/not-json", "no-server-error", "expires = 2999-12-31")
        + &entry("options/truncated-json", "no-server-error", "");
    std::fs::write(&file, &both).unwrap();
    let out = run(OPTIONS_500);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let doc = json(&out);
    assert_eq!(doc["summary"]["known"], 2);
    assert_eq!(doc["summary"]["failed"], 0);
    assert_eq!(doc["baseline"]["known"].as_array().unwrap().len(), 2);
    let case = doc["cases"].as_array().unwrap().iter().find(|c| c["id"] == "options/not-json").unwrap();
    assert_eq!(case["outcome"], "known");
    assert_eq!(
        case["checks"].as_array().unwrap().iter().find(|v| v["id"] == "no-server-error").unwrap()["outcome"],
        "known"
    );

    // One of them known, the other new: the new one fails the run.
    std::fs::write(&file, entry("options/not-json", "no-server-error", "")).unwrap();
    let out = run(OPTIONS_500);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["summary"]["failed"], 1);

    // An expired entry fails again, and says since when.
    std::fs::write(
        &file,
        entry("options/not-json", "no-server-error", "expires = 2000-01-01")
            + &entry("options/truncated-json", "no-server-error", ""),
    )
    .unwrap();
    let out = b24(&[&["run", "--handler", OPTIONS_500, "--baseline", path][..], &two].concat());
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("FAIL  options/not-json") && stdout.contains("(its baseline entry expired on 2000-01-01)"),
        "{stdout}"
    );
    assert!(stdout.contains("KNOWN options/truncated-json"), "{stdout}");
    assert!(stdout.contains("Baseline ") && stdout.contains(": 1 known, 1 expired, 0 fixed"), "{stdout}");

    // A handler without the defect: both entries are fixed, and the run passes.
    std::fs::write(&file, &both).unwrap();
    let out = b24(&[&["run", "--baseline", path][..], &two].concat());
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(": 0 known, 0 expired, 2 fixed"), "{stdout}");
    assert!(
        stdout.contains("fixed, remove it (or --baseline-update): options/not-json no-server-error (TICKET-1"),
        "{stdout}"
    );

    // --baseline-update: fixed entries go, entries of cases not run stay, reasons and dates of
    // kept entries stay, new failures come in.
    let unrun = entry("placement/crm-lead-detail-tab", "rejects-invalid", "");
    std::fs::write(&file, entry("options/not-json", "no-server-error", "expires = 2999-12-31") + &unrun).unwrap();
    let out = b24(&["run", "--handler", OPTIONS_500, "--filter", "options/*", "--baseline", path, "--baseline-update"]);
    assert_eq!(out.status.code(), Some(1), "judged against the file as it was");
    let rewritten = std::fs::read_to_string(&file).unwrap();
    assert!(rewritten.contains("case = \"options/not-json\"\ncheck = \"no-server-error\"\nreason = \"TICKET-1 options/not-json\"\nexpires = 2999-12-31\n"), "{rewritten}");
    assert!(rewritten.contains("case = \"options/truncated-json\"\ncheck = \"no-server-error\"\nreason = \"recorded by --baseline-update on "), "{rewritten}");
    assert!(rewritten.contains("case = \"placement/crm-lead-detail-tab\""), "{rewritten}");
    let out = b24(&["run", "--handler", OPTIONS_500, "--filter", "options/*", "--baseline", path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = b24(&["run", "--filter", "options/*", "--baseline", path, "--baseline-update"]);
    assert_eq!(out.status.code(), Some(0));
    let rewritten = std::fs::read_to_string(&file).unwrap();
    assert!(!rewritten.contains("options/") && rewritten.contains("placement/crm-lead-detail-tab"), "{rewritten}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_baseline_exits_2_and_says_where() {
    let dir = std::env::temp_dir().join(format!("b24-conform-baseline-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("b.toml");
    let path = file.to_str().unwrap();
    std::fs::write(&file, entry("a", "no-such-check", "")).unwrap();
    let out = b24(&["run", "--baseline", path]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .contains(&format!("baseline {path}:3:9: unknown check `no-such-check`; the checks are: no-server-error")),
        "{stderr}"
    );
    std::fs::write(&file, entry("a", "snapshot", "expires = \"soon\"")).unwrap();
    let stderr = text(&b24(&["run", "--baseline", path]).stderr);
    assert!(stderr.contains("\"soon\" is not a date; write YYYY-MM-DD"), "{stderr}");
    std::fs::write(&file, "[[deviation]]\ncase = \"a\"\ncheck = \"snapshot\"\n").unwrap();
    let stderr = text(&b24(&["run", "--baseline", path]).stderr);
    assert!(stderr.contains("missing field `reason`"), "{stderr}");
    let out = b24(&["run", "--baseline", dir.join("none.toml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("create it with --baseline-update"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A warning does not fail the run, so --baseline-update never records it; under --strict it
/// fails the run, and is recorded like any failure.
#[test]
fn warnings_are_not_recorded_unless_strict() {
    let dir = std::env::temp_dir().join(format!("b24-conform-baseline-warn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("baseline.toml");
    let path = file.to_str().unwrap();
    let run = ["run", "--handler", "builtin:reference?fault=rate-limit-502", "--filter", "token/rate-limited"];
    let update = ["--baseline", path, "--baseline-update", "--format", "json"];
    let out = b24(&[&run[..], &update].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&doc["summary"]["warned"], &doc["summary"]["known"]), (&1.into(), &0.into()));
    assert!(!std::fs::read_to_string(&file).unwrap().contains("[[deviation]]"));
    let out = b24(&[&run[..], &update, &["--strict"]].concat());
    assert_eq!(out.status.code(), Some(1), "judged against the file as it was");
    let recorded = std::fs::read_to_string(&file).unwrap();
    assert!(recorded.contains("case = \"token/rate-limited\"\ncheck = \"no-server-error\"\n"), "{recorded}");
    let out = b24(&[&run[..], &["--baseline", path, "--strict"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    std::fs::remove_dir_all(&dir).unwrap();
}
