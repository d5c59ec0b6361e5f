//! REST calls: the token decides first, as Bitrix24's auth layer does; then the method, whose
//! scope the token must have been granted (the product checks each method's scope against the
//! token, oauth/auth.php); `batch` runs its commands the same way (PROTOCOL.md 2.3, 2.4).
//!
//! [`METHODS`] is every method the mock models, with the scope its documentation page names. A
//! method not in it is `ERROR_METHOD_NOT_FOUND`, and nothing in it ever answers that: a run reads
//! that answer as "not modelled by the harness".

use serde_json::{Value, json};

use super::answer::{Answer, iso8601, unix_now};
use super::landing;
use super::params::Params;
use super::tokens::Refusal;
use super::{State, app, batch, installation, users};
use crate::record::{RepoBinding, TokenRole};

/// What the portal answered one REST call, and what it did on the way.
pub(super) struct Outcome {
    pub owner: Option<usize>,
    pub role: TokenRole,
    pub answer: Answer,
    pub binding: Option<RepoBinding>,
    /// The commands a `batch` ran, each as the portal answered it inside the batch.
    pub commands: Vec<batch::Command>,
}

/// A method's answer, and what a `landing.repo.bind` asked to bind.
pub(super) struct Reply {
    pub answer: Answer,
    pub binding: Option<RepoBinding>,
}

impl From<Answer> for Reply {
    fn from(answer: Answer) -> Reply {
        Reply { answer, binding: None }
    }
}

/// Who calls: the scopes the call's token was granted.
pub(super) struct Caller<'a> {
    pub scope: &'a [String],
}

/// One modelled method.
pub(super) struct Method {
    /// Lower-cased, as Bitrix24 reads method names.
    pub name: &'static str,
    /// The scopes of which the token needs one; empty for `basic`, which every app has.
    pub scope: &'static [&'static str],
    pub run: fn(&mut State, &Params, &Caller) -> Reply,
}

const LANDING: &[&str] = &["landing"];
const PLACEMENT: &[&str] = &["placement"];
/// user-get.md: "Scope: user, user_brief, user_basic".
const USER: &[&str] = &["user", "user_brief", "user_basic"];

/// Every method the mock models. Scopes are the methods' documentation pages' ("> Scope: …"),
/// except user.current: its page names user, user_brief and user_basic, but the documentation's
/// example request grants none of them while a settings page's first call is typically this one;
/// the mock leaves it to every token rather than fail such a page on a scope the harness chose.
pub(super) const METHODS: &[Method] = &[
    Method { name: "app.info", scope: &[], run: app::info },
    Method { name: "app.option.get", scope: &[], run: app::option_get },
    Method { name: "app.option.set", scope: &[], run: app::option_set },
    Method { name: "user.option.get", scope: &[], run: app::user_option_get },
    Method { name: "user.option.set", scope: &[], run: app::user_option_set },
    Method { name: "event.bind", scope: &[], run: app::event_bind },
    Method { name: "event.get", scope: &[], run: app::event_get },
    Method { name: "event.unbind", scope: &[], run: app::event_unbind },
    Method { name: "placement.list", scope: PLACEMENT, run: app::placement_list },
    Method { name: "placement.get", scope: PLACEMENT, run: app::placement_get },
    Method { name: "placement.bind", scope: PLACEMENT, run: app::placement_bind },
    Method { name: "placement.unbind", scope: PLACEMENT, run: app::placement_unbind },
    Method { name: "profile", scope: &[], run: users::profile },
    Method { name: "user.admin", scope: &[], run: users::admin },
    Method { name: "user.current", scope: &[], run: users::current },
    Method { name: "user.get", scope: USER, run: users::list },
    Method { name: "scope", scope: &[], run: scope },
    Method { name: "methods", scope: &[], run: methods },
    Method { name: "server.time", scope: &[], run: server_time },
    Method { name: "landing.site.getlist", scope: LANDING, run: landing::site_list },
    Method { name: "landing.landing.getlist", scope: LANDING, run: landing::landing_list },
    Method { name: "landing.site.getadditionalfields", scope: LANDING, run: landing::site_additional_fields },
    Method { name: "landing.landing.getadditionalfields", scope: LANDING, run: landing::landing_additional_fields },
    Method { name: "landing.site.update", scope: LANDING, run: landing::site_update },
    Method { name: "landing.landing.update", scope: LANDING, run: landing::landing_update },
    Method { name: "landing.site.getpublicurl", scope: LANDING, run: landing::site_public_url },
    Method { name: "landing.landing.getpublicurl", scope: LANDING, run: landing::landing_public_url },
    Method { name: "landing.block.getbyid", scope: LANDING, run: landing::block },
    Method { name: "landing.repo.bind", scope: LANDING, run: landing::repo_bind },
    Method { name: "landing.repo.unbind", scope: LANDING, run: landing::repo_unbind },
];

/// Answers REST `method`, deciding first on the call's token as Bitrix24's auth layer does.
pub(super) fn call(state: &mut State, method: &str, params: &Params) -> Outcome {
    let Some(token) = params.auth() else {
        let answer = Answer::error(401, "NO_AUTH_FOUND", "Wrong authorization data");
        return Outcome { owner: None, role: TokenRole::None, answer, binding: None, commands: Vec::new() };
    };
    let admission = state.tokens.admit(&token);
    let caller = Caller { scope: &admission.scope };
    // The OAuth server still knows a removed app's tokens; the portal no longer knows the app.
    let removed = state.installation.removed && admission.owner.is_some();
    let (reply, commands) = match admission.refusal {
        Some(Refusal::Invalid) => (refused(state, Refusal::Invalid).into(), Vec::new()),
        _ if removed => (installation::removed().into(), Vec::new()),
        Some(refusal) => (refused(state, refusal).into(), Vec::new()),
        None if method == "batch" => {
            let (answer, commands) = batch::run(state, params, &caller);
            (answer.into(), commands)
        }
        None => (dispatch(state, method, params, &caller), Vec::new()),
    };
    Outcome { owner: admission.owner, role: admission.role, answer: reply.answer, binding: reply.binding, commands }
}

/// Runs a modelled method for a caller whose token was admitted: not found, or refused for its
/// scope, or answered.
pub(super) fn dispatch(state: &mut State, method: &str, params: &Params, caller: &Caller) -> Reply {
    let Some(found) = METHODS.iter().find(|m| m.name == method) else { return not_found().into() };
    if !granted(found, caller.scope) {
        return refused(state, Refusal::InsufficientScope).into();
    }
    (found.run)(state, params, caller)
}

fn granted(method: &Method, scope: &[String]) -> bool {
    method.scope.is_empty() || method.scope.iter().any(|needed| scope.iter().any(|s| s == needed))
}

/// The error envelope and status of a refused token (PROTOCOL.md 2.4).
fn refused(state: &State, refusal: Refusal) -> Answer {
    match refusal {
        Refusal::Expired => expired(),
        Refusal::Invalid => invalid(),
        // The OAuth wording; its status is configurable (401 by default: oauth/auth.php raises
        // it as an OAuthException, whose default status is 401).
        Refusal::InsufficientScope => Answer::error(
            state.config.insufficient_scope_status,
            "insufficient_scope",
            "The request requires higher privileges than provided by the access token",
        ),
        Refusal::RateLimited => Answer::error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests"),
    }
}

/// `expired_token`, worded as oauth/auth.php and system-errors.md word it (no final period).
pub(super) fn expired() -> Answer {
    Answer::error(401, "expired_token", "The access token provided has expired")
}

pub(super) fn invalid() -> Answer {
    Answer::error(401, "invalid_token", "The access token provided is invalid.")
}

/// What Bitrix24 answers a method it does not have, and the mock a method it does not model.
pub(super) fn not_found() -> Answer {
    Answer::error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
}

pub(super) fn missing(what: &str) -> Answer {
    Answer::error(400, "MISSING_PARAMS", &format!("Not enough parameters for the call, missing: {what}"))
}

/// `scope` (scope.md): the caller's scopes, or with `full=true` every scope the portal has.
fn scope(_: &mut State, params: &Params, caller: &Caller) -> Reply {
    let mut scopes: Vec<String> = if super::params::truthy(params.get("full")) {
        let mut all: Vec<String> = METHODS.iter().flat_map(|m| m.scope.iter().map(|s| (*s).to_owned())).collect();
        all.extend(caller.scope.iter().cloned());
        all
    } else {
        caller.scope.to_vec()
    };
    scopes.sort();
    scopes.dedup();
    Answer::success(json!(scopes), None).into()
}

/// `methods` (methods.md): the methods the caller may call, or those of `scope=NAME`, or with
/// `full=true` every method.
fn methods(_: &mut State, params: &Params, caller: &Caller) -> Reply {
    let full = super::params::truthy(params.get("full"));
    let wanted = params.text("scope");
    let names: Vec<Value> = METHODS
        .iter()
        .filter(|m| match &wanted {
            Some(scope) => m.scope.contains(&scope.as_str()) || (m.scope.is_empty() && scope == "basic"),
            None => full || granted(m, caller.scope),
        })
        .map(|m| json!(m.name))
        .chain(std::iter::once(json!("batch")).filter(|_| wanted.is_none()))
        .collect();
    Answer::success(Value::Array(names), None).into()
}

/// `server.time` (server-time.md): the server's time, ISO 8601.
fn server_time(_: &mut State, _: &Params, _: &Caller) -> Reply {
    Answer::success(json!(iso8601(unix_now() as i64)), None).into()
}
