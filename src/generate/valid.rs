//! The valid space: every payload a right Bitrix24 may send to a LANDING_SETTINGS handler.

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::payload::{LANDING_SETTINGS, LANGUAGES, Payload, PlacementOptions};

const SCOPES: &[&str] = &["crm", "placement", "user", "task", "im", "disk", "entity"];

/// Opaque identifiers do not shrink: no handler's failure hangs on which hex digits they hold,
/// and shrinking them digit by digit would spend a shrink's budget on nothing.
fn hex(len: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[0-9a-f]{{{len}}}")).expect("a valid regex").no_shrink()
}

/// Token shapes seen in the field: 70 lowercase hex now, 32 `[a-z0-9]` in older documentation
/// (PROTOCOL.md 1.2). Handlers must treat them as opaque.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![3 => hex(70), 1 => proptest::string::string_regex("[a-z0-9]{32}").expect("a valid regex").no_shrink()]
}

/// Any payload a right Bitrix24 sends. DOMAIN, PROTOCOL, SERVER_ENDPOINT and member_id are
/// placeholders here: a run binds them to its own mock portal. APPLICATION_TOKEN and status
/// belong to the installation, not to the request (widget_data.md: the same APPLICATION_TOKEN
/// "is passed in the application_token parameter when event handlers are invoked"; the status
/// matches app.info STATUS): every draw has the documented example's, or, from a portal too old
/// to send the newer fields, no APPLICATION_TOKEN.
pub fn valid_payload() -> impl Strategy<Value = Payload> {
    let options = (1u32..100_000, 0u32..100_000, any::<bool>()).prop_map(|(site, lid, with_uri)| {
        let mut extra = Map::new();
        if with_uri {
            extra.insert("URI".into(), Value::String(format!("/sites/site/{site}/view/{lid}/")));
        }
        PlacementOptions { site_id: site.to_string(), lid: lid.to_string(), extra }
    });
    let newer = proptest::option::of(proptest::sample::subsequence(SCOPES, 0..SCOPES.len()));
    ((proptest::sample::select(LANGUAGES), hex(32)), (token(), token(), 1i64..=3600), options, newer).prop_map(
        |((lang, app_sid), (auth_id, refresh_id, auth_expires), options, newer)| {
            let example = Payload::documented_example();
            let (application_token, application_scope) = match newer {
                Some(mut scopes) => {
                    scopes.push("landing");
                    (example.application_token.clone(), Some(scopes.join(",")))
                }
                None => (None, None),
            };
            Payload {
                lang: lang.to_owned(),
                app_sid,
                application_scope,
                server_endpoint: application_token.as_ref().and(example.server_endpoint.clone()),
                application_token,
                auth_id,
                auth_expires,
                refresh_id,
                placement: LANDING_SETTINGS.to_owned(),
                placement_options: Some(options),
                ..example
            }
        },
    )
}
