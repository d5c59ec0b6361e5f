//! A small report for the renderers' unit tests: a pass, a failure and an error, with what a
//! hostile handler can put into a report (markup, fences, XML-illegal characters) in every field
//! the handler controls.

use std::time::Duration;

use super::{CaseOutcome, CaseReport, RunReport};
use crate::checks::{Outcome, Verdict};
use crate::fire::HttpResponse;
use crate::payload::{HttpRequest, Wire};
use crate::portal::{Endpoint, PortalCall, Role, TokenRole};
use crate::suite::{Evidence, EvidenceKind, Expectation, Level};

/// Markup, a fence longer than any a renderer starts with, an XML CDATA end, a character XML 1.0
/// forbids, and a control character.
pub const HOSTILE: &str = "<script>alert('x')</script> ```````` ]]> \u{ffff} \u{7} & \"q\"";

pub fn report() -> RunReport {
    let required = Evidence {
        key: "required".into(),
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/api-reference/landing/embedding/settings.html".into(),
        quote: "Required parameters are marked with *".into(),
        note: None,
    };
    let survive = Evidence {
        key: "survive".into(),
        kind: EvidenceKind::Inference,
        url: "docs/protocol.md#survive".into(),
        quote: "handlers must not crash either way".into(),
        note: None,
    };
    let request = |body: &str| HttpRequest {
        method: "POST".into(),
        url: "http://127.0.0.1:9/handler?DOMAIN=127.0.0.1%3A1&PROTOCOL=0".into(),
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        body: body.as_bytes().to_vec(),
    };
    let case = |id: &str, evidence: &Evidence, expect, outcome, request: HttpRequest| CaseReport {
        id: id.into(),
        title: format!("{id} <b>title</b>"),
        level: Level::Must,
        evidence: evidence.clone(),
        expect,
        outcome,
        not_modelled: None,
        checks: vec![Verdict {
            id: "no-server-error",
            level: Level::Must,
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
        draw: None,
    };
    let answer = |content_type: &str, body: &str| HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), content_type.into())],
        body: body.as_bytes().to_vec(),
        length: body.len() as u64,
        sha256: None,
        truncated: false,
        note: None,
        elapsed_ms: 7,
    };

    let mut passed = case("valid/one", &required, Expectation::Accept, CaseOutcome::Pass, request("AUTH_ID=a"));
    passed.response = Some(answer("text/html", "<html>fine</html>"));

    let mut failed =
        case("missing/member_id", &required, Expectation::Reject, CaseOutcome::Fail, request(&format!("x={HOSTILE}")));
    failed.response = Some(answer(&format!("text/html; x={HOSTILE}"), &format!("<p>{HOSTILE}</p>")));
    failed.checks.push(Verdict {
        id: "rejects-invalid",
        level: Level::Must,
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
        modelled: true,
        binding: None,
        batch: None,
    });

    let mut errored =
        case("options/hang", &survive, Expectation::Tolerate, CaseOutcome::Error, request("PLACEMENT_OPTIONS=%7B"));
    errored.checks = vec![Verdict {
        id: "no-server-error",
        level: Level::Must,
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

/// The same report with the failure of `missing/member_id` at level should: a warning.
pub fn with_warning() -> RunReport {
    let mut report = report();
    let case = &mut report.cases[1];
    for verdict in &mut case.checks {
        verdict.level = Level::Should;
    }
    case.rejudge();
    report.recount();
    report
}
