//! The valid space: every payload a right Bitrix24 may send to a handler of a placement family.

use proptest::prelude::*;
use proptest::strategy::SBoxedStrategy;
use serde_json::{Map, Value};

use crate::payload::{Family, LANGUAGES, Payload, PlacementOptions};

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

/// Block codes of the library, as the block's `CODE` option and landing.block.getbyid name them
/// (block.md's examples, landing-block-get-by-id.md's answer), and an app's own registered block
/// (`repo_<ID>`, block.md).
const BLOCK_CODES: &[&str] =
    &["43.4.cover_with_price_text_button_bgimg", "04.1.one_col_fix_with_title", "01.big_with_text", "repo_1132"];

/// The context of a draw, with a URI (the page the editor is on) or without.
fn options(family: Family) -> SBoxedStrategy<PlacementOptions> {
    let uri = |with: bool, path: String| {
        let mut extra = Map::new();
        if with {
            extra.insert("URI".into(), Value::String(path));
        }
        extra
    };
    match family {
        Family::Settings => (1u32..100_000, 0u32..100_000, any::<bool>())
            .prop_map(move |(site, lid, with_uri)| {
                let extra = uri(with_uri, format!("/sites/site/{site}/view/{lid}/"));
                PlacementOptions::new(&[("SITE_ID", site.to_string()), ("LID", lid.to_string())], extra)
            })
            .sboxed(),
        // A block is on a page: LID is never 0 here.
        Family::Block => (1u32..100_000, proptest::sample::select(BLOCK_CODES), 1u32..100_000, any::<bool>())
            .prop_map(move |(id, code, lid, with_uri)| {
                let extra = uri(with_uri, format!("/sites/site/1/view/{lid}/"));
                let keys = [("ID", id.to_string()), ("CODE", code.to_owned()), ("LID", lid.to_string())];
                PlacementOptions::new(&keys, extra)
            })
            .sboxed(),
    }
}

/// Any payload a right Bitrix24 sends a handler of `family`. DOMAIN, PROTOCOL, SERVER_ENDPOINT
/// and member_id are placeholders here: a run binds them to its own mock portal.
/// APPLICATION_TOKEN and status belong to the installation, not to the request (widget_data.md:
/// the same APPLICATION_TOKEN "is passed in the application_token parameter when event handlers
/// are invoked"; the status matches app.info STATUS): every draw has the documented example's,
/// or, from a portal too old to send the newer fields, no APPLICATION_TOKEN.
pub fn valid_payload(family: Family) -> impl Strategy<Value = Payload> {
    let newer = proptest::option::of(proptest::sample::subsequence(SCOPES, 0..SCOPES.len()));
    ((proptest::sample::select(LANGUAGES), hex(32)), (token(), token(), 1i64..=3600), options(family), newer).prop_map(
        move |((lang, app_sid), (auth_id, refresh_id, auth_expires), options, newer)| {
            let example = family.example();
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
                placement: family.code().to_owned(),
                placement_options: Some(options),
                ..example
            }
        },
    )
}
