//! Known deviations, for CI gates: a TOML file of failures (case id + check id, each with a
//! reason and an optional expiry date) that are reported but do not fail the run. Only failures
//! that fail the run are recorded: never a warning (`should`), nor a case the harness did not
//! model. A failure not
//! in it fails the run; an entry past its date fails again; an entry whose case now passes the
//! check is reported as fixed, so the file can shrink. `--baseline-update` rewrites it from a run.
//!
//! ```toml
//! [[deviation]]
//! case = "options/not-json"
//! check = "no-server-error"
//! reason = "json_decode without a guard; fix scheduled in TICKET-12"
//! expires = 2027-01-31
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::checks;
use crate::record::{BaselineReport, CaseReport, Date, Deviation, Outcome, Verdict};

/// A baseline file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {path}: {reason}; create it with --baseline-update")]
    Read { path: String, reason: String },
    #[error("baseline {path}:{line}:{column}: {message}")]
    Invalid { path: String, line: usize, column: usize, message: String },
    #[error("cannot write baseline {path}: {reason}")]
    Write { path: String, reason: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    deviation: Vec<Deviation>,
}

/// A baseline file's deviations.
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    pub path: PathBuf,
    pub deviations: Vec<Deviation>,
}

impl Baseline {
    /// Reads `path`; a file that does not exist is an empty baseline when `may_be_missing`.
    pub fn load(path: &Path, may_be_missing: bool) -> Result<Baseline, BaselineError> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if may_be_missing && e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(BaselineError::Read { path: shown, reason: e.to_string() }),
        };
        let at = |offset: usize, message: String| {
            let before = &text[..offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
            BaselineError::Invalid { path: shown.clone(), line, column, message }
        };
        let file: File =
            toml::from_str(&text).map_err(|e| at(e.span().map_or(0, |s| s.start), e.message().trim().to_owned()))?;
        for deviation in &file.deviation {
            if checks::find(&deviation.check).is_none() {
                let known = checks::ALL.iter().map(|c| c.id).collect::<Vec<_>>().join(", ");
                let offset = text.find(&format!("\"{}\"", deviation.check)).unwrap_or(0);
                return Err(at(offset, format!("unknown check `{}`; the checks are: {known}", deviation.check)));
            }
            if deviation.reason.trim().is_empty() {
                let offset = text.find(&format!("\"{}\"", deviation.case)).unwrap_or(0);
                return Err(at(offset, format!("the deviation of `{}` has no reason", deviation.case)));
            }
        }
        Ok(Baseline { path: path.to_owned(), deviations: file.deviation })
    }

    fn find(&self, case: &str, check: &str) -> Option<&Deviation> {
        self.deviations.iter().find(|d| d.case == case && d.check == check)
    }

    /// Judges a case's `verdicts` against the baseline as of `today`, as the case is judged:
    /// an accepted failure becomes `known`; one whose entry expired keeps failing and says since
    /// when.
    pub fn judge(&self, case: &str, verdicts: &mut [Verdict], today: Date) {
        for verdict in verdicts.iter_mut().filter(|v| v.outcome.is_failure()) {
            let Some(deviation) = self.find(case, verdict.id) else { continue };
            match deviation.expires.filter(|_| deviation.expired(today)) {
                Some(date) => verdict.message.push_str(&format!(" (its baseline entry expired on {date})")),
                None => verdict.outcome = Outcome::Known,
            }
        }
    }

    /// Writes the baseline to its file, whole or not at all.
    pub fn save(&self) -> Result<(), BaselineError> {
        let failed =
            |e: std::io::Error| BaselineError::Write { path: self.path.display().to_string(), reason: e.to_string() };
        let file_name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temporary = self.path.with_file_name(format!(".{file_name}.partial"));
        std::fs::write(&temporary, self.to_toml()).map_err(failed)?;
        std::fs::rename(&temporary, &self.path).map_err(failed)
    }

    fn to_toml(&self) -> String {
        // JSON strings are TOML basic strings: any id or reason is quoted safely.
        let quote = |text: &str| serde_json::Value::String(text.to_owned()).to_string();
        let mut out = String::from(
            "# Known deviations (b24-conform --baseline): reported, not failing the run, until `expires`.\n",
        );
        for d in &self.deviations {
            out.push_str(&format!(
                "\n[[deviation]]\ncase = {}\ncheck = {}\nreason = {}\n",
                quote(&d.case),
                quote(&d.check),
                quote(&d.reason)
            ));
            if let Some(date) = d.expires {
                out.push_str(&format!("expires = {date}\n"));
            }
        }
        out
    }
}

/// What a baseline makes of a run, summed up as its cases are judged: the known, expired and
/// fixed entries for the reports, and the file `--baseline-update` writes. It keeps the
/// baseline's entries and the run's failures, never the cases.
pub struct Tally {
    baseline: Baseline,
    today: Date,
    /// The entries of each case id, by their position in the baseline.
    by_case: HashMap<String, Vec<usize>>,
    /// Whether each entry's case ran.
    ran: Vec<bool>,
    report: BaselineReport,
    /// The entries of the updated file for the cases that ran, in the order they failed.
    failing: Vec<Deviation>,
}

impl Tally {
    pub fn new(baseline: Baseline, today: Date) -> Tally {
        let mut by_case: HashMap<String, Vec<usize>> = HashMap::new();
        for (n, deviation) in baseline.deviations.iter().enumerate() {
            by_case.entry(deviation.case.clone()).or_default().push(n);
        }
        let report = BaselineReport { file: baseline.path.display().to_string(), ..BaselineReport::default() };
        Tally { ran: vec![false; baseline.deviations.len()], baseline, today, by_case, report, failing: Vec::new() }
    }

    /// Counts one judged case (judged with [`Baseline::judge`]).
    pub fn observe(&mut self, case: &CaseReport) {
        let today = self.today;
        for verdict in &case.checks {
            let Some(deviation) = self.baseline.find(&case.id, verdict.id) else { continue };
            if verdict.outcome == Outcome::Known {
                self.report.known.push(deviation.clone());
            } else if verdict.outcome.is_failure() && deviation.expired(today) {
                self.report.expired.push(deviation.clone());
            }
        }
        for &n in self.by_case.get(&case.id).into_iter().flatten() {
            self.ran[n] = true;
            let deviation = &self.baseline.deviations[n];
            let still = case
                .checks
                .iter()
                .any(|v| v.id == deviation.check && (v.outcome.is_failure() || v.outcome == Outcome::Known));
            if !still {
                self.report.fixed.push(deviation.clone());
            }
        }
        let known = case.checks.iter().filter(|v| v.outcome == Outcome::Known);
        for verdict in case.run_failures().chain(known) {
            let deviation = self.baseline.find(&case.id, verdict.id).cloned().unwrap_or_else(|| Deviation {
                case: case.id.clone(),
                check: verdict.id.to_owned(),
                reason: format!(
                    "recorded by --baseline-update on {today}: {}",
                    verdict.message.lines().next().unwrap_or_default()
                ),
                expires: None,
            });
            self.failing.push(deviation);
        }
    }

    /// What the baseline made of the run so far.
    pub fn report(&self) -> BaselineReport {
        self.report.clone()
    }

    /// The baseline after the run: every failure of the run, with the reason and date of its
    /// existing entry or a new entry saying when it was recorded; entries of cases the run did
    /// not select are kept, fixed ones dropped.
    pub fn updated(&self) -> Baseline {
        let kept = self.baseline.deviations.iter().zip(&self.ran).filter(|(_, ran)| !**ran).map(|(d, _)| d);
        let mut deviations: Vec<Deviation> = kept.chain(&self.failing).cloned().collect();
        deviations.sort_by(|a, b| (&a.case, &a.check).cmp(&(&b.case, &b.check)));
        deviations.dedup();
        Baseline { path: self.baseline.path.clone(), deviations }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::CaseOutcome;

    #[test]
    fn dates() {
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_517).to_string(), "2026-03-05");
        assert_eq!(Date::from_days(11_016).to_string(), "2000-02-29");
        assert!("2027-01-31".parse::<Date>().unwrap() > "2026-12-31".parse().unwrap());
        for wrong in ["2027-1-31", "2027-13-01", "27-01-31", "2027-01-31T00:00", "soon"] {
            assert!(wrong.parse::<Date>().is_err(), "{wrong}");
        }
    }

    #[test]
    fn known_expired_and_fixed_reach_the_reports() {
        let deviation = |case: &str, check: &str, expires: Option<&str>| Deviation {
            case: case.into(),
            check: check.into(),
            reason: format!("TICKET {case}"),
            expires: expires.map(|d| d.parse().unwrap()),
        };
        let baseline = Baseline {
            path: PathBuf::from("known.toml"),
            deviations: vec![
                deviation("missing/member_id", "rejects-invalid", Some("2999-01-01")),
                deviation("options/hang", "no-server-error", Some("2000-01-01")),
                deviation("valid/one", "no-server-error", None),
            ],
        };
        let mut report = crate::report::sample::report();
        let today = "2026-11-25".parse().unwrap();
        let mut tally = Tally::new(baseline.clone(), today);
        for case in &mut report.cases {
            baseline.judge(&case.id, &mut case.checks, today);
            case.rejudge();
            tally.observe(case);
        }
        report.recount();
        report.baseline = Some(tally.report());
        let outcomes: Vec<_> = report.cases.iter().map(|c| c.outcome).collect();
        assert_eq!(outcomes, [CaseOutcome::Pass, CaseOutcome::Known, CaseOutcome::Error]);
        assert_eq!((report.summary.known, report.summary.failed, report.summary.errored), (1, 0, 1));
        assert_eq!(report.exit_code(), 1, "the expired entry fails again");
        let outcome = report.baseline.as_ref().unwrap();
        assert_eq!((outcome.known.len(), outcome.expired.len(), outcome.fixed.len()), (1, 1, 1));
        assert!(report.cases[2].checks[0].message.ends_with("(its baseline entry expired on 2000-01-01)"));

        let markdown = crate::report::sample::render_report(crate::report::Format::Markdown, &report);
        assert!(markdown.contains("Baseline `known.toml`: 1 known, 1 expired, 1 fixed."), "{markdown}");
        assert!(
            markdown.contains("- Fixed, remove it from the baseline: `valid/one` `no-server-error`: TICKET valid/one"),
            "{markdown}"
        );
        let html = crate::report::sample::render_report(crate::report::Format::Html, &report);
        assert!(
            html.contains("<tr><th>Baseline</th><td><code>known.toml</code>: 1 known, 1 expired, 1 fixed</td></tr>")
        );
        assert!(html.contains("<span class=\"badge known\">KNOWN</span><code>missing/member_id</code>"), "{html}");
        let junit = crate::report::sample::render_report(crate::report::Format::Junit, &report);
        assert!(junit.contains("rejects-invalid (known deviation, baseline): answered 200"), "{junit}");
        assert_eq!(junit.matches("<failure ").count(), 0, "{junit}");

        // The updated file: the known failure and the expired one, whose case still fails; the
        // fixed entry dropped.
        let updated: Vec<_> = tally.updated().deviations.into_iter().map(|d| (d.case, d.check)).collect();
        assert_eq!(
            updated,
            [("missing/member_id".into(), "rejects-invalid".into()), ("options/hang".into(), "no-server-error".into())]
        );
    }

    #[test]
    fn a_written_baseline_reads_back() {
        let baseline = Baseline {
            path: PathBuf::from("b.toml"),
            deviations: vec![
                Deviation {
                    case: "a/b#1".into(),
                    check: "no-server-error".into(),
                    reason: "\"why\"\n".into(),
                    expires: None,
                },
                Deviation {
                    case: "c".into(),
                    check: "snapshot".into(),
                    reason: "r".into(),
                    expires: Some("2027-01-31".parse().unwrap()),
                },
            ],
        };
        let file: File = toml::from_str(&baseline.to_toml()).unwrap();
        assert_eq!(file.deviation, baseline.deviations);
        let quoted: File =
            toml::from_str("[[deviation]]\ncase='c'\ncheck='snapshot'\nreason='r'\nexpires='2027-01-31'\n").unwrap();
        assert_eq!(quoted.deviation[0].expires, baseline.deviations[1].expires);
    }
}
