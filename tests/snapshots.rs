//! Snapshots as a user meets them: `--snapshots DIR`, `--update-snapshots`, `review`, `--redact`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn b24(args: &[&str]) -> Output {
    common::binary().args(args).output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("b24-conform-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn new_snapshots_are_reported_as_new_written_on_request_and_accepted_by_review() {
    let dir = scratch("snap-new");
    let dir_arg = dir.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args =
            vec!["run", "--filter", "missing/*", "--filter", "valid/documented-example", "--snapshots", dir_arg];
        args.extend_from_slice(extra);
        b24(&args)
    };

    // Without --update-snapshots a run writes nothing, and a missing snapshot is not a pass.
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("snapshot: new: no snapshot at {dir_arg}/missing~member_id.snap yet")),
        "{stdout}"
    );
    assert!(stdout.contains("8 cases: 0 passed, 0 warned, 8 failed"), "{stdout}");
    assert!(files(&dir).is_empty());

    let out = run(&["--update-snapshots"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("`b24-conform review` accepts it"), "{}", text(&out.stdout));
    assert_eq!(files(&dir).len(), 8);
    assert!(files(&dir).contains(&"valid~documented-example.snap.new".to_owned()), "{:?}", files(&dir));

    let out = b24(&["review", "--snapshots", dir_arg, "--case", "missing/member_id"]);
    let shown = text(&out.stdout);
    assert!(shown.starts_with("# missing/member_id") && shown.contains("new snapshot:\n+status: 400\n"), "{shown}");

    let out = b24(&["review", "accept", "--snapshots", dir_arg]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).matches("accepted ").count(), 8);
    assert!(files(&dir).iter().all(|f| f.ends_with(".snap")), "{:?}", files(&dir));

    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("8 cases: 8 passed"));

    // A changed page: the difference is shown, a pending snapshot written, and rejecting it
    // leaves the reviewed one.
    let out = run(&["--update-snapshots", "--handler", "builtin:reference?fault=page-typo"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("<h1>Settings of Site 30</h1>\n          +        <h1>Settinqs of Site 30</h1>"),
        "{stdout}"
    );
    // The two selected cases that get the page (APP_SID is not required), and only they.
    let pending: Vec<String> = files(&dir).into_iter().filter(|f| f.ends_with(".new")).collect();
    assert_eq!(pending, ["missing~APP_SID.snap.new", "valid~documented-example.snap.new"]);
    let out = b24(&["review", "--snapshots", dir_arg]);
    assert!(text(&out.stdout).contains("<h1>Settinqs of Site 30</h1>"), "{}", text(&out.stdout));
    let out = b24(&["review", "reject", "--snapshots", dir_arg]);
    assert!(text(&out.stdout).contains("rejected "));
    assert_eq!(run(&[]).status.code(), Some(0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn user_redactions_apply_and_review_refuses_unknown_cases() {
    let dir = scratch("snap-redact");
    let dir_arg = dir.to_str().unwrap();
    let out = b24(&[
        "run",
        "--filter",
        "valid/documented-example",
        "--snapshots",
        dir_arg,
        "--update-snapshots",
        "--redact",
        "Opened by (\\w+)",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let snap = std::fs::read_to_string(dir.join("valid~documented-example.snap.new")).unwrap();
    assert!(snap.starts_with("---\nsource: b24-conform\ndescription: \"The documentation's example request"), "{snap}");
    assert!(snap.contains("\nexpression: \"valid/documented-example\"\n"), "{snap}");
    assert!(snap.contains("<p>Opened by [redacted] (de)</p>"), "{snap}");

    let out = b24(&["review", "accept", "--snapshots", dir_arg, "--case", "no/such"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--case \"no/such\": no pending snapshot"), "{}", text(&out.stderr));

    let out = b24(&["run", "--snapshots", dir_arg, "--redact", "("]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--redact <REGEX>"), "{}", text(&out.stderr));
    let out = b24(&["run", "--update-snapshots"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The reviewed snapshots in `snapshots/` are the reference handler's, one per case of a run of
/// both built-in catalogs (LANDING_SETTINGS and LANDING_BLOCK_*).
#[test]
fn the_repository_holds_a_reviewed_snapshot_of_every_case() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots");
    let both = ["--suite", "builtin", "--placement", "LANDING_BLOCK"];
    let out = b24(&[&["run", "--no-regressions", "--snapshots", dir, "--format", "json"][..], &both].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stored = files(Path::new(dir));
    assert_eq!(doc["summary"]["cases"], stored.len(), "{stored:?}");
    assert!(stored.iter().all(|f| f.ends_with(".snap")), "pending snapshots in snapshots/: {stored:?}");
}
