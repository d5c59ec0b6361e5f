//! The terminal: colour only on a terminal or when asked, no progress bar in a log, failures
//! listed at the end with their reproduce commands.

mod common;

use std::process::Output;

fn b24(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = common::binary();
    command.args(args).env_remove("NO_COLOR").env_remove("CI");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the binary runs")
}

const FAULT: &str = "builtin:reference?fault=options-json-500";

#[test]
fn colour_when_asked_and_never_in_a_pipe() {
    let piped = b24(&["run", "--handler", FAULT], &[]);
    assert!(!piped.stdout.contains(&0x1b), "{}", String::from_utf8_lossy(&piped.stdout));
    let asked = b24(&["run", "--handler", FAULT, "--color", "always"], &[]);
    let stdout = String::from_utf8_lossy(&asked.stdout);
    assert!(stdout.contains("\x1b[31mFAIL \x1b[0m options/not-json"), "{stdout}");
    let never = b24(&["run", "--handler", FAULT, "--color", "never"], &[]);
    assert_eq!(never.stdout.iter().filter(|&&b| b == 0x1b).count(), 0);
}

#[test]
fn no_progress_bar_in_a_log() {
    for env in [&[][..], &[("CI", "true")][..]] {
        let out = b24(&["run"], env);
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stderr.is_empty(), "{env:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn failures_are_listed_last_with_the_commands_that_reproduce_them() {
    let out = b24(&["run", "--handler", FAULT], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let end = stdout.split("Failures, and the commands that reproduce them:\n").nth(1).expect(&stdout);
    assert!(end.starts_with("  options/"), "{end}");
    assert!(end.contains("\n  options/not-json (no-server-error)\n  curl -sS -i -X POST 'http://127.0.0.1:"), "{end}");
}
