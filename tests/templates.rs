//! The CI templates, run as CI would run them, here: the GitHub workflow
//! (`ci-templates/github/b24-conform.yml`) through the composite action it uses (`action.yml`),
//! and the GitLab job (`ci-templates/gitlab/b24-conform.gitlab-ci.yml`). Each file is read as
//! YAML and its steps' own shell is run in a scratch workspace, with what the CI provides laid
//! out by the test (the workspace, `$GITHUB_STEP_SUMMARY`, `$GITHUB_OUTPUT`, `$CI_PROJECT_DIR`…)
//! and four substitutions, each because the test has no network or no user's app:
//! - the step that builds the harness (a `cargo build` from a checkout) is not run: this test's
//!   own binary is put on PATH, where that step puts the one it builds;
//! - the GitLab job's clone of the harness is the repository under test;
//! - the user's app (`handler`, `handler-cmd`, `install-url`) is this repository's stdlib Python
//!   handler, run with the template's own `args` (`--intercept`), or the built-in reference
//!   handler with a fault, with `--portal-tls` in place of `--intercept` (which needs a handler
//!   by URL);
//! - `gh` and `curl`, which post the report as a comment, are stand-ins that record what they
//!   were asked to post.
//!
//! Each template must pass a correct handler (exit 0, a JUnit report with no failure, the
//! Markdown report where the CI shows it), fail one with a failure (exit 1), pass again once that
//! failure is in the baseline file, fail a failure the baseline does not name, and say so when
//! the handler never starts (exit 3).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

mod common;
use common::{Scratch, free_port};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The first document of a YAML file of the repository.
fn yaml(path: &str) -> Yaml {
    let text = std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"));
    assert_eq!(docs.len(), 1, "{path} holds one document");
    docs.remove(0)
}

fn string(value: &Yaml) -> String {
    match value {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Null | Yaml::BadValue => String::new(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// A mapping's entries in the file's order, its keys as strings.
fn entries(value: &Yaml) -> Vec<(String, &Yaml)> {
    match value {
        Yaml::Hash(hash) => hash.iter().map(|(k, v)| (string(k), v)).collect(),
        Yaml::BadValue | Yaml::Null => Vec::new(),
        other => panic!("not a mapping: {other:?}"),
    }
}

/// The `run` options for the built-in handler in place of the templates' `args`.
const FAULTY_ARGS: &str = "--portal-tls";

/// The user's app in a scenario: what the templates' `handler`, `handler-cmd` and `install-url`
/// stand for.
struct App {
    handler: String,
    handler_cmd: String,
    install_url: String,
    /// In place of the template's `args`, when the template's cannot serve this app.
    args: Option<String>,
}

impl App {
    /// A correct handler started by the run: the standard-library Python one (it trusts the
    /// run's CA under --portal-tls, which the templates pass).
    fn correct() -> App {
        let port = free_port();
        let script = repo().join("fixtures/handlers/landing_settings.py");
        App {
            handler: format!("http://127.0.0.1:{port}/"),
            handler_cmd: format!("python3 '{}' {port}", script.display()),
            install_url: String::new(),
            args: None,
        }
    }

    /// The built-in reference handler with one deliberate defect. It calls the portal directly,
    /// so the templates' `--intercept` (which needs a handler by URL) gives way to `--portal-tls`.
    fn faulty(fault: &str) -> App {
        App {
            handler: format!("builtin:reference?fault={fault}"),
            handler_cmd: String::new(),
            install_url: String::new(),
            args: Some(FAULTY_ARGS.into()),
        }
    }

    /// A handler command that exits before it listens.
    fn never_listens() -> App {
        let port = free_port();
        App {
            handler: format!("http://127.0.0.1:{port}/"),
            handler_cmd: "echo 'listen: address in use' >&2; exit 1".into(),
            install_url: String::new(),
            args: None,
        }
    }
}

/// A scratch CI workspace: the user's checkout (empty but for a baseline file when the scenario
/// has one), the CI's files, and a PATH with this test's binary where the build step puts it.
struct Workspace {
    scratch: Scratch,
    /// The directory whose `b24-conform` is the binary under test.
    bin: PathBuf,
    /// Stand-ins for `gh` and `curl` that record their arguments and what they were to post.
    stand_ins: PathBuf,
}

impl Workspace {
    fn new(name: &str) -> Workspace {
        let scratch = Scratch::new(name);
        let bin = scratch.0.join("bin");
        let stand_ins = scratch.0.join("stand-ins");
        for dir in [&bin, &stand_ins, &scratch.0.join("workspace"), &scratch.0.join("tmp")] {
            std::fs::create_dir_all(dir).expect("a scratch directory");
        }
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_b24-conform"), bin.join("b24-conform")).expect("a symlink");
        let record = "#!/bin/sh\n\
                      printf '%s\\n' \"$@\" >\"$STAND_IN_LOG\"\n\
                      for a in \"$@\"; do case \"$a\" in body@*) cat \"${a#body@}\" >\"$STAND_IN_LOG.body\";; esac; done\n\
                      prev=; for a in \"$@\"; do [ \"$prev\" = --body-file ] && cat \"$a\" >\"$STAND_IN_LOG.body\"; prev=$a; done\n\
                      exit 0\n";
        for tool in ["gh", "curl"] {
            let path = stand_ins.join(tool);
            std::fs::write(&path, record).expect("a stand-in");
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
        }
        Workspace { scratch, bin, stand_ins }
    }

    fn dir(&self) -> PathBuf {
        self.scratch.0.join("workspace")
    }

    fn file(&self, name: &str) -> PathBuf {
        self.scratch.0.join(name)
    }

    /// PATH with the binary under test first (and the stand-ins, for the steps that post).
    fn path(&self, stand_ins: bool) -> String {
        let mut dirs = vec![self.bin.display().to_string()];
        if stand_ins {
            dirs.push(self.stand_ins.display().to_string());
        }
        dirs.push(std::env::var("PATH").unwrap_or_default());
        dirs.join(":")
    }

    /// Writes, in the workspace, a baseline file of the failures `app` has, as a user records it.
    fn record_baseline(&self, file: &str, app: &App, args: &str) {
        let status = Command::new(self.bin.join("b24-conform"))
            .current_dir(self.dir())
            .args(["run", "--handler", &app.handler, "--format", "json", "--out"])
            .arg(self.file("baseline-run.json"))
            .args(args.split_whitespace())
            .args(["--baseline", file, "--baseline-update"])
            .status()
            .expect("b24-conform runs");
        assert_eq!(status.code(), Some(1), "the run that records a baseline has failures");
        assert!(self.dir().join(file).is_file(), "no baseline written");
    }

    /// Runs `script` as the CI's shell runs a step (`bash -eo pipefail`) in the workspace.
    fn shell(&self, script: &str, env: &[(String, String)], stand_ins: bool) -> (Option<i32>, String) {
        let file = self.file("step.sh");
        std::fs::write(&file, script).expect("the step's script");
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(self.dir())
            .env("PATH", self.path(stand_ins))
            .env("STAND_IN_LOG", self.file("stand-in.log"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("bash runs");
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.code(), log)
    }

    /// What the stand-in `gh` or `curl` was asked: its arguments and the body it was to post.
    fn posted(&self) -> Option<(String, String)> {
        let args = std::fs::read_to_string(self.file("stand-in.log")).ok()?;
        let body = std::fs::read_to_string(self.file("stand-in.log.body")).unwrap_or_default();
        Some((args, body))
    }
}

/// What a template's run left: its exit code, the log, the reports and the Markdown where the CI
/// shows it (GitHub's job summary; GitLab's exposed artifact).
struct Outcome {
    code: Option<i32>,
    log: String,
    junit: Option<String>,
    markdown: String,
    posted: Option<(String, String)>,
}

/// `${{ EXPR }}` replaced from `context`; an expression the test does not know fails it, so a
/// template that starts to use one is noticed here.
fn expand(text: &str, context: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").map(|e| start + e).expect("an unclosed ${{");
        let expr = rest[start + 3..end].trim();
        let value = context.get(expr).unwrap_or_else(|| panic!("the test does not model `{expr}` in {text:?}"));
        out.push_str(value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The GitHub workflow, with the user's app replaced by `app`, through the action it uses: the
/// action's steps in order, as the runner runs a composite action's.
fn github(ws: &Workspace, app: &App) -> Outcome {
    let workflow = yaml("ci-templates/github/b24-conform.yml");
    let steps = workflow["jobs"]["conformance"]["steps"].as_vec().expect("the job's steps");
    let uses = steps.iter().find(|s| string(&s["uses"]).contains("/b24-conform@")).expect("a step uses the action");
    // `OWNER/b24-conform@REF` finds the action at the repository's root: action.yml.
    let (repository, _) = string(&uses["uses"]).split_once('@').map(|(a, b)| (a.to_owned(), b.to_owned())).unwrap();
    assert_eq!(repository.matches('/').count(), 1, "the action is the repository's root action.yml");
    let action = yaml("action.yml");
    assert_eq!(string(&action["runs"]["using"]), "composite");

    let mut inputs: BTreeMap<String, String> =
        entries(&action["inputs"]).into_iter().map(|(k, v)| (k, string(&v["default"]))).collect();
    for (key, value) in entries(&uses["with"]) {
        assert!(inputs.contains_key(&key), "the workflow gives `{key}`, which the action does not take");
        inputs.insert(key, string(value));
    }
    // The user's app.
    inputs.insert("handler".into(), app.handler.clone());
    inputs.insert("handler-cmd".into(), app.handler_cmd.clone());
    inputs.insert("install-url".into(), app.install_url.clone());
    if let Some(args) = &app.args {
        inputs.insert("args".into(), args.clone());
    }

    let mut context: BTreeMap<String, String> =
        inputs.iter().map(|(k, v)| (format!("inputs.{k}"), v.clone())).collect();
    context.insert("github.action_path".into(), repo().display().to_string());
    context.insert("github.event_name".into(), "pull_request".into());
    context.insert("github.event.pull_request.number".into(), "7".into());
    context.insert("runner.os".into(), "Linux".into());
    let summary = ws.file("step-summary.md");
    let output = ws.file("github-output");
    let runner_env = [
        ("GITHUB_ACTION_PATH", repo().display().to_string()),
        ("GITHUB_WORKSPACE", ws.dir().display().to_string()),
        ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
        ("GITHUB_OUTPUT", output.display().to_string()),
        ("GITHUB_PATH", ws.file("github-path").display().to_string()),
        ("GITHUB_ENV", ws.file("github-env").display().to_string()),
        ("GITHUB_REPOSITORY", "someone/app".to_owned()),
        ("RUNNER_TEMP", ws.file("tmp").display().to_string()),
        ("CI", "true".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v));

    let mut code = None;
    let mut log = String::new();
    for step in action["runs"]["steps"].as_vec().expect("the action's steps") {
        let id = string(&step["id"]);
        let env: Vec<(String, String)> = runner_env
            .iter()
            .cloned()
            .chain(entries(&step["env"]).into_iter().map(|(k, v)| (k, expand(&string(v), &context))))
            .collect();
        let run = expand(&string(&step["run"]), &context);
        // Each step has a $GITHUB_OUTPUT file of its own.
        let _ = std::fs::remove_file(&output);
        match id.as_str() {
            "key" => {
                let (status, out) = ws.shell(&run, &env, false);
                assert_eq!(status, Some(0), "the key step failed: {out}");
                let written = std::fs::read_to_string(&output).expect("the key step writes its output");
                let hash = written.trim().strip_prefix("hash=").expect("hash=…").to_owned();
                assert!(hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()), "{written}");
                context.insert("steps.key.outputs.hash".into(), hash);
            }
            "cache" => {
                assert_eq!(string(&step["uses"]), "actions/cache@v4");
                let key = expand(&string(&step["with"]["key"]), &context);
                assert!(key.starts_with("b24-conform-Linux-"), "{key}");
                let paths = string(&step["with"]["path"]);
                assert!(paths.contains("~/.cache/b24-conform/target/"), "the target directory is not cached: {paths}");
            }
            "build" => {
                // Not run: it compiles the harness; the binary under test is already on PATH.
                assert!(run.contains("cargo build --release --locked"), "{run}");
                assert!(run.contains("$CARGO_TARGET_DIR/release\" >>\"$GITHUB_PATH\""), "{run}");
            }
            "run" => {
                let (status, out) = ws.shell(&run, &env, false);
                code = status;
                log = out;
            }
            "upload" => {
                assert_eq!(string(&step["uses"]), "actions/upload-artifact@v4");
                assert_eq!(string(&step["if"]), "always()", "the reports are kept when the run fails");
                let path = expand(&string(&step["with"]["path"]), &context);
                assert_eq!(path, inputs["report-dir"]);
            }
            "comment" => {
                assert_eq!(inputs["comment"], "true", "the workflow asks for the comment");
                let (status, out) = ws.shell(&run, &env, true);
                assert_eq!(status, Some(0), "the comment step failed: {out}");
            }
            other => panic!("action.yml has a step `{other}` this test does not run"),
        }
    }
    let dir = ws.dir().join(&inputs["report-dir"]);
    Outcome {
        code,
        log,
        junit: std::fs::read_to_string(dir.join("junit.xml")).ok(),
        markdown: std::fs::read_to_string(&summary).unwrap_or_default(),
        posted: ws.posted(),
    }
}

/// The GitLab job, with the user's app replaced by `app` and its clone of the harness by this
/// repository: its variables (as GitLab expands them, `$$` a literal `$`), `script` and then
/// `after_script`, each in a shell of its own as the runner runs them.
fn gitlab(ws: &Workspace, app: &App) -> Outcome {
    let file = yaml("ci-templates/gitlab/b24-conform.gitlab-ci.yml");
    let job = &file["b24-conform"];
    let mut variables: Vec<(String, String)> =
        entries(&job["variables"]).into_iter().map(|(k, v)| (k, string(v))).collect();
    let quoted = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('`', "\\`").replace("$$", "\\$");
    for (name, value) in &mut variables {
        match name.as_str() {
            "B24_HANDLER" => *value = quoted(&app.handler),
            "B24_HANDLER_CMD" => *value = quoted(&app.handler_cmd),
            "B24_INSTALL_URL" => *value = quoted(&app.install_url),
            "B24_ARGS" if app.args.is_some() => *value = quoted(app.args.as_deref().unwrap_or_default()),
            "B24_CONFORM_SRC" => *value = repo().display().to_string(),
            _ => *value = quoted(value),
        }
    }
    let exports: String = variables.iter().map(|(k, v)| format!("export {k}=\"{v}\"\n")).collect();
    let lines = |key: &str| -> String {
        job[key].as_vec().expect("a list of commands").iter().map(|l| string(l) + "\n").collect()
    };
    let before = lines("before_script");
    // Not run: it clones and compiles the harness; the binary under test is already on PATH.
    assert!(before.contains("git clone --depth 1 --branch \"$B24_CONFORM_REF\""), "{before}");
    assert!(before.contains("cargo build --release --locked"), "{before}");
    assert!(before.contains("export PATH=\"$CARGO_TARGET_DIR/release:$PATH\""), "{before}");
    let cached: Vec<String> = job["cache"]["paths"].as_vec().expect("cache paths").iter().map(string).collect();
    assert!(cached.contains(&".b24-conform/target/".to_owned()), "the target directory is not cached: {cached:?}");

    let env = vec![
        ("CI".to_owned(), "true".to_owned()),
        ("CI_PROJECT_DIR".to_owned(), ws.dir().display().to_string()),
        // A merge-request pipeline with a token: the after_script posts the report.
        ("B24_NOTE_TOKEN".to_owned(), "token".to_owned()),
        ("CI_MERGE_REQUEST_IID".to_owned(), "7".to_owned()),
        ("CI_API_V4_URL".to_owned(), "https://gitlab.invalid/api/v4".to_owned()),
        ("CI_PROJECT_ID".to_owned(), "42".to_owned()),
    ];
    let (code, log) = ws.shell(&format!("{exports}{}", lines("script")), &env, false);
    let (after, after_log) = ws.shell(&format!("{exports}{}", lines("after_script")), &env, true);
    assert_eq!(after, Some(0), "after_script failed: {after_log}");

    assert_eq!(string(&job["artifacts"]["when"]), "always", "the reports are kept when the run fails");
    let junit = string(&job["artifacts"]["reports"]["junit"]);
    let report_dir = variables.iter().find(|(k, _)| k == "B24_REPORT_DIR").map(|(_, v)| v.clone()).unwrap();
    assert_eq!(junit, format!("{report_dir}/junit.xml"));
    let exposed: Vec<String> = job["artifacts"]["paths"].as_vec().expect("artifact paths").iter().map(string).collect();
    assert_eq!(exposed, [format!("{report_dir}/")]);
    Outcome {
        code,
        log,
        junit: std::fs::read_to_string(ws.dir().join(&junit)).ok(),
        markdown: std::fs::read_to_string(ws.dir().join(&report_dir).join("report.md")).unwrap_or_default(),
        posted: ws.posted(),
    }
}

type Template = fn(&Workspace, &App) -> Outcome;

/// The `<failure` elements of a JUnit report, and its test cases.
fn junit_counts(junit: &str) -> (usize, usize) {
    assert!(junit.contains("<testsuites"), "not a JUnit report: {junit:.300}");
    (junit.matches("<failure").count(), junit.matches("<testcase").count())
}

/// The Markdown was posted as the comment, whole.
fn assert_posted(outcome: &Outcome) {
    let (args, body) = outcome.posted.as_ref().expect("the report was posted as a comment");
    assert!(args.contains('7'), "posted to the pull/merge request: {args}");
    assert_eq!(body, &outcome.markdown, "the comment is the Markdown report");
}

fn passes_a_correct_handler(template: Template, name: &str) {
    let ws = Workspace::new(&format!("{name}-pass"));
    let outcome = template(&ws, &App::correct());
    assert_eq!(outcome.code, Some(0), "{}", outcome.log);
    let (failures, cases) = junit_counts(outcome.junit.as_deref().expect("a JUnit report"));
    assert_eq!(failures, 0);
    assert!(cases > 100, "{cases} test cases");
    assert!(outcome.markdown.starts_with("## b24-conform ✅ passed"), "{:.300}", outcome.markdown);
    assert!(outcome.log.contains("0 failed"), "the human report is in the log: {}", outcome.log);
    assert_posted(&outcome);
}

fn fails_a_new_failure_and_passes_once_it_is_in_the_baseline(template: Template, name: &str) {
    let ws = Workspace::new(&format!("{name}-baseline"));
    let crashes = App::faulty("options-json-500");
    // No baseline file yet: every failure is new.
    let outcome = template(&ws, &crashes);
    assert_eq!(outcome.code, Some(1), "{}", outcome.log);
    let (failures, _) = junit_counts(outcome.junit.as_deref().expect("a JUnit report"));
    assert!(failures > 0, "the JUnit report shows the failures");
    assert!(outcome.markdown.starts_with("## b24-conform ❌ failed"), "{:.300}", outcome.markdown);
    assert!(outcome.log.contains("no baseline file b24-conform-baseline.toml"), "{}", outcome.log);
    assert_posted(&outcome);

    // The same failures, recorded in the baseline file the templates name: the job passes.
    ws.record_baseline("b24-conform-baseline.toml", &crashes, FAULTY_ARGS);
    let outcome = template(&ws, &crashes);
    assert_eq!(outcome.code, Some(0), "{}", outcome.log);
    assert!(outcome.markdown.contains("known"), "the known deviations are reported: {:.2000}", outcome.markdown);
    let (failures, _) = junit_counts(outcome.junit.as_deref().expect("a JUnit report"));
    assert_eq!(failures, 0, "known deviations are no JUnit failures");

    // A failure the baseline does not name fails the job again.
    let outcome = template(&ws, &App::faulty("reflects-lang"));
    assert_eq!(outcome.code, Some(1), "{}", outcome.log);
    assert!(outcome.markdown.contains("no-reflected-injection"), "{:.3000}", outcome.markdown);
}

fn says_so_when_the_handler_never_starts(template: Template, name: &str) -> Outcome {
    let ws = Workspace::new(&format!("{name}-down"));
    let outcome = template(&ws, &App::never_listens());
    assert_eq!(outcome.code, Some(3), "{}", outcome.log);
    assert!(outcome.log.contains("listen: address in use"), "the handler's output is in the log: {}", outcome.log);
    assert!(outcome.junit.is_none(), "no report of a run that did not happen");
    assert!(outcome.posted.is_none(), "nothing is posted without a report");
    outcome
}

#[test]
fn github_passes_a_correct_handler() {
    passes_a_correct_handler(github, "github");
}

#[test]
fn github_fails_only_on_failures_not_in_the_baseline() {
    fails_a_new_failure_and_passes_once_it_is_in_the_baseline(github, "github");
}

#[test]
fn github_says_so_when_the_handler_never_starts() {
    let outcome = says_so_when_the_handler_never_starts(github, "github");
    // The job summary says why there is no report.
    assert!(outcome.markdown.starts_with("## b24-conform could not run (exit 3)"), "{}", outcome.markdown);
}

#[test]
fn gitlab_passes_a_correct_handler() {
    passes_a_correct_handler(gitlab, "gitlab");
}

#[test]
fn gitlab_fails_only_on_failures_not_in_the_baseline() {
    fails_a_new_failure_and_passes_once_it_is_in_the_baseline(gitlab, "gitlab");
}

#[test]
fn gitlab_says_so_when_the_handler_never_starts() {
    says_so_when_the_handler_never_starts(gitlab, "gitlab");
}
