//! The portal's page that holds the app's frame, as Bitrix24's `app.layout` template writes it:
//! an iframe named `DOMAIN|PROTOCOL|APP_SID`, a form that POSTs the case's fields into it, and a
//! script that answers the frame protocol the way the product's parent page does.
//!
//! The protocol, from @bitrix24/b24jssdk (MIT), packages/jssdk/src at b6861d7:
//! - loader-b24frame.ts: `const [domain, protocol, appSid] = window.name.split('|')`;
//! - frame/message/controller.ts: the frame posts `command:params:callback:appSid` (params a JSON
//!   string, left out when empty) to `parent` with target origin `http(s)://DOMAIN`, and accepts
//!   an answer only from that origin, as the string `callback:JSON`;
//! - frame/b24.ts: `getInitData` is the first command; its answer is `MessageInitData`
//!   (types/auth.ts); with FIRST_RUN the frame then sends `setInstall` and awaits its answer.

use serde_json::{Map, Value, json};
use url::form_urlencoded;

use crate::payload::Binding;
use crate::record::{FRAME_LIST, HttpRequest};

/// One case as the portal's page opens it.
#[derive(Debug, Clone)]
pub struct FrameCase {
    /// The frame's name: `DOMAIN|PROTOCOL|APP_SID`.
    pub frame_name: String,
    /// Where the form posts: the handler's URL, with the fields Bitrix24 appends to it.
    pub handler_url: String,
    /// The form's fields, in order (the placement request's body fields).
    pub fields: Vec<(String, String)>,
    /// The answer to `getInitData`: AUTH_ID, REFRESH_ID, DOMAIN, LANG, PLACEMENT_OPTIONS…
    pub init_data: Value,
    /// The answer to `refreshAuth`: AUTH_ID, REFRESH_ID, AUTH_EXPIRES.
    pub refresh_data: Value,
}

impl FrameCase {
    /// The case whose request the harness fired as `request`, at the portal of `binding`, as
    /// the portal's page opens it: the form posts the request's own URL and fields (the split
    /// wire puts DOMAIN, PROTOCOL, LANG and APP_SID in the URL, as app.layout does); a frame that
    /// asks to `refreshAuth` gets `refreshed`, a fresh pair of the case's (the case's own pair
    /// when there is none). `install` marks the installation's page (INSTALL, FIRST_RUN).
    pub fn of(
        request: &HttpRequest,
        binding: &Binding,
        refreshed: Option<(String, String)>,
        install: bool,
    ) -> FrameCase {
        let query = request.url.split_once('?').map_or("", |(_, query)| query);
        let fields = body_fields(request);
        let sent: Vec<(String, String)> =
            form_urlencoded::parse(query.as_bytes()).into_owned().chain(fields.iter().cloned()).collect();
        let field = |name: &str| sent.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let app_sid = field("APP_SID");
        let init_data = init_data(&field, binding, install);
        let (auth_id, refresh_id) = refreshed.unwrap_or_else(|| (field("AUTH_ID"), field("REFRESH_ID")));
        let refresh_data = json!({ "AUTH_ID": auth_id, "REFRESH_ID": refresh_id, "AUTH_EXPIRES": AUTH_EXPIRES });
        FrameCase {
            frame_name: format!("{}|{}|{app_sid}", binding.domain, binding.protocol),
            handler_url: request.url.clone(),
            fields,
            init_data,
            refresh_data,
        }
    }
}

/// The lifetime of an access token, in seconds, as a string (b24jssdk types/auth.ts,
/// `AUTH_EXPIRES: NumberString`): an hour, as Bitrix24 issues them.
const AUTH_EXPIRES: &str = "3600";

/// The fields of a request's body, as the form posts them: a form's pairs, or a JSON object's
/// values (a form cannot post JSON; `--wire json` is no wire Bitrix24 uses).
fn body_fields(request: &HttpRequest) -> Vec<(String, String)> {
    let bytes = &request.body.bytes;
    match serde_json::from_slice::<Map<String, Value>>(bytes) {
        Ok(object) => object
            .into_iter()
            .map(|(name, value)| match value {
                Value::String(text) => (name, text),
                other => (name, other.to_string()),
            })
            .collect(),
        Err(_) => form_urlencoded::parse(bytes).into_owned().collect(),
    }
}

/// `getInitData`'s answer, b24jssdk's `MessageInitData` (types/auth.ts at b6861d7): the
/// request's fields, typed as the SDK reads them (AUTH_EXPIRES and PROTOCOL strings,
/// PLACEMENT_OPTIONS an object, INSTALL and FIRST_RUN booleans); PATH the REST path
/// (`getTargetOriginWithPath`: `https://name.bitrix24.com/rest`); no stored options.
fn init_data(field: &dyn Fn(&str) -> String, binding: &Binding, install: bool) -> Value {
    let options = serde_json::from_str::<Map<String, Value>>(&field("PLACEMENT_OPTIONS")).unwrap_or_default();
    json!({
        "AUTH_ID": field("AUTH_ID"),
        "REFRESH_ID": field("REFRESH_ID"),
        "AUTH_EXPIRES": field("AUTH_EXPIRES"),
        "DOMAIN": binding.domain,
        "PROTOCOL": binding.protocol.to_string(),
        "PATH": "/rest",
        "LANG": field("LANG"),
        "MEMBER_ID": field("member_id"),
        // The portal's user 1 installed the app and opens it.
        "IS_ADMIN": true,
        "APP_OPTIONS": {},
        "USER_OPTIONS": {},
        "PLACEMENT": field("PLACEMENT"),
        "PLACEMENT_OPTIONS": options,
        "INSTALL": install,
        "FIRST_RUN": install,
    })
}

/// The global the page's script records into; the browser side reads it back.
pub const RECORD: &str = "__b24conform";

/// The portal's page for `case`. Every value is written as a JSON literal inside the script or
/// HTML-escaped in the markup: a case's fields are outside data.
pub fn page(case: &FrameCase) -> String {
    let inputs: String = case
        .fields
        .iter()
        .map(|(name, value)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(name), escape(value)))
        .collect();
    let init = script_literal(&case.init_data);
    let refresh = script_literal(&case.refresh_data);
    let app_sid = script_literal(&Value::String(app_sid(&case.frame_name).to_owned()));
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>b24-conform portal</title><link rel="icon" href="data:,">
<style>html,body{{margin:0}}iframe{{border:0;width:100%;height:600px}}</style></head>
<body>
<iframe name="{name}" id="app-frame"></iframe>
<form id="app-form" method="POST" action="{action}" target="{name}">{inputs}</form>
<script>
(function () {{
  var init = {init};
  var refresh = {refresh};
  var appSid = {app_sid};
  var record = window.{RECORD} = {{ commands: [] }};
  var frame = document.getElementById('app-frame');
  window.addEventListener('message', function (event) {{
    if (event.source !== frame.contentWindow) return;
    var entry = {{ command: '', params: '', callback: '', app_sid: '', origin: event.origin, answered: false }};
    if (typeof event.data === 'string') {{
      // command:params:callback:appSid; params may hold ':' and is left out when empty.
      var parts = event.data.split(':');
      entry.command = parts[0];
      entry.app_sid = parts.length > 2 ? parts[parts.length - 1] : '';
      entry.callback = parts.length > 2 ? parts[parts.length - 2] : (parts[1] || '');
      entry.params = parts.length > 3 ? parts.slice(1, parts.length - 2).join(':') : '';
    }} else if (event.data && typeof event.data === 'object') {{
      entry.command = String(event.data.method || '');
      entry.params = JSON.stringify(event.data.params || '');
      entry.callback = String(event.data.callback || '');
      entry.app_sid = String(event.data.appSid || '');
    }}
    // A frame that loops must not grow the record without bound.
    if (record.commands.length < {FRAME_LIST}) record.commands.push(entry);
    if (entry.app_sid !== appSid) return;
    // Every command is answered: B24Frame awaits the answer of the commands it does not send
    // `isSafely` (setInstall after a FIRST_RUN init, setInstallFinish, the options), so an
    // unanswered one hangs the app.
    var answer = {{}};
    if (entry.command === 'getInitData') answer = init;
    else if (entry.command === 'refreshAuth') answer = refresh;
    event.source.postMessage(entry.callback + ':' + JSON.stringify(answer), event.origin);
    entry.answered = true;
  }});
  document.getElementById('app-form').submit();
}})();
</script>
</body></html>"#,
        name = escape(&case.frame_name),
        action = escape(&case.handler_url),
    )
}

/// The APP_SID part of a frame name.
fn app_sid(frame_name: &str) -> &str {
    frame_name.split('|').nth(2).unwrap_or("")
}

/// A value as a JavaScript literal inside a script element, where `</` would end the element.
fn script_literal(value: &Value) -> String {
    value.to_string().replace("</", "<\\/")
}

/// Text as an HTML attribute value.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_outside_data() {
        let case = FrameCase {
            frame_name: "127.0.0.1:1|0|sid".into(),
            handler_url: "http://127.0.0.1:2/?a=1&b=\"".into(),
            fields: vec![("AUTH_ID".into(), "\"><script>".into())],
            init_data: serde_json::json!({ "LANG": "</script><b>" }),
            refresh_data: serde_json::json!({}),
        };
        let page = page(&case);
        assert!(page.contains("value=\"&quot;&gt;&lt;script&gt;\""));
        assert!(page.contains("action=\"http://127.0.0.1:2/?a=1&amp;b=&quot;\""));
        assert!(page.contains(r#"{"LANG":"<\/script><b>"}"#));
        assert!(!page.contains("</script><b>"));
    }
}
