//! Checks: pure functions from a case and its exchange to a verdict. Each has a stable id, a
//! title, a severity and the documentation it enforces; each is proven by a fault of the
//! reference handler that it, and only it, flags.

mod injection;
mod install;
mod latency;
mod leak;
mod page;
mod status;
mod token;

use std::time::Duration;

use serde::Serialize;

use crate::fire::Exchange;
use crate::suite::Case;

/// Whether a failure fails the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A failure fails the case and the run.
    Error,
    /// A failure is reported; it fails the run only with `--strict`.
    Warning,
}

/// What the user tunes about the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `latency-budget` fails an answer slower than this.
    pub latency_budget: Duration,
    /// Warnings count as errors.
    pub strict: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { latency_budget: Duration::from_secs(3), strict: false }
    }
}

/// What a check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    /// The check does not apply to this case, or another check owns what happened.
    Skip,
}

/// A check's finding on one case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub id: &'static str,
    /// The check's severity in this run (`--strict` makes every one `error`).
    pub severity: Severity,
    pub outcome: Outcome,
    pub message: String,
}

/// One named check.
#[derive(Serialize)]
pub struct Check {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// The documentation it enforces, with its source.
    pub doc: &'static str,
    #[serde(skip)]
    judge: fn(&Case, &Exchange, &Settings) -> (Outcome, String),
}

/// Every check, in the order reports list them.
pub const ALL: &[Check] = &[
    status::NO_SERVER_ERROR,
    status::ACCEPTS_VALID,
    status::REJECTS_INVALID,
    page::HTML_RESPONSE,
    token::REFRESHES_EXPIRED_TOKEN,
    token::USES_GIVEN_TOKEN,
    token::TOKEN_STAYS_HOME,
    install::BINDS_LANDING_SETTINGS,
    injection::NO_REFLECTED_INJECTION,
    leak::NO_ERROR_LEAK,
    page::IFRAME_EMBEDDABLE,
    latency::LATENCY_BUDGET,
];

/// The check called `id`.
pub fn find(id: &str) -> Option<&'static Check> {
    ALL.iter().find(|c| c.id == id)
}

/// Every check's verdict on one exchange.
pub fn check(case: &Case, exchange: &Exchange, settings: &Settings) -> Vec<Verdict> {
    ALL.iter()
        .map(|c| {
            let (outcome, message) = (c.judge)(case, exchange, settings);
            let severity = if settings.strict { Severity::Error } else { c.severity };
            Verdict { id: c.id, severity, outcome, message }
        })
        .collect()
}

fn pass(message: impl Into<String>) -> (Outcome, String) {
    (Outcome::Pass, message.into())
}

fn fail(message: impl Into<String>) -> (Outcome, String) {
    (Outcome::Fail, message.into())
}

fn skip(message: impl Into<String>) -> (Outcome, String) {
    (Outcome::Skip, message.into())
}
