//! Journeys: the app's install lifecycle as suite data. A `[[journey]]` table is a list of steps
//! fired in order, after every other case (they change the portal's state): a case of the
//! catalog fired again with the step's own tokens, a re-installation, or the `ONAPPUNINSTALL`
//! event Bitrix24 posts to the handler the app bound for it with `event.bind`
//! (on-app-uninstall.md). Each step is a case of its own, `JOURNEY/step-N-KIND`, judged by the
//! same checks.

use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::install::{self, InstallForm};
use crate::payload::{Binding, Family, Field, Wire, opaque_token};
use crate::record::HttpRequest;
use crate::suite::plan::Part;
use crate::suite::{Case, CaseKind, Evidence, Expectation, Level, catalog_payload};

/// The event Bitrix24 posts when the app is removed.
pub const ONAPPUNINSTALL: &str = "ONAPPUNINSTALL";

/// Whose `application_token` an `ONAPPUNINSTALL` carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppToken {
    /// The installation's: Bitrix24 removed the app.
    #[default]
    Genuine,
    /// Not the installation's: anyone who learnt the handler's URL can post it.
    Forged,
}

/// What a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A case of the catalog, fired again with the step's own tokens.
    Case,
    /// Bitrix24 installs the app again, as the run installed it first, with the step's tokens.
    Install,
    /// Bitrix24 removes the app, then posts `ONAPPUNINSTALL` to the handler the app bound.
    Uninstall(AppToken),
}

impl Action {
    /// The name suite files and step ids use.
    pub fn label(self) -> &'static str {
        match self {
            Action::Case => "case",
            Action::Install => "install",
            Action::Uninstall(_) => "uninstall",
        }
    }
}

/// The journey a step case belongs to: its id without the `/step-N-KIND` tail.
pub fn journey_of(case: &Case) -> Option<&str> {
    matches!(case.kind, CaseKind::Step(_)).then(|| case.id.rsplit_once('/').map_or(case.id.as_str(), |(j, _)| j))
}

/// A `[[journey]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JourneyEntry {
    id: Spanned<String>,
    title: String,
    doc: Spanned<String>,
    /// The level of its steps, unless a step says otherwise.
    level: Level,
    steps: Vec<StepEntry>,
}

/// One step of a `[[journey]]`: `{ do = "case", case = "ID" }`, `{ do = "install" }` or
/// `{ do = "uninstall" }` (`application_token = "forged"` to forge it), each with an optional
/// `expect`, `level` and `title` of its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepEntry {
    #[serde(rename = "do")]
    action: Spanned<StepKind>,
    case: Option<Spanned<String>>,
    application_token: Option<Spanned<AppToken>>,
    expect: Option<Expectation>,
    level: Option<Level>,
    title: Option<String>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StepKind {
    Case,
    Install,
    Uninstall,
}

/// The step cases of `journeys`, in order. `catalog` holds the file's other cases and groups,
/// whose cases `case` steps name; `doc` resolves a `doc` key and `at` places an error in the file.
pub(crate) fn cases<E>(
    journeys: &[JourneyEntry],
    family: Family,
    catalog: &[Part],
    doc: impl Fn(&Spanned<String>) -> Result<Evidence, E>,
    at: impl Fn(Range<usize>, String) -> E,
) -> Result<Vec<Case>, E> {
    let mut steps = Vec::new();
    for journey in journeys {
        let name = journey.id.get_ref();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "/_.-".contains(c)) {
            return Err(at(journey.id.span(), format!("journey id `{name}` must be letters, digits and / _ . - only")));
        }
        let mut ids = catalog.iter().map(Part::stem).chain(steps.iter().map(|c: &Case| c.id.as_str()));
        if ids.any(|id| id.starts_with(&format!("{name}/")) || id == name) {
            return Err(at(journey.id.span(), format!("journey id `{name}` is already used by a case or journey")));
        }
        if journey.steps.is_empty() {
            return Err(at(journey.id.span(), format!("journey `{name}` has no steps")));
        }
        let evidence = doc(&journey.doc)?;
        for (n, step) in journey.steps.iter().enumerate() {
            let action = match (*step.action.get_ref(), &step.case, &step.application_token) {
                (StepKind::Case, Some(_), None) => Action::Case,
                (StepKind::Install, None, None) => Action::Install,
                (StepKind::Uninstall, None, token) => {
                    Action::Uninstall(token.as_ref().map_or_else(AppToken::default, |t| *t.get_ref()))
                }
                (StepKind::Case | StepKind::Install, _, Some(token)) => {
                    return Err(at(token.span(), "only an `uninstall` step takes application_token".to_owned()));
                }
                (StepKind::Case, None, None) => {
                    return Err(at(step.action.span(), "a `case` step names its case: case = \"ID\"".to_owned()));
                }
                (_, Some(case), _) => return Err(at(case.span(), "only a `case` step names a case".to_owned())),
            };
            let id = format!("{name}/step-{}-{}", n + 1, action.label());
            let mut case = match (action, &step.case) {
                (Action::Case, Some(wanted)) => {
                    let Some(base) = catalog.iter().find_map(|part| part.placement(wanted.get_ref())) else {
                        return Err(at(
                            wanted.span(),
                            format!("unknown case `{}`: a step names a case of this file", wanted.get_ref()),
                        ));
                    };
                    Case { origin: None, ..base }
                }
                (Action::Install, _) => install::case(InstallForm::Event, family),
                _ => uninstall_case(action, family),
            };
            case.payload = catalog_payload(&id, &case.payload);
            case.id = id;
            case.evidence = evidence.clone();
            case.level = step.level.unwrap_or(journey.level);
            case.kind = CaseKind::Step(action);
            if let Some(expect) = step.expect {
                case.expect = expect;
            }
            let title = step.title.as_deref().unwrap_or(&case.title);
            case.title = format!("{}: {title}", journey.title);
            steps.push(case);
        }
    }
    Ok(steps)
}

/// An uninstall step before its id and evidence are set: a genuine event is accepted; a forged
/// one may be refused or acknowledged, but never crash the app.
fn uninstall_case(action: Action, family: Family) -> Case {
    let (title, expect) = match action {
        Action::Uninstall(AppToken::Forged) => (
            "Someone posts ONAPPUNINSTALL with an application_token that is not the installation's; the app ignores it",
            Expectation::Tolerate,
        ),
        _ => (
            "Bitrix24 removes the app and posts ONAPPUNINSTALL with the installation's application_token",
            Expectation::Accept,
        ),
    };
    Case { title: title.to_owned(), expect, ..install::case(InstallForm::Event, family) }
}

/// The `application_token` of a forged event: 32 hex digits, like the genuine one, but not it.
pub fn forged_application_token() -> String {
    opaque_token("b24-conform forged application_token", 32)
}

/// The `ONAPPUNINSTALL` event for `case` from the portal of `binding`, as bound handler
/// `handler_id` gets it at `url` (on-app-uninstall.md): `event`, `event_handler_id`,
/// `data[LANGUAGE_ID]`, `data[CLEAN]`, `ts`, and an `auth` without any token — "the application
/// has already been removed" (safe-event-handlers.md) — but with its `application_token`.
pub fn uninstall_request(case: &Case, token: AppToken, binding: &Binding, handler_id: u64, url: &Url) -> HttpRequest {
    let payload = case.payload.bind(binding);
    let application_token = match token {
        AppToken::Genuine => payload.application_token.clone().unwrap_or_default(),
        AppToken::Forged => forged_application_token(),
    };
    let scheme = if binding.protocol == 1 { "https" } else { "http" };
    // The event leaves the queue now: a handler with a replay window must not refuse it.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let values = [
        ("event", ONAPPUNINSTALL.to_owned()),
        ("event_handler_id", handler_id.to_string()),
        ("data[LANGUAGE_ID]", payload.lang.clone()),
        // The user kept the app's data: CLEAN=1 asks for more than this harness can see.
        ("data[CLEAN]", "0".to_owned()),
        ("ts", now.to_string()),
        ("auth[domain]", payload.domain.clone()),
        ("auth[server_endpoint]", binding.server_endpoint.clone()),
        ("auth[client_endpoint]", format!("{scheme}://{}/rest/", payload.domain)),
        ("auth[member_id]", payload.member_id.clone()),
        ("auth[application_token]", application_token),
    ];
    let fields: Vec<Field> = values.into_iter().map(|(name, value)| Field::new(name, value)).collect();
    Wire::Form.encode(url, &fields)
}
