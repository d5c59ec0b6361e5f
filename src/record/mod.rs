//! The data of a run: the request sent, the handler's answer, the calls it made to the portals,
//! the checks' verdicts and the events of a run. The engines (payload, fire, portal, run) make
//! it; checks, reports, baselines and snapshots read it. It depends on nothing downstream.

mod baseline;
mod call;
mod event;
#[cfg(test)]
pub(crate) mod fixture;
mod frame;
pub(crate) mod http;
mod verdict;

pub use baseline::{BaselineReport, Date, Deviation};
pub use call::{Endpoint, PortalCall, RepoBinding, Role, TokenRole};
pub use event::{Event, RunEnd, RunInfo};
pub use frame::{BrowserRequest, Colours, FRAME_LIST, FRAME_TEXT, FrameCommand, FrameRecord};
pub use http::{Body, Exchange, FireError, HttpRequest, HttpResponse, Redirect, SHOWN};
pub use verdict::{CaseOutcome, CaseReport, Outcome, Shrunk, Summary, Verdict};
