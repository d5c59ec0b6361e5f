//! Suites: the conformance catalog as data. A suite file (TOML) becomes [`Case`]s: named cases
//! from its `[[case]]` tables and seeded, generated ones from its `[[generate]]` tables.

mod file;
mod filter;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::generate::{Mutation, valid_payloads};
use crate::payload::{Binding, Field, HttpRequest, Payload, Wire, opaque_token};

pub use file::SuiteError;
pub use filter::Filter;

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

/// What the mock portal holds for the case's AUTH_ID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenState {
    /// Good for calls.
    #[default]
    Valid,
    /// Known but past its lifetime: calls get `expired_token`; REFRESH_ID still refreshes it.
    Expired,
    /// Not a token the portal issued: calls get `invalid_token`; REFRESH_ID still refreshes it.
    Invalid,
}

/// The sentence of the Bitrix24 documentation a case enforces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocRef {
    /// The suite file's short name for it, which reports group by.
    pub key: String,
    pub source: String,
    pub quote: String,
}

/// One conformance case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Case {
    /// Stable across runs: `missing/member_id`, `valid/generated#3`.
    pub id: String,
    pub title: String,
    pub doc: DocRef,
    pub expect: Expectation,
    pub token: TokenState,
    /// The request a right portal would send, with this case's own tokens.
    #[serde(skip)]
    pub payload: Payload,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<Mutation>,
}

impl Case {
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

    /// The exact request fired at `handler` for this case; a `wire` mutation overrides `wire`.
    pub fn request(&self, handler: &Url, binding: &Binding, wire: Wire) -> HttpRequest {
        let wire = self.mutations.iter().find_map(Mutation::wire).unwrap_or(wire);
        let mut request = wire.encode(handler, &self.fields(binding));
        for mutation in &self.mutations {
            mutation.apply_request(&mut request);
        }
        request
    }
}

/// Where a suite comes from.
#[derive(Clone, Debug)]
pub enum SuiteSource {
    /// The catalog compiled into the binary (`suites/landing_settings.toml`).
    Builtin,
    File(std::path::PathBuf),
}

/// How a suite's generated groups are drawn.
#[derive(Clone, Copy, Debug)]
pub struct Draw {
    pub seed: u64,
    /// Overrides every generated group's `count`.
    pub count: Option<usize>,
}

/// Loads suites, in order, into cases. Ids must be unique across all of them.
pub fn load(sources: &[SuiteSource], draw: Draw) -> Result<Vec<Case>, SuiteError> {
    let mut cases: Vec<Case> = Vec::new();
    for source in sources {
        let (name, text) = match source {
            SuiteSource::Builtin => (BUILTIN_NAME.to_owned(), BUILTIN.to_owned()),
            SuiteSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| SuiteError::Read { path: path.display().to_string(), reason: e.to_string() })?;
                (path.display().to_string(), text)
            }
        };
        for case in file::parse(&name, &text, draw)? {
            if cases.iter().any(|c| c.id == case.id) {
                return Err(SuiteError::Read {
                    path: name,
                    reason: format!("case id {} is already defined by an earlier suite", case.id),
                });
            }
            cases.push(case);
        }
    }
    Ok(cases)
}

const BUILTIN_NAME: &str = "suites/landing_settings.toml";
const BUILTIN: &str = include_str!("../../suites/landing_settings.toml");

/// The base payload of a named case, with the case's own token pair.
fn catalog_payload(id: &str, base: &Payload) -> Payload {
    Payload {
        auth_id: opaque_token(&format!("{id}/auth"), 70),
        refresh_id: opaque_token(&format!("{id}/refresh"), 70),
        ..base.clone()
    }
}

/// The `count` generated payloads of a group; each group draws from its own seed stream.
fn generated_payloads(group: &str, draw: Draw, count: usize) -> Vec<Payload> {
    let group_seed = u64::from_str_radix(&opaque_token(group, 16), 16).unwrap_or_default();
    valid_payloads(draw.seed ^ group_seed, count)
}
