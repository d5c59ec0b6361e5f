//! Latency: the settings slider waits for the page; a slow handler looks broken to the user.

use super::{Check, Citation, Grade, fail, pass, skip};
use crate::suite::{EvidenceKind, Level};

pub const LATENCY_BUDGET: Check = Check {
    id: "latency-budget",
    level: Grade::Fixed(Level::Should),
    title: "The answer comes within the latency budget (default 3 s, --latency-budget-ms)",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/api-reference/widgets/universal/background-worker.html",
        quote: "If the response takes longer than five seconds and this happens more than ten times a day on the same Bitrix24, the handler registration is deleted.",
    },
    judge: |_, exchange, context| {
        let Ok(response) = &exchange.response else { return skip("no answer") };
        let budget = context.settings.latency_budget.as_millis();
        if u128::from(response.elapsed_ms) > budget {
            return fail(format!("answered in {} ms; the budget is {budget} ms", response.elapsed_ms));
        }
        pass(format!("answered in {} ms of {budget} ms", response.elapsed_ms))
    },
};
