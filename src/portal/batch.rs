//! `batch` (settings/how-to-call-rest-api/batch.md): `cmd[NAME]=method?query`, run in order with
//! the batch's token; a command's parameters may name an earlier command's answer as
//! `$result[NAME][key]…` ("the result of a previous request can be passed into the parameters of
//! the next request"); `halt=1` stops at the first error. The answer keys results, errors,
//! totals, nexts and times by NAME.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use super::State;
use super::answer::Answer;
use super::params::{MAX_NESTING, Params, deeper_than, truthy};
use super::rest::{Caller, dispatch, missing};
use crate::record::RepoBinding;

/// Most commands one `batch` runs (ERROR_BATCH_LENGTH_EXCEEDED beyond).
const BATCH_LIMIT: usize = 50;

/// The most one batch's references copy, in [`weight`] units (about bytes of JSON). Each
/// `$result[…]` copies a whole earlier answer: without a bound, `app.option.set` commands storing
/// several copies of what `app.option.get` answered grow the portal's state geometrically within
/// one request. A reference past the budget is left as written, as one that names nothing.
const COPY_BUDGET: usize = 1 << 20;

/// One command a batch ran, as the portal answered it inside the batch.
pub(super) struct Command {
    pub name: String,
    /// Lower-cased, as Bitrix24 reads it.
    pub method: String,
    /// The status the method answers with on its own.
    pub status: u16,
    pub error: Option<String>,
    pub binding: Option<RepoBinding>,
}

/// What earlier commands answered, keyed as the batch's answer keys them.
#[derive(Default)]
struct Parts {
    result: Map<String, Value>,
    result_error: Map<String, Value>,
    result_total: Map<String, Value>,
    result_next: Map<String, Value>,
    result_time: Map<String, Value>,
}

impl Parts {
    fn of(&self, kind: &str) -> &Map<String, Value> {
        match kind {
            "result_error" => &self.result_error,
            "result_total" => &self.result_total,
            "result_next" => &self.result_next,
            "result_time" => &self.result_time,
            _ => &self.result,
        }
    }
}

pub(super) fn run(state: &mut State, params: &Params, caller: &Caller) -> (Answer, Vec<Command>) {
    let commands: Vec<(String, Value)> = match params.get("cmd") {
        Some(Value::Object(commands)) => commands.clone().into_iter().collect(),
        // A JSON list is what PHP reads as keys 0, 1, …
        Some(Value::Array(commands)) => commands.iter().cloned().enumerate().map(|(i, c)| (i.to_string(), c)).collect(),
        _ => return (missing("cmd"), Vec::new()),
    };
    if commands.len() > BATCH_LIMIT {
        return (Answer::error(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded"), Vec::new());
    }
    let halt = truthy(params.get("halt"));
    let mut parts = Parts::default();
    let mut budget = COPY_BUDGET;
    let mut ran = Vec::new();
    for (name, command) in commands {
        let text = command.as_str().unwrap_or_default();
        let (method, query) = text.split_once('?').unwrap_or((text, ""));
        let method = method.trim().trim_start_matches('/').to_lowercase();
        let method = method.strip_suffix(".json").unwrap_or(&method).to_owned();
        if method == "batch" {
            let answer = Answer::error(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage");
            return (answer, ran);
        }
        let mut sub = Params::from_query(query);
        for value in sub.values.values_mut() {
            substitute(value, &parts, &mut budget);
        }
        // The command's query is read as parse_str reads it: deeper than PHP's nesting limit is
        // dropped, whatever a reference put there.
        sub.values.retain(|_, value| !deeper_than(value, MAX_NESTING));
        let reply = dispatch(state, &method, &sub, caller);
        let answer = reply.answer;
        let error = answer.error_code();
        ran.push(Command {
            name: name.clone(),
            method,
            status: answer.status,
            error: error.clone(),
            binding: reply.binding,
        });
        if error.is_some() {
            parts.result_error.insert(name, answer.body);
            if halt {
                break;
            }
            continue;
        }
        parts.result.insert(name.clone(), answer.body["result"].clone());
        for (key, into) in
            [("total", &mut parts.result_total), ("next", &mut parts.result_next), ("time", &mut parts.result_time)]
        {
            if let Some(value) = answer.body.get(key) {
                into.insert(name.clone(), value.clone());
            }
        }
    }
    // PHP encodes an empty map as `[]`, and so does this.
    let php = |map: Map<String, Value>| if map.is_empty() { json!([]) } else { Value::Object(map) };
    let answer = Answer::success(
        json!({"result": php(parts.result), "result_error": php(parts.result_error),
               "result_total": php(parts.result_total), "result_next": php(parts.result_next),
               "result_time": php(parts.result_time)}),
        None,
    );
    (answer, ran)
}

/// `$result[NAME][key]…` (and `$result_next`, `$result_total`, `$result_error`, `$result_time`).
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$(result_error|result_total|result_next|result_time|result)((?:\[[^\[\]]*\])+)")
        .expect("a valid regex")
});

/// Replaces the references in `value` (and in every string nested in it) with what they name,
/// while `budget` lasts. A value that is one reference and nothing else takes the named value
/// whole (a list of ids stays a list); inside text, a scalar is written as text. A reference
/// that names nothing, or more than the budget left, is left as written.
fn substitute(value: &mut Value, parts: &Parts, budget: &mut usize) {
    match value {
        Value::String(text) => {
            if let Some(whole) = REFERENCE.captures(text).filter(|c| c[0].len() == text.len()) {
                if let Some(found) = resolve(parts, &whole[1], &whole[2]).filter(|f| spend(budget, weight(f))) {
                    *value = found.clone();
                }
                return;
            }
            let replaced = REFERENCE.replace_all(text, |c: &regex::Captures| match resolve(parts, &c[1], &c[2]) {
                Some(Value::String(s)) if spend(budget, s.len()) => s.clone(),
                Some(found @ (Value::Number(_) | Value::Bool(_))) => found.to_string(),
                _ => c[0].to_owned(),
            });
            *text = replaced.into_owned();
        }
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, parts, budget)),
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, parts, budget)),
        _ => {}
    }
}

/// Takes `cost` from `budget` if it is there.
fn spend(budget: &mut usize, cost: usize) -> bool {
    let left = budget.checked_sub(cost);
    *budget = left.unwrap_or(*budget);
    left.is_some()
}

/// About the bytes of `value` as JSON: its strings' lengths, and a few for every other node.
/// The portal's own values nest no deeper than a JSON body may (serde_json's limit of 128) or a
/// parameter ([`MAX_NESTING`]), so the recursion is bounded.
fn weight(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 2,
        Value::Object(map) => map.iter().map(|(k, v)| k.len() + 3 + weight(v)).sum::<usize>() + 2,
        Value::Array(items) => items.iter().map(weight).sum::<usize>() + 2,
        _ => 4,
    }
}

/// The value `[NAME][key]…` names among the `kind` answers of earlier commands.
fn resolve<'a>(parts: &'a Parts, kind: &str, path: &str) -> Option<&'a Value> {
    let mut keys = path.trim_start_matches('[').trim_end_matches(']').split("][");
    let mut found = parts.of(kind).get(keys.next()?)?;
    for key in keys {
        found = match found {
            Value::Object(map) => map.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_earlier_answers() {
        let mut parts = Parts::default();
        parts.result.insert("user".into(), json!({"ID": "1", "UF_DEPARTMENT": [5, 6]}));
        parts.result.insert("sites".into(), json!([{"ID": "30"}]));
        parts.result_total.insert("sites".into(), json!(40));
        let mut value = json!({
            "id": "$result[user][UF_DEPARTMENT][0]",
            "ids": "$result[user][UF_DEPARTMENT]",
            "text": "site $result[sites][0][ID] of $result_total[sites]",
            "unknown": "$result[nope][ID]",
        });
        let mut budget = COPY_BUDGET;
        substitute(&mut value, &parts, &mut budget);
        assert_eq!(value, json!({"id": 5, "ids": [5, 6], "text": "site 30 of 40", "unknown": "$result[nope][ID]"}));
    }
}
