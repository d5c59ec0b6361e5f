//! Latency: the settings slider waits for the page; a slow handler looks broken to the user.

use super::{Check, Severity, fail, pass, skip};

pub const LATENCY_BUDGET: Check = Check {
    id: "latency-budget",
    severity: Severity::Warning,
    title: "The answer comes within the latency budget (default 3 s, --latency-budget-ms)",
    doc: "The settings open in a slider that shows the frame only when it loads (seed page: the item opens in the left slider menu)",
    judge: |_, exchange, settings| {
        let Ok(response) = &exchange.response else { return skip("no answer") };
        let budget = settings.latency_budget.as_millis();
        if u128::from(response.elapsed_ms) > budget {
            return fail(format!("answered in {} ms; the budget is {budget} ms", response.elapsed_ms));
        }
        pass(format!("answered in {} ms of {budget} ms", response.elapsed_ms))
    },
};
