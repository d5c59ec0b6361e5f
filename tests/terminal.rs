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
    // One line says why the replay line is there, then the failures.
    assert!(end.starts_with("(The curl commands name the run's ports, which closed with it;"), "{end}");
    assert!(end.split_once('\n').is_some_and(|(_, failures)| failures.starts_with("  options/")), "{end}");
    assert!(end.contains("\n  options/not-json (no-server-error)\n  curl -sS -i -X POST 'http://127.0.0.1:"), "{end}");
    assert!(
        end.contains(
            "\n  b24-conform replay options/not-json --seed 24 --handler 'builtin:reference?fault=options-json-500'\n"
        ),
        "{end}"
    );
    // The 1 MiB body of the oversize case is in a file the command reads, named in the last line.
    assert!(end.contains("--data-binary @'./b24-conform-bodies/oversize.PLACEMENT_OPTIONS-1MiB.body'"), "{end}");
    assert!(stdout.lines().all(|line| line.len() <= 8 * 1024), "no line longer than 8 KiB");
    assert!(stdout.ends_with("are in ./b24-conform-bodies/\n"), "{end}");
}
