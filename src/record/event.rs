//! The events of a run, in the order they happen: what runs, each case as it is answered and
//! then judged for good, the calls no case owns, and the end. Every consumer (progress, each
//! report writer, baseline, regressions) reads these and nothing else.

use super::{BaselineReport, CaseReport, PortalCall, Summary};
use crate::payload::Wire;

/// What runs: written once, before the first case.
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub tool: &'static str,
    pub version: &'static str,
    pub handler: String,
    pub seed: u64,
    pub wire: Wire,
    /// `K/N` when the run is one part of a partitioned run.
    pub partition: Option<String>,
    /// Cases planned, the installation included.
    pub cases: usize,
    /// Lines for the reader before the first case: where a handler started by hand finds the
    /// mock portal's OAuth client, and the run's CA.
    pub notes: Vec<String>,
}

/// How a run ended.
#[derive(Clone, Debug)]
pub struct RunEnd {
    pub summary: Summary,
    pub baseline: Option<BaselineReport>,
    /// Why the run stopped firing before the last case, when it did.
    pub stopped: Option<String>,
    /// Some case got an HTTP answer, even a broken one: a run whose cases never did could not
    /// judge the handler at all.
    pub answered: bool,
    /// Lines for the reader at the end: a TLS handshake warning, a hint about concurrency, the
    /// files written.
    pub notes: Vec<String>,
}

/// One thing that happened in a run.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    Started(&'a RunInfo),
    /// A case's answer came back (for progress: `done` of `total`).
    Answered {
        id: &'a str,
        done: usize,
        total: usize,
    },
    /// A case judged for good, in firing order: the installation first, then the plan's cases.
    Judged(&'a CaseReport),
    /// A case that was not fired, and why.
    NotRun {
        id: &'a str,
        index: usize,
        reason: &'a str,
    },
    /// A call to the portals that carried no token of the run.
    Unattributed(&'a PortalCall),
    Ended(&'a RunEnd),
}

impl RunEnd {
    /// 0 when every case passed; 1 when a case failed, errored or was not run; 3 when cases
    /// errored and none ever got an HTTP answer: nothing of the handler could be judged, so the
    /// run did not happen (DESIGN.md, CLI contract).
    pub fn exit_code(&self) -> u8 {
        let s = &self.summary;
        if !self.answered && s.errored > 0 { 3 } else { u8::from(s.failed + s.errored + s.not_run > 0) }
    }
}
