//! REST calls: the token decides first, as Bitrix24's auth layer does; then the method, `batch`
//! included (PROTOCOL.md 2.3, 2.4).

use serde_json::{Map, Value, json};

use super::State;
use super::answer::Answer;
use super::installation::{self, Installation};
use super::landing::{self, RepoBinding};
use super::params::Params;
use super::tokens::{Refusal, TokenRole};

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
    // The OAuth server still knows a removed app's tokens; the portal no longer knows the app.
    let removed = state.installation == Installation::Removed && admission.owner.is_some();
    let (answer, binding) = match admission.refusal {
        Some(Refusal::Invalid) => (refused(state, Refusal::Invalid), None),
        _ if removed => (installation::removed(), None),
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
            json!({"ID": 7, "CODE": "local.b24conform", "VERSION": 1, "STATUS": "L", "INSTALLED": state.installation == Installation::Installed,
                   "PAYMENT_EXPIRED": "N", "DAYS": null, "LANGUAGE_ID": "en", "LICENSE": "en_project",
                   "member_id": state.member_id}),
            None,
        ),
        "landing.site.getlist" => landing::site_list(params),
        "landing.landing.getlist" => landing::landing_list(params),
        "landing.repo.bind" => return landing::repo_bind(state, params),
        "landing.repo.unbind" => landing::repo_unbind(state, params),
        "event.bind" => installation::event_bind(state, params),
        _ => not_found(),
    };
    (answer, None)
}

fn not_found() -> Answer {
    Answer::error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
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

pub(super) fn missing(what: &str) -> Answer {
    Answer::error(400, "MISSING_PARAMS", &format!("Not enough parameters for the call, missing: {what}"))
}
