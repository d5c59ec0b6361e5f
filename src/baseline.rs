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

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::checks::{self, Outcome};
use crate::report::RunReport;

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

/// A calendar day, as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    year: u32,
    month: u32,
    day: u32,
}

impl Date {
    /// Today in UTC, from the system clock.
    pub fn today() -> Date {
        let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Date::from_days(seconds / 86_400)
    }

    /// The day `days` after 1970-01-01 (Howard Hinnant's civil-from-days, for days ≥ 0).
    fn from_days(days: u64) -> Date {
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400) as u32 + u32::from(month <= 2);
        Date { year, month, day }
    }
}

impl FromStr for Date {
    type Err = String;

    fn from_str(text: &str) -> Result<Date, String> {
        let wrong = || format!("{text:?} is not a date; write YYYY-MM-DD");
        let mut parts = text.split('-');
        let mut next = |len: usize| {
            parts
                .next()
                .filter(|p| p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse().ok())
        };
        let (Some(year), Some(month), Some(day)) = (next(4), next(2), next(2)) else { return Err(wrong()) };
        if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(wrong());
        }
        Ok(Date { year, month, day })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        // A TOML date (`expires = 2027-01-31`) or a string holding one.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Native(toml::value::Datetime),
            Text(String),
        }
        let text = match Written::deserialize(deserializer)? {
            Written::Native(datetime) => datetime.to_string(),
            Written::Text(text) => text,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One known deviation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    pub case: String,
    pub check: String,
    /// Why it is accepted for now: a ticket, a decision.
    pub reason: String,
    /// From this day on the deviation fails the run again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Date>,
}

impl Deviation {
    fn expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|date| date <= today)
    }
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

/// What a baseline made of a run, for the reports.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BaselineReport {
    pub file: String,
    /// Failures the baseline accepts: reported, not failing the run.
    pub known: Vec<Deviation>,
    /// Entries past their date whose failure is back to failing the run.
    pub expired: Vec<Deviation>,
    /// Entries whose case ran and no longer fails their check: remove them.
    pub fixed: Vec<Deviation>,
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

    /// Judges `report` against the baseline as of `today`: accepted failures become `known`
    /// (and a case whose failures are all known, `known`), expired entries keep failing, and
    /// entries whose case ran without that failure are listed as fixed.
    pub fn apply(&self, report: &mut RunReport, today: Date) {
        let mut outcome = BaselineReport { file: self.path.display().to_string(), ..BaselineReport::default() };
        for case in &mut report.cases {
            for verdict in case.checks.iter_mut().filter(|v| v.outcome.is_failure()) {
                let Some(deviation) = self.find(&case.id, verdict.id) else { continue };
                if deviation.expired(today) {
                    outcome.expired.push(deviation.clone());
                    if let Some(date) = deviation.expires {
                        verdict.message.push_str(&format!(" (its baseline entry expired on {date})"));
                    }
                } else {
                    verdict.outcome = Outcome::Known;
                    outcome.known.push(deviation.clone());
                }
            }
            case.rejudge();
        }
        for deviation in &self.deviations {
            let Some(case) = report.cases.iter().find(|c| c.id == deviation.case) else { continue };
            let still = case
                .checks
                .iter()
                .any(|v| v.id == deviation.check && (v.outcome.is_failure() || v.outcome == Outcome::Known));
            if !still {
                outcome.fixed.push(deviation.clone());
            }
        }
        report.recount();
        report.baseline = Some(outcome);
    }

    /// The baseline after `report`: every failure of the run, with the reason and date of its
    /// existing entry or a new entry saying when it was recorded; entries of cases the run did
    /// not select are kept, fixed ones dropped.
    pub fn updated(&self, report: &RunReport, today: Date) -> Baseline {
        let mut deviations: Vec<Deviation> =
            self.deviations.iter().filter(|d| !report.cases.iter().any(|c| c.id == d.case)).cloned().collect();
        for case in &report.cases {
            let known = case.checks.iter().filter(|v| v.outcome == Outcome::Known);
            for verdict in case.run_failures().chain(known) {
                let deviation = self.find(&case.id, verdict.id).cloned().unwrap_or_else(|| Deviation {
                    case: case.id.clone(),
                    check: verdict.id.to_owned(),
                    reason: format!(
                        "recorded by --baseline-update on {today}: {}",
                        verdict.message.lines().next().unwrap_or_default()
                    ),
                    expires: None,
                });
                deviations.push(deviation);
            }
        }
        deviations.sort_by(|a, b| (&a.case, &a.check).cmp(&(&b.case, &b.check)));
        Baseline { path: self.path.clone(), deviations }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::CaseOutcome;

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
        baseline.apply(&mut report, "2026-11-25".parse().unwrap());
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
