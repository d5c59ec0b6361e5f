//! REST methods and Bitrix24's answer envelopes (PROTOCOL.md 2.3, 2.4, 4).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::State;
use super::params::Params;
use super::tokens::{Lookup, TokenRole};

/// One answer of the portal: an HTTP status and a JSON envelope.
pub(super) struct Answer {
    pub status: u16,
    body: Value,
}

impl Answer {
    /// `{"result":…, "total":…, "next":…, "time":{…}}`: the SDKs fail without `time`.
    pub fn success(result: Value, total: Option<usize>) -> Answer {
        let mut body = json!({ "result": result });
        if let Some(total) = total {
            body["total"] = json!(total);
        }
        body["time"] = time_block();
        Answer { status: 200, body }
    }

    /// `{"error":CODE, "error_description":TEXT}`; Bitrix24 adds no `time` to errors.
    pub fn error(status: u16, code: &str, description: &str) -> Answer {
        Answer { status, body: json!({ "error": code, "error_description": description }) }
    }

    /// An answer with a body given whole (the OAuth server's).
    pub fn raw(status: u16, body: Value) -> Answer {
        Answer { status, body }
    }

    pub fn error_code(&self) -> Option<String> {
        self.body.get("error").and_then(Value::as_str).map(str::to_owned)
    }

    pub fn into_response(self) -> ResponseTemplate {
        ResponseTemplate::new(self.status)
            .insert_header("Access-Control-Allow-Origin", "*")
            .insert_header("X-Content-Type-Options", "nosniff")
            .set_body_raw(self.body.to_string().into_bytes(), "application/json; charset=utf-8")
    }
}

/// A placement an app bound with `landing.repo.bind`.
pub(super) struct RepoBinding {
    placement: String,
    handler: String,
}

/// Answers REST `method`; returns the owner of the token and its role with the answer.
pub(super) fn call(state: &mut State, method: &str, params: &Params) -> (Option<usize>, TokenRole, Answer) {
    let Some(token) = params.auth() else {
        return (None, TokenRole::None, Answer::error(401, "NO_AUTH_FOUND", "Wrong authorization data"));
    };
    let (owner, role) = match state.tokens.lookup(&token) {
        Lookup::Valid { owner, role } => (owner, role),
        Lookup::Expired { owner, role } => {
            return (Some(owner), role, Answer::error(401, "expired_token", "The access token provided has expired."));
        }
        Lookup::Invalid { owner, role } => {
            return (owner, role, Answer::error(401, "invalid_token", "The access token provided is invalid."));
        }
    };
    (Some(owner), role, method_answer(state, method, params))
}

fn method_answer(state: &mut State, method: &str, params: &Params) -> Answer {
    match method {
        "user.current" => Answer::success(
            json!({"ID": "1", "ACTIVE": true, "NAME": "Anna", "LAST_NAME": "Schmidt", "EMAIL": "anna@example.com", "ADMIN": true}),
            None,
        ),
        "app.info" => Answer::success(
            json!({"ID": 7, "CODE": "local.b24conform", "VERSION": 1, "STATUS": "L", "INSTALLED": true,
                   "PAYMENT_EXPIRED": "N", "DAYS": null, "LANGUAGE_ID": "en", "LICENSE": "en_project",
                   "member_id": state.member_id}),
            None,
        ),
        "landing.site.getlist" => {
            let sites = site_ids(params).into_iter().map(site).collect::<Vec<_>>();
            let total = sites.len();
            Answer::success(Value::Array(sites), Some(total))
        }
        "landing.site.get" => Answer::success(json!([site(1)]), Some(1)),
        "landing.repo.bind" => repo_bind(state, params),
        "landing.repo.unbind" => repo_unbind(state, params),
        _ => Answer::error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"),
    }
}

/// The sites a `landing.site.getList` asks for: `filter[ID]`, or the first page of the portal.
fn site_ids(params: &Params) -> Vec<u64> {
    let id = params.get("filter").and_then(|f| f.get("ID")).and_then(|id| match id {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    });
    match (params.get("filter").and_then(|f| f.get("ID")), id) {
        (Some(_), Some(id)) if id > 0 => vec![id],
        (Some(_), _) => vec![],
        (None, _) => vec![1, 30],
    }
}

/// Every positive site id exists on the mock portal, so any valid SITE_ID finds its site.
fn site(id: u64) -> Value {
    json!({"ID": id.to_string(), "CODE": format!("site{id}"), "TITLE": format!("Site {id}"), "ACTIVE": "Y", "TYPE": "PAGE"})
}

fn missing(what: &str) -> Answer {
    Answer::error(400, "MISSING_PARAMS", &format!("Not enough parameters for the call, missing: {what}"))
}

fn repo_bind(state: &mut State, params: &Params) -> Answer {
    let Some(fields) = params.get("fields") else { return missing("fields") };
    let Some(fields) = fields.as_object() else {
        return Answer::error(400, "TYPE_ERROR", "Parameter fields must be an object");
    };
    let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::trim).unwrap_or_default();
    let placement = text("PLACEMENT").to_uppercase();
    let handler = text("PLACEMENT_HANDLER").to_owned();
    if !placement.starts_with("LANDING_") {
        return Answer::error(400, "PLACEMENT_UNKNOWN", "This embedding location is not available for sites");
    }
    let absolute = url::Url::parse(&handler).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    if !absolute {
        return Answer::error(
            400,
            "PLACEMENT_HANDLER_INVALID",
            "The handler must be a full URL with protocol and domain",
        );
    }
    if state.bindings.iter().any(|b| b.placement == placement && b.handler == handler) {
        return Answer::error(400, "PLACEMENT_EXIST", "Such embedding placement already exists");
    }
    state.bindings.push(RepoBinding { placement, handler });
    Answer::success(Value::Bool(true), None)
}

fn repo_unbind(state: &mut State, params: &Params) -> Answer {
    let Some(code) = params.text("code") else { return missing("code") };
    let code = code.trim().to_uppercase();
    let handler = params.text("handler");
    let before = state.bindings.len();
    state.bindings.retain(|b| !(b.placement == code && handler.as_ref().is_none_or(|h| *h == b.handler)));
    if state.bindings.len() == before {
        return Answer::error(400, "PLACEMENT_NO_EXIST", "Such embedding placement does not exist");
    }
    Answer::success(Value::Bool(true), None)
}

/// The `time` block of a success answer (api-reference/data-types.md#time).
fn time_block() -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default();
    let date = iso8601(now as i64);
    json!({"start": now, "finish": now, "duration": 0.0, "processing": 0.0, "date_start": date, "date_finish": date})
}

/// `2025-09-09T16:31:11+00:00` for a unix time (days-to-civil, H. Hinnant's algorithm).
fn iso8601(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(iso8601(1_757_424_671), "2025-09-09T13:31:11+00:00");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00+00:00");
    }
}
