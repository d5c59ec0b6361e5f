//! Token handling, judged from the calls the handler made to the mock portal.

use super::{Check, Severity, fail, pass, skip};
use crate::portal::{Endpoint, TokenRole};
use crate::suite::TokenState;

pub const REFRESHES_EXPIRED_TOKEN: Check = Check {
    id: "refreshes-expired-token",
    severity: Severity::Error,
    title: "A refused AUTH_ID is refreshed with REFRESH_ID and the call retried, or the answer is 401",
    doc: "Seed page: REFRESH_ID \"can be used to refresh the authorization token\"; auto-renewal.md: on expired_token refresh, then repeat the call (PROTOCOL.md 3)",
    judge: |case, exchange, _| {
        if case.token == TokenState::Valid {
            return skip("the case's token is valid");
        }
        let Ok(response) = &exchange.response else { return skip("no answer") };
        let rest: Vec<_> = exchange.portal_calls.iter().filter(|c| c.endpoint == Endpoint::Rest).collect();
        if rest.is_empty() {
            return skip("the handler made no REST call, so it never met the refused token");
        }
        if response.status >= 500 {
            return skip(format!("answered {} (no-server-error judges it)", response.status));
        }
        if response.status == 401 {
            return pass("answered 401");
        }
        if !(200..300).contains(&response.status) {
            return fail(format!(
                "answered {}; a refused token calls for a refresh and retry, or 401",
                response.status
            ));
        }
        // Every refused call must be made again, and succeed, with a token refreshed from the
        // case's own REFRESH_ID; otherwise the page shows what a failed call returned.
        let unrecovered = rest.iter().enumerate().find(|(i, call)| {
            !call.succeeded()
                && !rest[i + 1..].iter().any(|later| {
                    later.method == call.method && later.token == TokenRole::Refreshed && later.succeeded()
                })
        });
        match unrecovered {
            Some((_, call)) => fail(format!(
                "answered {} although {} was refused with {} and never retried with a refreshed token: the page is built on a failed call",
                response.status,
                call.method,
                call.error.as_deref().unwrap_or("an error")
            )),
            None => pass("refreshed the token with REFRESH_ID and retried every refused call"),
        }
    },
};
