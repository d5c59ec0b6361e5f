//! The landing methods a LANDING_SETTINGS page uses (PROTOCOL.md 4): the site and page lists,
//! and `landing.repo.bind`/`unbind` with their field checks and errors.

use serde::Serialize;
use serde_json::{Value, json};

use super::State;
use super::answer::Answer;
use super::params::Params;
use super::rest::missing;

/// A placement an app bound with `landing.repo.bind`, as the portal read its fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RepoBinding {
    /// Trimmed and upper-cased, as Bitrix24 stores it.
    pub placement: String,
    pub handler: String,
    pub title: String,
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

/// `landing.site.getList`: the sites `params` selects, as an array with no `total`.
pub(super) fn site_list(params: &Params) -> Answer {
    Answer::success(Value::Array(select(params, "ID", SITES).into_iter().map(site).collect()), None)
}

/// `landing.landing.getList`: the pages `params` selects, by `SITE_ID`.
pub(super) fn landing_list(params: &Params) -> Answer {
    Answer::success(Value::Array(select(params, "SITE_ID", SITES).into_iter().map(landing).collect()), None)
}

pub(super) fn repo_bind(state: &mut State, params: &Params) -> (Answer, Option<RepoBinding>) {
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

pub(super) fn repo_unbind(state: &mut State, params: &Params) -> Answer {
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
