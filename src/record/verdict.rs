//! What the checks found on a case, how the case ended, and the counts of a run.

use serde::{Deserialize, Deserializer, Serialize};

use super::{Exchange, FrameRecord, HttpRequest, HttpResponse, PortalCall, Redirect};
use crate::suite::{Case, Evidence, Expectation, Level, Origin, Replay};

/// A check's finding on one case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    #[serde(deserialize_with = "check_id")]
    pub id: CheckIdText,
    /// The level of a failure in this run: the check's, the case's, or lower where the judge says
    /// why; `--strict` makes every one `must`.
    pub level: Level,
    pub outcome: Outcome,
    pub message: String,
}

/// A check's id read back from a report: this version's own `&'static str` for it, so that a
/// report read back (`merge`) is the same data as the run's; an id this version does not know is
/// an error that names it.
fn check_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<&'static str, D::Error> {
    let id = String::deserialize(deserializer)?;
    crate::checks::find(&id).map(|check| check.id).ok_or_else(|| {
        let known = crate::checks::ALL.iter().map(|c| c.id).collect::<Vec<_>>().join(", ");
        serde::de::Error::custom(format!("unknown check `{id}`; this version's checks are: {known}"))
    })
}

/// A check's id. Spelled through this alias because serde borrows a field written `&str` from
/// its input, which a `&'static str` cannot be; `check_id` looks it up instead.
type CheckIdText = &'static str;

/// What a check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Pass,
    Fail,
    /// The check does not apply to this case, or another check owns what happened.
    Skip,
    /// The check applies, but the handler gave it nothing to judge (a token case in which it
    /// never called the portal): neither a pass nor a failure, and counted, so a vacuous pass
    /// shows.
    NotExercised,
    /// Nothing to compare with yet (a case without a reviewed snapshot): not a pass.
    New,
    /// A failure the run's baseline accepts (`--baseline`): reported, not failing the run.
    Known,
}

impl Outcome {
    /// The name reports use.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
            Outcome::NotExercised => "not-exercised",
            Outcome::New => "new",
            Outcome::Known => "known",
        }
    }

    /// Whether the verdict keeps its case from passing.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::New)
    }
}

/// How a case ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaseReport {
    pub id: String,
    /// The case's position in the whole, unpartitioned plan: the installation 0, the plan's
    /// cases from 1 in firing order.
    pub index: usize,
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<Redirect>,
    pub response: Option<HttpResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub portal_calls: Vec<PortalCall>,
    /// What the case's frame did in a real browser (`--browser`), when it was opened there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<FrameRecord>,
    /// A shell command that sends the same request.
    pub reproduce: String,
    /// For a failing generated case: the smallest draw that still fails the same way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrunk: Option<Box<Shrunk>>,
    /// For a generated case: its draw, as the regressions file records it (`group`, and `seed`
    /// as `0x` and 16 hex digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draw: Option<Replay>,
}

/// The smallest request a failing generated case shrank to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Shrunk {
    /// Candidates fired while shrinking.
    pub steps: usize,
    /// The mutations left on the valid request.
    pub mutations: Vec<crate::generate::Mutation>,
    pub request: HttpRequest,
    /// The checks it still fails.
    pub failures: Vec<Verdict>,
    pub reproduce: String,
    /// Why shrinking stopped before the smallest draw, when it did: out of candidates
    /// (`--shrink-budget`) or of time (`--shrink-time-ms`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl CaseReport {
    pub fn new(case: &Case, index: usize, exchange: Exchange, checks: Vec<Verdict>) -> CaseReport {
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
            frame: exchange.frame,
            ..CaseReport::unanswered(case, index, exchange.request, checks)
        };
        report.rejudge();
        report
    }

    /// `case`'s report before anything came back for `request`.
    fn unanswered(case: &Case, index: usize, request: HttpRequest, checks: Vec<Verdict>) -> CaseReport {
        CaseReport {
            id: case.id.clone(),
            index,
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
            frame: None,
            shrunk: None,
            draw: case.origin.as_ref().map(Origin::draw),
        }
    }

    /// The report of a case that could not be exercised: `request` is what would have been sent.
    /// The checks that would have judged its answer are not exercised, the others skipped, all
    /// saying why.
    pub fn not_exercised(case: &Case, index: usize, request: HttpRequest, reason: &str) -> CaseReport {
        let status_check = match case.expect {
            Expectation::Accept => Some("accepts-valid"),
            Expectation::Reject => Some("rejects-invalid"),
            Expectation::Tolerate => None,
        };
        // Never opened in a browser either: the frame's checks give no verdict.
        let checks = crate::checks::judging(false)
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
        let mut report = CaseReport::unanswered(case, index, request, checks);
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Cases not fired because the run stopped early (counted in `cases` too).
    pub not_run: usize,
    pub duration_ms: u64,
}

impl Summary {
    pub fn of(cases: &[CaseReport], duration_ms: u64) -> Summary {
        let mut summary = Summary::default();
        for case in cases {
            summary.count(case);
        }
        summary.duration_ms = duration_ms;
        summary
    }

    /// Counts one more judged case, so a run is summed up as its cases end, without keeping them.
    pub fn count(&mut self, case: &CaseReport) {
        self.cases += 1;
        let counter = match case.outcome {
            CaseOutcome::Pass => &mut self.passed,
            CaseOutcome::Warn => &mut self.warned,
            CaseOutcome::Fail => &mut self.failed,
            CaseOutcome::Error => &mut self.errored,
            CaseOutcome::Known => &mut self.known,
            CaseOutcome::NotModelled => &mut self.not_modelled,
        };
        *counter += 1;
        self.not_exercised += case.checks.iter().filter(|v| v.outcome == Outcome::NotExercised).count();
    }

    /// `261 cases: 250 passed, 3 warned, 0 failed, 0 errored; 12 checks not exercised, 1 case not
    /// modelled`, with the cases not run when the run stopped early and the known deviations when
    /// there is a baseline.
    pub fn line(&self, baseline: bool) -> String {
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "{}: {} passed, {} warned, {} failed, {} errored{}{}; {}, {}",
            plural(self.cases, "case", "cases"),
            self.passed,
            self.warned,
            self.failed,
            self.errored,
            if self.not_run > 0 { format!(", {} not run", self.not_run) } else { String::new() },
            if baseline { format!(", {} known", self.known) } else { String::new() },
            plural(self.not_exercised, "check not exercised", "checks not exercised"),
            plural(self.not_modelled, "case not modelled", "cases not modelled"),
        )
    }
}
