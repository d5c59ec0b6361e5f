//! The exchange against its reviewed snapshot. Unlike the other checks it needs the stored
//! snapshot, which the run reads (`crate::snapshot`) when a snapshots directory is in use and
//! then judges with `crate::snapshot::compare`; without one, this judge is all there is.

use super::{Check, Severity, skip};

pub const SNAPSHOT: Check = Check {
    id: crate::snapshot::CHECK_ID,
    severity: Severity::Error,
    title: "The exchange (status, headers that matter, normalised body, portal calls) matches its reviewed snapshot",
    doc: "Issue 5: a handler's answers change only when reviewed; insta-format snapshots in the snapshots directory",
    judge: |_, _, _| skip("no snapshots directory in use (--snapshots DIR)"),
};
