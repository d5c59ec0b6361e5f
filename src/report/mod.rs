//! Reports: the results of a run as data, and one renderer per format.

mod html;
mod human;
mod junit;
mod legacy;
mod markdown;
#[cfg(test)]
pub(crate) mod sample;

use std::borrow::Cow;
use std::time::Duration;

use serde::Serialize;

use crate::payload::Wire;
use crate::portal::PortalCall;
use crate::record::BaselineReport;
use crate::suite::Evidence;

pub use crate::record::{CaseOutcome, CaseReport, Shrunk, Summary};
pub use html::render_html;
pub use human::{render_human, render_human_in_colour};
pub use junit::render_junit;
pub use legacy::{Sink, SinkOptions, sink};
pub use markdown::render_markdown;

/// The formats a run's report is written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a person at a terminal.
    #[default]
    Human,
    /// One JSON document (summary, cases, checks, exchanges), for programs.
    Json,
    /// JUnit XML, for CI test-report viewers.
    Junit,
    /// For a pull-request comment.
    Markdown,
    /// One self-contained page, for a person reading cold.
    Html,
}

/// The report in `format`.
pub fn render(report: &RunReport, format: Format) -> String {
    match format {
        Format::Human => render_human(report),
        Format::Json => report.to_json() + "\n",
        Format::Junit => render_junit(report),
        Format::Markdown => render_markdown(report),
        Format::Html => render_html(report),
    }
}

/// A whole run, as `--format json` writes it (DESIGN.md, CLI contract).
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub tool: &'static str,
    pub version: &'static str,
    pub handler: String,
    pub seed: u64,
    pub wire: Wire,
    pub summary: Summary,
    pub cases: Vec<CaseReport>,
    /// What the baseline made of the run, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineReport>,
    /// Calls to the portals that carried no token of the run, so belong to no case.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unattributed: Vec<PortalCall>,
}

impl RunReport {
    pub fn new(handler: String, seed: u64, wire: Wire, cases: Vec<CaseReport>, duration: Duration) -> RunReport {
        let summary = Summary::of(&cases, duration.as_millis() as u64);
        RunReport {
            tool: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            handler,
            seed,
            wire,
            summary,
            cases,
            baseline: None,
            unattributed: Vec::new(),
        }
    }

    /// The summary's counts again, after the cases' outcomes changed (a baseline).
    pub fn recount(&mut self) {
        self.summary = Summary::of(&self.cases, self.summary.duration_ms);
    }

    /// 0 when every case passed, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.summary.failed + self.summary.errored > 0)
    }

    /// The summary line: the counts, then the seed and the time taken.
    pub fn summary_line(&self) -> String {
        format!(
            "{} (seed {}, {})",
            self.summary.line(self.baseline.is_some()),
            self.seed,
            seconds(self.summary.duration_ms)
        )
    }

    /// The cases grouped by the evidence they enforce, groups in the order their first case
    /// appears.
    pub fn groups(&self) -> Vec<(&Evidence, Vec<&CaseReport>)> {
        let mut groups: Vec<(&Evidence, Vec<&CaseReport>)> = Vec::new();
        for case in &self.cases {
            match groups.iter_mut().find(|(evidence, _)| evidence.key == case.evidence.key) {
                Some((_, cases)) => cases.push(case),
                None => groups.push((&case.evidence, vec![case])),
            }
        }
        groups
    }

    /// The JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serialises")
    }
}

/// At most `cap` bytes of `bytes` as text, cut at a character boundary, and how many bytes were
/// left out. Reports show bodies this way so one huge answer cannot swamp them.
pub(crate) fn excerpt(bytes: &[u8], cap: usize) -> (Cow<'_, str>, usize) {
    if bytes.len() <= cap {
        return (String::from_utf8_lossy(bytes), 0);
    }
    // Step back over UTF-8 continuation bytes (at most three) so no character is cut in two.
    let mut cut = cap;
    while cut > cap.saturating_sub(3) && bytes[cut] & 0xC0 == 0x80 {
        cut -= 1;
    }
    (String::from_utf8_lossy(&bytes[..cut]), bytes.len() - cut)
}

/// Seconds, as reports show a duration.
pub(crate) fn seconds(ms: u64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_never_cuts_a_character_in_two() {
        assert_eq!(excerpt("abc".as_bytes(), 3), (Cow::Borrowed("abc"), 0));
        // "é" is two bytes: a cap in its middle keeps it out whole.
        assert_eq!(excerpt("aéb".as_bytes(), 2), (Cow::Borrowed("a"), 3));
        assert_eq!(excerpt("aéb".as_bytes(), 3), (Cow::Borrowed("aé"), 1));
        assert_eq!(excerpt(&[0xff; 8], 4).1, 4);
    }

    #[test]
    fn groups_keep_the_order_of_first_appearance() {
        let report = sample::report();
        let groups: Vec<(&str, Vec<&str>)> = report
            .groups()
            .into_iter()
            .map(|(evidence, cases)| (evidence.key.as_str(), cases.iter().map(|c| c.id.as_str()).collect()))
            .collect();
        assert_eq!(groups, [("required", vec!["valid/one", "missing/member_id"]), ("survive", vec!["options/hang"])]);
    }
}
