//! Judging a case, in one place: every check's verdict on its exchange (the `snapshot` check's
//! against the stored snapshot when the run has a snapshots directory), the baseline's known
//! deviations marked as the case is judged, and the case's outcome from them.

use std::sync::Arc;

use crate::baseline::Baseline;
use crate::checks::{self, Context, Settings};
use crate::record::{CaseReport, Date, Exchange};
use crate::snapshot::Snapshots;
use crate::suite::Case;

/// What a run judges its cases against.
pub struct Judge {
    pub settings: Settings,
    snapshots: Option<Arc<Snapshots>>,
    baseline: Option<Arc<Baseline>>,
    /// The day the run started: a baseline entry expires by it.
    today: Date,
}

impl Judge {
    pub fn new(settings: Settings, snapshots: Option<Snapshots>, baseline: Option<Baseline>, today: Date) -> Judge {
        Judge { settings, snapshots: snapshots.map(Arc::new), baseline: baseline.map(Arc::new), today }
    }

    /// Case `index`'s report. Snapshots are files: with them, the case is judged on a blocking
    /// thread, so no async worker waits on the disk.
    pub async fn judge(&self, case: Case, index: usize, exchange: Exchange) -> (Case, CaseReport) {
        let Some(snapshots) = self.snapshots.clone() else {
            let report = report(&case, index, exchange, self.settings, None, self.baseline.as_deref(), self.today);
            return (case, report);
        };
        let (settings, baseline, today) = (self.settings, self.baseline.clone(), self.today);
        let judged = tokio::task::spawn_blocking(move || {
            let report = report(&case, index, exchange, settings, Some(&snapshots), baseline.as_deref(), today);
            (case, report)
        })
        .await;
        judged.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

fn report(
    case: &Case,
    index: usize,
    exchange: Exchange,
    settings: Settings,
    snapshots: Option<&Snapshots>,
    baseline: Option<&Baseline>,
    today: Date,
) -> CaseReport {
    let mut verdicts = checks::check(case, &exchange, &Context { settings, snapshots });
    if let Some(baseline) = baseline {
        baseline.judge(&case.id, &mut verdicts, today);
    }
    CaseReport::new(case, index, exchange, verdicts)
}
