//! `merge`: the JSON reports of the partitions of one run (`run --partition K/N`, one CI job
//! each) read back and joined into the report of the whole run. The merged run is replayed as
//! the events a run emits, so every report format is written by the same writers as a run's.
//!
//! Memory stays flat however many cases: a first pass reads each report through, checking every
//! case and keeping only its index and id; the second streams the cases of all parts side by
//! side (each part lists its cases in the plan's order) and hands each on as it comes.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::payload::Wire;
use crate::record::{BaselineReport, CaseReport, Event, PortalCall, RunEnd, RunInfo, Summary};
use crate::run::Observer;

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
    #[error(
        "merge: {path}: case {id} (index {index}) comes after index {before}; a report lists its cases in the plan's order"
    )]
    Order { path: String, id: String, index: usize, before: usize },
    #[error("merge: case {id} (index {index}) is in both {first} and {second}")]
    CaseTwice { id: String, index: usize, first: String, second: String },
    #[error("merge: cannot write the merged report: {0}")]
    Write(#[from] io::Error),
}

const TOOL: &str = env!("CARGO_PKG_NAME");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Cases read ahead of the merge, per part.
const READ_AHEAD: usize = 64;

/// The partitions of one run, checked to belong together, ready to be replayed as one run.
#[derive(Debug)]
pub struct Merged {
    info: RunInfo,
    /// The parts' files, in partition order.
    files: Vec<PathBuf>,
    unattributed: Vec<PortalCall>,
    baseline: Option<BaselineReport>,
    stopped: Option<String>,
    notes: Vec<String>,
    /// The partitions ran side by side: the whole took as long as the slowest.
    duration_ms: u64,
}

impl Merged {
    /// Reads the JSON reports at `paths` through and checks that they are the partitions
    /// 1/N … N/N of one run, each once, with no case in two of them.
    pub fn read(paths: &[PathBuf]) -> Result<Merged, MergeError> {
        let parts = paths.iter().map(|path| Part::read(path)).collect::<Result<Vec<_>, _>>()?;
        Merged::join(parts)
    }

    fn join(mut parts: Vec<Part>) -> Result<Merged, MergeError> {
        parts.sort_by(|a, b| (a.partition.0, &a.shown).cmp(&(b.partition.0, &b.shown)));
        belong_together(&parts)?;
        let cases = each_case_once(&parts)?;
        let head = &parts[0].report;
        let info = RunInfo {
            tool: TOOL,
            version: VERSION,
            handler: head.handler.clone(),
            seed: head.seed,
            wire: head.wire,
            partition: None,
            cases,
            // What a run tells before its first case (the portal's OAuth client, its CA) was
            // for the handler of that run; the reports do not keep it.
            notes: Vec::new(),
        };
        let mut merged = Merged {
            info,
            files: Vec::new(),
            unattributed: Vec::new(),
            baseline: None,
            stopped: None,
            notes: Vec::new(),
            duration_ms: 0,
        };
        let mut stopped = Vec::new();
        for part in parts {
            let report = part.report;
            merged.files.push(part.path);
            merged.duration_ms = merged.duration_ms.max(report.summary.duration_ms);
            merged.unattributed.extend(report.unattributed);
            if let Some(sentence) = report.stopped {
                stopped.push(format!("partition {}: {sentence}", report.partition.unwrap_or_default()));
            }
            for note in report.notes {
                if !merged.notes.contains(&note) {
                    merged.notes.push(note);
                }
            }
            if let Some(part_baseline) = report.baseline {
                let baseline = merged
                    .baseline
                    .get_or_insert_with(|| BaselineReport { file: part_baseline.file.clone(), ..Default::default() });
                // The installation runs in every partition: its deviations may come more than once.
                for (into, from) in [
                    (&mut baseline.known, part_baseline.known),
                    (&mut baseline.expired, part_baseline.expired),
                    (&mut baseline.fixed, part_baseline.fixed),
                ] {
                    for deviation in from {
                        if !into.contains(&deviation) {
                            into.push(deviation);
                        }
                    }
                }
            }
        }
        merged.stopped = (!stopped.is_empty()).then(|| stopped.join("; "));
        Ok(merged)
    }

    /// Streams the merged run into `observer` as a run emits it: started, each case in the
    /// order of the whole plan (judged, or not run), the calls no case owns, ended with the
    /// summary counted over all parts. Returns the exit code, as a run's.
    pub fn stream(&self, observer: &mut dyn Observer) -> Result<u8, MergeError> {
        observer.event(&Event::Started(&self.info))?;
        let mut summary = Summary { duration_ms: self.duration_ms, ..Summary::default() };
        // Some case got an HTTP answer: a run knows it from its firing, a report from the answers
        // and redirects it holds. (An answer that broke is kept only as its error's text: parts
        // whose every answer broke merge into exit 3 where their run ended 1; both fail.)
        let mut answered = false;
        std::thread::scope(|scope| {
            let mut streams: Vec<Stream> = self
                .files
                .iter()
                .map(|path| {
                    let (to, from) = sync_channel(READ_AHEAD);
                    let reader = scope.spawn(move || stream_cases(path, to));
                    Stream { from, reader, next: None }
                })
                .collect();
            for stream in &mut streams {
                stream.next = stream.from.recv().ok();
            }
            let emitted = (|| -> io::Result<()> {
                // The smallest index at the head of a part is the next case of the whole plan.
                while let Some(stream) =
                    streams.iter_mut().filter(|s| s.next.is_some()).min_by_key(|s| s.next.as_ref().map(Entry::index))
                {
                    let upcoming = stream.from.recv().ok();
                    let Some(entry) = std::mem::replace(&mut stream.next, upcoming) else { break };
                    match &entry {
                        Entry::Judged(case) => {
                            summary.count(case);
                            answered |= case.response.is_some() || !case.redirects.is_empty();
                            observer.event(&Event::Judged(case))?;
                        }
                        Entry::NotRun(case) => {
                            summary.cases += 1;
                            summary.not_run += 1;
                            observer.event(&case.event())?;
                        }
                    }
                }
                Ok(())
            })();
            // Readers still sending stop when their channel closes.
            let readers: Vec<_> = streams.into_iter().map(|s| s.reader).collect();
            let read = readers
                .into_iter()
                .map(|r| r.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect::<Result<Vec<_>, _>>();
            emitted?;
            read.map(drop)
        })?;
        for call in &self.unattributed {
            observer.event(&Event::Unattributed(call))?;
        }
        let end = RunEnd {
            summary,
            baseline: self.baseline.clone(),
            stopped: self.stopped.clone(),
            answered,
            notes: self.notes.clone(),
        };
        observer.event(&Event::Ended(&end))?;
        Ok(end.exit_code())
    }
}

/// Checks that `parts`, sorted by partition, are the partitions 1/N … N/N of one run, each once.
fn belong_together(parts: &[Part]) -> Result<(), MergeError> {
    let first = parts.first().ok_or(MergeError::NoReports)?;
    for pair in parts.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.partition == b.partition {
            let partition = format!("{}/{}", a.partition.0, a.partition.1);
            return Err(MergeError::Twice { first: a.shown.clone(), second: b.shown.clone(), partition });
        }
    }
    let n = first.partition.1;
    for part in parts {
        if part.partition.1 != n {
            return Err(MergeError::Split {
                first: first.shown.clone(),
                second: part.shown.clone(),
                a: first.report.partition.clone().unwrap_or_default(),
                b: part.report.partition.clone().unwrap_or_default(),
            });
        }
        let differs = |field: &'static str, a: String, b: String| {
            (a != b).then(|| MergeError::Mismatch {
                first: first.shown.clone(),
                second: part.shown.clone(),
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
    // Without repeats, the parts are 1..=N exactly when none of 1..=N is missing.
    match (1..=n).find(|k| !parts.iter().any(|p| p.partition.0 == *k)) {
        Some(missing) => Err(MergeError::Missing { missing: format!("{missing}/{n}"), n }),
        None => Ok(()),
    }
}

/// Checks that no case is in two of `parts`; returns how many cases they hold together.
fn each_case_once(parts: &[Part]) -> Result<usize, MergeError> {
    let mut all: Vec<(usize, &str, &str)> = parts
        .iter()
        .flat_map(|part| part.report.cases.0.iter().map(|(index, id)| (*index, id.as_str(), part.shown.as_str())))
        .collect();
    all.sort_by_key(|&(index, _, _)| index);
    match all.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        Some(pair) => {
            let ((index, id, first), (_, _, second)) = (pair[0], pair[1]);
            let (id, first, second) = (id.to_owned(), first.to_owned(), second.to_owned());
            Err(MergeError::CaseTwice { id, index, first, second })
        }
        None => Ok(all.len()),
    }
}

/// One part's cases as they are read: the next one to merge, and the reader of the rest.
struct Stream<'scope> {
    from: Receiver<Entry>,
    reader: std::thread::ScopedJoinHandle<'scope, Result<(), MergeError>>,
    next: Option<Entry>,
}

/// Reads the report at `path` and sends its cases down `to`, one at a time, until the last or
/// until no one listens.
fn stream_cases(path: &Path, to: SyncSender<Entry>) -> Result<(), MergeError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| MergeError::Read { path: shown.clone(), reason: e.to_string() })?;
    let mut reader = serde_json::Deserializer::from_reader(BufReader::new(file));
    match CasesOf(to).deserialize(&mut reader) {
        Ok(()) => Ok(()),
        // The merge stopped listening (it could not write): nothing to report here.
        Err(e) if e.to_string().starts_with(STOPPED) => Ok(()),
        Err(e) => Err(MergeError::Invalid { path: shown, reason: e.to_string() }),
    }
}

const STOPPED: &str = "the merge stopped reading";

/// A report's `cases`, each sent on as it is read; every other key skipped.
struct CasesOf(SyncSender<Entry>);

impl<'de> DeserializeSeed<'de> for CasesOf {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CasesOf {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a b24-conform JSON report")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "cases" => map.next_value_seed(EachCase(|entry| self.0.send(entry).map_err(|_| STOPPED.to_owned())))?,
                _ => map.next_value::<IgnoredAny>().map(drop)?,
            }
        }
        Ok(())
    }
}

/// The `cases` array of a report, each case handed to the function as it is read, none kept; an
/// error of the function's stops the reading.
struct EachCase<F>(F);

impl<'de, F: FnMut(Entry) -> Result<(), String>> DeserializeSeed<'de> for EachCase<F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Entry) -> Result<(), String>> Visitor<'de> for EachCase<F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the cases of a report")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<Entry>()? {
            (self.0)(entry).map_err(A::Error::custom)?;
        }
        Ok(())
    }
}

/// A case a partition did not fire, and why.
#[derive(Debug, Deserialize)]
struct NotRun {
    id: String,
    index: usize,
    reason: String,
}

impl NotRun {
    fn event(&self) -> Event<'_> {
        Event::NotRun { id: &self.id, index: self.index, reason: &self.reason }
    }
}

/// One partition's report, as the first pass read it, and the file it came from.
struct Part {
    path: PathBuf,
    shown: String,
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
        if report.tool != TOOL || report.version != VERSION {
            return Err(MergeError::Version { path: shown, tool: report.tool, version: report.version });
        }
        if let Some(pair) = report.cases.0.windows(2).find(|pair| pair[0].0 >= pair[1].0) {
            let ((before, _), (index, id)) = (&pair[0], &pair[1]);
            return Err(MergeError::Order { path: shown, id: id.clone(), index: *index, before: *before });
        }
        let Some(text) = report.partition.clone() else { return Err(MergeError::Unpartitioned { path: shown }) };
        let parsed = text.split_once('/').and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)));
        match parsed {
            Some((k, n)) if 1 <= k && k <= n => Ok(Part { path: path.to_owned(), shown, partition: (k, n), report }),
            _ => Err(MergeError::Partition { path: shown, text }),
        }
    }
}

/// The JSON report of a run, as its writer streams it, its cases read through and checked.
#[derive(Deserialize)]
struct PartReport {
    tool: String,
    version: String,
    handler: String,
    seed: u64,
    wire: Wire,
    partition: Option<String>,
    cases: Scanned,
    #[serde(default)]
    unattributed: Vec<PortalCall>,
    #[serde(default)]
    baseline: Option<BaselineReport>,
    #[serde(default)]
    stopped: Option<String>,
    #[serde(default)]
    notes: Vec<String>,
    summary: Timing,
}

/// Of a part's summary, what the merge keeps: its cases are counted again.
#[derive(Deserialize)]
struct Timing {
    duration_ms: u64,
}

/// A report's cases read through, each checked and dropped: their indices and ids, in order.
struct Scanned(Vec<(usize, String)>);

impl<'de> Deserialize<'de> for Scanned {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scanned, D::Error> {
        let mut cases = Vec::new();
        EachCase(|entry: Entry| {
            cases.push((entry.index(), entry.id().to_owned()));
            Ok(())
        })
        .deserialize(deserializer)?;
        Ok(Scanned(cases))
    }
}

/// One case of a report's `cases`: judged, or not run (`"outcome": "not-run"`).
#[derive(Debug)]
enum Entry {
    Judged(Box<CaseReport>),
    NotRun(NotRun),
}

impl Entry {
    fn index(&self) -> usize {
        match self {
            Entry::Judged(case) => case.index,
            Entry::NotRun(case) => case.index,
        }
    }

    fn id(&self) -> &str {
        match self {
            Entry::Judged(case) => &case.id,
            Entry::NotRun(case) => &case.id,
        }
    }
}

impl<'de> Deserialize<'de> for Entry {
    /// Each case is read on its own, so that what is wrong in one (a check this version does not
    /// know) is reported with the case's id.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entry, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let id = value.get("id").and_then(|v| v.as_str()).unwrap_or("(no id)").to_owned();
        let wrong = |e: serde_json::Error| D::Error::custom(format!("case {id}: {e}"));
        if value.get("outcome").and_then(|v| v.as_str()) == Some("not-run") {
            return NotRun::deserialize(value).map(Entry::NotRun).map_err(wrong);
        }
        CaseReport::deserialize(value).map(|case| Entry::Judged(Box::new(case))).map_err(wrong)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A case's answer as the JSON report writes it.
    const ANSWER: &str =
        r#""response":{"status":200,"headers":[],"body":"<p>é\u0000</p>","length":9,"truncated":false,"elapsed_ms":3}"#;

    /// A case as the JSON report writes it, with index `index` and outcome `outcome` (its one
    /// verdict `no-server-error` failing when the case does).
    fn case(id: &str, index: usize, outcome: &str, check: &str) -> String {
        let verdict = if outcome == "fail" { "fail" } else { "pass" };
        format!(
            r#"{{"id":"{id}","index":{index},"title":"t","level":"must",
            "evidence":{{"key":"post","kind":"documentation","url":"https://apidocs.bitrix24.com/x.html","quote":"q"}},
            "expect":"accept","outcome":"{outcome}",
            "checks":[{{"id":"{check}","level":"must","outcome":"{verdict}","message":"answered 200"}}],
            "request":{{"method":"POST","url":"http://127.0.0.1:1/","headers":[],"body":"a=1","length":3}},
            {ANSWER},
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

    /// Writes `reports` (name, text) into a directory of the test's own, merges them and
    /// streams the merge: each event as a line, and the exit code; an error's message names the
    /// files by name alone.
    fn merged(test: &str, reports: &[(&str, String)]) -> Result<(Vec<String>, u8), String> {
        let dir = std::env::temp_dir().join(format!("b24-conform-merge-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let paths: Vec<PathBuf> = reports
            .iter()
            .map(|(name, text)| {
                std::fs::write(dir.join(name), text).unwrap();
                dir.join(name)
            })
            .collect();
        let mut events = Vec::new();
        let replayed = Merged::read(&paths).and_then(|merged| {
            merged.stream(&mut |event: &Event<'_>| {
                events.push(match event {
                    Event::Started(info) => {
                        format!("started {} {} {:?} {}", info.handler, info.seed, info.partition, info.cases)
                    }
                    Event::Judged(case) => format!("judged {} {}", case.id, case.outcome.label()),
                    Event::NotRun { id, index, reason } => format!("not-run {id} {index} {reason}"),
                    Event::Unattributed(call) => format!("unattributed {call}"),
                    Event::Ended(end) => format!(
                        "ended {} in {} ms {:?} {:?}",
                        end.summary.line(false),
                        end.summary.duration_ms,
                        end.stopped,
                        end.notes
                    ),
                    Event::Answered { .. } => "answered".to_owned(),
                });
                Ok(())
            })
        });
        std::fs::remove_dir_all(&dir).unwrap();
        replayed.map(|code| (events, code)).map_err(|e| e.to_string().replace(&format!("{}/", dir.display()), ""))
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
        let (events, code) = merged("whole", &two_halves()).unwrap();
        assert_eq!(
            events,
            [
                "started builtin:reference 24 None 4",
                "judged install/onappinstall pass",
                "judged valid/b fail",
                "judged valid/c pass",
                "not-run valid/d 3 not run: the handler stopped answering after valid/c",
                "unattributed home: POST user.current, foreign token → 401 invalid_token",
                "ended 4 cases: 2 passed, 0 warned, 1 failed, 0 errored, 1 not run; 0 checks not exercised, 0 cases \
                 not modelled in 900 ms Some(\"partition 2/2: the handler stopped answering after valid/c\") [\"n\"]",
            ]
        );
        assert_eq!(code, 1);
    }

    #[test]
    fn parts_in_which_no_case_was_answered_end_as_a_run_that_could_not_happen() {
        let silent = |id: &str, index: usize| {
            case(id, index, "error", "no-server-error")
                .replace(ANSWER, r#""response":null,"error":"could not connect to http://127.0.0.1:1/: refused""#)
        };
        let parts = [
            ("a.json", report(r#""1/2""#, &[silent("install/onappinstall", 0), silent("valid/c", 2)], "", 5)),
            ("b.json", report(r#""2/2""#, &[silent("valid/b", 1)], "", 5)),
        ];
        assert_eq!(merged("silent", &parts).unwrap().1, 3);
        // One answer among them, and the handler was judged: its errors fail the run.
        let mut parts = parts;
        parts[1].1 = report(r#""2/2""#, &[case("valid/b", 1, "pass", "no-server-error")], "", 5);
        assert_eq!(merged("one-answer", &parts).unwrap().1, 1);
    }

    #[test]
    fn a_case_reads_back_as_written() {
        let Entry::Judged(case) =
            serde_json::from_str::<Entry>(&case("valid/c", 2, "pass", "no-server-error")).unwrap()
        else {
            panic!("a judged case")
        };
        // A NUL and a non-ASCII character survive.
        assert_eq!(case.response.unwrap().body.bytes, "<p>é\0</p>".as_bytes());
    }

    #[test]
    fn parts_of_different_runs_or_splits_are_refused() {
        type Reports = Vec<(&'static str, String)>;
        let refused = |test: &str, edit: &dyn Fn(&mut Reports)| {
            let mut parts = two_halves();
            edit(&mut parts);
            merged(test, &parts).unwrap_err()
        };
        let error = refused("twice", &|parts| parts[0].1 = parts[0].1.replace(r#""2/2""#, r#""1/2""#));
        assert_eq!(error, "merge: a.json and b.json are both partition 1/2");

        let error = refused("missing", &|parts| drop(parts.remove(0)));
        assert_eq!(error, "merge: partition 2/2 is missing: give the reports of each of 1/2 … 2/2");

        let error = refused("split", &|parts| parts[0].1 = parts[0].1.replace(r#""2/2""#, r#""2/3""#));
        assert_eq!(error, "merge: a.json is partition 1/2, b.json is partition 2/3: parts of different splits");

        let error = refused("seed", &|parts| parts[0].1 = parts[0].1.replace(r#""seed":24"#, r#""seed":25"#));
        assert_eq!(error, "merge: a.json and b.json are not parts of one run: seed 24 in one, 25 in the other");

        let error = refused("case", &|parts| parts[0].1 = parts[0].1.replace(r#""index":1"#, r#""index":2"#));
        assert_eq!(error, "merge: case valid/c (index 2) is in both a.json and b.json");

        let error = refused("order", &|parts| parts[0].1 = parts[0].1.replace(r#""index":3"#, r#""index":0"#));
        assert_eq!(
            error,
            "merge: b.json: case valid/d (index 0) comes after index 1; a report lists its cases in the plan's order"
        );

        let error = refused("unpartitioned", &|parts| {
            parts[0].1 = parts[0].1.replace(r#""partition":"2/2""#, r#""partition":null"#)
        });
        assert!(error.starts_with("merge: b.json is the report of a whole run"), "{error}");

        let error =
            refused("version", &|parts| parts[0].1 = parts[0].1.replace(r#""version":""#, r#""version":"0.0."#));
        assert!(error.starts_with("merge: b.json was written by b24-conform 0.0."), "{error}");
    }

    #[test]
    fn a_check_this_version_does_not_know_is_named_with_its_file_and_case() {
        let mut parts = two_halves();
        parts[0].1 = parts[0].1.replacen(r#""id":"no-server-error""#, r#""id":"no-such-check""#, 1);
        let error = merged("unknown-check", &parts).unwrap_err();
        assert!(
            error.starts_with(
                "merge: b.json is not a b24-conform JSON report: case valid/b: unknown check `no-such-check`; \
                 this version's checks are: no-server-error, "
            ),
            "{error}"
        );
    }
}
