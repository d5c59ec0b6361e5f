//! Status checks. Between them they split the status space so one defect trips one check: a 5xx
//! belongs to `no-server-error` alone; the other two judge only 1xx–4xx answers.

use super::{Check, Citation, Finding, Grade, fail, pass, skip};
use crate::fire::Exchange;
use crate::suite::{Case, EvidenceKind, Expectation, Level};

pub const NO_SERVER_ERROR: Check = Check {
    id: "no-server-error",
    level: Grade::Fixed(Level::Must),
    title: "Every request gets an answer, and never a 5xx",
    evidence: Citation {
        kind: EvidenceKind::Specification,
        url: "https://www.rfc-editor.org/rfc/rfc9110#section-15.6",
        quote: "The 5xx (Server Error) class of status code indicates that the server is aware that it has erred or is incapable of performing the requested method.",
    },
    judge: |_, exchange, _| {
        match &exchange.response {
        Err(error) => fail(format!("no answer: {error}")),
        // The portal was overloaded or failed first, and the handler passed that on: better to
        // pause and call again, but the fault began upstream.
        Ok(r) if (502..=504).contains(&r.status) && exchange.portal_calls.iter().any(overloaded) => fail(format!(
            "answered {} after the portal refused a call (QUERY_LIMIT_EXCEEDED or a 5xx): passed the portal's overload on; pause and call again instead",
            r.status
        ))
        .at(Level::Should),
        // The app was removed from that Bitrix24 (ONAPPUNINSTALL) and the handler passed the
        // portal's refusal on: a 4xx would say so, but nothing is harmed.
        Ok(r) if r.status >= 500 && exchange.portal_calls.iter().any(removed) => fail(format!(
            "answered {} after the portal answered APPLICATION_NOT_FOUND: the app is no longer installed there, which a 4xx says",
            r.status
        ))
        .at(Level::Should),
        Ok(r) if r.status >= 500 => fail(format!("answered {} (a server error)", r.status)),
        Ok(r) => pass(format!("answered {}", r.status)),
    }
    },
};

/// A call the portal refused because the app is no longer installed on it.
fn removed(call: &crate::portal::PortalCall) -> bool {
    call.error.as_deref() == Some("APPLICATION_NOT_FOUND")
}

/// A call the portal refused for its own load or failure, not for anything the handler sent.
fn overloaded(call: &crate::portal::PortalCall) -> bool {
    call.status >= 500 || call.error.as_deref() == Some("QUERY_LIMIT_EXCEEDED")
}

pub const ACCEPTS_VALID: Check = Check {
    id: "accepts-valid",
    level: Grade::OfCase,
    title: "A request Bitrix24 sends is answered 2xx",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/api-reference/landing/embedding/settings.html",
        quote: "Data is transmitted as a POST request",
    },
    judge: |case, exchange, _| judge_status(case, exchange, Expectation::Accept, 200..300, "a request Bitrix24 sends"),
};

pub const REJECTS_INVALID: Check = Check {
    id: "rejects-invalid",
    level: Grade::OfCase,
    title: "A request Bitrix24 never sends is answered 4xx",
    evidence: Citation {
        kind: EvidenceKind::Specification,
        url: "https://www.rfc-editor.org/rfc/rfc9110#section-15.5",
        quote: "The 4xx (Client Error) class of status code indicates that the client seems to have erred.",
    },
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
) -> Finding {
    if case.expect != applies_to {
        return skip(format!("the case expects {:?}", case.expect).to_lowercase());
    }
    match &exchange.response {
        Err(_) => skip("no answer (no-server-error judges it)"),
        Ok(r) if r.status >= 500 => skip(format!("answered {} (no-server-error judges it)", r.status)),
        Ok(r) if wanted.contains(&r.status) => pass(format!("answered {}", r.status)),
        Ok(r) => fail(format!("answered {} to {what}; expected {}xx ({})", r.status, wanted.start / 100, case.title)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Outcome, Settings};
    use crate::fire::HttpResponse;
    use crate::install::{self, InstallForm};
    use crate::payload::HttpRequest;
    use crate::portal::{Endpoint, PortalCall, Role, TokenRole};

    /// A 5xx that follows the portal's APPLICATION_NOT_FOUND passes the removal on: a warning;
    /// any other 5xx stays a failure at the check's level.
    #[test]
    fn a_server_error_after_the_app_was_removed_is_a_warning() {
        let case = install::case(InstallForm::Frame);
        let call = |error: &str| PortalCall {
            owner: Some(0),
            portal: Role::Home,
            endpoint: Endpoint::Rest,
            method: "user.current".into(),
            http_method: "POST".into(),
            token: TokenRole::Given,
            status: 401,
            error: Some(error.to_owned()),
            late: false,
            modelled: true,
            binding: None,
            batch: None,
        };
        let judge = |calls: Vec<PortalCall>| {
            let exchange = Exchange {
                request: HttpRequest { method: "POST".into(), url: "http://h/".into(), headers: vec![], body: vec![] },
                response: Ok(HttpResponse {
                    status: 502,
                    headers: vec![],
                    body: Vec::new(),
                    truncated: false,
                    elapsed_ms: 1,
                }),
                portal_calls: calls,
            };
            let finding = (NO_SERVER_ERROR.judge)(&case, &exchange, &Settings::default());
            (finding.outcome, finding.level)
        };
        assert_eq!(judge(vec![call("APPLICATION_NOT_FOUND")]), (Outcome::Fail, Some(Level::Should)));
        assert_eq!(judge(vec![call("invalid_token")]), (Outcome::Fail, None));
    }
}
