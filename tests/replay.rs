//! `b24-conform replay CASE-ID`: one case fired again, alone, against the built-in handler, and
//! its exchange told in full.

mod common;

use std::process::{Command, Output};

use common::Scratch;

/// Runs `b24-conform replay ARGS…` in `scratch`, with the temporary directory (where a large
/// request body goes) inside it too.
fn replay(scratch: &Scratch, args: &[&str]) -> (Option<i32>, String, String) {
    let Output { status, stdout, stderr } = Command::new(env!("CARGO_BIN_EXE_b24-conform"))
        .arg("replay")
        .args(args)
        .current_dir(&scratch.0)
        .env("TMPDIR", &scratch.0)
        .output()
        .expect("the binary runs");
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    (status.code(), text(stdout), text(stderr))
}

/// Asserts that `out` holds each of `parts`.
fn holds(out: &str, parts: &[&str]) {
    for part in parts {
        assert!(out.contains(part), "{part:?} is not in:\n{out}");
    }
}

#[test]
fn the_documented_example_replays_with_its_request_answer_and_portal_calls() {
    let scratch = Scratch::new("documented");
    let (code, out, err) = replay(&scratch, &["valid/documented-example"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("replay valid/documented-example (seed 24) against builtin:reference\n"), "{out}");
    holds(
        &out,
        &[
            "\nrequest\n  curl -sS -i -X POST 'http://127.0.0.1:",
            "--data-binary 'APPLICATION_SCOPE=",
            "\nresponse\n  HTTP 200 in ",
            "<h1>Settings of Site 30</h1>",
            "\nportal calls (2)\n  home: POST user.current, given token → 200\n",
            "  pass          accepts-valid              must   answered 200\n",
            "\nevidence\n  the case: documentation https://apidocs.bitrix24.com/",
            "\nPASS valid/documented-example\n",
        ],
    );
    // Nothing is written where the replay ran.
    assert_eq!(std::fs::read_dir(&scratch.0).unwrap().count(), 0);
}

#[test]
fn a_generated_case_replays_by_its_id() {
    let scratch = Scratch::new("generated");
    let (code, out, err) = replay(&scratch, &["malformed/generated#7", "--seed", "24"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("replay malformed/generated#7 (seed 24)"), "{out}");
    holds(
        &out,
        &[
            "\nrequest\n  curl -sS -i -X POST ",
            "\nresponse\n  HTTP ",
            "\nportal calls (",
            "\nPASS malformed/generated#7\n",
        ],
    );
}

#[test]
fn a_failing_case_replays_with_exit_1_and_its_failed_verdict() {
    let scratch = Scratch::new("failing");
    let (code, out, err) =
        replay(&scratch, &["options/not-json", "--handler", "builtin:reference?fault=options-json-500"]);
    assert_eq!(code, Some(1), "{out}{err}");
    holds(
        &out,
        &[
            "\nresponse\n  HTTP 500 in ",
            "  fail          no-server-error            must   answered 500 (a server error)\n",
            // The failed check's own evidence follows the case's.
            "  no-server-error: specification https://www.rfc-editor.org/rfc/rfc9110",
            "\nFAIL options/not-json\n",
        ],
    );
}

#[test]
fn a_body_too_long_for_a_command_line_goes_to_a_file_the_curl_reads() {
    let scratch = Scratch::new("oversize");
    let (code, out, err) = replay(&scratch, &["oversize/PLACEMENT_OPTIONS-1MiB"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let file = scratch.0.join("b24-conform-replay").join("oversize_PLACEMENT_OPTIONS-1MiB.body");
    let body = std::fs::read(&file).expect("the body file");
    assert!(body.len() > 1 << 20, "{}", body.len());
    holds(
        &out,
        &[
            &format!(" --data-binary '@{}'\n", file.display()),
            &format!("(the body, {} bytes, is in {})", body.len(), file.display()),
        ],
    );
    assert!(out.lines().all(|line| line.len() < 8 * 1024), "a line of the output is longer than 8 KiB");
}

#[test]
fn an_unknown_case_is_exit_2_with_where_to_find_the_ids() {
    let scratch = Scratch::new("unknown");
    let (code, out, err) = replay(&scratch, &["valid/no-such-case", "--seed", "7"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert_eq!(err, "error: no case valid/no-such-case; `b24-conform list --seed 7` shows the ids\n");
    assert_eq!(out, "");
}
