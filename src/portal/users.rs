//! The users a settings page asks about: the current one (`profile`, `user.current`,
//! `user.admin`) and the portal's list (`user.get`). The current user is user 1, an
//! administrator: the one who installed the app.

use serde_json::{Value, json};

use super::State;
use super::answer::Answer;
use super::installation::USER_ID;
use super::params::Params;
use super::rest::{Caller, Reply};

/// How many users the mock portal has: more than one page, so `next` shows.
const USERS: u64 = 60;

/// The page size of list methods that page with `start` (list-methods-pecularities.md).
const PAGE: u64 = 50;

fn user(id: u64) -> Value {
    json!({"ID": id.to_string(), "ACTIVE": true, "NAME": "Anna", "LAST_NAME": format!("Schmidt {id}"), "EMAIL": format!("user{id}@example.com")})
}

/// `profile` (profile.md): the current user's basic data.
pub(super) fn profile(_: &mut State, _: &Params, _: &Caller) -> Reply {
    let result = json!({"ID": USER_ID.to_string(), "ADMIN": true, "NAME": "Anna", "LAST_NAME": format!("Schmidt {USER_ID}"),
                        "PERSONAL_GENDER": "", "TIME_ZONE": ""});
    Answer::success(result, None).into()
}

/// `user.admin` (user-admin.md): whether the current user may manage the app's settings.
pub(super) fn admin(_: &mut State, _: &Params, _: &Caller) -> Reply {
    Answer::success(Value::Bool(true), None).into()
}

/// `user.current` (user-current.md).
pub(super) fn current(_: &mut State, _: &Params, _: &Caller) -> Reply {
    Answer::success(user(USER_ID), None).into()
}

/// `user.get`: 50 a page from `start`, with `total`, and `next` while pages remain.
pub(super) fn list(_: &mut State, params: &Params, _: &Caller) -> Reply {
    let start = params.text("start").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    let users: Vec<Value> = (start.saturating_add(1)..=USERS).take(PAGE as usize).map(user).collect();
    let mut answer = Answer::success(Value::Array(users), Some(USERS as usize));
    if start.saturating_add(PAGE) < USERS {
        answer.body["next"] = json!(start + PAGE);
    }
    answer.into()
}
