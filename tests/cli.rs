//! The CLI contract of DESIGN.md, as a user meets it: exit codes, the JSON document, seeds.

use std::process::{Command, Output};

mod common;
use common::Scratch;

/// Runs the binary in a scratch directory, so that anything it writes never lands in the
/// repository.
fn b24(args: &[&str]) -> Output {
    common::binary().args(args).output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_default_run_passes_and_shows_the_seed() {
    let out = b24(&["run"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let summary = stdout.lines().last().unwrap();
    let cases: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(cases >= 10, "{summary}");
    let counts = format!("{cases} passed, 0 warned, 0 failed, 0 errored; 0 checks not exercised, 0 cases not modelled");
    assert!(summary.contains(&counts) && summary.contains(" (seed 24, ") && summary.ends_with(" s)"), "{summary}");
}

#[test]
fn a_fault_fails_the_run_with_exit_1_and_names_the_check() {
    let out = b24(&["run", "--handler", "builtin:reference?fault=options-json-500"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("FAIL  options/not-json"), "{stdout}");
    assert!(stdout.contains("no-server-error: answered 500"), "{stdout}");
    assert!(stdout.contains("curl -sS -i -X POST"), "{stdout}");
}

#[test]
fn json_is_the_documented_document() {
    let out = b24(&["run", "--format", "json", "--filter", "missing/*"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["tool", "version", "handler", "seed", "summary", "cases"] {
        assert!(doc.get(key).is_some(), "missing {key}");
    }
    for key in ["cases", "passed", "warned", "failed", "errored", "not_exercised", "not_modelled", "duration_ms"] {
        assert!(doc["summary"].get(key).is_some(), "missing summary.{key}");
    }
    let case = &doc["cases"][0];
    for key in
        ["id", "level", "evidence", "expect", "outcome", "checks", "request", "response", "portal_calls", "reproduce"]
    {
        assert!(case.get(key).is_some(), "missing cases[].{key}");
    }
    for key in ["key", "kind", "url", "quote"] {
        assert!(case["evidence"][key].is_string(), "missing cases[].evidence.{key}");
    }
    assert_eq!(doc["tool"], "b24-conform");
    assert_eq!(doc["summary"]["cases"], 7);
    for key in ["id", "level", "outcome", "message"] {
        assert!(case["checks"][0][key].is_string(), "missing cases[].checks[].{key}");
    }
}

/// A failure at level should is a warning: counted, shown apart, exit 0; --strict fails it.
#[test]
fn a_warning_passes_the_run_and_strict_fails_it() {
    let args = ["run", "--handler", "builtin:reference?fault=rate-limit-502", "--filter", "token/*"];
    let out = b24(&args);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("\n6 cases: 5 passed, 1 warned, 0 failed, 0 errored; "), "{stdout}");
    assert!(
        stdout.contains(
            "Warnings (level should: good practice; --strict makes them fail):\n  token/rate-limited (no-server-error)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("WARN  token/rate-limited"), "{stdout}");
    assert!(
        stdout.contains("no-server-error (should: a warning): answered 502 after the portal refused a call"),
        "{stdout}"
    );
    let json = b24(&[&args[..], &["--format", "json"]].concat());
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["summary"]["warned"], 1);
    let case = doc["cases"].as_array().unwrap().iter().find(|c| c["id"] == "token/rate-limited").unwrap();
    assert_eq!(case["outcome"], "warn");
    let verdict = case["checks"].as_array().unwrap().iter().find(|v| v["id"] == "no-server-error").unwrap();
    assert_eq!((&verdict["outcome"], &verdict["level"]), (&"fail".into(), &"should".into()));
    let strict = b24(&[&args[..], &["--strict"]].concat());
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict.stdout));
    assert!(text(&strict.stdout).contains("\n6 cases: 5 passed, 0 warned, 1 failed, 0 errored; "));
}

/// A case in which the handler called a method the mock portal does not model is the harness's
/// gap: not failed, even with --strict, and counted.
#[test]
fn a_case_not_modelled_fails_no_run() {
    let out = b24(&[
        "run",
        "--strict",
        "--handler",
        "builtin:reference?fault=calls-unknown-method",
        "--filter",
        "valid/documented-example",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("NOT-MODELLED valid/documented-example"), "{stdout}");
    assert!(stdout.contains("        not modelled by the harness: no.such.method\n"), "{stdout}");
    assert!(stdout.contains("0 failed, 0 errored; 0 checks not exercised, 1 case not modelled"), "{stdout}");
}

#[test]
fn the_portal_calls_are_in_the_report() {
    let out = b24(&["run", "--format", "json", "--filter", "token/expired"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let calls: Vec<String> = doc["cases"][0]["portal_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {} {}", c["method"].as_str().unwrap(), c["token"].as_str().unwrap(), c["status"]))
        .collect();
    assert_eq!(
        calls,
        [
            "user.current given 401",
            "refresh_token refresh 200",
            "user.current refreshed 200",
            "landing.site.getlist refreshed 200"
        ]
    );
}

#[test]
fn a_run_that_cannot_happen_exits_3() {
    let out = b24(&["run", "--handler", "http://127.0.0.1:9/"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("nothing answers at http://127.0.0.1:9/"));
}

#[test]
fn bad_input_exits_2_and_names_it() {
    let out = b24(&["run", "--suite", "missing.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read suite missing.toml"));
    let out = b24(&["run", "--filter", "no-such-case*"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no case matches"));
    let out = b24(&["run", "--jobs", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = b24(&["run", "--handler", "builtin:reference?fault=nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("the faults are:"));
}

/// Numbers a run cannot use are refused before it starts, naming the flag and what is wrong:
/// a zero wait would make every case an error, and `-1` is a negative number, not a flag.
#[test]
fn zero_waits_and_negative_numbers_exit_2_and_say_why() {
    for (flag, says) in [
        ("--timeout-ms", "0 ms ends every wait"),
        ("--handler-wait-ms", "0 ms ends every wait"),
        ("--latency-budget-ms", "0 ms ends every wait"),
        ("--body-cap", "0 bytes keeps no answer body"),
        ("--jobs", "0 cases in flight: give 1 to 1024"),
    ] {
        let out = b24(&["run", flag, "0"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(&format!("invalid value '0' for '{flag} <N>'")) && stderr.contains(says), "{stderr}");
    }
    for (args, says) in [
        (["list", "--cases", "-1"], "invalid value '-1' for '--cases <N>': -1 is negative"),
        (["list", "--seed", "-5"], "invalid value '-5' for '--seed <SEED>': -5 is negative"),
        (["list", "--seed", "0xZZ"], "\"0xZZ\" is not a whole number"),
    ] {
        let out = b24(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
    // Seeds in hex, as the regressions file prints them, are the same seeds.
    let list = |seed: &str| b24(&["list", "--seed", seed, "--format", "json"]).stdout;
    assert_eq!(list("0x18"), list("24"));
    assert_ne!(list("0x18"), list("0x10"));
}

/// `portal`, `run` and `payload` name the portal's address, the suites and the seed alike, and an
/// error names the flag of the command the user ran; the ids `run` reports are ids `payload` knows.
#[test]
fn the_commands_share_flag_names() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for flag in ["--portal-addr", "--addr"] {
        let out = b24(&["portal", flag, &addr]);
        assert_eq!(out.status.code(), Some(3), "{flag}");
        assert!(text(&out.stderr).contains("choose another --portal-addr"), "{}", text(&out.stderr));
    }
    let out = b24(&["payload", "--case", "malformed/generated#20", "--cases", "30", "--seed", "0x18", "--as", "form"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = b24(&["payload", "--case", "install/onappinstall", "--as", "json"]);
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the event's fields");
    assert_eq!(event["event"], "ONAPPINSTALL", "{event}");
}

#[test]
fn a_suite_with_a_typo_is_refused_with_its_location() {
    let dir = std::env::temp_dir().join(format!("b24-conform-typo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("typo.toml");
    std::fs::write(&path, "[suite]\nname = \"t\"\n\n[[case]]\nid = \"a\"\nexpects = \"accept\"\n").unwrap();
    let out = b24(&["list", "--suite", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("typo.toml:6:1: unknown field `expects`, expected one of"), "{stderr}");
}

#[test]
fn the_same_seed_gives_the_same_cases_and_payloads() {
    let list = |seed: &str| text(&b24(&["list", "--seed", seed, "--format", "json"]).stdout);
    assert_eq!(list("7"), list("7"));
    let payload = |case: &str, seed: &str| b24(&["payload", "--case", case, "--seed", seed]).stdout;
    assert_eq!(payload("valid/generated#3", "7"), payload("valid/generated#3", "7"));
    assert_ne!(payload("valid/generated#3", "7"), payload("valid/generated#3", "8"));
    assert_eq!(payload("missing/member_id", "7"), payload("missing/member_id", "8"));
    assert_eq!(payload("malformed/generated#3", "7"), payload("malformed/generated#3", "7"));
    assert_ne!(payload("malformed/generated#3", "7"), payload("malformed/generated#3", "8"));
    // Whole runs: the same ids with the same payloads, byte for byte. The portal keeps one
    // port for both runs; the built-in handler's own port is not part of the payload.
    // Below Linux's ephemeral range (32768-60999), so no port another test's portal takes
    // with port 0 can collide with it or with the foreign portal on the next port.
    let port = 20_000 + (std::process::id() % 10_000) as u16 * 2;
    let portal = format!("127.0.0.1:{port}");
    let run = |seed: &str| {
        let out = b24(&["run", "--seed", seed, "--format", "json", "--portal-addr", &portal]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // The install event's `ts` and `auth[expires]` are when it was sent, not part of the draw.
        let sent_at = regex::Regex::new(r"(^|&)(ts|auth%5Bexpires%5D)=\d+").unwrap();
        let sent = |c: &serde_json::Value| {
            let url = c["request"]["url"].as_str().unwrap();
            let after_scheme = &url["http://".len()..];
            let path = &after_scheme[after_scheme.find('/').unwrap()..];
            let body = sent_at.replace_all(c["request"]["body"].as_str().unwrap(), "$1$2=SENT").into_owned();
            (c["id"].as_str().unwrap().to_owned(), path.to_owned(), body)
        };
        doc["cases"].as_array().unwrap().iter().map(sent).collect::<Vec<_>>()
    };
    let first = run("7");
    assert!(first.len() >= 10);
    assert_eq!(first, run("7"));
    assert_ne!(first, run("8"));
}

#[test]
fn a_suite_without_a_level_or_citing_private_notes_is_refused_with_its_location() {
    let dir = std::env::temp_dir().join(format!("b24-conform-grade-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let docs = "[suite]\nname = \"t\"\n\n[docs.d]\nkind = \"documentation\"\nurl = \"URL\"\nquote = \"q\"\n\n";
    let case = "[[case]]\nid = \"a\"\ntitle = \"t\"\ndoc = \"d\"\nexpect = \"accept\"\n";
    for (name, suite, says) in [
        (
            "level.toml",
            format!("{}{case}", docs.replace("URL", "https://example.org/")),
            "level.toml:9:1: missing field `level`",
        ),
        (
            "shared.toml",
            format!(
                "{}{}",
                docs.replace("URL", "../shared/PROTOCOL.md"),
                case.replace("expect", "level = \"must\"\nexpect")
            ),
            "shared.toml:6:7: `../shared/PROTOCOL.md` names notes outside the repository",
        ),
        (
            "field.toml",
            format!(
                "{}{}",
                docs.replace("URL", "https://example.org/"),
                case.replace("expect", "level = \"must\"\nmutate = [{ remove = \"LANGG\" }]\nexpect")
            ),
            "field.toml:14:11: unknown field `LANGG`; the fields of the request are: DOMAIN, PROTOCOL, LANG,",
        ),
        (
            "kind.toml",
            docs.replace("URL", "https://example.org/").replace("\"documentation\"", "\"hearsay\""),
            "kind.toml:5:8: unknown variant `hearsay`, expected one of `documentation`, `product-source`",
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, suite).unwrap();
        let out = b24(&["list", "--suite", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(says), "{name}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Suite files replace the built-in catalog; `--suite builtin` names it, so a file adds to it.
#[test]
fn a_suite_file_replaces_the_catalog_unless_builtin_is_named() {
    let scratch = Scratch::new("builtin");
    let mine = scratch.0.join("mine.toml");
    let docs =
        "[suite]\nname = \"t\"\n[docs.d]\nkind = \"documentation\"\nurl = \"https://example.org/\"\nquote = \"q\"\n";
    let case = "[[case]]\nid = \"mine/a\"\ntitle = \"t\"\ndoc = \"d\"\nlevel = \"must\"\nexpect = \"accept\"\n";
    std::fs::write(&mine, format!("{docs}{case}")).unwrap();
    let ids = |args: &[&str]| {
        let out = b24(&[&["list", "--format", "json"], args].concat());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        let cases: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        cases.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let (catalog, mine) = (ids(&[]), mine.to_str().unwrap());
    assert_eq!(ids(&["--suite", mine]), ["install/onappinstall", "mine/a"]);
    assert_eq!(ids(&["--suite", "builtin"]), catalog);
    // Both: every case of the catalog, in its order, and the file's (before the journeys, which
    // come last whatever their suite).
    let mut both = ids(&["--suite", "builtin", "--suite", mine]);
    assert_eq!(both.len(), catalog.len() + 1);
    both.retain(|id| id != "mine/a");
    assert_eq!(both, catalog);
}

/// The second placement family: its suite file, or `--placement`, which names the same catalog
/// compiled in; the run passes against the built-in handler, and the default run is unchanged.
#[test]
fn the_block_placement_is_a_suite_file_or_a_placement_flag() {
    let ids = |args: &[&str]| {
        let out = b24(&[&["list", "--format", "json"], args].concat());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        let cases: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        cases.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/suites/landing_block.toml");
    let block = ids(&["--suite", file]);
    assert_eq!(ids(&["--placement", "LANDING_BLOCK"]), block);
    assert_eq!(ids(&["--placement", "landing_block_*"]), block);
    assert!(block[1..].iter().all(|id| id.starts_with("block/")), "{block:?}");
    assert!(block.contains(&"block/rights/unavailable".to_owned()));
    assert_eq!(ids(&["--placement", "LANDING_SETTINGS"]), ids(&[]));
    let both = ids(&["--suite", "builtin", "--placement", "LANDING_BLOCK"]);
    assert_eq!(both.len(), ids(&[]).len() + block.len() - 1);

    let run = b24(&["run", "--suite", file, "--no-regressions"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));
    let summary = format!("{} cases: {} passed, 0 warned, 0 failed", block.len(), block.len());
    assert!(text(&run.stdout).lines().last().unwrap_or_default().starts_with(&summary), "{}", text(&run.stdout));

    let unknown = b24(&["list", "--placement", "LEFT_MENU"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains(
            "unknown placement `LEFT_MENU`; the placements with a built-in catalog are: LANDING_SETTINGS, LANDING_BLOCK"
        ),
        "{}",
        text(&unknown.stderr)
    );
}

#[test]
fn list_checks_and_faults_speak_json() {
    for command in ["list", "checks", "faults"] {
        let out = b24(&[command, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{command}");
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert!(!rows.is_empty(), "{command}");
        for row in &rows {
            assert!(["must", "should", "of-case"].contains(&row["level"].as_str().unwrap_or_default()), "{row}");
            if command == "faults" {
                assert!(row["name"].is_string() && row["check"].is_string() && row["defect"].is_string(), "{row}");
                assert!(
                    ["LANDING_SETTINGS", "LANDING_BLOCK_*"].contains(&row["placement"].as_str().unwrap_or_default())
                );
                assert!(row["browser"].is_boolean(), "{row}");
                continue;
            }
            // Every citation is one a reader can open: a public https URL or a file in the repository.
            let url = row["evidence"]["url"].as_str().unwrap_or_default();
            assert!(!url.contains("shared/") && !url.contains("PROTOCOL.md"), "{row}");
            assert!(url.starts_with("https://") || !url.contains(':'), "{row}");
            assert!(row["evidence"]["kind"].is_string() && row["evidence"]["quote"].is_string(), "{row}");
        }
    }
    let list = b24(&["list", "--format", "json", "--filter", "install/*"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(rows[0]["id"], "install/onappinstall", "{rows:?}");
    // What `list` shows, `run` selects: the installation alone is a run of one case.
    let run = b24(&["run", "--filter", "install/*", "--no-regressions"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(text(&run.stdout).contains("PASS  install/onappinstall"), "{}", text(&run.stdout));
    assert!(text(&run.stdout).lines().last().unwrap_or_default().starts_with("1 case: 1 passed"));
    let lang = b24(&["list", "--format", "json", "--filter", "missing/LANG"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&lang.stdout).unwrap();
    assert_eq!((&rows[0]["level"], &rows[0]["expect"]), (&"should".into(), &"reject".into()));
}

#[test]
fn report_writes_more_formats_in_the_same_run() {
    let dir = std::env::temp_dir().join(format!("b24-conform-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (xml, html) = (dir.join("out.xml"), dir.join("out.html"));
    let junit = format!("junit={}", xml.display());
    let page = format!("HTML={}", html.display());
    let out = b24(&["run", "--filter", "missing/*", "--report", &junit, "--report", &page]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary =
        "\n7 cases: 7 passed, 0 warned, 0 failed, 0 errored; 0 checks not exercised, 0 cases not modelled (seed 24, ";
    assert!(text(&out.stdout).contains(summary), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains(&format!("report in {}, {}", xml.display(), html.display())));
    let xml = std::fs::read_to_string(&xml).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 7, "{xml}");
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<code>missing/member_id</code>"), "{html}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn format_markdown_is_a_pull_request_comment() {
    let out = b24(&["run", "--handler", "builtin:reference?fault=options-json-500", "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("## b24-conform ❌ failed: `builtin:reference?fault=options-json-500`"), "{stdout}");
    assert!(stdout.contains("<summary>❌ <code>options/not-json</code>"), "{stdout}");
    assert!(stdout.contains("```sh\ncurl -sS -i -X POST"), "{stdout}");
    assert!(stdout.chars().count() <= 60_000, "a comment GitHub takes: {} characters", stdout.chars().count());
}

#[test]
fn a_bad_report_value_exits_2_and_says_how() {
    for (value, says) in
        [("junit", "no `=` in \"junit\""), ("pdf=out.pdf", "unknown format \"pdf\""), ("html=", "no file after `=`")]
    {
        let out = b24(&["run", "--report", value]);
        assert_eq!(out.status.code(), Some(2), "{value}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("--report <FORMAT=FILE>") && stderr.contains(says), "{value}: {stderr}");
        assert!(stderr.contains("give FORMAT=FILE, e.g. --report junit=report.xml"), "{value}: {stderr}");
    }
    let stderr = text(&b24(&["run", "--report", "pdf=out.pdf"]).stderr);
    assert!(stderr.contains("the formats are human, json, junit, markdown, html"), "{stderr}");
}

/// `b24-conform portal` starts the mock alone and prints its URLs and a working token; the
/// `curl` it suggests gets `user.current` as Bitrix24 answers it: a result and its time block.
#[test]
fn the_portal_alone_answers_the_curl_it_prints() {
    use std::io::{BufRead, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut portal = common::binary()
        .args(["portal", "--addr", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the portal starts");
    let lines = BufReader::new(portal.stdout.take().unwrap()).lines().map_while(Result::ok);
    let printed: Vec<String> = lines.take_while(|l| !l.starts_with("Ctrl-C")).collect();
    let field = |name: &str| {
        printed.iter().find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned())).unwrap_or_default()
    };
    let try_line = field("try");
    let curl = Command::new("sh").args(["-c", &format!("{try_line} -sS")]).output().expect("curl runs");
    portal.kill().expect("the portal stops");
    let _ = portal.wait();
    assert_eq!(field("REST"), format!("http://127.0.0.1:{port}/rest/"), "{printed:?}");
    assert!(field("OAuth").ends_with("/oauth/token/") && field("AUTH_ID").len() > 32, "{printed:?}");
    assert_ne!(field("OAuth"), format!("http://127.0.0.1:{port}/oauth/token/"), "the OAuth server is apart");
    assert!(
        field("client").starts_with("client_id=local.") && field("client").contains(" client_secret="),
        "{printed:?}"
    );
    let answer: serde_json::Value = serde_json::from_slice(&curl.stdout).expect("a JSON answer");
    assert_eq!(answer["result"]["ID"], "1", "{answer}");
    assert!(answer["time"]["start"].is_number() && answer["time"]["date_start"].is_string(), "{answer}");
}

/// `list | head`: the reader closes the pipe after one line. The command then meets a closed
/// pipe, and ends quietly with 141, as a shell reports a tool that SIGPIPE killed: no panic, no
/// message.
#[test]
fn output_read_only_in_part_ends_quietly_with_141() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let scratch = Scratch::new("pipe");
    let json = ["run", "--format", "json", "--no-regressions"];
    let payload = ["payload", "--case", "oversize/PLACEMENT_OPTIONS-1MiB", "--as", "json"];
    // Each prints more than a pipe holds (64 KiB): a shorter output could be written whole
    // before the reader goes. `checks` and `faults` print through `list`'s code, but less.
    let listings: [&[&str]; 4] = [&["list"], &["list", "--format", "json"], &json, &payload];
    for args in listings {
        let mut child = Command::new(env!("CARGO_BIN_EXE_b24-conform"))
            .args(args)
            .current_dir(&scratch.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("its stdout")).read_line(&mut first).expect("a first line");
        // The reader is gone: the rest of the output meets a closed pipe.
        let out = child.wait_with_output().expect("it ends");
        assert!(!first.is_empty(), "{args:?}");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "{args:?}");
    }
}

/// Nothing is written into the working directory unless asked: a failing run without
/// `--regressions` leaves it empty; with `--regressions FILE` it records the failing draws there.
#[test]
fn regressions_are_recorded_only_in_the_file_named() {
    let dir = std::env::temp_dir().join(format!("b24-cli-regressions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = |extra: &[&str]| {
        let args = ["run", "--handler", "builtin:reference?fault=lang-markup-500", "--filter", "malformed/*"];
        let more = ["--cases", "40", "--shrink-budget", "0", "--format", "json"];
        Command::new(env!("CARGO_BIN_EXE_b24-conform"))
            .args(args.iter().chain(&more).chain(extra))
            .current_dir(&dir)
            .output()
            .expect("the binary runs")
    };
    let entries = || std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect::<Vec<_>>();
    for quiet in [&[][..], &["--no-regressions"]] {
        let out = run(quiet);
        assert_eq!(out.status.code(), Some(1), "{quiet:?}: {}", text(&out.stderr));
        assert_eq!(entries(), Vec::<std::ffi::OsString>::new(), "{quiet:?} wrote into the working directory");
    }
    let out = run(&["--regressions", "found/regressions.txt"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed: Vec<&serde_json::Value> =
        doc["cases"].as_array().unwrap().iter().filter(|c| c["outcome"] == "fail").collect();
    assert!(!failed.is_empty());
    let recorded = std::fs::read_to_string(dir.join("found/regressions.txt")).expect("the file named is written");
    for case in failed {
        let line = format!(
            "{} {}  # {} failed",
            case["draw"]["group"].as_str().unwrap(),
            case["draw"]["seed"].as_str().unwrap(),
            case["id"].as_str().unwrap()
        );
        assert!(recorded.contains(&line), "{line} not in {recorded}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// `--partition K/N`: the N parts together run each case of the whole run once, each part
/// installs the app and part 1 alone reports the installation.
#[test]
fn the_parts_of_a_partitioned_run_together_are_the_whole_run() {
    let ids = |extra: &[&str]| {
        let out = b24(&[&["run", "--format", "json", "--shrink-budget", "0"], extra].concat());
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", text(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["cases"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let whole = ids(&[]);
    let mut joined: Vec<String> = Vec::new();
    for k in 1..=3 {
        let part = ids(&["--partition", &format!("{k}/3")]);
        assert_eq!(part.iter().any(|id| id == "install/onappinstall"), k == 1, "{k}/3: {part:?}");
        assert!(part.len() > whole.len() / 4, "{k}/3: {part:?}");
        joined.extend(part);
    }
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    assert_eq!(sorted(joined), sorted(whole));
    let out = b24(&["run", "--partition", "4/3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("'--partition <K/N>': K must be 1..=N, found 4/3"), "{}", text(&out.stderr));
}
