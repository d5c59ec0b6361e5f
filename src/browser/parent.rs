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

use serde_json::Value;

/// One case as the portal's page opens it.
#[derive(Debug, Clone)]
pub struct FrameCase {
    /// The frame's name: `DOMAIN|PROTOCOL|APP_SID`.
    pub frame_name: String,
    /// Where the form posts: the handler's URL.
    pub handler_url: String,
    /// The form's fields, in order (the placement request's fields).
    pub fields: Vec<(String, String)>,
    /// The answer to `getInitData`: AUTH_ID, REFRESH_ID, DOMAIN, LANG, PLACEMENT_OPTIONS…
    pub init_data: Value,
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
    let app_sid = script_literal(&Value::String(app_sid(&case.frame_name).to_owned()));
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>b24-conform portal</title>
<style>html,body{{margin:0}}iframe{{border:0;width:100%;height:600px}}</style></head>
<body>
<iframe name="{name}" id="app-frame"></iframe>
<form id="app-form" method="POST" action="{action}" target="{name}">{inputs}</form>
<script>
(function () {{
  var init = {init};
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
    record.commands.push(entry);
    if (entry.app_sid !== appSid) return;
    // Every command is answered: B24Frame awaits the answer of the commands it does not send
    // `isSafely` (setInstall after a FIRST_RUN init, setInstallFinish, the options), so an
    // unanswered one hangs the app.
    var answer = {{}};
    if (entry.command === 'getInitData') answer = init;
    else if (entry.command === 'refreshAuth') answer = {{ AUTH_ID: init.AUTH_ID, REFRESH_ID: init.REFRESH_ID, AUTH_EXPIRES: init.AUTH_EXPIRES }};
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
        };
        let page = page(&case);
        assert!(page.contains("value=\"&quot;&gt;&lt;script&gt;\""));
        assert!(page.contains("action=\"http://127.0.0.1:2/?a=1&amp;b=&quot;\""));
        assert!(page.contains(r#"{"LANG":"<\/script><b>"}"#));
        assert!(!page.contains("</script><b>"));
    }
}
