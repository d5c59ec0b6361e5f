//! The app's installation on the home portal: what belongs to it rather than to one request
//! (member_id, APPLICATION_TOKEN, status, scope, the OAuth client), whether it has finished, and
//! what the app registered there (event handlers, placements, options).

use std::sync::LazyLock;

use serde::Serialize;
use serde_json::{Map, Value};

use super::answer::Answer;
use crate::payload::{Payload, opaque_token};
use crate::record::RepoBinding;

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
    /// The app was removed (ONAPPUNINSTALL): the portal refuses every token of it.
    pub removed: bool,
    pub repo_bindings: Vec<RepoBinding>,
    pub placements: Vec<PlacementBinding>,
    pub events: Vec<EventHandler>,
    pub app_options: Map<String, Value>,
    pub user_options: Map<String, Value>,
}

impl Installation {
    /// A new installation of the app starts from nothing: "When an application is deleted or
    /// updated, its actions will be removed. Therefore, they must be set from scratch in the
    /// installer of each version" (event-bind.md).
    pub fn begin(&mut self) {
        self.installed = false;
        self.removed = false;
        self.forget_bindings();
    }

    /// The app is removed: its tokens are refused, and what it bound is forgotten.
    pub fn remove(&mut self) {
        self.installed = false;
        self.removed = true;
        self.forget_bindings();
    }

    fn forget_bindings(&mut self) {
        self.repo_bindings.clear();
        self.placements.clear();
        self.events.clear();
    }

    /// The installation the documentation's example request comes from: its status and
    /// APPLICATION_SCOPE (its APPLICATION_TOKEN is every case's, and the install event's), and
    /// this portal's member_id. Finished, until a run installs
    /// the app itself.
    pub fn documented() -> Installation {
        // Read once: a portal is made per test session, and parsing the example dominated that.
        static EXAMPLE: LazyLock<(String, String)> = LazyLock::new(|| {
            let example = Payload::documented_example();
            (example.status, example.application_scope.unwrap_or_default())
        });
        let (status, scope) = EXAMPLE.clone();
        Installation {
            member_id: opaque_token(MEMBER_SEED, 32),
            status,
            scope,
            installed: true,
            removed: false,
            repo_bindings: Vec::new(),
            placements: Vec::new(),
            events: Vec::new(),
            app_options: Map::new(),
            user_options: Map::new(),
        }
    }
}

/// The refusal of a removed app's token, as Bitrix24's REST auth gives it for an app it no longer
/// has (rest/lib/oauth/auth.php: `'error' => 'APPLICATION_NOT_FOUND', 'error_description' =>
/// 'Application not found'`). 401: it is raised as an OAuthException, whose status is 401 unless
/// the error names another; b24pysdk files it under Unauthorized (401).
pub(super) fn removed() -> Answer {
    Answer::error(401, "APPLICATION_NOT_FOUND", "Application not found")
}
