//! The installation, as Bitrix24 fires it at an app's "callback link for the installation
//! event": an `ONAPPINSTALL` event, a urlencoded form with PHP-bracketed `data[…]` and `auth[…]`
//! (settings/oauth/simple-way.md, Application Installation Event). It carries the installing
//! user's token pair, the portal's `client_endpoint` and `member_id`, and the app's
//! `application_token`; with it the app binds its LANDING_SETTINGS handler (`landing.repo.bind`,
//! PROTOCOL.md 4).

use url::Url;

use crate::payload::{Binding, Field, HttpRequest, Payload, Wire};
use crate::suite::{Case, CaseKind, DocRef, Expectation, TokenState, catalog_payload};

/// The id under which the installation is reported.
pub const CASE_ID: &str = "install/onappinstall";

/// The installation as a case: its own token pair, accepted by a right app.
pub fn case() -> Case {
    Case {
        id: CASE_ID.to_owned(),
        title: "Bitrix24 installs the app (ONAPPINSTALL); the app binds its LANDING_SETTINGS handler".to_owned(),
        doc: DocRef {
            key: "install".to_owned(),
            source: "landing-repo-bind.md; embedding/index.md (PROTOCOL.md 4); settings/oauth/simple-way.md".to_owned(),
            quote: "The Sites section is registered via landing.repo.bind, not placement.bind".to_owned(),
        },
        expect: Expectation::Accept,
        token: TokenState::Valid,
        payload: catalog_payload(CASE_ID, &Payload::documented_example()),
        mutations: Vec::new(),
        kind: CaseKind::Install,
    }
}

/// The event's `ts`, 2026-01-01T00:00:00Z: a fixed clock keeps the event, like every payload,
/// the same on every run.
const INSTALLED_AT: u64 = 1_767_225_600;

/// The `ONAPPINSTALL` event for `case`'s tokens from the portal of `binding`, posted to `url`.
pub fn event(case: &Case, binding: &Binding, url: &Url) -> HttpRequest {
    let payload = case.payload.bind(binding);
    // The fields and order of simple-way.md's example, nothing more.
    let values = [
        ("event", "ONAPPINSTALL".to_owned()),
        ("data[VERSION]", "1".to_owned()),
        ("data[LANGUAGE_ID]", payload.lang.clone()),
        ("ts", INSTALLED_AT.to_string()),
        ("auth[access_token]", payload.auth_id.clone()),
        ("auth[expires_in]", "3600".to_owned()),
        ("auth[scope]", payload.application_scope.clone().unwrap_or_else(|| "landing".to_owned())),
        ("auth[domain]", payload.domain.clone()),
        ("auth[server_endpoint]", binding.server_endpoint.clone()),
        ("auth[status]", payload.status.clone()),
        ("auth[client_endpoint]", format!("http://{}/rest/", payload.domain)),
        ("auth[member_id]", payload.member_id.clone()),
        ("auth[refresh_token]", payload.refresh_id.clone()),
        ("auth[application_token]", payload.application_token.clone().unwrap_or_default()),
    ];
    let fields: Vec<Field> = values.into_iter().map(|(name, value)| Field::new(name, value)).collect();
    Wire::Form.encode(url, &fields)
}
