//! The app's own corner of the portal: `app.info`, the options it keeps (`app.option.*`,
//! `user.option.*`), and what it registers (`event.*`, `placement.*`). What the app registers is
//! kept with the installation, so a later step of the run can post events to its handlers.

use serde_json::{Map, Value, json};

use super::State;
use super::answer::Answer;
use super::installation::{EventHandler, PlacementBinding};
use super::params::{Params, text};
use super::rest::{Caller, Reply};

/// `app.info` on the portal (app-info.md): the installed app, INSTALLED false until the
/// installation has finished. `CODE` of a local app is its client_id.
pub(super) fn info(state: &mut State, _: &Params, _: &Caller) -> Reply {
    let installation = &state.installation;
    let result = json!({"ID": 7, "CODE": state.config.client.id, "VERSION": 1, "STATUS": installation.status,
                        "INSTALLED": installation.installed, "PAYMENT_EXPIRED": "N", "DAYS": null, "LANGUAGE_ID": "en",
                        "LICENSE": "en_project", "LICENSE_TYPE": "project", "LICENSE_FAMILY": "project"});
    Answer::success(result, None).into()
}

/// PHP writes an empty array as `[]`, and the portal's JSON is PHP's.
fn php_object(map: &Map<String, Value>) -> Value {
    if map.is_empty() { json!([]) } else { Value::Object(map.clone()) }
}

/// `app.option.get` / `user.option.get` (app-option-get.md): every option, or `option`'s value.
fn read_option(options: &Map<String, Value>, params: &Params) -> Reply {
    let result = match params.text("option") {
        Some(key) => options.get(&key).cloned().unwrap_or(Value::Null),
        None => php_object(options),
    };
    Answer::success(result, None).into()
}

/// `app.option.set` / `user.option.set` (app-option-set.md): stores `options`' keys.
fn write_options(options: &mut Map<String, Value>, params: &Params) -> Reply {
    match params.get("options") {
        Some(Value::Object(given)) if !given.is_empty() => {
            options.extend(given.clone());
            Answer::success(Value::Bool(true), None).into()
        }
        _ => Answer::error(400, "ArgumentNullException", "options is empty").into(),
    }
}

pub(super) fn option_get(state: &mut State, params: &Params, _: &Caller) -> Reply {
    read_option(&state.installation.app_options, params)
}

pub(super) fn option_set(state: &mut State, params: &Params, _: &Caller) -> Reply {
    write_options(&mut state.installation.app_options, params)
}

pub(super) fn user_option_get(state: &mut State, params: &Params, _: &Caller) -> Reply {
    read_option(&state.installation.user_options, params)
}

pub(super) fn user_option_set(state: &mut State, params: &Params, _: &Caller) -> Reply {
    write_options(&mut state.installation.user_options, params)
}

/// A parameter by its name in any case: Bitrix24's methods read `PLACEMENT` or `placement`.
fn field(params: &Params, name: &str) -> Option<String> {
    params
        .text(name)
        .or_else(|| params.text(&name.to_lowercase()))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `ERROR_ARGUMENT` naming the missing argument, with the HTTP status the method's page gives.
fn argument_missing(status: u16, name: &str) -> Reply {
    let mut answer = Answer::error(status, "ERROR_ARGUMENT", &format!("Argument '{name}' is null or empty"));
    answer.body["argument"] = json!(name);
    answer.into()
}

/// `event.bind` (event-bind.md): registers `handler` for `event`; binding the same again changes
/// nothing.
pub(super) fn event_bind(state: &mut State, params: &Params, _: &Caller) -> Reply {
    let event = field(params, "event").unwrap_or_default().to_uppercase();
    if !(event.starts_with("ON") && event.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
        return Answer::error(400, "ERROR_EVENT_NOT_FOUND", "Event not found").into();
    }
    let Some(handler) = field(params, "handler") else { return argument_missing(400, "handler") };
    let bound = EventHandler {
        event,
        handler,
        auth_type: params.get("auth_type").and_then(text).unwrap_or_else(|| "0".to_owned()),
        offline: field(params, "event_type").is_some_and(|t| t.eq_ignore_ascii_case("offline")),
    };
    if !state.installation.events.contains(&bound) {
        state.installation.events.push(bound);
    }
    Answer::success(Value::Bool(true), None).into()
}

/// `event.get` (event-get.md): the app's event handlers.
pub(super) fn event_get(state: &mut State, _: &Params, _: &Caller) -> Reply {
    let handlers: Vec<Value> = state
        .installation
        .events
        .iter()
        .map(|e| json!({"event": e.event, "handler": e.handler, "auth_type": e.auth_type, "offline": u8::from(e.offline)}))
        .collect();
    Answer::success(Value::Array(handlers), None).into()
}

/// `event.unbind` (event-unbind.md): removes `event`'s handlers (those at `handler` when given),
/// answering how many.
pub(super) fn event_unbind(state: &mut State, params: &Params, _: &Caller) -> Reply {
    let Some(event) = field(params, "event").map(|e| e.to_uppercase()) else {
        return Answer::error(400, "ERROR_EVENT_NOT_FOUND", "Event not found").into();
    };
    let handler = field(params, "handler");
    let before = state.installation.events.len();
    state.installation.events.retain(|e| !(e.event == event && handler.as_ref().is_none_or(|h| *h == e.handler)));
    let count = before - state.installation.events.len();
    Answer::success(json!({ "count": count }), None).into()
}

/// Placements an app may bind with `placement.bind`, by the scope that offers them (a sample of
/// placement-list.md's; the Sites section's are bound with `landing.repo.bind` instead).
const PLACEMENTS: &[(&str, &[&str])] = &[
    ("placement", &["REST_APP_URI", "PAGE_BACKGROUND_WORKER", "LEFT_MENU"]),
    ("crm", &["CRM_DEAL_LIST_TOOLBAR", "CRM_LEAD_LIST_TOOLBAR", "CRM_DEAL_DETAIL_TAB", "CRM_LEAD_DETAIL_TAB"]),
    ("user", &["USER_PROFILE_MENU", "USER_PROFILE_TOOLBAR"]),
];

/// `placement.list` (placement-list.md): the placements the app's scopes offer (or `SCOPE`'s).
pub(super) fn placement_list(_: &mut State, params: &Params, caller: &Caller) -> Reply {
    let wanted = field(params, "SCOPE");
    let codes: Vec<&str> = PLACEMENTS
        .iter()
        .filter(|(scope, _)| match &wanted {
            Some(w) => w == scope,
            None => caller.scope.iter().any(|s| s == scope),
        })
        .flat_map(|(_, codes)| codes.iter().copied())
        .collect();
    Answer::success(json!(codes), None).into()
}

/// `placement.bind` (placement-bind.md): its argument errors come with status 200, as documented.
pub(super) fn placement_bind(state: &mut State, params: &Params, _: &Caller) -> Reply {
    let Some(placement) = field(params, "PLACEMENT").map(|p| p.to_uppercase()) else {
        return argument_missing(200, "PLACEMENT");
    };
    let Some(handler) = field(params, "HANDLER") else { return argument_missing(200, "HANDLER") };
    let single = matches!(placement.as_str(), "PAGE_BACKGROUND_WORKER" | "REST_APP_URI");
    let placements = &mut state.installation.placements;
    if single && placements.iter().any(|p| p.placement == placement) {
        let answer = Answer::error(200, "ERROR_PLACEMENT_MAX_COUNT", "Placement max count exceeded");
        return answer.into();
    }
    let title = field(params, "TITLE").unwrap_or_default();
    placements.retain(|p| !(p.placement == placement && p.handler == handler));
    placements.push(PlacementBinding { placement, handler, title });
    Answer::success(Value::Bool(true), None).into()
}

/// `placement.get` (placement-get.md): the app's bound placements.
pub(super) fn placement_get(state: &mut State, _: &Params, _: &Caller) -> Reply {
    let bound: Vec<Value> = state
        .installation
        .placements
        .iter()
        .map(|p| {
            json!({"placement": p.placement, "userId": 0, "handler": p.handler, "options": [], "title": p.title,
                   "description": "", "langAll": []})
        })
        .collect();
    Answer::success(Value::Array(bound), None).into()
}

/// `placement.unbind` (placement-unbind.md): removes `PLACEMENT`'s bindings (at `HANDLER` when
/// given), answering how many.
pub(super) fn placement_unbind(state: &mut State, params: &Params, _: &Caller) -> Reply {
    let Some(placement) = field(params, "PLACEMENT").map(|p| p.to_uppercase()) else {
        return argument_missing(400, "PLACEMENT");
    };
    let handler = field(params, "HANDLER");
    let placements = &mut state.installation.placements;
    let before = placements.len();
    placements.retain(|p| !(p.placement == placement && handler.as_ref().is_none_or(|h| *h == p.handler)));
    let count = before - placements.len();
    Answer::success(json!({ "count": count }), None).into()
}
