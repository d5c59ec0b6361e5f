//! The exchange against its reviewed snapshot. Unlike the other checks it needs the stored
//! snapshot, which the run reads (`crate::snapshot`) when a snapshots directory is in use and
//! then judges with `crate::snapshot::compare`; without one, this judge is all there is.

use super::{Check, Citation, Grade, skip};
use crate::suite::{EvidenceKind, Level};

pub const SNAPSHOT: Check = Check {
    id: crate::snapshot::CHECK_ID,
    level: Grade::Fixed(Level::Must),
    title: "The exchange (status, headers that matter, normalised body, portal calls) matches its reviewed snapshot",
    evidence: Citation {
        kind: EvidenceKind::Inference,
        url: "docs/protocol.md#reviewed-snapshots",
        quote: "A handler's answers change only when its author has reviewed and stored the new snapshot.",
    },
    judge: |_, _, _| skip("no snapshots directory in use (--snapshots DIR)"),
};
