//! The landing methods a LANDING_SETTINGS page or a LANDING_BLOCK_* item uses (PROTOCOL.md 4):
//! the site and page lists and getters, their updaters, a block by its id, and
//! `landing.repo.bind`/`unbind` with their field checks and errors.
//!
//! The portal has 40 sites of type PAGE (ids 1–40), and one site of each internal scope the
//! lists need a `scope` for (landing-site-get-list.md: "For GROUP, KNOWLEDGE, and MAINPAGE, pass
//! the corresponding scope"): 41 KNOWLEDGE, 42 GROUP, 43 MAINPAGE. Each site has one page, with
//! the site's id. Blocks 1–99 999 exist and every user may view them; any other block is one
//! "not found …, unavailable to the current user, or deleted", which the docs answer alike. Updates
//! are answered, not kept.

use serde_json::{Map, Value, json};

use super::State;
use super::answer::Answer;
use super::params::{Params, text};
use super::rest::{Caller, Reply, missing};
use crate::record::RepoBinding;

/// How many PAGE sites the mock portal has (ids 1..=PAGE_SITES).
const PAGE_SITES: u64 = 40;

/// The sites of the internal scopes, after the PAGE sites.
const SCOPED_SITES: [(u64, &str); 3] = [(41, "KNOWLEDGE"), (42, "GROUP"), (43, "MAINPAGE")];

fn number(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.trim().parse::<u64>().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// The sites a call's `scope` lists: the PAGE sites without one, else that scope's.
fn sites_in_scope(params: &Params) -> Vec<u64> {
    match params.text("scope").map(|s| s.trim().to_uppercase()) {
        Some(scope) if !scope.is_empty() => {
            SCOPED_SITES.iter().filter(|(_, kind)| *kind == scope).map(|(id, _)| *id).collect()
        }
        _ => (1..=PAGE_SITES).collect(),
    }
}

/// Whether site `id` exists in the call's scope.
fn exists(params: &Params, id: u64) -> bool {
    sites_in_scope(params).contains(&id)
}

fn site_type(id: u64) -> &'static str {
    SCOPED_SITES.iter().find(|(site, _)| *site == id).map_or("PAGE", |(_, kind)| kind)
}

fn site(id: u64) -> Value {
    json!({"ID": id.to_string(), "CODE": format!("site{id}"), "TITLE": format!("Site {id}"), "ACTIVE": "Y", "TYPE": site_type(id)})
}

/// The index page of site `site_id` (one page per site, with the site's id).
fn landing(site_id: u64) -> Value {
    json!({"ID": site_id.to_string(), "SITE_ID": site_id.to_string(), "CODE": "index", "TITLE": format!("Home of site {site_id}"), "ACTIVE": "Y"})
}

/// A landing `getList` (landing-site-get-list.md): `params[filter][KEY]` (or `=KEY`) selects by
/// id, `params[order]` sorts by a field (ASC or DESC), `params[offset]`/`params[limit]` page (the
/// ORM's own paging, no `next`), `params[select]` keeps the named fields. Filters and paging
/// elsewhere than under `params` are not read, as Bitrix24 does not read them.
fn list(params: &Params, key: &str, row: fn(u64) -> Value) -> Answer {
    let request = params.get("params");
    let part = |name: &str| request.and_then(|p| p.get(name));
    let filter = part("filter");
    let wanted = filter.and_then(|f| f.get(key).or_else(|| f.get(format!("={key}").as_str())));
    let in_scope = sites_in_scope(params);
    let ids: Vec<u64> = match wanted {
        Some(id) => number(id).filter(|id| in_scope.contains(id)).into_iter().collect(),
        None => in_scope,
    };
    let mut rows: Vec<Value> = ids.into_iter().map(row).collect();
    if let Some(Value::Object(order)) = part("order")
        && let Some((field, direction)) = order.iter().next()
    {
        let descending = text(direction).is_some_and(|d| d.eq_ignore_ascii_case("desc"));
        let field = field.as_str();
        rows.sort_by(|a, b| {
            let (a, b) = (&a[field], &b[field]);
            let ordering = match (
                a.as_str().and_then(|s| s.parse::<u64>().ok()),
                b.as_str().and_then(|s| s.parse::<u64>().ok()),
            ) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => a.as_str().unwrap_or_default().cmp(b.as_str().unwrap_or_default()),
            };
            if descending { ordering.reverse() } else { ordering }
        });
    }
    let offset = part("offset").and_then(number).unwrap_or(0) as usize;
    let limit = part("limit").and_then(number).map_or(usize::MAX, |l| l as usize);
    let select: Option<Vec<String>> = match part("select") {
        Some(Value::Object(names)) => Some(names.values().filter_map(text).collect()),
        Some(Value::Array(names)) => Some(names.iter().filter_map(text).collect()),
        _ => None,
    };
    let rows = rows.into_iter().skip(offset).take(limit).map(|row| match (&select, row) {
        (Some(names), Value::Object(fields)) if !names.is_empty() && !names.iter().any(|n| n == "*") => {
            Value::Object(fields.into_iter().filter(|(name, _)| names.contains(name)).collect::<Map<_, _>>())
        }
        (_, row) => row,
    });
    Answer::success(Value::Array(rows.collect()), None)
}

/// `landing.site.getList`: the sites `params` selects, as an array with no `total`.
pub(super) fn site_list(_: &mut State, params: &Params, _: &Caller) -> Reply {
    list(params, "ID", site).into()
}

/// `landing.landing.getList`: the pages `params` selects, by `SITE_ID`.
pub(super) fn landing_list(_: &mut State, params: &Params, _: &Caller) -> Reply {
    list(params, "SITE_ID", landing).into()
}

/// The id in parameter `name`, or the answer for its absence.
fn id(params: &Params, name: &str) -> Result<u64, Answer> {
    let value = params.get(name).ok_or_else(|| missing(name))?;
    number(value).ok_or_else(|| Answer::error(400, "TYPE_ERROR", &format!("Invalid call argument type: {name}")))
}

fn landing_not_exist() -> Answer {
    Answer::error(400, "LANDING_NOT_EXIST", "Page not found")
}

/// Site `id`'s additional fields (landing-site-get-additional-fields.md); PHP's `[]` when the
/// site has none, as one the call cannot see.
pub(super) fn site_additional_fields(_: &mut State, params: &Params, _: &Caller) -> Reply {
    let answer = match id(params, "id") {
        Err(answer) => answer,
        Ok(site) if exists(params, site) => Answer::success(
            json!({"COPYRIGHT_SHOW": "Y", "SPEED_USE_LAZY": "Y", "THEME_CODE": "1construction", "CSSBLOCK_USE": "N", "HEADBLOCK_USE": "N"}),
            None,
        ),
        Ok(_) => Answer::success(json!([]), None),
    };
    answer.into()
}

/// Page `lid`'s additional fields (landing-landing-get-additional-fields.md).
pub(super) fn landing_additional_fields(_: &mut State, params: &Params, _: &Caller) -> Reply {
    let answer = match id(params, "lid") {
        Err(answer) => answer,
        Ok(page) if exists(params, page) => Answer::success(
            json!({"METAMAIN_USE": "Y", "METAMAIN_TITLE": format!("Home of site {page}"), "VIEW_TYPE": "no"}),
            None,
        ),
        Ok(_) => landing_not_exist(),
    };
    answer.into()
}

/// The blocks every user may view (ids 1..=VISIBLE_BLOCKS).
const VISIBLE_BLOCKS: u64 = 99_999;

/// `landing.block.getbyid` (landing-block-get-by-id.md): the block, on page 1 of site 1 (the
/// mock keeps no block's page), or `BLOCK_NOT_FOUND` for a block the user cannot see.
pub(super) fn block(_: &mut State, params: &Params, _: &Caller) -> Reply {
    let answer = match id(params, "block") {
        Err(answer) => answer,
        Ok(block) if (1..=VISIBLE_BLOCKS).contains(&block) => Answer::success(
            json!({"id": block, "lid": 1, "code": "01.big_with_text", "name": "Block with Text and Image", "active": true, "meta": {"LID": "1", "SITE_TYPE": "PAGE"}}),
            None,
        ),
        Ok(_) => Answer::error(400, "BLOCK_NOT_FOUND", "Block not found"),
    };
    answer.into()
}

/// `fields` of an update, or the answer for its absence or wrong type.
fn fields(params: &Params) -> Result<&Map<String, Value>, Answer> {
    match params.get("fields") {
        None => Err(missing("fields")),
        Some(Value::Object(fields)) => Ok(fields),
        Some(_) => Err(Answer::error(400, "TYPE_ERROR", "Invalid call argument type: fields")),
    }
}

/// `landing.site.update` (landing-site-update.md): `true`.
pub(super) fn site_update(_: &mut State, params: &Params, _: &Caller) -> Reply {
    let answer = match (id(params, "id"), fields(params)) {
        (Err(answer), _) | (_, Err(answer)) => answer,
        (Ok(site), Ok(_)) if exists(params, site) => Answer::success(Value::Bool(true), None),
        (Ok(_), Ok(_)) => Answer::error(400, "ACCESS_DENIED", "Access denied."),
    };
    answer.into()
}

/// `landing.landing.update` (landing-landing-update.md): `true`.
pub(super) fn landing_update(_: &mut State, params: &Params, _: &Caller) -> Reply {
    let answer = match (id(params, "lid"), fields(params)) {
        (Err(answer), _) | (_, Err(answer)) => answer,
        (Ok(page), Ok(_)) if exists(params, page) => Answer::success(Value::Bool(true), None),
        (Ok(_), Ok(_)) => landing_not_exist(),
    };
    answer.into()
}

fn public_url(state: &State, site: u64) -> String {
    format!("{}/pub/site/{site}/", state.origin)
}

/// `landing.site.getPublicUrl` (landing-site-get-public-url.md): one id gives its URL, a list of
/// ids an object of URLs by id.
pub(super) fn site_public_url(state: &mut State, params: &Params, _: &Caller) -> Reply {
    let answer = match params.get("id") {
        None => missing("id"),
        Some(ids @ (Value::Object(_) | Value::Array(_))) => {
            let ids: Vec<&Value> = match ids {
                Value::Object(ids) => ids.values().collect(),
                Value::Array(ids) => ids.iter().collect(),
                _ => Vec::new(),
            };
            let urls: Map<String, Value> = ids
                .into_iter()
                .filter_map(number)
                .filter(|site| exists(params, *site))
                .map(|site| (site.to_string(), json!(public_url(state, site))))
                .collect();
            Answer::success(if urls.is_empty() { json!([]) } else { Value::Object(urls) }, None)
        }
        Some(value) => match number(value) {
            Some(site) if exists(params, site) => Answer::success(json!(public_url(state, site)), None),
            Some(_) => Answer::error(400, "ACCESS_DENIED", "Access denied."),
            None => Answer::error(400, "TYPE_ERROR", "Invalid call argument type: id"),
        },
    };
    answer.into()
}

/// `landing.landing.getPublicUrl` (landing-landing-get-public-url.md): the page's URL.
pub(super) fn landing_public_url(state: &mut State, params: &Params, _: &Caller) -> Reply {
    let answer = match id(params, "lid") {
        Err(answer) => answer,
        Ok(page) if exists(params, page) => Answer::success(json!(public_url(state, page)), None),
        Ok(_) => landing_not_exist(),
    };
    answer.into()
}

/// `landing.repo.bind` (landing-repo-bind.md), with its documented errors and their texts.
pub(super) fn repo_bind(state: &mut State, params: &Params, _: &Caller) -> Reply {
    let fields = match fields(params) {
        Ok(fields) => fields,
        Err(answer) => return answer.into(),
    };
    let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::trim).unwrap_or_default();
    let binding = RepoBinding {
        placement: text("PLACEMENT").to_uppercase(),
        handler: text("PLACEMENT_HANDLER").to_owned(),
        title: text("TITLE").to_owned(),
    };
    let refused = |code: &str, description: &str, binding: RepoBinding| Reply {
        answer: Answer::error(400, code, description),
        binding: Some(binding),
    };
    if !binding.placement.starts_with("LANDING_") {
        return refused("PLACEMENT_UNKNOWN", "This embedding location is not available for sites", binding);
    }
    let absolute =
        url::Url::parse(&binding.handler).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    if !absolute {
        return refused("PLACEMENT_HANDLER_INVALID", "Invalid embedding location handler address", binding);
    }
    let bindings = &mut state.installation.repo_bindings;
    if bindings.iter().any(|b| b.placement == binding.placement && b.handler == binding.handler) {
        return refused("PLACEMENT_EXIST", "Such embedding placement already exists", binding);
    }
    bindings.push(binding.clone());
    Reply { answer: Answer::success(Value::Bool(true), None), binding: Some(binding) }
}

/// `landing.repo.unbind` (landing-repo-unbind.md).
pub(super) fn repo_unbind(state: &mut State, params: &Params, _: &Caller) -> Reply {
    let Some(code) = params.text("code") else { return missing("code").into() };
    let code = code.trim().to_uppercase();
    let handler = params.text("handler");
    let bindings = &mut state.installation.repo_bindings;
    let before = bindings.len();
    bindings.retain(|b| !(b.placement == code && handler.as_ref().is_none_or(|h| *h == b.handler)));
    if bindings.len() == before {
        return Answer::error(400, "PLACEMENT_NO_EXIST", "Such embedding placement does not exist").into();
    }
    Answer::success(Value::Bool(true), None).into()
}
