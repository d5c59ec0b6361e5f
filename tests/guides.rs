//! The guides' blocks (`docs/guides.md`), run as written: each fenced block marked
//! `<!-- guide:NAME exit=N [needs=RUNTIME] -->` runs in bash in a scratch directory that holds the
//! repository's `fixtures/` (a symlink: the blocks run from a clone's top directory), with the
//! binary under test as `b24-conform` on PATH and free ports in place of the blocks' 8080 (the
//! handler) and 48620/48622 (a fixed mock portal and its OAuth server). Its exit status must be
//! the marker's.
//!
//! A block whose runtime is missing fails, saying what installs it, as tests/handler_*.rs do:
//! CI installs every runtime (`.ci/run`), and a skipped guide would pass unseen.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{Scratch, free_port};

/// Every guide, so that a block added to the file without a test here, or a test whose block
/// went, fails `every_marked_block_is_run`.
const GUIDES: [&str; 8] = ["php", "node", "python", "url", "not-listening", "tls", "must", "warning"];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A marked block: its name, the exit status it ends with, a word its output must hold, the
/// runtime it needs, its text.
struct Block {
    name: String,
    exit: i32,
    expect: Option<String>,
    needs: Option<String>,
    text: String,
}

/// The marked blocks of docs/guides.md, in order.
fn blocks() -> Vec<Block> {
    let doc = std::fs::read_to_string(repo().join("docs/guides.md")).expect("docs/guides.md");
    let mut lines = doc.lines();
    let mut blocks = Vec::new();
    while let Some(line) = lines.next() {
        let Some(marker) = line.trim().strip_prefix("<!-- guide:").and_then(|m| m.strip_suffix("-->")) else {
            continue;
        };
        let mut words = marker.split_whitespace();
        let name = words.next().expect("a guide's name").to_owned();
        let (mut exit, mut expect, mut needs) = (None, None, None);
        for word in words {
            match word.split_once('=') {
                Some(("exit", n)) => exit = n.parse().ok(),
                Some(("expect", text)) => expect = Some(text.to_owned()),
                Some(("needs", runtime)) => needs = Some(runtime.to_owned()),
                _ => panic!("guide:{name}: unknown `{word}` in its marker"),
            }
        }
        assert_eq!(lines.next(), Some("```sh"), "guide:{name}: the marker comes right before a ```sh block");
        let text: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        let exit = exit.unwrap_or_else(|| panic!("guide:{name}: its marker gives no exit=N"));
        blocks.push(Block { name, exit, expect, needs, text: text.join("\n") + "\n" });
    }
    blocks
}

/// Fails, naming what installs it, when the block's runtime is not on this machine.
fn require(runtime: &str) {
    let works =
        |program: &str, args: &[&str]| Command::new(program).args(args).output().is_ok_and(|o| o.status.success());
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .expect("neither XDG_CACHE_HOME nor HOME is set")
        .join("b24-conform");
    let (present, install) = match runtime {
        "php" => (
            works("php", &["-r", "exit(function_exists('curl_init') ? 0 : 1);"]),
            "fixtures/handlers/php-crest/install.sh (php-cli, php-curl)",
        ),
        "node" => (
            works("node", &["--version"]) && cache.join("node-b24jssdk/installed.lock").is_file(),
            "fixtures/handlers/node-b24jssdk/install.sh",
        ),
        "python-sdk" => {
            (cache.join("python-b24pysdk/bin/python").is_file(), "fixtures/handlers/python-b24pysdk/install.sh")
        }
        "python3" => (works("python3", &["--version"]) && works("curl", &["--version"]), "python3 and curl"),
        other => panic!("unknown runtime `{other}`"),
    };
    assert!(present, "this guide's block needs {runtime}: install {install} (.ci/run does)");
}

/// Three loopback ports in a row that nothing listens on: a fixed portal, its foreign portal and
/// its OAuth server.
fn three_free_ports() -> u16 {
    loop {
        let port = free_port();
        let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        if port < u16::MAX - 2 && free(port + 1) && free(port + 2) {
            return port;
        }
    }
}

/// Runs the block named `name` and checks its exit status.
fn run_guide(name: &str) {
    let blocks = blocks();
    let block = blocks.iter().find(|b| b.name == name).unwrap_or_else(|| panic!("docs/guides.md has no guide:{name}"));
    if let Some(runtime) = &block.needs {
        require(runtime);
    }
    let scratch = Scratch::new(name);
    let bin = scratch.0.join("bin");
    let cwd = scratch.0.join("clone");
    std::fs::create_dir_all(&bin).expect("a bin directory");
    std::fs::create_dir_all(&cwd).expect("a working directory");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_b24-conform"), bin.join("b24-conform")).expect("a symlink");
    std::os::unix::fs::symlink(repo().join("fixtures"), cwd.join("fixtures")).expect("a symlink");

    let portal = three_free_ports();
    let handler = std::iter::repeat_with(free_port).find(|p| !(portal..=portal + 2).contains(p)).expect("a port");
    let text = block
        .text
        .replace("cargo run --release --", "b24-conform")
        .replace("8080", &handler.to_string())
        .replace("48620", &portal.to_string())
        .replace("48622", &(portal + 2).to_string());
    let script = scratch.0.join("block.sh");
    std::fs::write(&script, &text).expect("the block's script");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    // `timeout`: a block that hangs fails the test instead of holding it.
    let out = Command::new("timeout")
        .args(["540", "bash", "--noprofile", "--norc"])
        .arg(&script)
        .current_dir(&cwd)
        .env("PATH", path)
        // What a block makes with mktemp goes with the scratch directory.
        .env("TMPDIR", &scratch.0)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stdout.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
    assert_eq!(
        out.status.code(),
        Some(block.exit),
        "guide:{name} ended otherwise than its marker says:\n{text}\n--- stdout (last lines)\n{}\n--- stderr\n{}",
        tail.join("\n"),
        stderr
    );
    if let Some(word) = &block.expect {
        assert!(
            stdout.contains(word.as_str()) || stderr.contains(word.as_str()),
            "guide:{name} never says `{word}`:\n{stdout}\n{stderr}"
        );
    }
}

#[test]
fn every_marked_block_is_run() {
    let names: Vec<String> = blocks().into_iter().map(|b| b.name).collect();
    assert_eq!(names, GUIDES, "the guides in docs/guides.md and the tests here differ");
}

#[test]
fn guide_php() {
    run_guide("php");
}

#[test]
fn guide_node() {
    run_guide("node");
}

#[test]
fn guide_python() {
    run_guide("python");
}

#[test]
fn guide_url() {
    run_guide("url");
}

#[test]
fn guide_not_listening() {
    run_guide("not-listening");
}

#[test]
fn guide_tls() {
    run_guide("tls");
}

#[test]
fn guide_must() {
    run_guide("must");
}

#[test]
fn guide_warning() {
    run_guide("warning");
}
