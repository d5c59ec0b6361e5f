//! Reading a REST or OAuth request's parameters as Bitrix24 does (`CRestUtil::getRequestData`,
//! PROTOCOL.md 2.2): query ∪ body, body winning; a form (urlencoded or multipart, PHP's `$_POST`)
//! or else a JSON body; invalid JSON is silently no parameters; PHP bracket keys
//! (`fields[TITLE]=…`) nest, as `parse_str` nests them.
//!
//! Nothing here may panic on what a handler sends: the portal reads it while holding its lock.

use serde_json::{Map, Value};
use url::form_urlencoded;
use wiremock::Request;

pub(super) struct Params {
    pub values: Map<String, Value>,
    bearer: Option<String>,
}

/// How deep PHP nests bracketed keys (`max_input_nesting_level`'s default); deeper variables
/// are dropped, as PHP drops them.
pub(super) const MAX_NESTING: usize = 64;

impl Params {
    pub fn read(request: &Request) -> Params {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
        Params::parse(
            request.url.query().unwrap_or_default(),
            header("content-type"),
            &request.body,
            header("authorization"),
        )
    }

    /// The parameters of a request with this query string, Content-Type, body and Authorization.
    pub fn parse(query: &str, content_type: &str, body: &[u8], authorization: &str) -> Params {
        let Params { mut values, .. } = Params::from_query(query);
        let media_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if media_type == "multipart/form-data" {
            if let Some(boundary) = boundary(content_type) {
                for (name, value) in multipart_fields(body, &boundary) {
                    insert(&mut values, &name, Value::String(value));
                }
            }
        } else if media_type == "application/json" {
            if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) {
                values.extend(body);
            }
        } else {
            for (key, value) in form_urlencoded::parse(body) {
                insert(&mut values, &key, Value::String(value.into_owned()));
            }
        }
        let bearer = authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("bearer "))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
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
        self.values.get(key).and_then(text)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }
}

/// A scalar parameter as text: strings as they are, numbers and booleans as PHP prints them.
pub(super) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "" }.to_owned()),
        _ => None,
    }
}

/// Whether a parameter is set the way PHP reads a flag: `true`, or text other than "", "0",
/// "N" and "false".
pub(super) fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !matches!(s.to_ascii_lowercase().as_str(), "" | "0" | "n" | "false"),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        _ => false,
    }
}

/// Whether `value` nests objects or lists more than `limit` levels deep (a scalar is level 0);
/// looks no deeper than `limit + 1`.
pub(super) fn deeper_than(value: &Value, limit: usize) -> bool {
    match value {
        Value::Object(map) => limit == 0 || map.values().any(|child| deeper_than(child, limit - 1)),
        Value::Array(items) => limit == 0 || items.iter().any(|child| deeper_than(child, limit - 1)),
        _ => false,
    }
}

/// Inserts `a[b][]=v` as PHP's `parse_str` does: nested objects, `[]` appends, a `[` that is
/// never closed becomes `_` in the name, anything after the last `]` is ignored, and variables
/// nested deeper than PHP's limit are dropped.
fn insert(root: &mut Map<String, Value>, key: &str, value: Value) {
    let Some(path) = key_path(key) else { return };
    let (head, segments) = path.split_first().expect("key_path returns at least the head");
    // Lists are kept as objects with numeric keys, which is how every lookup here reads them.
    let mut slot = root.entry(head.clone()).or_insert(Value::Null);
    for segment in segments {
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(object) = slot else { unreachable!("made an object above") };
        let key = if segment.is_empty() { object.len().to_string() } else { segment.clone() };
        slot = object.entry(key).or_insert(Value::Null);
    }
    *slot = value;
}

/// `a[b][]` → `["a", "b", ""]`; `None` for a key PHP drops (empty name, too deep).
fn key_path(key: &str) -> Option<Vec<String>> {
    let Some(open) = key.find('[') else {
        return (!key.is_empty()).then(|| vec![key.to_owned()]);
    };
    let head = &key[..open];
    let mut rest = &key[open..];
    let mut path = vec![head.to_owned()];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            if path.len() == 1 {
                // `a[b` is the plain name `a_b` to PHP.
                return Some(vec![key.replacen('[', "_", 1)]);
            }
            break;
        };
        path.push(inner[..close].to_owned());
        rest = &inner[close + 1..];
    }
    if head.is_empty() || path.len() > MAX_NESTING + 1 {
        return None;
    }
    Some(path)
}

/// The longest boundary there is: RFC 2046 §5.1.1, "boundary := 0*69<bchars> bcharnospace".
const MAX_BOUNDARY: usize = 70;

/// The `boundary` parameter of a multipart Content-Type (RFC 7578 §4.1), unquoted; none when it
/// is empty or longer than RFC 2046 allows (the body is searched for it, at a cost that grows
/// with its length).
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        let value = value.trim().trim_matches('"');
        let fits = (1..=MAX_BOUNDARY).contains(&value.len());
        (name.trim().eq_ignore_ascii_case("boundary") && fits).then(|| value.to_owned())
    })
}

/// The text fields of a multipart/form-data body, in order (RFC 7578). Parts with a filename are
/// files, which PHP puts in `$_FILES`, not among the parameters; a body that ends early keeps the
/// fields read so far.
fn multipart_fields(body: &[u8], boundary: &str) -> Vec<(String, String)> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut fields = Vec::new();
    let Some(first) = find(body, &delimiter) else { return fields };
    let mut rest = &body[first + delimiter.len()..];
    loop {
        // After a delimiter: `--` closes the body, otherwise a line break opens a part.
        if rest.starts_with(b"--") {
            break;
        }
        let Some(line_end) = find(rest, b"\r\n") else { break };
        rest = &rest[line_end + 2..];
        let Some(headers_end) = find(rest, b"\r\n\r\n") else { break };
        let headers = String::from_utf8_lossy(&rest[..headers_end]);
        let content = &rest[headers_end + 4..];
        let closing = [b"\r\n".as_slice(), &delimiter].concat();
        let Some(content_end) = find(content, &closing) else { break };
        let (name, filename) = disposition(&headers);
        if let (Some(name), None) = (name, filename) {
            fields.push((name, String::from_utf8_lossy(&content[..content_end]).into_owned()));
        }
        rest = &content[content_end + closing.len()..];
    }
    fields
}

/// `name` and `filename` of a part's `Content-Disposition: form-data; name="…"` header.
fn disposition(headers: &str) -> (Option<String>, Option<String>) {
    let Some(line) = headers.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition:")) else {
        return (None, None);
    };
    let mut name = None;
    let mut filename = None;
    for parameter in line.split(';').skip(1) {
        let Some((key, value)) = parameter.split_once('=') else { continue };
        let value = value.trim().trim_matches('"').to_owned();
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(value),
            "filename" => filename = Some(value),
            _ => {}
        }
    }
    (name, filename)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

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
            json!({"fields": {"PLACEMENT": "LANDING_SETTINGS", "PHONE": {"0": {"VALUE": "1"}}}, "ids": {"0": "a", "1": "b"}})
        );
    }

    /// What PHP's parse_str makes of keys that are not well-formed.
    #[test]
    fn odd_keys_read_as_php_reads_them() {
        let mut root = Map::new();
        for key in ["a[]]", "b[x]tail", "c[d", "[e]", "", "f[]]]", "g[é]ü[h]"] {
            insert(&mut root, key, "v".into());
        }
        assert_eq!(
            Value::Object(root),
            json!({"a": {"0": "v"}, "b": {"x": "v"}, "c_d": "v", "f": {"0": "v"}, "g": {"é": "v"}})
        );
        let deep = format!("z{}", "[k]".repeat(MAX_NESTING + 1));
        let mut root = Map::new();
        insert(&mut root, &deep, "v".into());
        assert!(root.is_empty(), "PHP drops what is nested deeper than max_input_nesting_level");
    }

    /// PHP's curl sends an array CURLOPT_POSTFIELDS as multipart/form-data.
    #[test]
    fn multipart_fields_are_parameters_and_files_are_not() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"auth\"\r\n\r\ntoken1\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"fields[TITLE]\"\r\n\r\nMy\r\nsettings\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile\r\n\
                    --XyZ--\r\n";
        let params = Params::parse("", "multipart/form-data; boundary=\"XyZ\"", body.as_bytes(), "");
        assert_eq!(params.auth().as_deref(), Some("token1"));
        assert_eq!(params.get("fields"), Some(&json!({"TITLE": "My\r\nsettings"})));
        assert!(params.get("upload").is_none());
    }

    /// A boundary longer than RFC 2046's 70 characters is none: the body is not searched for it.
    #[test]
    fn an_overlong_boundary_is_no_boundary() {
        let long = "b".repeat(MAX_BOUNDARY + 1);
        let body = format!("--{long}\r\nContent-Disposition: form-data; name=\"auth\"\r\n\r\nt\r\n--{long}--\r\n");
        let params = Params::parse("", &format!("multipart/form-data; boundary={long}"), body.as_bytes(), "");
        assert_eq!(params.auth(), None);
        let fits = &long[1..];
        let body = body.replace(&long, fits);
        let params = Params::parse("", &format!("multipart/form-data; boundary={fits}"), body.as_bytes(), "");
        assert_eq!(params.auth().as_deref(), Some("t"));
    }

    proptest! {
        /// Whatever a handler sends, reading it neither panics nor loses the query's token when
        /// the body does not name one.
        #[test]
        fn any_keys_and_bodies_are_read_without_panic(
            keys in proptest::collection::vec("[a-z\\[\\]é\\x00-\\x20]{0,12}", 0..8),
            body in proptest::collection::vec(any::<u8>(), 0..256),
            content_type in prop_oneof![
                Just("application/x-www-form-urlencoded".to_owned()),
                Just("application/json".to_owned()),
                "multipart/form-data; boundary=[a-z\\-\"]{0,6}",
                ".{0,20}",
            ],
        ) {
            let query: String = keys.iter().map(|k| format!("{}=1&", urlencode(k))).collect();
            let _ = Params::parse(&query, &content_type, &body, "Bearer ");
            let form: String = keys.iter().map(|k| format!("{}=1&", urlencode(k))).collect();
            let params = Params::parse("auth=t", "application/x-www-form-urlencoded", form.as_bytes(), "");
            if !keys.iter().any(|k| k == "auth" || k.starts_with("auth[")) {
                prop_assert_eq!(params.auth(), Some("t".to_owned()));
            }
        }
    }

    fn urlencode(text: &str) -> String {
        form_urlencoded::byte_serialize(text.as_bytes()).collect()
    }
}
