//! Status checks. Between them they split the status space so one defect trips one check: a 5xx
//! belongs to `no-server-error` alone; the other two judge only 1xx–4xx answers.

use super::{Check, Outcome, Severity, fail, pass, skip};
use crate::fire::Exchange;
use crate::suite::{Case, Expectation};

pub const NO_SERVER_ERROR: Check = Check {
    id: "no-server-error",
    severity: Severity::Error,
    title: "Every request gets an answer, and never a 5xx",
    doc: "Handlers must cope with whatever the portal sends (PROTOCOL.md 1.1: \"handlers must not crash either way\")",
    judge: |_, exchange, _| match &exchange.response {
        Err(error) => fail(format!("no answer: {error}")),
        Ok(r) if r.status >= 500 => fail(format!("answered {} (a server error)", r.status)),
        Ok(r) => pass(format!("answered {}", r.status)),
    },
};

pub const ACCEPTS_VALID: Check = Check {
    id: "accepts-valid",
    severity: Severity::Error,
    title: "A request Bitrix24 sends is answered 2xx",
    doc: "Seed page, What the Handler Receives: \"Data is transmitted as a POST request\" with the fields listed",
    judge: |case, exchange, _| {
        // Sent to another origin, the browser leaves the frame for that page: the handler answered.
        if let Some(redirect) = exchange.left_for().filter(|_| case.expect == Expectation::Accept) {
            return pass(format!("answered {redirect}: the browser leaves the frame for that page"));
        }
        judge_status(case, exchange, Expectation::Accept, 200..300, "a request Bitrix24 sends")
    },
};

pub const REJECTS_INVALID: Check = Check {
    id: "rejects-invalid",
    severity: Severity::Error,
    title: "A request Bitrix24 never sends is answered 4xx",
    doc: "Seed page: \"Required parameters are marked with *\"; security-recommendations.md: validate all incoming params",
    judge: |case, exchange, _| {
        judge_status(case, exchange, Expectation::Reject, 400..500, "a request Bitrix24 never sends")
    },
};

fn judge_status(
    case: &Case,
    exchange: &Exchange,
    applies_to: Expectation,
    wanted: std::ops::Range<u16>,
    what: &str,
) -> (Outcome, String) {
    if case.expect != applies_to {
        return skip(format!("the case expects {:?}", case.expect).to_lowercase());
    }
    match &exchange.response {
        Err(_) => skip("no answer (no-server-error judges it)"),
        Ok(r) if r.status >= 500 => skip(format!("answered {} (no-server-error judges it)", r.status)),
        Ok(r) if wanted.contains(&r.status) => pass(format!("answered {}{}", r.status, after_redirects(exchange))),
        Ok(r) => fail(format!(
            "answered {}{} to {what}; expected {}xx ({})",
            r.status,
            after_redirects(exchange),
            wanted.start / 100,
            case.title
        )),
    }
}

/// ` after 303 to URL (followed), …` when the answer judged is the end of redirects the browser
/// follows.
fn after_redirects(exchange: &Exchange) -> String {
    let followed: Vec<String> = exchange.redirects.iter().filter(|r| r.followed).map(ToString::to_string).collect();
    match followed.is_empty() {
        true => String::new(),
        false => format!(" after {}", followed.join(", ")),
    }
}
