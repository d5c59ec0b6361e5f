//! The exchange against its reviewed snapshot, when the run has a snapshots directory
//! (`crate::snapshot` reads the stored one and compares); without one there is nothing to
//! compare with.

use super::{Check, Citation, Finding, Grade, skip};
use crate::snapshot::CHECK_ID;
use crate::suite::{EvidenceKind, Level};

pub const SNAPSHOT: Check = Check {
    id: CHECK_ID,
    level: Grade::Fixed(Level::Must),
    title: "The exchange (status, headers that matter, normalised body, portal calls) matches its reviewed snapshot",
    evidence: Citation {
        kind: EvidenceKind::Inference,
        url: "docs/protocol.md#reviewed-snapshots",
        quote: "A handler's answers change only when its author has reviewed and stored the new snapshot.",
    },
    judge: |case, exchange, context| match context.snapshots {
        Some(snapshots) => {
            let (outcome, message) = snapshots.judge(case, exchange);
            Finding { outcome, message, level: None }
        }
        None => skip("no snapshots directory in use (--snapshots DIR)"),
    },
};
