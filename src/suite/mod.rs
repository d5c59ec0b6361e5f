//! Suites: the conformance catalog as data. A suite file (TOML) becomes a [`Plan`] of
//! [`Case`]s: named cases from its `[[case]]` tables and seeded, generated ones from its
//! `[[generate]]` tables, drawn when the plan is iterated.

mod evidence;
mod file;
mod filter;
mod partition;
pub(crate) mod plan;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::generate::{Mutation, Space};
use crate::payload::{Binding, Family, Field, Payload, Wire, opaque_token};
use crate::record::HttpRequest;

use evidence::check_url;
pub use evidence::{Evidence, EvidenceKind};
pub use file::SuiteError;
pub use filter::Filter;
pub use partition::{Partition, PartitionError};
pub use plan::{Cases, Plan};

/// What a right handler does with a case's request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expectation {
    /// Answers 2xx: the request is one Bitrix24 sends.
    Accept,
    /// Answers 4xx: the request is not one Bitrix24 sends.
    Reject,
    /// Anything but a server error: the documentation leaves the answer open.
    Tolerate,
}

impl Expectation {
    /// The name suite files and reports use.
    pub fn label(self) -> &'static str {
        match self {
            Expectation::Accept => "accept",
            Expectation::Reject => "reject",
            Expectation::Tolerate => "tolerate",
        }
    }
}

/// How much a requirement weighs: whether breaking it fails the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Documented, or its violation harms the user or the portal: a failure fails the run.
    Must,
    /// Good practice, or inferred and undocumented behaviour: a failure is a warning, which fails
    /// the run only with `--strict`.
    Should,
}

impl Level {
    /// The name suite files and reports use.
    pub fn label(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
        }
    }
}

/// What the mock portal does with the case's tokens (PROTOCOL.md 2.4, 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenState {
    /// Good for calls.
    #[default]
    Valid,
    /// Known but past its lifetime: calls get `expired_token`; REFRESH_ID still refreshes it.
    Expired,
    /// Good for the first call, `expired_token` from the second on: it runs out during the case.
    Expiring,
    /// Not a token the portal issued: calls get `invalid_token`; REFRESH_ID still refreshes it.
    Invalid,
    /// Withdrawn: calls get `invalid_token` and REFRESH_ID gets `invalid_grant`.
    Revoked,
    /// The app lacks the scope: every call of the case gets `insufficient_scope`, refreshed or not.
    InsufficientScope,
    /// The portal's limit is reached: the case's first call gets `QUERY_LIMIT_EXCEEDED` (503).
    RateLimited,
}

impl TokenState {
    /// The name suite files and reports use.
    pub fn label(self) -> &'static str {
        match self {
            TokenState::Valid => "valid",
            TokenState::Expired => "expired",
            TokenState::Expiring => "expiring",
            TokenState::Invalid => "invalid",
            TokenState::Revoked => "revoked",
            TokenState::InsufficientScope => "insufficient-scope",
            TokenState::RateLimited => "rate-limited",
        }
    }
}

/// One conformance case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Case {
    /// Stable across runs: `missing/member_id`, `valid/generated#3`.
    pub id: String,
    pub title: String,
    pub level: Level,
    pub evidence: Evidence,
    pub expect: Expectation,
    pub token: TokenState,
    /// The request a right portal would send, with this case's own tokens.
    #[serde(skip)]
    pub payload: Payload,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<Mutation>,
    /// Set on generated cases.
    #[serde(rename = "generated", skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    #[serde(skip)]
    pub kind: CaseKind,
}

/// What a case's request is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaseKind {
    /// A placement request (LANDING_SETTINGS, LANDING_BLOCK_*), fired at the handler.
    #[default]
    Placement,
    /// The installation, fired at the app's installation handler (`crate::install`).
    Install(crate::install::InstallForm),
    /// A step of a journey (`crate::journey`): fired after every other case, in suite order.
    Step(crate::journey::Action),
}

impl CaseKind {
    /// Whether the case installs the app, so that what the app binds is judged.
    pub fn installs(self) -> bool {
        matches!(self, CaseKind::Install(_) | CaseKind::Step(crate::journey::Action::Install))
    }

    /// Whether the case's request is an event Bitrix24 posts, whose answer no frame shows.
    pub fn is_event(self) -> bool {
        use crate::journey::Action;
        matches!(
            self,
            CaseKind::Install(crate::install::InstallForm::Event)
                | CaseKind::Step(Action::Install | Action::Uninstall(_))
        )
    }
}

impl Case {
    /// The placement family the case's request is for: its suite's, whatever its mutations do
    /// to PLACEMENT. It decides where the case is fired (the handler the app bound for the
    /// family) and how its draws are drawn again.
    pub fn family(&self) -> Family {
        Family::of(&self.payload.placement).unwrap_or_default()
    }

    /// The case's fields as fired: its payload bound to one portal, then mutated, with
    /// `{portal}` and `{foreign}` standing for the two portals' `host:port`.
    pub fn fields(&self, binding: &Binding) -> Vec<Field> {
        let mut fields = self.payload.bind(binding).to_fields();
        for mutation in &self.mutations {
            mutation.apply_fields(&mut fields);
        }
        for field in fields.iter_mut().filter(|f| f.value.contains('{')) {
            field.value =
                field.value.replace("{portal}", &binding.domain).replace("{foreign}", &binding.foreign_domain);
        }
        fields
    }

    /// The exact request fired at `handler` for this case, as the frame's browser sends it; a
    /// `wire` mutation overrides `wire`, and mutations of headers win over the browser's.
    pub fn request(&self, handler: &Url, binding: &Binding, wire: Wire) -> HttpRequest {
        use crate::journey::{self, Action};
        match self.kind {
            CaseKind::Install(form) => return crate::install::request(self, form, binding, handler),
            CaseKind::Step(Action::Install) => {
                return crate::install::request(self, crate::install::InstallForm::Event, binding, handler);
            }
            CaseKind::Step(Action::Uninstall(token)) => {
                return journey::uninstall_request(self, token, binding, FIRST_EVENT_HANDLER, handler);
            }
            CaseKind::Placement | CaseKind::Step(Action::Case) => {}
        }
        let wire = self.mutations.iter().find_map(Mutation::wire).unwrap_or(wire);
        let mut request = wire.placement(handler, &self.fields(binding), binding);
        for mutation in &self.mutations {
            mutation.apply_request(&mut request);
        }
        request
    }
}

/// The `event_handler_id` an event carries when nothing says which handler it went to.
const FIRST_EVENT_HANDLER: u64 = 1;

/// Where a suite comes from.
#[derive(Clone, Debug)]
pub enum SuiteSource {
    /// A placement family's catalog compiled into the binary (`suites/landing_settings.toml`,
    /// `suites/landing_block.toml`).
    Builtin(Family),
    File(std::path::PathBuf),
}

/// How a suite's generated groups are drawn.
#[derive(Clone, Debug, Default)]
pub struct Draw {
    pub seed: u64,
    /// Overrides every generated group's `count`.
    pub count: Option<usize>,
    /// Draws that failed before (a regressions file): a group draws those its own draws do not
    /// include after them.
    pub replay: Vec<Replay>,
}

/// One generated draw, as the regressions file and the report name it: its group's id and the
/// draw's own seed ([`crate::generate::draft_seed`]), which alone makes the draw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replay {
    pub group: String,
    /// `0x` and 16 hex digits, as in the regressions file: JSON readers that hold numbers as
    /// doubles would round a 64-bit seed.
    #[serde(with = "hex_seed")]
    pub seed: u64,
}

mod hex_seed {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(seed: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("0x{seed:016x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.strip_prefix("0x")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .ok_or_else(|| D::Error::custom(format!("expected a seed as 0x and hex digits, found {text:?}")))
    }
}

/// Where a generated case came from, so that it can be drawn again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The id of its `[[generate]]` group.
    pub group: String,
    pub space: Space,
    /// The draw's own seed ([`crate::generate::draft_seed`]).
    pub seed: u64,
    /// Drawn from a regressions file: a draw the run's seed does not make.
    pub replayed: bool,
}

impl Origin {
    /// The draw, as the regressions file names it.
    pub fn draw(&self) -> Replay {
        Replay { group: self.group.clone(), seed: self.seed }
    }
}

/// Loads suites, in order, into a plan of every case. Ids must be unique across all of them.
pub fn load(sources: &[SuiteSource], draw: &Draw) -> Result<Plan, SuiteError> {
    let mut parts: Vec<plan::Part> = Vec::new();
    for source in sources {
        let (name, text) = match source {
            SuiteSource::Builtin(family) => (format!("suites/{}.toml", family.suite()), builtin(*family).to_owned()),
            SuiteSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| SuiteError::Read { path: path.display().to_string(), reason: e.to_string() })?;
                (path.display().to_string(), text)
            }
        };
        for part in file::parse(&name, &text, draw)? {
            if parts.iter().any(|p| p.stem() == part.stem()) {
                return Err(SuiteError::Read {
                    path: name,
                    reason: format!("case id {} is already defined by an earlier suite", part.stem()),
                });
            }
            parts.push(part);
        }
    }
    Ok(Plan::new(parts))
}

/// The built-in catalog of a family.
fn builtin(family: Family) -> &'static str {
    match family {
        Family::Settings => include_str!("../../suites/landing_settings.toml"),
        Family::Block => include_str!("../../suites/landing_block.toml"),
    }
}

/// The base payload of a named case, with the case's own token pair.
pub(crate) fn catalog_payload(id: &str, base: &Payload) -> Payload {
    Payload {
        auth_id: opaque_token(&format!("{id}/auth"), 70),
        refresh_id: opaque_token(&format!("{id}/refresh"), 70),
        ..base.clone()
    }
}
