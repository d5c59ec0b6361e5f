//! The app's installation on the home portal: what belongs to it rather than to one request
//! (member_id, APPLICATION_TOKEN, status, scope, the OAuth client), whether it has finished, and
//! what the app registered there (event handlers, placements, options).

use serde::Serialize;
use serde_json::{Map, Value};

use super::landing::RepoBinding;
use crate::payload::{Payload, opaque_token};

/// What the mock portal says about itself in its answers.
pub(super) const MEMBER_SEED: &str = "b24-conform mock portal";

/// The installing user, and the user every token of the run is issued for.
pub(super) const USER_ID: u64 = 1;

/// An event handler the app bound with `event.bind` (event-bind.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventHandler {
    /// Upper-cased, as Bitrix24 stores event names.
    pub event: String,
    pub handler: String,
    /// The user the handler is authorized as, `0` for the user whose action raised the event.
    pub auth_type: String,
    /// `event_type=offline`.
    pub offline: bool,
}

/// A placement the app bound with `placement.bind` (placement-bind.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(super) struct PlacementBinding {
    pub placement: String,
    pub handler: String,
    pub title: String,
}

pub(super) struct Installation {
    pub member_id: String,
    /// app.info STATUS, refresh `status`, ONAPPINSTALL `auth[status]` and the requests' `status`.
    pub status: String,
    /// The scopes the app was granted (comma-separated, as APPLICATION_SCOPE).
    pub scope: String,
    /// `app.info` INSTALLED: false while the installation has not finished (BX24.installFinish).
    pub installed: bool,
    pub repo_bindings: Vec<RepoBinding>,
    pub placements: Vec<PlacementBinding>,
    pub events: Vec<EventHandler>,
    pub app_options: Map<String, Value>,
    pub user_options: Map<String, Value>,
}

impl Installation {
    /// The installation the documentation's example request comes from: its status and
    /// APPLICATION_SCOPE (its APPLICATION_TOKEN is every case's, and the install event's), and
    /// this portal's member_id. Finished, until a run installs
    /// the app itself.
    pub fn documented() -> Installation {
        let example = Payload::documented_example();
        Installation {
            member_id: opaque_token(MEMBER_SEED, 32),
            status: example.status,
            scope: example.application_scope.unwrap_or_default(),
            installed: true,
            repo_bindings: Vec::new(),
            placements: Vec::new(),
            events: Vec::new(),
            app_options: Map::new(),
            user_options: Map::new(),
        }
    }
}
