//! The OAuth server's refresh grant (PROTOCOL.md 3): GET with a query or POST with a form at
//! `/oauth/token/`; refresh tokens rotate and are single-use; client_id and client_secret are
//! checked only when the run was told the app's (any are accepted otherwise).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::State;
use super::answer::Answer;
use super::installation::Installation;
use super::params::Params;
use super::tokens::TokenRole;

pub(super) fn refresh(state: &mut State, params: &Params) -> (Option<usize>, TokenRole, Answer) {
    let presented = params.text("refresh_token").unwrap_or_default();
    let owner = state.tokens.refresh_owner(&presented);
    let role = if owner.is_some() { TokenRole::Refresh } else { TokenRole::Foreign };
    let error = |status: u16, code: &str, description: &str| (owner, role, Answer::error(status, code, description));
    if params.text("grant_type").as_deref() != Some("refresh_token") {
        return error(400, "invalid_request", "grant_type must be refresh_token");
    }
    let client = &state.config.client;
    let mismatch =
        |expected: &Option<String>, key: &str| expected.as_ref().is_some_and(|e| params.text(key) != Some(e.clone()));
    // b24phpsdk reads a 401 as invalid_client (PROTOCOL.md 3; the status is undocumented).
    if mismatch(&client.id, "client_id") || mismatch(&client.secret, "client_secret") {
        return error(401, "invalid_client", "Invalid client credentials");
    }
    // b24pysdk's OAuth errors: NOT_INSTALLED, "Application was removed from the portal" (401).
    if state.installation == Installation::Removed && owner.is_some() {
        return error(401, "NOT_INSTALLED", "Application not installed");
    }
    let Some(minted) = state.tokens.refresh(&presented) else {
        return error(400, "invalid_grant", "Invalid grant");
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let body = json!({
        "access_token": minted.access_token,
        "client_endpoint": format!("{}/rest/", state.origin),
        "domain": state.origin.split_once("://").map_or(state.origin.as_str(), |(_, host)| host),
        "expires": now + 3600,
        "expires_in": 3600,
        "member_id": state.member_id,
        "refresh_token": minted.refresh_token,
        "scope": "landing,placement,user",
        "server_endpoint": format!("{}/rest/", state.origin),
        "status": "L",
        "user_id": 1,
    });
    (Some(minted.owner), role, Answer::raw(200, body))
}
