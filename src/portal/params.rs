//! Reading a REST or OAuth request's parameters as Bitrix24 does (`CRestUtil::getRequestData`,
//! PROTOCOL.md 2.2): query ∪ body, body winning; a JSON body only when there is no form; invalid
//! JSON is silently no parameters; PHP bracket keys (`fields[TITLE]=…`) nest.

use serde_json::{Map, Value};
use url::form_urlencoded;
use wiremock::Request;

pub(super) struct Params {
    pub values: Map<String, Value>,
    bearer: Option<String>,
}

impl Params {
    pub fn read(request: &Request) -> Params {
        let Params { mut values, .. } = Params::from_query(request.url.query().unwrap_or_default());
        let content_type =
            request.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
        if content_type.starts_with("application/json") {
            if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&request.body) {
                values.extend(body);
            }
        } else {
            for (key, value) in form_urlencoded::parse(&request.body) {
                insert(&mut values, &key, Value::String(value.into_owned()));
            }
        }
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|t| t.trim().to_owned());
        Params { values, bearer }
    }

    /// The parameters of one `batch` command's query (`user.get?start=50&filter[ID]=1`).
    pub fn from_query(query: &str) -> Params {
        let mut values = Map::new();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            insert(&mut values, &key, Value::String(value.into_owned()));
        }
        Params { values, bearer: None }
    }

    /// The access token, from where Bitrix24 looks (`Authorization: Bearer`, `auth`,
    /// `access_token`: the first that is not an array).
    pub fn auth(&self) -> Option<String> {
        self.bearer.clone().or_else(|| self.text("auth")).or_else(|| self.text("access_token"))
    }

    pub fn text(&self, key: &str) -> Option<String> {
        match self.values.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }
}

/// Inserts `a[b][]=v` as PHP's `parse_str` does: nested objects, `[]` appends.
fn insert(root: &mut Map<String, Value>, key: &str, value: Value) {
    let (head, mut rest) = match key.find('[') {
        Some(i) if key.ends_with(']') => (&key[..i], &key[i..]),
        _ => {
            root.insert(key.to_owned(), value);
            return;
        }
    };
    let mut path = vec![head.to_owned()];
    while let Some(end) = rest.find(']') {
        path.push(rest[1..end].to_owned());
        rest = &rest[end + 1..];
    }
    // Lists are kept as objects with numeric keys, which is how every lookup here reads them.
    let mut slot = root.entry(path[0].clone()).or_insert(Value::Null);
    for segment in &path[1..] {
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(object) = slot else { unreachable!("made an object above") };
        let key = if segment.is_empty() { object.len().to_string() } else { segment.clone() };
        slot = object.entry(key).or_insert(Value::Null);
    }
    *slot = value;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_brackets_nest() {
        let mut root = Map::new();
        insert(&mut root, "fields[PLACEMENT]", "LANDING_SETTINGS".into());
        insert(&mut root, "fields[PHONE][0][VALUE]", "1".into());
        insert(&mut root, "ids[]", "a".into());
        insert(&mut root, "ids[]", "b".into());
        assert_eq!(
            Value::Object(root),
            serde_json::json!({"fields": {"PLACEMENT": "LANDING_SETTINGS", "PHONE": {"0": {"VALUE": "1"}}}, "ids": {"0": "a", "1": "b"}})
        );
    }
}
