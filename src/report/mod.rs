//! Reports: the results of a run as data, and one renderer per format.

mod html;
mod human;
mod junit;
mod markdown;
#[cfg(test)]
pub(crate) mod sample;

use std::borrow::Cow;
use std::time::Duration;

use serde::Serialize;

use crate::baseline::BaselineReport;
use crate::checks::{Outcome, Verdict};
use crate::fire::{Exchange, HttpResponse, Redirect};
use crate::payload::{HttpRequest, Wire};
use crate::portal::PortalCall;
use crate::suite::{Case, Evidence, Expectation, Level};

pub use html::render_html;
pub use human::{render_human, render_human_in_colour};
pub use junit::render_junit;
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

/// How a case ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseOutcome {
    Pass,
    /// Only checks at level `should` failed: a warning, which does not fail the run.
    Warn,
    /// A check at level `must` failed.
    Fail,
    /// The handler gave no answer at all.
    Error,
    /// Every failure is a known deviation of the run's baseline.
    Known,
    /// The case did not pass, but the handler called a REST method the mock portal does not
    /// model: what followed is the harness's gap, not the handler's fault.
    NotModelled,
}

impl CaseOutcome {
    pub fn label(self) -> &'static str {
        match self {
            CaseOutcome::Pass => "pass",
            CaseOutcome::Warn => "warn",
            CaseOutcome::Fail => "fail",
            CaseOutcome::Error => "error",
            CaseOutcome::Known => "known",
            CaseOutcome::NotModelled => "not-modelled",
        }
    }

    /// How a case with these verdicts ends: no answer is an error, a failure at `must` a
    /// failure, one at `should` a warning, known deviations known; and any of these but known
    /// is the harness's gap when the handler called a method the portal does not model.
    fn of(answered: bool, verdicts: &[Verdict], calls: &[PortalCall]) -> CaseOutcome {
        let failing = |level| verdicts.iter().any(|v| v.outcome.is_failure() && v.level == level);
        let outcome = if !answered {
            CaseOutcome::Error
        } else if failing(Level::Must) {
            CaseOutcome::Fail
        } else if failing(Level::Should) {
            CaseOutcome::Warn
        } else if verdicts.iter().any(|v| v.outcome == Outcome::Known) {
            CaseOutcome::Known
        } else {
            CaseOutcome::Pass
        };
        let unmodelled = calls.iter().any(|c| !c.modelled);
        match outcome {
            CaseOutcome::Warn | CaseOutcome::Fail | CaseOutcome::Error if unmodelled => CaseOutcome::NotModelled,
            outcome => outcome,
        }
    }
}

/// One case's result.
#[derive(Clone, Debug, Serialize)]
pub struct CaseReport {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub evidence: Evidence,
    pub expect: Expectation,
    pub outcome: CaseOutcome,
    /// For a case not modelled: "not modelled by the harness: METHOD".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_modelled: Option<String>,
    pub checks: Vec<Verdict>,
    pub request: HttpRequest,
    /// The redirects the handler answered with before `response`, followed or not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<Redirect>,
    pub response: Option<HttpResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub portal_calls: Vec<PortalCall>,
    /// A shell command that sends the same request.
    pub reproduce: String,
    /// For a failing generated case: the smallest draw that still fails the same way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrunk: Option<Box<Shrunk>>,
}

/// The smallest request a failing generated case shrank to.
#[derive(Clone, Debug, Serialize)]
pub struct Shrunk {
    /// Candidates fired while shrinking.
    pub steps: usize,
    /// The mutations left on the valid request.
    pub mutations: Vec<crate::generate::Mutation>,
    pub request: HttpRequest,
    /// The checks it still fails.
    pub failures: Vec<Verdict>,
    pub reproduce: String,
}

impl CaseReport {
    pub fn new(case: &Case, exchange: Exchange, checks: Vec<Verdict>) -> CaseReport {
        let (response, error) = match exchange.response {
            // The checks judged the body up to the cap; a report keeps what it shows.
            Ok(response) => (Some(response.shown()), None),
            Err(error) => (None, Some(error.to_string())),
        };
        let mut report = CaseReport {
            reproduce: exchange.request.to_curl(),
            redirects: exchange.redirects,
            response,
            error,
            portal_calls: exchange.portal_calls,
            ..CaseReport::unanswered(case, exchange.request, checks)
        };
        report.rejudge();
        report
    }

    /// `case`'s report before anything came back for `request`.
    fn unanswered(case: &Case, request: HttpRequest, checks: Vec<Verdict>) -> CaseReport {
        CaseReport {
            id: case.id.clone(),
            title: case.title.clone(),
            level: case.level,
            evidence: case.evidence.clone(),
            expect: case.expect,
            outcome: CaseOutcome::Pass,
            not_modelled: None,
            checks,
            reproduce: String::new(),
            request,
            redirects: Vec::new(),
            response: None,
            error: None,
            portal_calls: Vec::new(),
            shrunk: None,
        }
    }

    /// The report of a case that could not be exercised: `request` is what would have been sent.
    /// The checks that would have judged its answer are not exercised, the others skipped, all
    /// saying why.
    pub fn not_exercised(case: &Case, request: HttpRequest, reason: &str) -> CaseReport {
        let status_check = match case.expect {
            Expectation::Accept => Some("accepts-valid"),
            Expectation::Reject => Some("rejects-invalid"),
            Expectation::Tolerate => None,
        };
        let checks = crate::checks::ALL
            .iter()
            .map(|c| {
                let applies = c.id == "no-server-error"
                    || Some(c.id) == status_check
                    || (case.kind.installs() && c.id == "binds-landing-settings");
                Verdict {
                    id: c.id,
                    level: case.level,
                    outcome: if applies { Outcome::NotExercised } else { Outcome::Skip },
                    message: reason.to_owned(),
                }
            })
            .collect();
        let mut report = CaseReport::unanswered(case, request, checks);
        report.rejudge();
        report
    }

    /// Sets the case's outcome from its verdicts, as they are now (a baseline changes them).
    pub fn rejudge(&mut self) {
        // A case with no answer has an error; a case not exercised has neither.
        self.outcome = CaseOutcome::of(self.error.is_none(), &self.checks, &self.portal_calls);
        self.not_modelled = (self.outcome == CaseOutcome::NotModelled).then(|| {
            let mut methods: Vec<&str> = Vec::new();
            for call in self.portal_calls.iter().filter(|c| !c.modelled) {
                if !methods.contains(&call.method.as_str()) {
                    methods.push(&call.method);
                }
            }
            format!("not modelled by the harness: {}", methods.join(", "))
        });
    }

    /// The checks that failed, at any level, and new snapshots, which are not a pass either.
    pub fn failures(&self) -> impl Iterator<Item = &Verdict> {
        self.checks.iter().filter(|v| v.outcome.is_failure())
    }

    /// The failures that fail the run: at level `must`, in a case the harness modelled.
    pub fn run_failures(&self) -> impl Iterator<Item = &Verdict> {
        let judged = self.outcome != CaseOutcome::NotModelled;
        self.failures().filter(move |v| judged && v.level == Level::Must)
    }

    /// The failures that are warnings: at level `should`, in a case the harness modelled.
    pub fn warnings(&self) -> impl Iterator<Item = &Verdict> {
        let judged = self.outcome != CaseOutcome::NotModelled;
        self.failures().filter(move |v| judged && v.level == Level::Should)
    }
}

/// Counts of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub cases: usize,
    pub passed: usize,
    /// Cases that failed only checks at level `should`.
    pub warned: usize,
    pub failed: usize,
    pub errored: usize,
    /// Cases whose failures are all known deviations (`--baseline`).
    pub known: usize,
    /// Cases that called a REST method the mock portal does not model.
    pub not_modelled: usize,
    /// Verdicts, over all cases, of checks that applied but had nothing to judge.
    pub not_exercised: usize,
    pub duration_ms: u64,
}

impl Summary {
    fn of(cases: &[CaseReport], duration_ms: u64) -> Summary {
        let count = |outcome| cases.iter().filter(|c| c.outcome == outcome).count();
        let verdicts = cases.iter().flat_map(|c| &c.checks);
        Summary {
            cases: cases.len(),
            passed: count(CaseOutcome::Pass),
            warned: count(CaseOutcome::Warn),
            failed: count(CaseOutcome::Fail),
            errored: count(CaseOutcome::Error),
            known: count(CaseOutcome::Known),
            not_modelled: count(CaseOutcome::NotModelled),
            not_exercised: verdicts.filter(|v| v.outcome == Outcome::NotExercised).count(),
            duration_ms,
        }
    }

    /// `261 cases: 250 passed, 3 warned, 0 failed, 0 errored; 12 checks not exercised, 1 case not
    /// modelled`, with the known deviations when there is a baseline.
    pub fn line(&self, baseline: bool) -> String {
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "{}: {} passed, {} warned, {} failed, {} errored{}; {}, {}",
            plural(self.cases, "case", "cases"),
            self.passed,
            self.warned,
            self.failed,
            self.errored,
            if baseline { format!(", {} known", self.known) } else { String::new() },
            plural(self.not_exercised, "check not exercised", "checks not exercised"),
            plural(self.not_modelled, "case not modelled", "cases not modelled"),
        )
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
