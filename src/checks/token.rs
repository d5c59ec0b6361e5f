//! Token handling, judged from the calls the handler made to the mock portals with the case's
//! tokens (its lineage: the given pair and every token refreshed from it).

use super::{Check, Citation, Grade, fail, not_exercised, pass, skip};
use crate::journey::Action;
use crate::record::{BrowserRequest, Endpoint, Exchange, FrameRecord, Role, TokenRole};
use crate::suite::{Case, CaseKind, EvidenceKind, Expectation, Level, TokenState};

pub const REFRESHES_EXPIRED_TOKEN: Check = Check {
    id: "refreshes-expired-token",
    level: Grade::OfCase,
    title: "A refused AUTH_ID is refreshed with REFRESH_ID and the call retried, or the answer is 401",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/settings/oauth/auto-renewal.html",
        quote: "Wait for the expired_token error with the status 401 — it means that the token has expired.",
    },
    judge: |case, exchange, _| {
        let refusable = matches!(
            case.token,
            TokenState::Expired | TokenState::Expiring | TokenState::Invalid | TokenState::Revoked
        );
        if !refusable {
            return skip(format!("the portal does not refuse this case's token ({})", case.token.label()));
        }
        let Ok(response) = &exchange.response else { return skip("no answer") };
        // REST calls at the portal and at the OAuth server (app.info, the SDKs' trust check) both
        // meet the token; a batch's commands are judged through the batch call itself.
        let rest: Vec<_> = exchange
            .portal_calls
            .iter()
            .filter(|c| matches!(c.endpoint, Endpoint::Rest | Endpoint::OauthRest) && c.batch.is_none())
            .collect();
        if rest.is_empty() {
            return not_exercised("the handler made no REST call, so it never met the refused token");
        }
        if response.status >= 500 {
            return skip(format!("answered {} (no-server-error judges it)", response.status));
        }
        // A refresh refused for the app's own client can never succeed (auto-renewal.md marks
        // client_id and client_secret required): whatever the answer, no token is ever renewed.
        let refused_client = exchange.portal_calls.iter().find(|c| {
            matches!(c.endpoint, Endpoint::Oauth | Endpoint::PortalOauth)
                && c.error.as_deref() == Some("invalid_client")
        });
        if let Some(call) = refused_client {
            return fail(format!(
                "the refresh ({} {}) was refused with invalid_client: it lacks or garbles client_id/client_secret, so this app never renews a token",
                call.http_method, call.method
            ));
        }
        if response.status == 401 {
            return pass("answered 401");
        }
        // A redirect to another origin answers too: the browser shows the page it leads to.
        if !(200..300).contains(&response.status) && exchange.left_for().is_none() {
            return fail(format!(
                "answered {}; a refused token calls for a refresh and retry, or 401",
                response.status
            ));
        }
        if rest.iter().all(|call| call.succeeded()) {
            return not_exercised(format!(
                "no call of the handler was refused ({} made), so it never met the refused token",
                rest.len()
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

pub const USES_GIVEN_TOKEN: Check = Check {
    id: "uses-given-token",
    // The docs also recommend storing tokens for later use, and CRest does: good practice, not
    // a documented requirement.
    level: Grade::Fixed(Level::Should),
    title: "Every upstream call carries the token of its own request, while that request is open",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/api-reference/landing/embedding/settings.html",
        quote: "Authorization token OAuth 2 issued for the user who invoked the widget. Can be used for REST API calls on behalf of this user",
    },
    judge: |case, exchange, _| {
        let calls = &exchange.portal_calls;
        if calls.is_empty() && calls_expected(case) {
            return not_exercised("the handler made no call with this case's tokens");
        }
        if calls.is_empty() {
            return skip("the handler made no call with this case's tokens, and this case needs none");
        }
        let late: Vec<_> = calls.iter().filter(|c| c.late).collect();
        match late.first() {
            // Nothing but another request (or work left running after the answer) can send a
            // token after its own request was answered: the token was kept in shared state.
            Some(first) => fail(format!(
                "{} call(s) carried this case's {} token after the handler had answered this case (first: {}): \
                 another request used this request's token, as when auth is kept in global state",
                late.len(),
                first.token.label(),
                first.method
            )),
            None => pass(format!("all {} calls with this case's tokens came while its request was open", calls.len())),
        }
    },
};

pub const TOKEN_STAYS_HOME: Check = Check {
    id: "token-stays-home",
    level: Grade::Fixed(Level::Must),
    title: "Tokens go only to the installed portal and its OAuth server, and never back in the answer",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/settings/cloud-and-on-premise/security-recommendations.html",
        quote: "Ensure the token was issued for your application and Bitrix24",
    },
    judge: |case, exchange, _| {
        // The frame's calls from the browser (--browser) are the app's too.
        let frame_calls = exchange.frame.iter().flat_map(|f| &f.calls);
        let calls = || exchange.portal_calls.iter().chain(frame_calls.clone());
        if let Some(call) = calls().find(|c| c.portal == Role::Foreign) {
            return fail(format!(
                "the case's {} token went to a Bitrix24 the app is not installed on ({} {}): DOMAIN was trusted",
                call.token.label(),
                call.http_method,
                call.method
            ));
        }
        // Through the intercepting proxy (--intercept): a request for any other host, refused
        // there and recorded because it carried one of the case's tokens.
        if let Some(call) = calls().find(|c| c.portal == Role::Elsewhere) {
            let host = url::Url::parse(&call.method)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| call.method.clone());
            return fail(format!(
                "the case's {} token went to {host}, which is neither the portal nor its OAuth server ({} {}; the proxy refused it)",
                call.token.label(),
                call.http_method,
                call.method
            ));
        }
        let tokens = [("AUTH_ID", &case.payload.auth_id), ("REFRESH_ID", &case.payload.refresh_id)];
        // Short values could appear by chance; real tokens are 32–70 characters.
        let carried =
            |text: &str| tokens.iter().find(|(_, t)| t.len() >= 16 && text.contains(t.as_str())).map(|(n, _)| *n);
        if let Some(frame) = &exchange.frame
            && let Some((name, request)) = sent_elsewhere(exchange, frame, carried)
        {
            return fail(format!(
                "the frame sent the case's {name} to {}, which is neither the handler, the portal nor its OAuth server ({} {})",
                super::frame::origin(&request.url).unwrap_or_else(|| request.url.clone()),
                request.method,
                cut(&request.url)
            ));
        }
        // A token in a redirect's URL goes wherever the browser is sent, and stays in its history.
        for redirect in &exchange.redirects {
            if let Some(name) = carried(&redirect.location) {
                let origin =
                    url::Url::parse(&redirect.to).map_or(redirect.to.clone(), |u| u.origin().ascii_serialization());
                let whose = if redirect.followed { ", the handler's own origin, in the frame's address" } else { "" };
                return fail(format!(
                    "the redirect {redirect} carries the request's {name} in its URL: the browser takes the token to {origin}{whose}"
                ));
            }
        }
        let Ok(response) = &exchange.response else { return skip("no answer") };
        let answer = format!("{:?}\n{}", response.headers, response.body.text());
        if let Some(name) = carried(&answer) {
            return fail(format!("the answer echoes the request's {name}"));
        }
        pass(format!("{} call(s), all to the installed portal; no token in the answer", exchange.portal_calls.len()))
    },
};

/// The first request of the frame (`--browser`) that carried one of the case's tokens, in its URL,
/// body or Authorization, to a host that is none of the app's and the portal's: not the
/// handler's origin, not the portal's page's, and no server of this machine that answered (the
/// OAuth server, or the app's own; a foreign portal's calls are judged above). The browser
/// reaches no other host, so what went elsewhere failed there, and is seen only here.
fn sent_elsewhere<'a>(
    exchange: &Exchange,
    frame: &'a FrameRecord,
    carried: impl Fn(&str) -> Option<&'static str>,
) -> Option<(&'static str, &'a BrowserRequest)> {
    let mut home = super::frame::handler_origins(exchange);
    home.extend(super::frame::origin(&frame.page));
    frame.requests.iter().find_map(|request| {
        let url = url::Url::parse(&request.url).ok()?;
        let answered_here = request.status.is_some() && url.host().is_some_and(|h| is_loopback(&h));
        if home.contains(&url.origin().ascii_serialization()) || answered_here {
            return None;
        }
        let sent = [Some(request.url.as_str()), request.body.as_deref(), request.authorization.as_deref()];
        sent.into_iter().flatten().find_map(&carried).map(|name| (name, request))
    })
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => *name == "localhost",
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// A URL as a message shows it: its first 120 characters.
fn cut(url: &str) -> String {
    match url.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &url[..at]),
        None => url.to_owned(),
    }
}

/// Whether a right handler calls the portal in `case`: it serves the page (accept), meets a
/// token the portal treats apart, or installs the app. Elsewhere a handler that refuses the
/// request before calling anything is right, and the token checks have nothing to judge.
fn calls_expected(case: &Case) -> bool {
    // ONAPPUNINSTALL carries no token to call with: the app is already removed.
    if matches!(case.kind, CaseKind::Step(Action::Uninstall(_))) {
        return false;
    }
    case.expect == Expectation::Accept || case.token != TokenState::Valid || case.kind.installs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Context;
    use crate::install::{self, InstallForm};
    use crate::record::Outcome;
    use crate::record::fixture::{call, exchange};

    /// The answer half of token-stays-home, which no fault of the reference handler exercises:
    /// a page that carries the request's REFRESH_ID back fails; the same page without it passes.
    #[test]
    fn a_token_echoed_in_the_answer_fails() {
        let case = install::case(InstallForm::Frame, crate::payload::Family::Settings);
        let judge = |body: String| {
            (TOKEN_STAYS_HOME.judge)(&case, &exchange("http://h/", 200, &body, Vec::new()), &Context::default())
        };
        let echoed = judge(format!("<script>var refresh = '{}';</script>", case.payload.refresh_id));
        assert_eq!(
            (echoed.outcome, echoed.message.as_str()),
            (Outcome::Fail, "the answer echoes the request's REFRESH_ID")
        );
        assert_eq!(judge("<p>Settings</p>".to_owned()).outcome, Outcome::Pass);
    }

    /// A request the intercepting proxy refused, with the case's token: the check names the host.
    #[test]
    fn a_token_the_proxy_refused_fails_naming_the_host() {
        let case = install::case(InstallForm::Frame, crate::payload::Family::Settings);
        let refused = crate::record::PortalCall {
            portal: Role::Elsewhere,
            endpoint: Endpoint::Other,
            method: "https://telemetry.example:8443/collect?x=1".into(),
            status: 403,
            ..call(403, None)
        };
        let judge = |calls| {
            (TOKEN_STAYS_HOME.judge)(&case, &exchange("http://h/", 200, "<p>Settings</p>", calls), &Context::default())
        };
        let finding = judge(vec![call(200, None), refused]);
        assert_eq!(finding.outcome, Outcome::Fail);
        assert!(
            finding.message.starts_with("the case's given token went to telemetry.example, which is neither"),
            "{}",
            finding.message
        );
        assert_eq!(judge(vec![call(200, None)]).outcome, Outcome::Pass);
    }

    /// The frame's requests (--browser): the case's AUTH_ID to another host fails, naming it; the
    /// same token to the handler's origin, to the portal's, or to a server of this machine that
    /// answered (the OAuth server) passes; a frame's call at a foreign portal fails.
    #[test]
    fn a_token_the_frame_sends_elsewhere_fails_naming_the_host() {
        let case = install::case(InstallForm::Frame, crate::payload::Family::Settings);
        let request = |url: String, status: Option<u16>| crate::record::BrowserRequest {
            method: "POST".into(),
            url,
            body: Some(format!("auth={}", case.payload.auth_id)),
            authorization: None,
            status,
            failed: status.is_none().then(|| "net::ERR_PROXY_CONNECTION_FAILED".to_owned()),
        };
        let judge = |requests: Vec<crate::record::BrowserRequest>, calls: Vec<crate::record::PortalCall>| {
            let mut exchange = exchange("http://127.0.0.1:7/landing-settings", 200, "<p>Settings</p>", Vec::new());
            exchange.frame = Some(crate::record::FrameRecord {
                page: "http://127.0.0.1:5/b24-conform/frame/0".into(),
                requests,
                calls,
                ..Default::default()
            });
            (TOKEN_STAYS_HOME.judge)(&case, &exchange, &Context::default())
        };
        let home = vec![
            request("http://127.0.0.1:7/landing-settings".into(), Some(200)),
            request("http://127.0.0.1:5/rest/user.current.json".into(), Some(200)),
            request("http://127.0.0.1:6/oauth/token/".into(), Some(200)),
        ];
        assert_eq!(judge(home.clone(), Vec::new()).outcome, Outcome::Pass);
        let mut leaked = home.clone();
        leaked.push(request("http://telemetry.example/collect".into(), None));
        let finding = judge(leaked, Vec::new());
        assert_eq!(finding.outcome, Outcome::Fail);
        assert_eq!(
            finding.message,
            "the frame sent the case's AUTH_ID to http://telemetry.example, which is neither the handler, the portal nor its OAuth server (POST http://telemetry.example/collect)"
        );
        // A loopback port where nothing answered is another host as much.
        let mut refused = home.clone();
        refused.push(request("http://127.0.0.1:9/collect".into(), None));
        assert_eq!(judge(refused, Vec::new()).outcome, Outcome::Fail);
        let foreign = crate::record::PortalCall { portal: Role::Foreign, ..call(200, None) };
        assert_eq!(judge(home, vec![foreign]).outcome, Outcome::Fail);
    }

    /// A token that runs out during the case, and a handler that called only once, before it did:
    /// the refresh was never needed, so the check was not exercised — not passed.
    #[test]
    fn a_refused_token_never_met_is_not_exercised() {
        let case =
            Case { token: TokenState::Expiring, ..install::case(InstallForm::Frame, crate::payload::Family::Settings) };
        let judge = |calls| {
            let exchange = exchange("http://h/", 200, "<p>Settings</p>", calls);
            (REFRESHES_EXPIRED_TOKEN.judge)(&case, &exchange, &Context::default()).outcome
        };
        assert_eq!(judge(vec![call(200, None)]), Outcome::NotExercised);
        assert_eq!(judge(vec![]), Outcome::NotExercised);
        assert_eq!(judge(vec![call(200, None), call(401, Some("expired_token"))]), Outcome::Fail);
    }

    /// A redirect the browser followed, on the handler's own origin, is part of the answer too:
    /// a token in its URL sits in the frame's address; the clean page at its end does not help.
    #[test]
    fn a_token_in_a_followed_redirect_fails_naming_its_origin() {
        let case = install::case(InstallForm::Frame, crate::payload::Family::Settings);
        let location = format!("/page?AUTH_ID={}", case.payload.auth_id);
        let mut exchange = exchange("http://127.0.0.1:7/", 200, "<p>Settings</p>", Vec::new());
        exchange.redirects = vec![crate::record::Redirect {
            status: 303,
            to: format!("http://127.0.0.1:7{location}"),
            location,
            followed: true,
        }];
        let crate::checks::Finding { outcome, message, .. } =
            (TOKEN_STAYS_HOME.judge)(&case, &exchange, &Context::default());
        assert_eq!(outcome, Outcome::Fail);
        assert!(
            message.ends_with(
                "carries the request's AUTH_ID in its URL: the browser takes the token to http://127.0.0.1:7, the handler's own origin, in the frame's address"
            ),
            "{message}"
        );
    }
}
