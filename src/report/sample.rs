//! A small report for the renderers' unit tests: a pass, a failure and an error, with what a
//! hostile handler can put into a report (markup, fences, XML-illegal characters) in every field
//! the handler controls.

use std::time::Duration;

use super::{CaseOutcome, CaseReport, RunReport};
use crate::checks::{Outcome, Severity, Verdict};
use crate::fire::HttpResponse;
use crate::payload::{HttpRequest, Wire};
use crate::portal::{Endpoint, PortalCall, Role, TokenRole};
use crate::suite::{DocRef, Expectation};

/// Markup, a fence longer than any a renderer starts with, an XML CDATA end, a character XML 1.0
/// forbids, and a control character.
pub const HOSTILE: &str = "<script>alert('x')</script> ```````` ]]> \u{ffff} \u{7} & \"q\"";

pub fn report() -> RunReport {
    let required = DocRef {
        key: "required".into(),
        source: "Seed page, What the Handler Receives".into(),
        quote: "Required parameters are marked with *".into(),
    };
    let survive = DocRef {
        key: "survive".into(),
        source: "PROTOCOL.md 1.1".into(),
        quote: "handlers must not crash either way".into(),
    };
    let request = |body: &str| HttpRequest {
        method: "POST".into(),
        url: "http://127.0.0.1:9/handler?DOMAIN=127.0.0.1%3A1&PROTOCOL=0".into(),
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        body: body.as_bytes().to_vec(),
    };
    let case = |id: &str, doc: &DocRef, expect, outcome, request: HttpRequest| CaseReport {
        id: id.into(),
        title: format!("{id} <b>title</b>"),
        doc: doc.clone(),
        expect,
        outcome,
        checks: vec![Verdict {
            id: "no-server-error",
            severity: Severity::Error,
            outcome: Outcome::Pass,
            message: "answered 200".into(),
        }],
        reproduce: request.to_curl(),
        request,
        redirects: Vec::new(),
        response: None,
        error: None,
        portal_calls: Vec::new(),
        shrunk: None,
    };
    let answer = |content_type: &str, body: &str| HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), content_type.into())],
        body: body.as_bytes().to_vec(),
        truncated: false,
        elapsed_ms: 7,
    };

    let mut passed = case("valid/one", &required, Expectation::Accept, CaseOutcome::Pass, request("AUTH_ID=a"));
    passed.response = Some(answer("text/html", "<html>fine</html>"));

    let mut failed =
        case("missing/member_id", &required, Expectation::Reject, CaseOutcome::Fail, request(&format!("x={HOSTILE}")));
    failed.response = Some(answer(&format!("text/html; x={HOSTILE}"), &format!("<p>{HOSTILE}</p>")));
    failed.checks.push(Verdict {
        id: "rejects-invalid",
        severity: Severity::Error,
        outcome: Outcome::Fail,
        message: format!("answered 200; expected 4xx {HOSTILE}"),
    });
    failed.portal_calls.push(PortalCall {
        owner: Some(1),
        portal: Role::Home,
        endpoint: Endpoint::Rest,
        method: format!("user.current{HOSTILE}"),
        http_method: "POST".into(),
        token: TokenRole::Given,
        status: 401,
        error: Some(format!("expired_token{HOSTILE}")),
        late: false,
        binding: None,
        batch: None,
    });

    let mut errored =
        case("options/hang", &survive, Expectation::Tolerate, CaseOutcome::Error, request("PLACEMENT_OPTIONS=%7B"));
    errored.checks = vec![Verdict {
        id: "no-server-error",
        severity: Severity::Error,
        outcome: Outcome::Fail,
        message: "no answer".into(),
    }];
    errored.error = Some(format!("no complete answer within 10000 ms {HOSTILE}"));

    RunReport::new(
        format!("http://127.0.0.1:9/{HOSTILE}"),
        24,
        Wire::Split,
        vec![passed, failed, errored],
        Duration::from_millis(1234),
    )
}
