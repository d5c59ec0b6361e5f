//! Status checks. Between them they split the status space so one defect trips one check: a 5xx
//! belongs to `no-server-error` alone; the other two judge only 1xx–4xx answers.

use super::{Check, Citation, Finding, Grade, fail, pass, skip};
use crate::record::{Exchange, PortalCall};
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
    judge: |_, exchange, _| judge_server_error(exchange),
};

fn judge_server_error(exchange: &Exchange) -> Finding {
    match &exchange.response {
        Err(error) => fail(format!("no answer: {error}")),
        // RFC 9110 §15: "Values outside the range 100..599 are invalid … A client that receives a
        // response with an invalid status code SHOULD process the response as if it had a 5xx".
        Ok(r) if r.status > 599 => fail(format!(
            "status {} is not an HTTP status (RFC 9110 §15: 100–599); a client treats it as a 5xx (Server Error)",
            r.status
        )),
        // The portal was overloaded or failed first, and the handler passed that on: better to
        // pause and call again, but the fault began upstream.
        Ok(r) if (502..=504).contains(&r.status) && exchange.portal_calls.iter().any(overloaded) => {
            let message = format!(
                "answered {} after the portal refused a call (QUERY_LIMIT_EXCEEDED or a 5xx): \
                 passed the portal's overload on; pause and call again instead",
                r.status
            );
            fail(message).at(Level::Should)
        }
        // The app was removed from that Bitrix24 (ONAPPUNINSTALL) and the handler passed the
        // portal's refusal on: a 4xx would say so, but nothing is harmed.
        Ok(r) if r.status >= 500 && exchange.portal_calls.iter().any(removed) => fail(format!(
            "answered {} after the portal answered APPLICATION_NOT_FOUND: the app is no longer installed there, which a 4xx says",
            r.status
        ))
        .at(Level::Should),
        // RFC 9110 §15.6.2: 501 is "the appropriate response when the server does not recognize
        // the request method" (Python's http.server answers it to any method without a handler).
        // For a method Bitrix24 never sends it harms nothing; 405 says it better.
        Ok(r) if r.status == 501 && exchange.request.method != "POST" => fail(format!(
            "answered 501 to {}: a method the handler does not serve deserves 405 (Method Not Allowed), but 501 harms nothing",
            exchange.request.method
        ))
        .at(Level::Should),
        Ok(r) if r.status >= 500 => fail(format!("answered {} (a server error)", r.status)),
        Ok(r) => pass(format!("answered {}", r.status)),
    }
}

/// A call the portal refused because the app is no longer installed on it.
fn removed(call: &PortalCall) -> bool {
    call.error.as_deref() == Some("APPLICATION_NOT_FOUND")
}

/// A call the portal refused for its own load or failure, not for anything the handler sent.
fn overloaded(call: &PortalCall) -> bool {
    call.status >= 500 || call.error.as_deref() == Some("QUERY_LIMIT_EXCEEDED")
}

pub const ACCEPTS_VALID: Check = Check {
    id: "accepts-valid",
    level: Grade::OfCase,
    title: "A request Bitrix24 sends is answered 2xx",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/api-reference/landing/embedding/settings.html",
        quote: "The handler responds with a regular HTML page — Bitrix24 displays it in a frame in place of the widget.",
    },
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
    level: Grade::OfCase,
    title: "A request Bitrix24 never sends is answered 4xx",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/settings/cloud-and-on-premise/security-recommendations.html",
        quote: "Reject requests with incorrect data formats",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Outcome;
    use crate::record::fixture::{call, exchange};

    /// Only a gateway answer to the portal's own overload or failure is lowered to should.
    #[test]
    fn the_portals_overload_passed_on_is_a_warning() {
        let call = |status: u16, error: &str| call(status, Some(error));
        let judge = |answer: u16, calls: Vec<PortalCall>| {
            let finding = judge_server_error(&exchange("http://h/", answer, "", calls));
            (finding.outcome, finding.level)
        };
        let limited = || vec![call(503, "QUERY_LIMIT_EXCEEDED")];
        assert_eq!(judge(503, limited()), (Outcome::Fail, Some(Level::Should)));
        assert_eq!(judge(502, vec![call(500, "INTERNAL_SERVER_ERROR")]), (Outcome::Fail, Some(Level::Should)));
        assert_eq!(judge(500, limited()), (Outcome::Fail, None), "a crash is no gateway answer");
        assert_eq!(
            judge(502, vec![call(401, "expired_token")]),
            (Outcome::Fail, None),
            "the portal was not overloaded"
        );
        assert_eq!(judge(502, Vec::new()), (Outcome::Fail, None));
        assert_eq!(judge(501, Vec::new()), (Outcome::Fail, None), "501 to the POST Bitrix24 sends is a crash");
        assert_eq!(judge(200, limited()), (Outcome::Pass, None));
        // A 5xx that passes the portal's APPLICATION_NOT_FOUND on (the app was removed): a warning.
        assert_eq!(judge(502, vec![call(401, "APPLICATION_NOT_FOUND")]), (Outcome::Fail, Some(Level::Should)));
    }

    /// RFC 9110 §15: a status past 599 is invalid, and a client treats it as a 5xx.
    #[test]
    fn a_status_past_599_is_no_http_status() {
        let finding = judge_server_error(&exchange("http://h/", 999, "<p>hi</p>", Vec::new()));
        assert_eq!((finding.outcome, finding.level), (Outcome::Fail, None));
        assert!(finding.message.starts_with("status 999 is not an HTTP status"), "{}", finding.message);
        assert_eq!(
            judge_server_error(&exchange("http://h/", 599, "", Vec::new())).message,
            "answered 599 (a server error)"
        );
    }

    /// 501 to a method Bitrix24 never sends is the standard answer for an unknown method.
    #[test]
    fn not_implemented_for_another_method_is_a_warning() {
        let answered = |method: &str| {
            let mut exchange = exchange("http://h/", 501, "", Vec::new());
            exchange.request.method = method.into();
            let finding = judge_server_error(&exchange);
            (finding.outcome, finding.level)
        };
        assert_eq!(answered("PUT"), (Outcome::Fail, Some(Level::Should)));
        assert_eq!(answered("POST"), (Outcome::Fail, None));
    }
}
