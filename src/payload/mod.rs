//! The placement request (LANDING_SETTINGS, LANDING_BLOCK_*): what Bitrix24 POSTs to a placement handler.
//!
//! Two views of one request. [`Payload`] is the typed, valid-by-construction model (what a right
//! portal sends); [`Field`] is the wire-level list (name, value, place) that mutations bend into
//! shapes no right portal sends. [`Wire`] turns fields into the HTTP request that is fired.

mod family;
pub mod frame;
mod json;
mod options;
mod wire;

use serde::{Deserialize, Serialize};

pub use family::Family;
pub use json::to_bitrix_json;
pub use options::PlacementOptions;
pub use wire::Wire;

/// Where Bitrix24 puts a field: its `app.layout` template appends DOMAIN, PROTOCOL, LANG and
/// APP_SID to the handler URL and posts the rest as a form (PROTOCOL.md 1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Place {
    Query,
    Body,
}

/// One documented field of the request.
#[derive(Debug)]
pub struct FieldSpec {
    pub name: &'static str,
    pub place: Place,
    /// Marked with `*` on the LANDING_SETTINGS documentation page (shared/seed).
    pub required: bool,
    pub meaning: &'static str,
}

/// Every field the LANDING_SETTINGS page documents, in the order of its example.
pub const FIELDS: &[FieldSpec] = &[
    spec("DOMAIN", Place::Query, true, "the Bitrix24 address where the widget handler was invoked"),
    spec("PROTOCOL", Place::Query, true, "1 = https, 0 = http"),
    spec("LANG", Place::Query, true, "the user interface language of the Bitrix24 that invoked the widget"),
    spec("APP_SID", Place::Query, false, "string identifier of the application that registered the widget handler"),
    spec("APPLICATION_SCOPE", Place::Body, false, "list of scopes available to the application"),
    spec("APPLICATION_TOKEN", Place::Body, false, "application token for secure event handling"),
    spec("AUTH_ID", Place::Body, false, "OAuth 2 access token of the user who invoked the widget"),
    spec("AUTH_EXPIRES", Place::Body, false, "seconds after which the access token becomes invalid"),
    spec("REFRESH_ID", Place::Body, false, "OAuth 2 refresh token of the user who invoked the widget"),
    spec("SERVER_ENDPOINT", Place::Body, false, "authorization server address for refreshing tokens"),
    spec("member_id", Place::Body, true, "unique string identifier of the Bitrix24"),
    spec("status", Place::Body, false, "type of the application: L, F, D, T, P (S in the SDKs)"),
    spec("PLACEMENT", Place::Body, true, "code of the widget embedding location"),
    spec(
        "PLACEMENT_OPTIONS",
        Place::Body,
        false,
        "JSON string with the call's context: SITE_ID, LID (a block's: ID, CODE, LID)",
    ),
];

const fn spec(name: &'static str, place: Place, required: bool, meaning: &'static str) -> FieldSpec {
    FieldSpec { name, place, required, meaning }
}

/// The documented field called `name`, if there is one.
pub fn field_spec(name: &str) -> Option<&'static FieldSpec> {
    FIELDS.iter().find(|f| f.name == name)
}

/// The placement code this harness tests first.
pub const LANDING_SETTINGS: &str = "LANDING_SETTINGS";

/// The field that carries the placement's context as a JSON string.
pub const PLACEMENT_OPTIONS: &str = "PLACEMENT_OPTIONS";

/// The interface languages of cloud Bitrix24 (b24jssdk `B24LangList`, PROTOCOL.md 1.2).
pub const LANGUAGES: &[&str] = &[
    "ru", "id", "ms", "de", "en", "la", "fr", "in", "it", "pl", "br", "vn", "tr", "kz", "ua", "ar", "th", "sc", "tc",
    "ja",
];

/// One field as it travels: the unit mutations work on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub place: Place,
    /// The value is already in wire form (percent-encoded by hand) and is sent as it is: how
    /// invalid percent-encoding and bytes that are not UTF-8 reach the handler.
    pub raw: bool,
}

impl Field {
    /// A field at its documented place (the body for names the documentation does not list).
    pub fn new(name: &str, value: impl Into<String>) -> Field {
        let place = field_spec(name).map_or(Place::Body, |s| s.place);
        Field { name: name.to_owned(), value: value.into(), place, raw: false }
    }
}

/// A field that a [`Payload`] could not be read from.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    #[error("field {0} is missing; the documentation marks it required")]
    Missing(&'static str),
    #[error("field {field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// A placement request as a right Bitrix24 sends it.
#[derive(Clone, Debug, PartialEq)]
pub struct Payload {
    pub domain: String,
    /// 1 = https, 0 = http.
    pub protocol: u8,
    pub lang: String,
    pub app_sid: String,
    /// The three fields current cloud portals add and older ones don't (PROTOCOL.md 1.1 caveat).
    pub application_scope: Option<String>,
    pub application_token: Option<String>,
    pub auth_id: String,
    /// Seconds until the access token expires, not a timestamp.
    pub auth_expires: i64,
    pub refresh_id: String,
    pub server_endpoint: Option<String>,
    pub member_id: String,
    pub status: String,
    pub placement: String,
    /// Omitted by Bitrix24 when empty.
    pub placement_options: Option<PlacementOptions>,
}

/// What binds a payload to one running portal: the fields that say which Bitrix24 sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// `host:port` of the mock portal, as Bitrix24 puts it in DOMAIN.
    pub domain: String,
    pub protocol: u8,
    pub server_endpoint: String,
    pub member_id: String,
    /// `host:port` of a second portal the app is not installed on; suites write `{foreign}`.
    pub foreign_domain: String,
}

impl Payload {
    /// Reads a payload from fields, by name; where a field comes from does not matter here.
    pub fn from_fields(fields: &[Field]) -> Result<Payload, PayloadError> {
        let get = |name: &'static str| fields.iter().find(|f| f.name == name).map(|f| f.value.clone());
        let need = |name: &'static str| get(name).ok_or(PayloadError::Missing(name));
        let protocol = match need("PROTOCOL")?.as_str() {
            "0" => 0,
            "1" => 1,
            other => return Err(invalid("PROTOCOL", format!("{other:?} is neither 0 nor 1"))),
        };
        let auth_expires = need("AUTH_EXPIRES")?;
        let auth_expires = auth_expires
            .parse()
            .map_err(|_| invalid("AUTH_EXPIRES", format!("{auth_expires:?} is not a whole number of seconds")))?;
        let placement = need("PLACEMENT")?;
        // The keys the placement's family documents; none for a placement the harness does not model.
        let keys = Family::of(&placement).map_or(&[][..], Family::option_keys);
        let placement_options = match get("PLACEMENT_OPTIONS") {
            None => None,
            Some(text) => {
                Some(PlacementOptions::parse(&text, keys).map_err(|reason| invalid("PLACEMENT_OPTIONS", reason))?)
            }
        };
        Ok(Payload {
            domain: need("DOMAIN")?,
            protocol,
            lang: need("LANG")?,
            app_sid: need("APP_SID")?,
            application_scope: get("APPLICATION_SCOPE"),
            application_token: get("APPLICATION_TOKEN"),
            auth_id: need("AUTH_ID")?,
            auth_expires,
            refresh_id: need("REFRESH_ID")?,
            server_endpoint: get("SERVER_ENDPOINT"),
            member_id: need("member_id")?,
            status: need("status")?,
            placement,
            placement_options,
        })
    }

    /// The payload's fields in the documentation's order, each at its documented place.
    pub fn to_fields(&self) -> Vec<Field> {
        let values: [(&str, Option<String>); 14] = [
            ("DOMAIN", Some(self.domain.clone())),
            ("PROTOCOL", Some(self.protocol.to_string())),
            ("LANG", Some(self.lang.clone())),
            ("APP_SID", Some(self.app_sid.clone())),
            ("APPLICATION_SCOPE", self.application_scope.clone()),
            ("APPLICATION_TOKEN", self.application_token.clone()),
            ("AUTH_ID", Some(self.auth_id.clone())),
            ("AUTH_EXPIRES", Some(self.auth_expires.to_string())),
            ("REFRESH_ID", Some(self.refresh_id.clone())),
            ("SERVER_ENDPOINT", self.server_endpoint.clone()),
            ("member_id", Some(self.member_id.clone())),
            ("status", Some(self.status.clone())),
            ("PLACEMENT", Some(self.placement.clone())),
            ("PLACEMENT_OPTIONS", self.placement_options.as_ref().map(PlacementOptions::to_json)),
        ];
        values.into_iter().filter_map(|(name, value)| value.map(|v| Field::new(name, v))).collect()
    }

    /// Reads the flat JSON object form used by fixtures: every value a string, as on the wire.
    pub fn from_json(text: &str) -> Result<Payload, PayloadError> {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| invalid("payload", format!("not a JSON object of strings: {e}")))?;
        let fields = object
            .iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(s) => Ok(Field::new(name, s.clone())),
                other => Err(invalid("payload", format!("{name} is {other}, not a string"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Payload::from_fields(&fields)
    }

    /// The flat JSON object form: the inverse of [`Payload::from_json`].
    pub fn to_json(&self) -> serde_json::Value {
        let object = self.to_fields().into_iter().map(|f| (f.name, serde_json::Value::String(f.value)));
        serde_json::Value::Object(object.collect())
    }

    /// This payload as sent by one running portal.
    pub fn bind(&self, binding: &Binding) -> Payload {
        let server_endpoint = self.server_endpoint.as_ref().map(|_| binding.server_endpoint.clone());
        Payload {
            domain: binding.domain.clone(),
            protocol: binding.protocol,
            member_id: binding.member_id.clone(),
            server_endpoint,
            ..self.clone()
        }
    }

    /// The LANDING_SETTINGS documentation's own example request (verbatim in
    /// `fixtures/payloads/documented_example.json`).
    pub fn documented_example() -> Payload {
        Family::Settings.example()
    }
}

/// The documented example, as shipped in the fixtures folder.
pub const DOCUMENTED_EXAMPLE: &str = include_str!("../../fixtures/payloads/documented_example.json");

/// An opaque lowercase-hex token of `len` characters derived from `input`: the same input gives
/// the same token on every machine and Rust version (FNV-1a seeding a splitmix64 stream).
pub fn opaque_token(input: &str, len: usize) -> String {
    let mut state =
        input.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.push_str(&format!("{:016x}", z ^ (z >> 31)));
    }
    out.truncate(len);
    out
}

fn invalid(field: &'static str, reason: String) -> PayloadError {
    PayloadError::Invalid { field, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example_round_trips_verbatim() {
        let original: serde_json::Value = serde_json::from_str(DOCUMENTED_EXAMPLE).unwrap();
        let payload = Payload::documented_example();
        assert_eq!(payload.placement, LANDING_SETTINGS);
        assert_eq!(payload.placement_options.as_ref().unwrap().get("SITE_ID"), Some("30"));
        assert_eq!(payload.to_json(), original);
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let mut fields = Payload::documented_example().to_fields();
        fields.retain(|f| f.name != "member_id");
        assert_eq!(Payload::from_fields(&fields), Err(PayloadError::Missing("member_id")));
    }

    #[test]
    fn fields_travel_where_bitrix24_puts_them() {
        let fields = Payload::documented_example().to_fields();
        let query: Vec<_> = fields.iter().filter(|f| f.place == Place::Query).map(|f| f.name.as_str()).collect();
        assert_eq!(query, ["DOMAIN", "PROTOCOL", "LANG", "APP_SID"]);
    }
}
