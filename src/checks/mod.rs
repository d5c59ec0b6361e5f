//! Checks: pure functions from a case and its exchange to a verdict. Each has a stable id, a
//! title, a grade and the evidence it enforces; each is proven by a fault of the reference
//! handler that it, and only it, flags.

mod frame;
mod injection;
mod install;
mod latency;
mod leak;
mod page;
mod snapshot;
mod status;
mod token;

use std::time::Duration;

use serde::Serialize;

use crate::record::{Exchange, Outcome, Verdict};
use crate::snapshot::Snapshots;
use crate::suite::{Case, EvidenceKind, Level};

/// The level of a check's failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grade {
    /// The same on every case.
    Fixed(Level),
    /// The case's own: a check that judges the answer a case expects weighs what the case does.
    OfCase,
}

impl Grade {
    /// `must`, `should`, or `of-case`.
    pub fn label(self) -> &'static str {
        match self {
            Grade::Fixed(level) => level.label(),
            Grade::OfCase => "of-case",
        }
    }

    fn of(self, case: &Case) -> Level {
        match self {
            Grade::Fixed(level) => level,
            Grade::OfCase => case.level,
        }
    }
}

impl Serialize for Grade {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

/// What a check rests on: a source a reader can open, quoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Citation {
    pub kind: EvidenceKind,
    /// A public https URL, or a path in the repository.
    pub url: &'static str,
    pub quote: &'static str,
}

/// What the user tunes about the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `latency-budget` fails an answer slower than this.
    pub latency_budget: Duration,
    /// Failures of `should` count as failures of `must`.
    pub strict: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { latency_budget: Duration::from_secs(3), strict: false }
    }
}

/// What the checks judge a case against besides its exchange: the user's settings and, when the
/// run compares exchanges with reviewed snapshots, those.
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    pub settings: Settings,
    pub snapshots: Option<&'a Snapshots>,
}

/// One named check.
#[derive(Serialize)]
pub struct Check {
    pub id: &'static str,
    pub level: Grade,
    pub title: &'static str,
    /// What it enforces, with its source.
    pub evidence: Citation,
    #[serde(skip)]
    judge: fn(&Case, &Exchange, &Context) -> Finding,
}

/// What a judge found on one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub outcome: Outcome,
    pub message: String,
    /// A level for this case alone, where the judge knows the failure weighs less than the check.
    pub level: Option<Level>,
}

impl Finding {
    /// This finding at `level`, whatever the check's.
    fn at(self, level: Level) -> Finding {
        Finding { level: Some(level), ..self }
    }
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
    frame::FRAME_INITIALISES,
    frame::FRAME_NO_ERRORS,
    frame::FRAME_VISIBLE,
    frame::FRAME_INSTALL_FINISH,
    frame::FRAME_REFRESH_AUTH,
    latency::LATENCY_BUDGET,
    snapshot::SNAPSHOT,
];

/// The check called `id`.
pub fn find(id: &str) -> Option<&'static Check> {
    ALL.iter().find(|c| c.id == id)
}

/// The checks that judge a case: every one when it was opened in a browser (`--browser`), else
/// all but the frame's, which then give no verdict at all: a run without a browser reports
/// exactly what it did before they existed.
pub fn judging(opened_in_browser: bool) -> impl Iterator<Item = &'static Check> {
    ALL.iter().filter(move |c| opened_in_browser || !frame::IDS.contains(&c.id))
}

/// Every check's verdict on one exchange.
pub fn check(case: &Case, exchange: &Exchange, context: &Context) -> Vec<Verdict> {
    judging(exchange.frame.is_some())
        .map(|c| {
            let Finding { outcome, message, level } = (c.judge)(case, exchange, context);
            let level = if context.settings.strict { Level::Must } else { level.unwrap_or_else(|| c.level.of(case)) };
            Verdict { id: c.id, level, outcome, message }
        })
        .collect()
}

fn finding(outcome: Outcome, message: impl Into<String>) -> Finding {
    Finding { outcome, message: message.into(), level: None }
}

fn pass(message: impl Into<String>) -> Finding {
    finding(Outcome::Pass, message)
}

fn fail(message: impl Into<String>) -> Finding {
    finding(Outcome::Fail, message)
}

fn skip(message: impl Into<String>) -> Finding {
    finding(Outcome::Skip, message)
}

fn not_exercised(message: impl Into<String>) -> Finding {
    finding(Outcome::NotExercised, message)
}
