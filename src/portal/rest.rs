//! REST methods and Bitrix24's answer envelopes (PROTOCOL.md 2.3, 2.4, 4).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value, json};
use wiremock::ResponseTemplate;

use super::State;
use super::params::Params;
use super::tokens::{Refusal, TokenRole};

/// One answer of the portal: an HTTP status and a JSON envelope.
pub(super) struct Answer {
    pub status: u16,
    pub body: Value,
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

/// A placement an app bound with `landing.repo.bind`, as the portal read its fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RepoBinding {
    /// Trimmed and upper-cased, as Bitrix24 stores it.
    pub placement: String,
    pub handler: String,
    pub title: String,
}

/// What the portal answered one REST call, and what the call bound if it was `landing.repo.bind`.
pub(super) struct Outcome {
    pub owner: Option<usize>,
    pub role: TokenRole,
    pub answer: Answer,
    pub binding: Option<RepoBinding>,
}

/// Answers REST `method`, deciding first on the call's token as Bitrix24's auth layer does.
pub(super) fn call(state: &mut State, method: &str, params: &Params) -> Outcome {
    let Some(token) = params.auth() else {
        let answer = Answer::error(401, "NO_AUTH_FOUND", "Wrong authorization data");
        return Outcome { owner: None, role: TokenRole::None, answer, binding: None };
    };
    let admission = state.tokens.admit(&token);
    let (answer, binding) = match admission.refusal {
        Some(refusal) => (refused(state, refusal), None),
        None if method == "batch" => (batch(state, params), None),
        None => method_answer(state, method, params),
    };
    Outcome { owner: admission.owner, role: admission.role, answer, binding }
}

/// The error envelope and status of a refused token (PROTOCOL.md 2.4).
fn refused(state: &State, refusal: Refusal) -> Answer {
    match refusal {
        Refusal::Expired => Answer::error(401, "expired_token", "The access token provided has expired."),
        Refusal::Invalid => Answer::error(401, "invalid_token", "The access token provided is invalid."),
        Refusal::InsufficientScope => Answer::error(
            state.config.insufficient_scope_status,
            "insufficient_scope",
            "The request requires higher privileges than provided by the access token",
        ),
        Refusal::RateLimited => Answer::error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests"),
    }
}

fn method_answer(state: &mut State, method: &str, params: &Params) -> (Answer, Option<RepoBinding>) {
    let answer = match method {
        "user.current" => Answer::success(user(1), None),
        "user.get" => user_list(params),
        "app.info" => Answer::success(
            json!({"ID": 7, "CODE": "local.b24conform", "VERSION": 1, "STATUS": "L", "INSTALLED": true,
                   "PAYMENT_EXPIRED": "N", "DAYS": null, "LANGUAGE_ID": "en", "LICENSE": "en_project",
                   "member_id": state.member_id}),
            None,
        ),
        "landing.site.getlist" => {
            Answer::success(Value::Array(select(params, "ID", SITES).into_iter().map(site).collect()), None)
        }
        "landing.landing.getlist" => {
            Answer::success(Value::Array(select(params, "SITE_ID", SITES).into_iter().map(landing).collect()), None)
        }
        "landing.repo.bind" => return repo_bind(state, params),
        "landing.repo.unbind" => repo_unbind(state, params),
        _ => not_found(),
    };
    (answer, None)
}

fn not_found() -> Answer {
    Answer::error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
}

/// How many sites the mock portal has (ids 1..=SITES); each has one page per site id.
const SITES: u64 = 40;

/// The ids a landing `getList` selects: `params[filter][KEY]` (or `=KEY`), then
/// `params[offset]`/`params[limit]` (landing-site-get-list.md: the ORM's own paging, no `next`).
/// Filters and paging elsewhere than under `params` are not read, as Bitrix24 does not read them.
fn select(params: &Params, key: &str, count: u64) -> Vec<u64> {
    let number = |v: &Value| match v {
        Value::String(s) => s.trim().parse::<u64>().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    let request = params.get("params");
    let filter = request.and_then(|p| p.get("filter"));
    let wanted = filter.and_then(|f| f.get(key).or_else(|| f.get(format!("={key}").as_str())));
    let ids: Vec<u64> = match wanted {
        Some(id) => number(id).filter(|id| (1..=count).contains(id)).into_iter().collect(),
        None => (1..=count).collect(),
    };
    let offset = request.and_then(|p| p.get("offset")).and_then(number).unwrap_or(0) as usize;
    let limit = request.and_then(|p| p.get("limit")).and_then(number).map_or(usize::MAX, |l| l as usize);
    ids.into_iter().skip(offset).take(limit).collect()
}

fn site(id: u64) -> Value {
    json!({"ID": id.to_string(), "CODE": format!("site{id}"), "TITLE": format!("Site {id}"), "ACTIVE": "Y", "TYPE": "PAGE"})
}

/// The index page of site `site_id` (one page per site, with the site's id).
fn landing(site_id: u64) -> Value {
    json!({"ID": site_id.to_string(), "SITE_ID": site_id.to_string(), "CODE": "index", "TITLE": format!("Home of site {site_id}"), "ACTIVE": "Y"})
}

/// How many users the mock portal has: more than one page, so `next` shows.
const USERS: usize = 60;

/// The page size of list methods that page with `start` (list-methods-pecularities.md).
const PAGE: usize = 50;

fn user(id: usize) -> Value {
    json!({"ID": id.to_string(), "ACTIVE": true, "NAME": "Anna", "LAST_NAME": format!("Schmidt {id}"), "EMAIL": format!("user{id}@example.com")})
}

/// `user.get`: 50 a page from `start`, with `total`, and `next` while pages remain.
fn user_list(params: &Params) -> Answer {
    let start = params.text("start").and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
    let users: Vec<Value> = (start + 1..=USERS).take(PAGE).map(user).collect();
    let mut answer = Answer::success(Value::Array(users), Some(USERS));
    if start + PAGE < USERS {
        answer.body["next"] = json!(start + PAGE);
    }
    answer
}

/// Most commands one `batch` runs (ERROR_BATCH_LENGTH_EXCEEDED beyond).
const BATCH_LIMIT: usize = 50;

/// `batch`: `cmd[NAME]=method?query`, each run with the batch's token; results, errors, totals,
/// nexts and times keyed by NAME (PROTOCOL.md 2.3). `halt=1` stops at the first error. PHP
/// encodes an empty map as `[]`, and so does this.
fn batch(state: &mut State, params: &Params) -> Answer {
    let Some(Value::Object(commands)) = params.get("cmd") else { return missing("cmd") };
    if commands.len() > BATCH_LIMIT {
        return Answer::error(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded");
    }
    let halt = params.text("halt").is_some_and(|h| h == "1" || h == "true");
    let auth = params.auth().unwrap_or_default();
    let mut parts: [Map<String, Value>; 5] = Default::default();
    for (name, command) in commands.clone() {
        let text = command.as_str().unwrap_or_default();
        let (method, query) = text.split_once('?').unwrap_or((text, ""));
        let method = method.trim().to_lowercase();
        if method == "batch" {
            return Answer::error(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage");
        }
        let mut sub = Params::from_query(query);
        sub.values.insert("auth".to_owned(), Value::String(auth.clone()));
        let (answer, _) = method_answer(state, &method, &sub);
        let failed = answer.error_code().is_some();
        let [results, errors, totals, nexts, times] = &mut parts;
        if failed {
            errors.insert(name, answer.body);
        } else {
            results.insert(name.clone(), answer.body["result"].clone());
            for (key, into) in [("total", &mut *totals), ("next", &mut *nexts), ("time", &mut *times)] {
                if let Some(value) = answer.body.get(key) {
                    into.insert(name.clone(), value.clone());
                }
            }
        }
        if failed && halt {
            break;
        }
    }
    let php = |map: Map<String, Value>| if map.is_empty() { json!([]) } else { Value::Object(map) };
    let [results, errors, totals, nexts, times] = parts;
    Answer::success(
        json!({"result": php(results), "result_error": php(errors), "result_total": php(totals),
               "result_next": php(nexts), "result_time": php(times)}),
        None,
    )
}

fn missing(what: &str) -> Answer {
    Answer::error(400, "MISSING_PARAMS", &format!("Not enough parameters for the call, missing: {what}"))
}

fn repo_bind(state: &mut State, params: &Params) -> (Answer, Option<RepoBinding>) {
    let Some(fields) = params.get("fields") else { return (missing("fields"), None) };
    let Some(fields) = fields.as_object() else {
        return (Answer::error(400, "TYPE_ERROR", "Parameter fields must be an object"), None);
    };
    let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::trim).unwrap_or_default();
    let binding = RepoBinding {
        placement: text("PLACEMENT").to_uppercase(),
        handler: text("PLACEMENT_HANDLER").to_owned(),
        title: text("TITLE").to_owned(),
    };
    if !binding.placement.starts_with("LANDING_") {
        let answer = Answer::error(400, "PLACEMENT_UNKNOWN", "This embedding location is not available for sites");
        return (answer, Some(binding));
    }
    let absolute =
        url::Url::parse(&binding.handler).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    if !absolute {
        let answer =
            Answer::error(400, "PLACEMENT_HANDLER_INVALID", "The handler must be a full URL with protocol and domain");
        return (answer, Some(binding));
    }
    if state.bindings.iter().any(|b| b.placement == binding.placement && b.handler == binding.handler) {
        let answer = Answer::error(400, "PLACEMENT_EXIST", "Such embedding placement already exists");
        return (answer, Some(binding));
    }
    state.bindings.push(binding.clone());
    (Answer::success(Value::Bool(true), None), Some(binding))
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
