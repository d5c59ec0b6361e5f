//! The OAuth server (oauth.bitrix.info's part): the refresh grant at
//! `/oauth/token/` (GET with a query or POST with a form), which requires the app's client_id and
//! client_secret (auto-renewal.md marks both required; error-codes.md: invalid_client); refresh
//! tokens rotate and are single-use. And `app.info` at its `/rest/`, with the `install` block the
//! SDKs' trust checks read (simple-way.md: "To obtain a trusted status, call the app.info method
//! on the authorization server").

use serde_json::json;

use super::State;
use super::answer::{Answer, iso8601, unix_now};
use super::installation::USER_ID;
use super::params::Params;
use super::tokens::Refusal;
use crate::record::TokenRole;

/// How long an access token lives (auto-renewal.md: one hour).
const LIFETIME: u64 = 3600;

pub(super) fn refresh(state: &mut State, params: &Params) -> (Option<usize>, TokenRole, Answer) {
    let presented = params.text("refresh_token").unwrap_or_default();
    let owner = state.tokens.refresh_owner(&presented);
    let role = if owner.is_some() { TokenRole::Refresh } else { TokenRole::Foreign };
    let error = |status: u16, code: &str, description: &str| (owner, role, Answer::error(status, code, description));
    if params.text("grant_type").as_deref() != Some("refresh_token") {
        return error(400, "invalid_request", "An incorrectly formatted authorization request was provided");
    }
    let client = &state.config.client;
    let matches = |key: &str, expected: &str| params.text(key).is_some_and(|given| given == expected);
    // The status is undocumented; b24phpsdk's ApiLevelErrorHandler reads a 401 as invalid_client.
    if !matches("client_id", &client.id) || !matches("client_secret", &client.secret) {
        return error(401, "invalid_client", "Invalid client data was provided");
    }
    if state.installation.removed && owner.is_some() {
        return (owner, role, not_installed());
    }
    let Some(minted) = state.tokens.refresh(&presented) else {
        return error(400, "invalid_grant", "Invalid authorization data was provided for obtaining access_token");
    };
    let now = unix_now();
    let body = json!({
        "access_token": minted.access_token,
        "client_endpoint": format!("{}/rest/", state.origin),
        "domain": host(&state.oauth_origin),
        "expires": now + LIFETIME,
        "expires_in": LIFETIME,
        "member_id": state.installation.member_id,
        "refresh_token": minted.refresh_token,
        "scope": minted.scope.join(","),
        "server_endpoint": format!("{}/rest/", state.oauth_origin),
        "status": state.installation.status,
        "user_id": USER_ID,
    });
    (Some(minted.owner), role, Answer::raw(200, body))
}

/// `app.info` on the OAuth server: the token's client, scope and expiry, and the installation it
/// belongs to (b24pysdk `B24AppInfoResult`/`B24AppInfoInstall`). The install block's `domain` and
/// `uri` carry no port: both SDKs compare them with a host they strip the port from (b24pysdk
/// `portal_domain` is the client endpoint's hostname; b24phpsdk `getDomainUrl()` is scheme://host).
pub(super) fn app_info(state: &State, params: &Params) -> (Option<usize>, TokenRole, Answer) {
    let Some(token) = params.auth() else {
        return (None, TokenRole::None, Answer::error(401, "NO_AUTH_FOUND", "Wrong authorization data"));
    };
    let admission = state.tokens.verify(&token);
    let removed = state.installation.removed && admission.owner.is_some();
    let answer = match admission.refusal {
        None | Some(Refusal::Expired) if removed => not_installed(),
        Some(Refusal::Expired) => super::rest::expired(),
        Some(_) => super::rest::invalid(),
        None => {
            let installation = &state.installation;
            let portal_host = host(&state.origin);
            let hostname = portal_host.rsplit_once(':').map_or(portal_host, |(name, _)| name);
            let scheme = state.origin.split_once("://").map_or("http", |(scheme, _)| scheme);
            Answer::success(
                json!({
                    "client_id": state.config.client.id,
                    "scope": admission.scope.join(","),
                    "expires": iso8601((unix_now() + LIFETIME) as i64),
                    "install": {
                        "installed": installation.installed,
                        "version": "1",
                        "status": installation.status,
                        "scope": installation.scope,
                        "domain": hostname,
                        "uri": format!("{scheme}://{hostname}"),
                        "client_endpoint": format!("{}/rest/", state.origin),
                        "member_id": installation.member_id,
                        "member_type": "company",
                    },
                    "user_id": USER_ID,
                }),
                None,
            )
        }
    };
    (admission.owner, admission.role, answer)
}

/// `host:port` of an origin.
fn host(origin: &str) -> &str {
    origin.split_once("://").map_or(origin, |(_, host)| host)
}

/// The OAuth server's answer for a removed app: b24pysdk's OAuth errors, `NOT_INSTALLED`,
/// "Application was removed from the portal" (401).
fn not_installed() -> Answer {
    Answer::error(401, "NOT_INSTALLED", "Application not installed")
}
