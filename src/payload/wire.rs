//! Wire encodings: how fields become one HTTP request.

use serde::Serialize;
use url::{Url, form_urlencoded};

use super::{Binding, Field, Place, frame};
use crate::record::HttpRequest;

/// How the fields travel to the handler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Wire {
    /// As Bitrix24 sends it: DOMAIN, PROTOCOL, LANG, APP_SID in the query string, the rest in an
    /// `application/x-www-form-urlencoded` body (PROTOCOL.md 1.1).
    #[default]
    Split,
    /// Every field in the form body, as older documentation pages show it.
    Form,
    /// Every field in one JSON object body: not what Bitrix24 sends, for handlers that claim it.
    Json,
}

impl std::fmt::Display for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Wire::Split => "split",
            Wire::Form => "form",
            Wire::Json => "json",
        })
    }
}

pub const FORM: &str = "application/x-www-form-urlencoded";

impl Wire {
    /// The request that delivers `fields` to the handler at `handler`. The handler's own query
    /// string is kept, and Bitrix24's parameters are appended after it, as its template does.
    pub fn encode(self, handler: &Url, fields: &[Field]) -> HttpRequest {
        let in_query = |f: &&Field| self == Wire::Split && f.place == Place::Query;
        let query = urlencode(fields.iter().filter(in_query));
        let mut url = handler.to_string();
        if !query.is_empty() {
            url.push(if handler.query().is_some() { '&' } else { '?' });
            url.push_str(&query);
        }
        let body_fields = fields.iter().filter(|f| !in_query(f));
        let (content_type, body) = match self {
            Wire::Json => {
                let object = body_fields.map(|f| (f.name.clone(), serde_json::Value::String(f.value.clone())));
                ("application/json", serde_json::Value::Object(object.collect()).to_string().into_bytes())
            }
            Wire::Split | Wire::Form => (FORM, urlencode(body_fields).into_bytes()),
        };
        let headers = vec![("content-type".into(), content_type.into())];
        HttpRequest { method: "POST".into(), url, headers, body: body.into() }
    }

    /// A placement request: `fields` encoded for `handler`, as the user's browser sends them when
    /// the page of the portal of `binding` posts its form into the app's frame ([`frame`]).
    pub fn placement(self, handler: &Url, fields: &[Field], binding: &Binding) -> HttpRequest {
        let mut request = self.encode(handler, fields);
        request.headers.extend(frame::headers(&binding.origin()));
        request
    }
}

/// `name=value&…`, percent-encoded as a browser encodes a form; raw values go as they are.
/// Written straight into one string: every case encodes one or two.
pub(crate) fn urlencode<'a>(fields: impl Iterator<Item = &'a Field>) -> String {
    let mut out = String::new();
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.extend(form_urlencoded::byte_serialize(f.name.as_bytes()));
        out.push('=');
        if f.raw {
            out.push_str(&f.value);
        } else {
            out.extend(form_urlencoded::byte_serialize(f.value.as_bytes()));
        }
    }
    out
}

impl HttpRequest {
    /// The values this request carried: every query and form value, and the keys and string values of
    /// any JSON object among them (PLACEMENT_OPTIONS) or of a JSON body.
    pub fn sent_values(&self) -> Vec<String> {
        let query = self.url.split_once('?').map_or("", |(_, q)| q);
        let mut values: Vec<String> = Vec::new();
        let add_json = |json: &serde_json::Value, values: &mut Vec<String>| {
            if let Some(object) = json.as_object() {
                for (key, value) in object {
                    values.push(key.clone());
                    match value {
                        serde_json::Value::String(s) => values.push(s.clone()),
                        other if other.is_object() => values.push(other.to_string()),
                        _ => {}
                    }
                }
            }
        };
        let pairs = form_urlencoded::parse(query.as_bytes()).chain(form_urlencoded::parse(&self.body.bytes));
        for (_, value) in pairs {
            // Only a value that starts as an object or an array can parse as one: the others skip
            // the parser, whose error costs more than the value.
            let json = opens_json(value.as_bytes(), b"{[")
                .then(|| serde_json::from_str::<serde_json::Value>(&value).ok())
                .flatten();
            match json {
                // A JSON document is judged by its parts: raw JSON in a script is how pages pass data.
                Some(json) if json.is_object() || json.is_array() => add_json(&json, &mut values),
                _ => values.push(value.into_owned()),
            }
        }
        // Only an object body adds anything.
        let body =
            opens_json(&self.body.bytes, b"{").then(|| serde_json::from_slice::<serde_json::Value>(&self.body.bytes));
        if let Some(Ok(json)) = body {
            add_json(&json, &mut values);
            if let Some(object) = json.as_object() {
                for nested in object.values().filter_map(|v| v.as_str()) {
                    if let Ok(inner) = serde_json::from_str::<serde_json::Value>(nested) {
                        add_json(&inner, &mut values);
                    }
                }
            }
        }
        values.sort();
        values.dedup();
        values
    }

    /// A shell command that sends this same request again. Every case's report holds one, so it
    /// is written in one buffer, without a string per part.
    pub fn to_curl(&self) -> String {
        let body = self.body.text();
        let mut command = self.curl_head(body.len());
        if !body.is_empty() {
            command.push_str(" --data-binary '");
            push_quoted(&mut command, &body);
            command.push('\'');
        }
        command
    }

    /// [`HttpRequest::to_curl`] for a body too long for a command line: the command reads it
    /// from `body_file`, where the caller wrote it.
    pub fn to_curl_reading(&self, body_file: &std::path::Path) -> String {
        let file = format!("@{}", body_file.display());
        let mut command = self.curl_head(file.len());
        if !self.body.bytes.is_empty() {
            command.push_str(" --data-binary '");
            push_quoted(&mut command, &file);
            command.push('\'');
        }
        command
    }

    /// The curl command up to its body (method, URL, headers), with room for `body` more bytes.
    fn curl_head(&self, body: usize) -> String {
        let headers: usize = self.headers.iter().map(|(n, v)| n.len() + v.len() + 8).sum();
        let mut command = String::with_capacity(48 + self.url.len() + headers + body);
        command.push_str("curl -sS -i -X ");
        command.push_str(&self.method);
        command.push_str(" '");
        push_quoted(&mut command, &self.url);
        command.push('\'');
        for (name, value) in &self.headers {
            command.push_str(" -H '");
            push_quoted(&mut command, name);
            command.push_str(": ");
            push_quoted(&mut command, value);
            command.push('\'');
        }
        command
    }

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// `text` for inside single quotes: each `'` closes the quotes, is escaped, and opens them again.
fn push_quoted(out: &mut String, text: &str) {
    for (i, part) in text.split('\'').enumerate() {
        if i > 0 {
            out.push_str(r"'\''");
        }
        out.push_str(part);
    }
}

/// Whether `text`, after the whitespace JSON allows, starts with one of `openers`.
fn opens_json(text: &[u8], openers: &[u8]) -> bool {
    text.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')).is_some_and(|b| openers.contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;

    #[test]
    fn split_keeps_the_handlers_query_and_appends_bitrix24s() {
        let handler = Url::parse("http://127.0.0.1:8080/app.php?x=1").unwrap();
        let request = Wire::Split.encode(&handler, &Payload::documented_example().to_fields());
        assert!(request.url.starts_with("http://127.0.0.1:8080/app.php?x=1&DOMAIN=example.bitrix24.com&PROTOCOL=1"));
        let body = String::from_utf8(request.body.bytes).unwrap();
        assert!(body.starts_with("APPLICATION_SCOPE=crm%2Cplacement%2Clanding&"));
        assert!(body.ends_with("PLACEMENT_OPTIONS=%7B%22SITE_ID%22%3A%2230%22%2C%22LID%22%3A%2230%22%7D"));
        assert!(!body.contains("DOMAIN="));
    }

    #[test]
    fn form_puts_everything_in_the_body() {
        let handler = Url::parse("http://127.0.0.1:8080/").unwrap();
        let request = Wire::Form.encode(&handler, &Payload::documented_example().to_fields());
        assert_eq!(request.url, "http://127.0.0.1:8080/");
        assert!(String::from_utf8(request.body.bytes).unwrap().starts_with("DOMAIN=example.bitrix24.com&PROTOCOL=1&"));
    }

    #[test]
    fn curl_quotes_single_quotes() {
        let request = HttpRequest {
            method: "POST".into(),
            url: "http://h/".into(),
            headers: vec![],
            body: b"a='b'".to_vec().into(),
        };
        assert_eq!(request.to_curl(), r"curl -sS -i -X POST 'http://h/' --data-binary 'a='\''b'\'''");
    }
}
