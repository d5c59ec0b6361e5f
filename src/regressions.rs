//! The regressions file (`--regressions FILE`, nothing read or written without it): generated
//! draws that failed, kept so that later runs draw them again (as proptest-regressions does).
//! One line per draw — the group's id and the draw's seed — with a comment saying what failed
//! and what it shrank to; people may edit or delete lines.
//!
//! Case ids do not depend on the file: `group#n` is the same draw for the same seed whatever
//! the file holds. A recorded draw that the run's seed draws anyway runs under its `group#n`; one
//! it does not draw runs after the group's own draws as `group#regression-SEED`.

use std::path::{Path, PathBuf};

use crate::record::CaseReport;
use crate::snapshot;
use crate::suite::Replay;

/// A regressions file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RegressionsError {
    #[error("cannot read the regressions file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}:{line}: expected `GROUP SEED  # note` (SEED as 0x and 16 hex digits), found {text:?}")]
    Invalid { path: String, line: usize, text: String },
    #[error("cannot write the regressions file {path}: {reason}")]
    Write { path: String, reason: String },
}

const HEADER: &str = "# b24-conform regressions: generated draws that failed, drawn again by every run given this file.\n\
# Each line: GROUP SEED  # what failed. Delete a line once its failure is fixed and understood.\n";

/// The draws recorded in `path`; none when the file does not exist yet.
pub fn read(path: &Path) -> Result<Vec<Replay>, RegressionsError> {
    let display = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RegressionsError::Read { path: display, reason: e.to_string() }),
    };
    let mut replays = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or_default();
        // Case ids contain `#`, groups do not: the first `#` starts the comment.
        let mut words = content.split_whitespace();
        let (Some(group), seed, None) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        let seed = seed.and_then(|s| s.strip_prefix("0x")).and_then(|s| u64::from_str_radix(s, 16).ok());
        let Some(seed) = seed else {
            return Err(RegressionsError::Invalid { path: display, line: n + 1, text: line.to_owned() });
        };
        replays.push(Replay { group: group.to_owned(), seed });
    }
    Ok(replays)
}

/// Adds the draws not yet in `path`, each with its note; returns how many were new. The file is
/// replaced whole, so a crash never leaves half of it.
pub fn record(path: &Path, draws: &[(Replay, String)]) -> Result<usize, RegressionsError> {
    let known = read(path)?;
    let fresh: Vec<_> = draws.iter().filter(|(r, _)| !known.contains(r)).collect();
    if fresh.is_empty() {
        return Ok(0);
    }
    let write = |reason: String| RegressionsError::Write { path: path.display().to_string(), reason };
    let mut text = std::fs::read_to_string(path).unwrap_or_else(|_| HEADER.to_owned());
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    for (replay, note) in &fresh {
        let note = note.replace(['\n', '\r'], " ");
        text.push_str(&format!("{} 0x{:016x}  # {note}\n", replay.group, replay.seed));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| write(e.to_string()))?;
    }
    // Beside the file, one per process: partitions may record into the same file at once.
    let partial = path.with_file_name(format!(
        ".{}.partial.{}",
        path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&partial, text).map_err(|e| write(e.to_string()))?;
    std::fs::rename(&partial, path).map_err(|e| write(e.to_string()))?;
    Ok(fresh.len())
}

/// What a run says when it wrote `count` draws into `path`.
pub fn recorded(count: usize, path: &Path) -> String {
    let draws = if count == 1 { "draw" } else { "draws" };
    format!("recorded {count} {draws} in {}", path.display())
}

/// Draws recorded per run, at most: past a few, further failing draws are most likely the same
/// defect again, and the file is for people to read.
pub const MAX_RECORDED: usize = 100;

/// Records the failing draws of a run as its cases are judged, then adds them to the file.
/// A draw is recorded when its case failed a `must` check of the handler (as judged, not
/// counting a snapshot's difference, which is no property of the draw). A case that got no
/// answer is not recorded: that is the harness's settings (a timeout) or a handler that is
/// down, not the draw.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    draws: Vec<(Replay, String)>,
    /// Failing draws seen, recorded or not.
    failing: usize,
}

impl Recorder {
    pub fn new(path: impl Into<PathBuf>) -> Recorder {
        Recorder { path: path.into(), draws: Vec::new(), failing: 0 }
    }

    /// Sees one case judged for good (shrunk, baseline applied).
    pub fn observe(&mut self, report: &CaseReport) {
        let Some(draw) = &report.draw else { return };
        let checks: Vec<&str> = report.run_failures().map(|v| v.id).filter(|&id| id != snapshot::CHECK_ID).collect();
        if report.error.is_some() || checks.is_empty() || self.draws.iter().any(|(d, _)| d == draw) {
            return;
        }
        self.failing += 1;
        if self.draws.len() == MAX_RECORDED {
            return;
        }
        let mut note = format!("{} failed {}", report.id, checks.join(", "));
        if let Some(shrunk) = &report.shrunk {
            note.push_str(&format!("; shrunk to {}", serde_json::to_string(&shrunk.mutations).unwrap_or_default()));
        }
        self.draws.push((draw.clone(), note));
    }

    /// Adds the draws the file does not hold yet; says so when there were any ("recorded N
    /// draws in FILE"). The file is not touched when there are none.
    pub fn finish(self) -> Result<Option<String>, RegressionsError> {
        if self.draws.is_empty() {
            return Ok(None);
        }
        let added = record(&self.path, &self.draws)?;
        let unrecorded = self.failing - self.draws.len();
        Ok((added > 0).then(|| match unrecorded {
            0 => recorded(added, &self.path),
            more => format!(
                "{} ({more} more failing draws not recorded: {MAX_RECORDED} at most a run)",
                recorded(added, &self.path)
            ),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_new_draws_once_and_reads_them_back() {
        let dir = std::env::temp_dir().join(format!("b24-regressions-{}", std::process::id()));
        let path = dir.join("regressions.txt");
        let _ = std::fs::remove_file(&path);
        assert_eq!(read(&path).unwrap(), vec![]);
        let a = Replay { group: "malformed/generated".into(), seed: 0xabc };
        let b = Replay { group: "valid/generated".into(), seed: 7 };
        assert_eq!(record(&path, &[(a.clone(), "no-server-error #3".into())]).unwrap(), 1);
        assert_eq!(record(&path, &[(a.clone(), "again".into()), (b.clone(), "x".into())]).unwrap(), 1);
        assert_eq!(read(&path).unwrap(), vec![a, b]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# b24-conform")
                && text.contains("malformed/generated 0x0000000000000abc  # no-server-error #3\n")
        );
        std::fs::write(&path, "valid/generated 12\n").unwrap();
        assert!(read(&path).unwrap_err().to_string().contains(":1: expected `GROUP SEED"));
        let _ = std::fs::remove_dir_all(dir);
    }

    use crate::record::{Body, HttpRequest, Outcome};
    use crate::suite::{Draw, Level, SuiteSource, load};

    /// The report of case `id` of the built-in catalog (seed 24), every check passing but
    /// `failing`, each at its level.
    fn report(id: &str, failing: &[(&'static str, Level)]) -> CaseReport {
        let plan = load(
            &[SuiteSource::Builtin(crate::payload::Family::Settings)],
            &Draw { seed: 24, count: Some(3), ..Draw::default() },
        )
        .unwrap();
        let (_, case) = plan.case(id).expect("a case of the catalog");
        let request = HttpRequest {
            method: "POST".into(),
            url: "http://127.0.0.1:9/".into(),
            headers: vec![],
            body: Body::default(),
        };
        let mut report = CaseReport::not_exercised(&case, 1, request, "a unit test");
        for verdict in &mut report.checks {
            verdict.outcome = Outcome::Pass;
            if let Some((_, level)) = failing.iter().find(|(id, _)| *id == verdict.id) {
                (verdict.outcome, verdict.level) = (Outcome::Fail, *level);
            }
        }
        report
    }

    #[test]
    fn only_must_failures_of_generated_draws_that_were_answered_are_recorded() {
        let dir = std::env::temp_dir().join(format!("b24-recorder-{}", std::process::id()));
        let path = dir.join("regressions.txt");
        let _ = std::fs::remove_dir_all(&dir);
        let must = [("no-server-error", Level::Must)];
        let mut recorder = Recorder::new(&path);
        recorder.observe(&report("malformed/generated#1", &[("latency-budget", Level::Should)]));
        recorder.observe(&report("malformed/generated#2", &[(snapshot::CHECK_ID, Level::Must)]));
        let mut errored = report("valid/generated#0", &must);
        errored.error = Some("no complete answer within 10 ms".into());
        recorder.observe(&errored);
        recorder.observe(&report("missing/member_id", &must));
        assert_eq!(recorder.finish().unwrap(), None);
        assert!(!path.exists(), "nothing failed: nothing written");

        let mut recorder = Recorder::new(&path);
        let failed = report("malformed/generated#1", &must);
        recorder.observe(&failed);
        recorder.observe(&failed);
        assert_eq!(recorder.finish().unwrap(), Some(format!("recorded 1 draw in {}", path.display())));
        let draw = failed.draw.clone().expect("a generated case's report names its draw");
        assert_eq!(read(&path).unwrap(), vec![draw.clone()]);
        assert!(std::fs::read_to_string(&path).unwrap().contains("  # malformed/generated#1 failed no-server-error\n"));
        // Recorded before: not again, and nothing said.
        let mut recorder = Recorder::new(&path);
        recorder.observe(&failed);
        assert_eq!(recorder.finish().unwrap(), None);
        let json = serde_json::to_value(&draw).unwrap();
        assert_eq!(json["group"], "malformed/generated");
        assert!(json["seed"].as_str().is_some_and(|s| s.len() == 18 && s.starts_with("0x")), "{json}");
        assert_eq!(serde_json::from_value::<Replay>(json).unwrap(), draw);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_run_records_a_bounded_number_of_draws_and_says_how_many_more_failed() {
        let dir = std::env::temp_dir().join(format!("b24-recorder-cap-{}", std::process::id()));
        let path = dir.join("regressions.txt");
        let _ = std::fs::remove_dir_all(&dir);
        let mut recorder = Recorder::new(&path);
        let mut failed = report("valid/generated#0", &[("accepts-valid", Level::Must)]);
        for seed in 0..MAX_RECORDED as u64 + 5 {
            failed.draw = Some(Replay { group: "valid/generated".into(), seed });
            recorder.observe(&failed);
        }
        let said = recorder.finish().unwrap().expect("draws were recorded");
        assert_eq!(
            said,
            format!("recorded 100 draws in {} (5 more failing draws not recorded: 100 at most a run)", path.display())
        );
        assert_eq!(read(&path).unwrap().len(), MAX_RECORDED);
        let _ = std::fs::remove_dir_all(dir);
    }
}
