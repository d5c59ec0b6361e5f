//! The OAuth server's refresh grant (PROTOCOL.md 3): GET with a query or POST with a form at
//! `/oauth/token/`; refresh tokens rotate and are single-use.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::State;
use super::params::Params;
use super::rest::Answer;
use super::tokens::TokenRole;

pub(super) fn refresh(state: &mut State, params: &Params) -> (Option<usize>, TokenRole, Answer) {
    let presented = params.text("refresh_token").unwrap_or_default();
    let owner = state.tokens.refresh_owner(&presented);
    let role = if owner.is_some() { TokenRole::Refresh } else { TokenRole::Unknown };
    if params.text("grant_type").as_deref() != Some("refresh_token") {
        let answer = Answer::raw(
            400,
            json!({"error": "invalid_request", "error_description": "grant_type must be refresh_token"}),
        );
        return (owner, role, answer);
    }
    let Some(minted) = state.tokens.refresh(&presented) else {
        let answer = Answer::raw(400, json!({"error": "invalid_grant", "error_description": "Invalid grant"}));
        return (owner, role, answer);
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
