//! Mutation operators: each bends a valid request in one named way. They compose: a case lists
//! several and they apply in order. Field operators work on the field list; request operators
//! (`method`, `header`, `body`, `wire`) on the HTTP request after encoding.

use serde::{Deserialize, Serialize};

use crate::payload::{Field, PLACEMENT_OPTIONS, Place, Wire, to_bitrix_json};
use crate::record::{Body, HttpRequest};

/// One change to a request. Suite files name them as one-key tables, e.g.
/// `{ remove = "member_id" }` or `{ set = { field = "PLACEMENT", value = "DEFAULT" } }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Mutation {
    /// Drop the field.
    Remove(String),
    /// Give the field this value (added at its documented place when absent). `{portal}` and
    /// `{foreign}` in the value stand for the home and the foreign portal's `host:port`.
    Set { field: String, value: String },
    /// Send the field with an empty value.
    Empty(String),
    /// Send the field as whitespace only.
    Blank(String),
    /// Repeat the field's value until it is `bytes` long.
    Oversize { field: String, bytes: usize },
    /// Send the field a second time, with another value, after the first.
    Duplicate { field: String, value: String },
    /// Set one key of PLACEMENT_OPTIONS to a string, re-encoded as Bitrix24 encodes it (an absent
    /// or non-object PLACEMENT_OPTIONS becomes an object first).
    Option { key: String, value: String },
    /// Nest `depth` JSON arrays in the field's value: as an extra key `nest` when the value is
    /// a JSON object, around the whole value otherwise.
    Nest { field: String, depth: usize },
    /// Send the field in PHP array syntax: a JSON object value as `F[KEY]=…` pairs
    /// (`PLACEMENT_OPTIONS[SITE_ID]=30`), anything else as `F[]=value`.
    PhpArray(String),
    /// Move the field from the query string to the body, or from the body to the query string.
    Move(String),
    /// Put this exact wire text as the value, not percent-encoded again: invalid
    /// percent-encoding (`%ZZ`) or bytes that are not UTF-8 (`%FF%FE`).
    Raw { field: String, encoded: String },
    /// Send with this HTTP method; a GET carries every field in the query string.
    Method(String),
    /// Set a request header (e.g. a wrong Content-Type).
    Header { name: String, value: String },
    /// Replace the whole body with this text.
    Body(String),
    /// Encode the fields this way instead of the run's wire.
    Wire(Wire),
}

impl Mutation {
    /// Applies a field operator to `fields`; request operators leave them alone.
    pub fn apply_fields(&self, fields: &mut Vec<Field>) {
        let position = |fields: &[Field], name: &str| fields.iter().position(|f| f.name == name);
        match self {
            Mutation::Remove(name) => fields.retain(|f| &f.name != name),
            Mutation::Set { field, value } => set(fields, field, value.clone(), false),
            Mutation::Empty(name) => set(fields, name, String::new(), false),
            Mutation::Blank(name) => set(fields, name, " \t ".into(), false),
            Mutation::Oversize { field, bytes } => {
                let seed = fields.iter().find(|f| &f.name == field).map_or("x".into(), |f| f.value.clone());
                let seed = if seed.is_empty() { "x".to_owned() } else { seed };
                let value: String = seed.chars().cycle().take(*bytes).collect();
                set(fields, field, value, false);
            }
            Mutation::Duplicate { field, value } => {
                if let Some(i) = position(fields, field) {
                    let copy = Field { value: value.clone(), raw: false, ..fields[i].clone() };
                    fields.insert(i + 1, copy);
                }
            }
            Mutation::PhpArray(name) => {
                if let Some(i) = position(fields, name) {
                    let field = fields.remove(i);
                    let pairs = match serde_json::from_str::<serde_json::Value>(&field.value) {
                        Ok(serde_json::Value::Object(object)) => object
                            .into_iter()
                            .map(|(k, v)| (format!("{name}[{k}]"), v.as_str().map_or(v.to_string(), str::to_owned)))
                            .collect(),
                        _ => vec![(format!("{name}[]"), field.value.clone())],
                    };
                    for (offset, (key, value)) in pairs.into_iter().enumerate() {
                        fields.insert(i + offset, Field { name: key, value, ..field.clone() });
                    }
                }
            }
            Mutation::Option { key, value } => {
                let mut options = fields
                    .iter()
                    .find(|f| f.name == PLACEMENT_OPTIONS)
                    .and_then(|f| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&f.value).ok())
                    .unwrap_or_default();
                options.insert(key.clone(), serde_json::Value::String(value.clone()));
                set(fields, PLACEMENT_OPTIONS, to_bitrix_json(&serde_json::Value::Object(options)), false);
            }
            Mutation::Nest { field, depth } => {
                if let Some(existing) = fields.iter_mut().find(|f| &f.name == field) {
                    let nest = format!("{}{}", "[".repeat(*depth), "]".repeat(*depth));
                    existing.value = match existing.value.trim_end().strip_suffix('}') {
                        Some(open) if open.trim_end().ends_with('{') => format!("{open}\"nest\":{nest}}}"),
                        Some(open) => format!("{open},\"nest\":{nest}}}"),
                        None => format!("{}{}{}", "[".repeat(*depth), existing.value, "]".repeat(*depth)),
                    };
                }
            }
            Mutation::Move(name) => {
                for field in fields.iter_mut().filter(|f| &f.name == name) {
                    field.place = match field.place {
                        Place::Query => Place::Body,
                        Place::Body => Place::Query,
                    };
                }
            }
            Mutation::Raw { field, encoded } => set(fields, field, encoded.clone(), true),
            Mutation::Method(_) | Mutation::Header { .. } | Mutation::Body(_) | Mutation::Wire(_) => {}
        }
    }

    /// Applies a request operator to the encoded request; field operators leave it alone.
    pub fn apply_request(&self, request: &mut HttpRequest) {
        match self {
            Mutation::Method(method) => {
                request.method = method.to_uppercase();
                if request.method == "GET" && !request.body.bytes.is_empty() {
                    let body = request.body.text().into_owned();
                    request.url.push(if request.url.contains('?') { '&' } else { '?' });
                    request.url.push_str(&body);
                    request.body = Body::default();
                    // A browser's GET navigation carries neither a body's Content-Type nor Origin.
                    request
                        .headers
                        .retain(|(name, _)| !["content-type", "origin"].iter().any(|h| name.eq_ignore_ascii_case(h)));
                }
            }
            Mutation::Header { name, value } => {
                request.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                request.headers.push((name.to_ascii_lowercase(), value.clone()));
            }
            Mutation::Body(body) => request.body = body.clone().into_bytes().into(),
            _ => {}
        }
    }

    /// The request field a field operator names; request operators and `option` (a key inside
    /// PLACEMENT_OPTIONS) name none.
    pub fn field(&self) -> Option<&str> {
        match self {
            Mutation::Remove(field)
            | Mutation::Set { field, .. }
            | Mutation::Empty(field)
            | Mutation::Blank(field)
            | Mutation::Oversize { field, .. }
            | Mutation::Duplicate { field, .. }
            | Mutation::Nest { field, .. }
            | Mutation::PhpArray(field)
            | Mutation::Move(field)
            | Mutation::Raw { field, .. } => Some(field),
            Mutation::Option { .. }
            | Mutation::Method(_)
            | Mutation::Header { .. }
            | Mutation::Body(_)
            | Mutation::Wire(_) => None,
        }
    }

    /// The wire this mutation asks for, if it is a `wire` operator.
    pub fn wire(&self) -> Option<Wire> {
        match self {
            Mutation::Wire(wire) => Some(*wire),
            _ => None,
        }
    }
}

fn set(fields: &mut Vec<Field>, name: &str, value: String, raw: bool) {
    match fields.iter_mut().find(|f| f.name == name) {
        Some(existing) => {
            existing.value = value;
            existing.raw = raw;
        }
        None => fields.push(Field { raw, ..Field::new(name, value) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;
    use url::Url;

    fn fields_after(mutations: &[Mutation]) -> Vec<Field> {
        let mut fields = Payload::documented_example().to_fields();
        for m in mutations {
            m.apply_fields(&mut fields);
        }
        fields
    }

    fn value<'a>(fields: &'a [Field], name: &str) -> Option<&'a str> {
        fields.iter().find(|f| f.name == name).map(|f| f.value.as_str())
    }

    #[test]
    fn field_operators() {
        let fields = fields_after(&[
            Mutation::Remove("member_id".into()),
            Mutation::Set { field: "X_NEW".into(), value: "1".into() },
            Mutation::Empty("status".into()),
            Mutation::Oversize { field: "LANG".into(), bytes: 5 },
            Mutation::Move("DOMAIN".into()),
        ]);
        assert_eq!(value(&fields, "member_id"), None);
        assert_eq!(fields.last().map(|f| (f.name.as_str(), f.place)), Some(("X_NEW", Place::Body)));
        assert_eq!(value(&fields, "status"), Some(""));
        assert_eq!(value(&fields, "LANG"), Some("dedede"[..5].as_ref()));
        assert_eq!(fields.iter().find(|f| f.name == "DOMAIN").map(|f| f.place), Some(Place::Body));
    }

    #[test]
    fn php_array_and_duplicate_and_raw_on_the_wire() {
        let fields = fields_after(&[
            Mutation::PhpArray("PLACEMENT_OPTIONS".into()),
            Mutation::PhpArray("status".into()),
            Mutation::Duplicate { field: "PLACEMENT".into(), value: "DEFAULT".into() },
            Mutation::Raw { field: "LANG".into(), encoded: "%ZZ".into() },
        ]);
        let request = Wire::Split.encode(&Url::parse("http://h/").unwrap(), &fields);
        let body = String::from_utf8(request.body.bytes).unwrap();
        assert!(body.contains("PLACEMENT_OPTIONS%5BSITE_ID%5D=30&PLACEMENT_OPTIONS%5BLID%5D=30"), "{body}");
        assert!(body.contains("status%5B%5D=F"), "{body}");
        assert!(body.contains("PLACEMENT=LANDING_SETTINGS&PLACEMENT=DEFAULT"), "{body}");
        assert!(request.url.contains("LANG=%ZZ"), "{}", request.url);
    }

    #[test]
    fn option_and_nest_keep_the_object_bitrix_encoded() {
        let fields = fields_after(&[
            Mutation::Option { key: "URI".into(), value: "/sites/<x>".into() },
            Mutation::Nest { field: "PLACEMENT_OPTIONS".into(), depth: 3 },
        ]);
        assert_eq!(
            value(&fields, "PLACEMENT_OPTIONS"),
            Some(r#"{"SITE_ID":"30","LID":"30","URI":"\/sites\/\u003Cx\u003E","nest":[[[]]]}"#)
        );
        let fields = fields_after(&[
            Mutation::Remove("PLACEMENT_OPTIONS".into()),
            Mutation::Option { key: "SITE_ID".into(), value: "7".into() },
        ]);
        assert_eq!(value(&fields, "PLACEMENT_OPTIONS"), Some(r#"{"SITE_ID":"7"}"#));
    }

    #[test]
    fn get_carries_everything_in_the_query() {
        let binding = crate::portal::Portal::binding_at(([127, 0, 0, 1], 1).into(), ([127, 0, 0, 1], 2).into());
        let fields = Payload::documented_example().to_fields();
        let mut request = Wire::Split.placement(&Url::parse("http://h/").unwrap(), &fields, &binding);
        assert_eq!(request.header("origin"), Some("http://127.0.0.1:1"));
        Mutation::Method("get".into()).apply_request(&mut request);
        assert_eq!(request.method, "GET");
        assert!(
            request.body.bytes.is_empty()
                && request.url.contains("&member_id=")
                && request.header("content-type").is_none()
        );
        // The rest of what the browser sends stays.
        assert_eq!((request.header("origin"), request.header("sec-fetch-dest")), (None, Some("iframe")));
    }
}
