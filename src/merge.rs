//! `merge`: the JSON reports of the partitions of one run (`run --partition K/N`, one CI job
//! each) read back and joined into the report of the whole run. The merged run is replayed as
//! the events a run emits, so every report format is written by the same writers as a run's.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::baseline::BaselineReport;
use crate::payload::Wire;
use crate::record::{CaseReport, Event, PortalCall, RunEnd, RunInfo, Summary};

/// Why reports cannot be merged. Each names the file(s) at fault.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("merge: give the JSON reports of the partitions of one run (`run --partition K/N --format json`)")]
    NoReports,
    #[error("merge: cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("merge: {path} is not a b24-conform JSON report: {reason}")]
    Invalid { path: String, reason: String },
    #[error("merge: {path} was written by {tool} {version}, this is {TOOL} {VERSION}: merge with the version that ran")]
    Version { path: String, tool: String, version: String },
    #[error("merge: {path} is the report of a whole run, not of a partition (run with --partition K/N)")]
    Unpartitioned { path: String },
    #[error("merge: {path}: partition {text:?} is not K/N (1 ≤ K ≤ N)")]
    Partition { path: String, text: String },
    #[error("merge: {first} and {second} are both partition {partition}")]
    Twice { first: String, second: String, partition: String },
    #[error("merge: {first} is partition {a}, {second} is partition {b}: parts of different splits")]
    Split { first: String, second: String, a: String, b: String },
    #[error("merge: partition {missing} is missing: give the reports of each of 1/{n} … {n}/{n}")]
    Missing { missing: String, n: usize },
    #[error("merge: {first} and {second} are not parts of one run: {field} {a} in one, {b} in the other")]
    Mismatch { first: String, second: String, field: &'static str, a: String, b: String },
    #[error("merge: case {id} (index {index}) is in both {first} and {second}")]
    CaseTwice { id: String, index: usize, first: String, second: String },
}

const TOOL: &str = env!("CARGO_PKG_NAME");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The partitions of one run, joined: the cases of all in the order of the whole plan, the
/// summary counted again over them.
#[derive(Debug)]
pub struct Merged {
    info: RunInfo,
    /// The cases judged, sorted by their index in the whole plan, and those indices.
    judged: Vec<CaseReport>,
    judged_at: Vec<usize>,
    /// Sorted by index.
    not_run: Vec<Indexed<NotRun>>,
    unattributed: Vec<PortalCall>,
    end: RunEnd,
}

impl Merged {
    /// Reads the JSON reports at `paths`, checks that they are the partitions 1/N … N/N of one
    /// run, each once, and joins them.
    pub fn read(paths: &[PathBuf]) -> Result<Merged, MergeError> {
        let mut parts = paths.iter().map(|path| Part::read(path)).collect::<Result<Vec<_>, _>>()?;
        Merged::join(&mut parts)
    }

    fn join(parts: &mut [Part]) -> Result<Merged, MergeError> {
        parts.sort_by(|a, b| (a.partition.0, &a.path).cmp(&(b.partition.0, &b.path)));
        let first = parts.first().ok_or(MergeError::NoReports)?;
        for pair in parts.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if a.partition == b.partition {
                let partition = format!("{}/{}", a.partition.0, a.partition.1);
                return Err(MergeError::Twice { first: a.path.clone(), second: b.path.clone(), partition });
            }
        }
        let n = first.partition.1;
        for part in parts.iter() {
            if part.partition.1 != n {
                return Err(MergeError::Split {
                    first: first.path.clone(),
                    second: part.path.clone(),
                    a: first.report.partition.clone().unwrap_or_default(),
                    b: part.report.partition.clone().unwrap_or_default(),
                });
            }
            let differs = |field: &'static str, a: String, b: String| {
                (a != b).then(|| MergeError::Mismatch {
                    first: first.path.clone(),
                    second: part.path.clone(),
                    field,
                    a,
                    b,
                })
            };
            let (one, other) = (&first.report, &part.report);
            let mismatch = differs("handler", one.handler.clone(), other.handler.clone())
                .or_else(|| differs("seed", one.seed.to_string(), other.seed.to_string()))
                .or_else(|| differs("wire", one.wire.to_string(), other.wire.to_string()));
            if let Some(mismatch) = mismatch {
                return Err(mismatch);
            }
        }
        // Sorted and without repeats, the parts are 1..=N exactly when there are N of them.
        if let Some(missing) = (1..=n).find(|k| !parts.iter().any(|p| p.partition.0 == *k)) {
            return Err(MergeError::Missing { missing: format!("{missing}/{n}"), n });
        }

        let mut judged = Vec::new();
        let mut not_run = Vec::new();
        let mut unattributed = Vec::new();
        let mut stopped = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        let mut baseline: Option<BaselineReport> = None;
        // The partitions ran side by side: the whole took as long as the slowest.
        let mut duration_ms = 0;
        for (part_no, part) in parts.iter_mut().enumerate() {
            let report = &mut part.report;
            duration_ms = duration_ms.max(report.summary.duration_ms);
            for entry in report.cases.drain(..) {
                match entry {
                    Entry::Judged(case) => judged.push(Indexed { part: part_no, ..*case }),
                    Entry::NotRun(case) => not_run.push(Indexed { part: part_no, ..case }),
                }
            }
            unattributed.append(&mut report.unattributed);
            if let Some(sentence) = report.stopped.take() {
                stopped.push(format!("partition {}: {sentence}", report.partition.as_deref().unwrap_or_default()));
            }
            for note in report.notes.drain(..) {
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
            if let Some(part_baseline) = report.baseline.take() {
                let merged = baseline
                    .get_or_insert_with(|| BaselineReport { file: part_baseline.file.clone(), ..Default::default() });
                // The installation runs in every partition: its deviations may come more than once.
                for (into, from) in [
                    (&mut merged.known, part_baseline.known),
                    (&mut merged.expired, part_baseline.expired),
                    (&mut merged.fixed, part_baseline.fixed),
                ] {
                    for deviation in from {
                        if !into.contains(&deviation) {
                            into.push(deviation);
                        }
                    }
                }
            }
        }
        judged.sort_by_key(|c| c.index);
        not_run.sort_by_key(|c| c.index);
        let mut all: Vec<(usize, &str, usize)> = judged
            .iter()
            .map(|c| (c.index, c.value.id.as_str(), c.part))
            .chain(not_run.iter().map(|c| (c.index, c.value.id.as_str(), c.part)))
            .collect();
        all.sort_by_key(|&(index, _, _)| index);
        if let Some(pair) = all.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            let ((index, id, a), (_, _, b)) = (pair[0], pair[1]);
            return Err(MergeError::CaseTwice {
                id: id.to_owned(),
                index,
                first: parts[a].path.clone(),
                second: parts[b].path.clone(),
            });
        }
        let cases = all.len();
        let (judged_at, judged): (Vec<usize>, Vec<CaseReport>) = judged.into_iter().map(|c| (c.index, c.value)).unzip();

        let head = &parts[0].report;
        let info = RunInfo {
            tool: TOOL,
            version: VERSION,
            handler: head.handler.clone(),
            seed: head.seed,
            wire: head.wire,
            partition: None,
            cases,
        };
        let summary = Summary::of(&judged, duration_ms);
        let stopped = (!stopped.is_empty()).then(|| stopped.join("; "));
        let end = RunEnd { summary, baseline, stopped, notes };
        Ok(Merged { info, judged_at, judged, not_run, unattributed, end })
    }

    /// The merged run as a run emits it: started, each case in the order of the whole plan
    /// (judged, or not run), the calls no case owns, ended.
    pub fn events(&self) -> impl Iterator<Item = Event<'_>> {
        let mut judged = self.judged_at.iter().zip(&self.judged).peekable();
        let mut not_run = self.not_run.iter().peekable();
        let cases = std::iter::from_fn(move || {
            let next_judged = judged.peek().map(|(index, _)| **index);
            let next_not_run = not_run.peek().map(|c| c.index);
            match (next_judged, next_not_run) {
                (Some(j), Some(n)) if n < j => not_run.next().map(NotRun::event),
                (Some(_), _) => judged.next().map(|(_, case)| Event::Judged(case)),
                (None, _) => not_run.next().map(NotRun::event),
            }
        });
        std::iter::once(Event::Started(&self.info))
            .chain(cases)
            .chain(self.unattributed.iter().map(Event::Unattributed))
            .chain(std::iter::once(Event::Ended(&self.end)))
    }

    /// As a run's: 0 when every case passed, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        let summary = &self.end.summary;
        i32::from(summary.failed + summary.errored > 0 || !self.not_run.is_empty())
    }
}

/// A case with its index in the whole, unpartitioned plan (the installation 0), and the part
/// it came from.
#[derive(Debug)]
struct Indexed<T> {
    index: usize,
    part: usize,
    value: T,
}

/// A case a partition did not fire, and why.
#[derive(Debug, Deserialize)]
struct NotRun {
    id: String,
    reason: String,
}

impl NotRun {
    fn event(case: &Indexed<NotRun>) -> Event<'_> {
        Event::NotRun { id: &case.value.id, index: case.index, reason: &case.value.reason }
    }
}

/// One partition's report, and the file it was read from.
struct Part {
    path: String,
    /// (K, N)
    partition: (usize, usize),
    report: PartReport,
}

impl Part {
    fn read(path: &Path) -> Result<Part, MergeError> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|e| MergeError::Read { path: shown.clone(), reason: e.to_string() })?;
        let report: PartReport = serde_json::from_reader(BufReader::new(file))
            .map_err(|e| MergeError::Invalid { path: shown.clone(), reason: e.to_string() })?;
        Part::of(shown, report)
    }

    fn of(path: String, report: PartReport) -> Result<Part, MergeError> {
        if report.tool != TOOL || report.version != VERSION {
            return Err(MergeError::Version { path, tool: report.tool, version: report.version });
        }
        let Some(text) = report.partition.clone() else { return Err(MergeError::Unpartitioned { path }) };
        let parsed = text.split_once('/').and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)));
        match parsed {
            Some((k, n)) if 1 <= k && k <= n => Ok(Part { path, partition: (k, n), report }),
            _ => Err(MergeError::Partition { path, text }),
        }
    }
}

/// The JSON report of a run, as its writer streams it.
#[derive(Deserialize)]
struct PartReport {
    tool: String,
    version: String,
    handler: String,
    seed: u64,
    wire: Wire,
    partition: Option<String>,
    cases: Vec<Entry>,
    #[serde(default)]
    unattributed: Vec<PortalCall>,
    #[serde(default)]
    baseline: Option<BaselineReport>,
    #[serde(default)]
    stopped: Option<String>,
    #[serde(default)]
    notes: Vec<String>,
    summary: Summary,
}

/// One line of a report's `cases`: a case judged, or one not run (`"outcome": "not-run"`).
enum Entry {
    Judged(Box<Indexed<CaseReport>>),
    NotRun(Indexed<NotRun>),
}

impl<'de> Deserialize<'de> for Entry {
    /// Each case is read on its own, so that what is wrong in one (a check this version does not
    /// know) is reported with the case's id.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entry, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let id = value.get("id").and_then(|v| v.as_str()).unwrap_or("(no id)").to_owned();
        let wrong = |reason: String| D::Error::custom(format!("case {id}: {reason}"));
        let index = value
            .get("index")
            .and_then(serde_json::Value::as_u64)
            .and_then(|i| usize::try_from(i).ok())
            .ok_or_else(|| wrong("no \"index\" (a report of a run with --partition has one)".to_owned()))?;
        if value.get("outcome").and_then(|v| v.as_str()) == Some("not-run") {
            let value = NotRun::deserialize(value).map_err(|e| wrong(e.to_string()))?;
            return Ok(Entry::NotRun(Indexed { index, part: 0, value }));
        }
        let value = CaseReport::deserialize(value).map_err(|e| wrong(e.to_string()))?;
        Ok(Entry::Judged(Box::new(Indexed { index, part: 0, value })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A case as the JSON report writes it, with index `index` and outcome `outcome` (its one
    /// verdict `no-server-error` failing when the case does).
    fn case(id: &str, index: usize, outcome: &str, check: &str) -> String {
        let verdict = if outcome == "fail" { "fail" } else { "pass" };
        format!(
            r#"{{"id":"{id}","index":{index},"title":"t","level":"must",
            "evidence":{{"key":"post","kind":"documentation","url":"https://apidocs.bitrix24.com/x.html","quote":"q"}},
            "expect":"accept","outcome":"{outcome}",
            "checks":[{{"id":"{check}","level":"must","outcome":"{verdict}","message":"answered 200"}}],
            "request":{{"method":"POST","url":"http://127.0.0.1:1/","headers":[],"body":"a=1"}},
            "response":{{"status":200,"headers":[],"body":"<p>é\u0000</p>","truncated":false,"elapsed_ms":3}},
            "portal_calls":[],"reproduce":"curl"}}"#
        )
    }

    fn report(partition: &str, cases: &[String], extra: &str, duration: u64) -> String {
        format!(
            r#"{{"tool":"b24-conform","version":"{VERSION}","handler":"builtin:reference","seed":24,"wire":"split","partition":{partition},
"cases":[
{}
],
{extra}"notes":["n"],
"summary":{{"cases":{},"passed":0,"warned":0,"failed":0,"errored":0,"known":0,"not_modelled":0,"not_exercised":0,"duration_ms":{duration}}}}}"#,
            cases.join(",\n"),
            cases.len()
        )
    }

    fn part(name: &str, json: &str) -> Result<Part, MergeError> {
        let report: PartReport =
            serde_json::from_str(json).map_err(|e| MergeError::Invalid { path: name.into(), reason: e.to_string() })?;
        Part::of(name.to_owned(), report)
    }

    fn merged(reports: &[(&str, String)]) -> Result<Merged, MergeError> {
        let mut parts = reports.iter().map(|(name, json)| part(name, json)).collect::<Result<Vec<_>, _>>()?;
        Merged::join(&mut parts)
    }

    fn two_halves() -> Vec<(&'static str, String)> {
        let stop = r#""unattributed":[{"portal":"home","endpoint":"rest","method":"user.current","http_method":"POST","token":"foreign","status":401,"error":"invalid_token","modelled":true}],"stopped":"the handler stopped answering after valid/c","#;
        vec![
            (
                "b.json",
                report(
                    r#""2/2""#,
                    &[case("valid/b", 1, "fail", "no-server-error"), r#"{"id":"valid/d","index":3,"outcome":"not-run","reason":"not run: the handler stopped answering after valid/c"}"#.to_owned()],
                    stop,
                    700,
                ),
            ),
            (
                "a.json",
                report(
                    r#""1/2""#,
                    &[case("install/onappinstall", 0, "pass", "accepts-valid"), case("valid/c", 2, "pass", "no-server-error")],
                    "",
                    900,
                ),
            ),
        ]
    }

    #[test]
    fn two_partitions_merge_into_the_whole_in_plan_order() {
        let merged = merged(&two_halves()).unwrap();
        let events: Vec<String> = merged
            .events()
            .map(|event| match event {
                Event::Started(info) => {
                    format!("started {} {} {:?} {}", info.handler, info.seed, info.partition, info.cases)
                }
                Event::Judged(case) => format!("judged {} {}", case.id, case.outcome.label()),
                Event::NotRun { id, index, reason } => format!("not-run {id} {index} {reason}"),
                Event::Unattributed(call) => format!("unattributed {call}"),
                Event::Ended(end) => format!("ended {} {:?} {:?}", end.summary.line(false), end.stopped, end.notes),
                Event::Answered { .. } => "answered".to_owned(),
            })
            .collect();
        assert_eq!(
            events,
            [
                "started builtin:reference 24 None 4",
                "judged install/onappinstall pass",
                "judged valid/b fail",
                "judged valid/c pass",
                "not-run valid/d 3 not run: the handler stopped answering after valid/c",
                "unattributed home: POST user.current, foreign token → 401 invalid_token",
                "ended 3 cases: 2 passed, 0 warned, 1 failed, 0 errored; 0 checks not exercised, 0 cases not modelled \
                 Some(\"partition 2/2: the handler stopped answering after valid/c\") [\"n\"]",
            ]
        );
        assert_eq!(merged.end.summary.duration_ms, 900, "the slowest partition's time");
        assert_eq!(merged.exit_code(), 1);
        // The body's bytes are read back as written: a NUL and a non-ASCII character survive.
        let Some(Event::Judged(first)) = merged.events().nth(1) else { panic!("a judged case") };
        assert_eq!(first.response.as_ref().unwrap().body, "<p>é\0</p>".as_bytes());
    }

    #[test]
    fn parts_of_different_runs_or_splits_are_refused() {
        let mut parts = two_halves();
        parts[0].1 = parts[0].1.replace(r#""2/2""#, r#""1/2""#);
        let error = merged(&parts).unwrap_err().to_string();
        assert_eq!(error, "merge: a.json and b.json are both partition 1/2");

        let mut parts = two_halves();
        parts.remove(0);
        let error = merged(&parts).unwrap_err().to_string();
        assert_eq!(error, "merge: partition 2/2 is missing: give the reports of each of 1/2 … 2/2");

        let mut parts = two_halves();
        parts[0].1 = parts[0].1.replace(r#""2/2""#, r#""2/3""#);
        let error = merged(&parts).unwrap_err().to_string();
        assert_eq!(error, "merge: a.json is partition 1/2, b.json is partition 2/3: parts of different splits");

        let mut parts = two_halves();
        parts[0].1 = parts[0].1.replace(r#""seed":24"#, r#""seed":25"#);
        let error = merged(&parts).unwrap_err().to_string();
        assert_eq!(error, "merge: a.json and b.json are not parts of one run: seed 24 in one, 25 in the other");

        let mut parts = two_halves();
        parts[0].1 = parts[0].1.replace(r#""index":1"#, r#""index":2"#);
        let error = merged(&parts).unwrap_err().to_string();
        assert_eq!(error, "merge: case valid/c (index 2) is in both a.json and b.json");

        let mut parts = two_halves();
        parts[0].1 = parts[0].1.replace(r#""partition":"2/2""#, r#""partition":null"#);
        let error = merged(&parts).unwrap_err().to_string();
        assert!(error.starts_with("merge: b.json is the report of a whole run"), "{error}");

        let mut parts = two_halves();
        parts[0].1 = parts[0].1.replace(r#""version":""#, r#""version":"0.0."#);
        let error = merged(&parts).unwrap_err().to_string();
        assert!(error.starts_with("merge: b.json was written by b24-conform 0.0."), "{error}");
    }

    #[test]
    fn a_check_this_version_does_not_know_is_named_with_its_file_and_case() {
        let mut parts = two_halves();
        parts[0].1 = parts[0].1.replacen(r#""id":"no-server-error""#, r#""id":"no-such-check""#, 1);
        let error = merged(&parts).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "merge: b.json is not a b24-conform JSON report: case valid/b: unknown check `no-such-check`; \
                 this version's checks are: no-server-error, "
            ),
            "{error}"
        );
    }
}
