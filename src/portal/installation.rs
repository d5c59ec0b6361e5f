//! The app's installation as the portal keeps it: whether it is installed (what `app.info` says
//! in `INSTALLED`), the event handlers it bound with `event.bind`, and its removal. Once the app
//! is removed, the portal answers every token of it `APPLICATION_NOT_FOUND`, as Bitrix24's REST
//! auth does for an app it no longer has (rest/lib/oauth/auth.php), and forgets what the app
//! bound: "When an application is deleted or updated, its actions will be removed"
//! (event-bind.md).

use serde::Serialize;
use serde_json::Value;

use super::State;
use super::answer::Answer;
use super::params::Params;
use super::rest::missing;

/// Where the app's installation stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Installation {
    /// Being installed: `app.info` says `INSTALLED: false` (installation-finish.md: "At this
    /// stage, the application is considered not installed").
    #[default]
    Pending,
    /// Installed: `INSTALLED: true`.
    Installed,
    /// Removed (ONAPPUNINSTALL was sent): every token of the app is refused.
    Removed,
}

/// An event handler the app bound with `event.bind`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventBinding {
    /// What the event's `event_handler_id` says.
    pub id: u64,
    /// Upper-cased, as Bitrix24 names events (`ONAPPUNINSTALL`).
    pub event: String,
    pub handler: String,
}

/// `event.bind`: records `event` → `handler` (event-bind.md: both required).
pub(super) fn event_bind(state: &mut State, params: &Params) -> Answer {
    let Some(event) = params.text("event").map(|e| e.trim().to_uppercase()).filter(|e| !e.is_empty()) else {
        return missing("event");
    };
    let Some(handler) = params.text("handler").map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()) else {
        return missing("handler");
    };
    let id = state.events.len() as u64 + 1;
    state.events.push(EventBinding { id, event, handler });
    Answer::success(Value::Bool(true), None)
}

/// The refusal of a removed app's token. 401: Bitrix24 raises it as an OAuthException, whose
/// status is 401 unless the error names another; b24pysdk files it under Unauthorized (401).
pub(super) fn removed() -> Answer {
    Answer::error(401, "APPLICATION_NOT_FOUND", "Application not found")
}
