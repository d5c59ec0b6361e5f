//! A run, start to end: suite → cases → fire → exchange → checks → report. It starts the mock
//! portal (and the handler when asked: built in, or started from a command), fires every case,
//! and judges each exchange.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use futures::StreamExt;
use url::Url;

use crate::checks;
use crate::fire::{self, Exchange, Limits};
use crate::launch::{self, HandlerProcess, LaunchError};
use crate::payload::{Binding, Wire};
use crate::portal::{Authority, HandshakeFailures, Portal, Role};
use crate::reference::{Fault, Installation, Reference};
use crate::report::{CaseOutcome, CaseReport, RunReport};
use crate::suite::{self, Case, Draw, Filter, SuiteError, SuiteSource};

/// The handler under test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handler {
    /// `builtin:reference[?fault=NAME]`: the reference handler, run in this process.
    Builtin(Option<Fault>),
    /// Any http(s) URL.
    Url(Url),
}

impl FromStr for Handler {
    type Err = String;

    fn from_str(text: &str) -> Result<Handler, String> {
        if let Some(rest) = text.strip_prefix("builtin:reference") {
            let fault = match rest {
                "" => None,
                _ => {
                    let name = rest.strip_prefix("?fault=").ok_or_else(|| {
                        format!("{text:?}: the built-in handler takes only ?fault=NAME (see `b24-conform faults`)")
                    })?;
                    let known = || Fault::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ");
                    Some(
                        Fault::from_name(name)
                            .ok_or_else(|| format!("unknown fault {name:?}; the faults are: {}", known()))?,
                    )
                }
            };
            return Ok(Handler::Builtin(fault));
        }
        let url = Url::parse(text)
            .map_err(|e| format!("{text:?} is not a URL ({e}); give http://HOST:PORT/PATH or builtin:reference"))?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(format!("{text:?}: the handler must be an http:// or https:// URL, or builtin:reference"));
        }
        Ok(Handler::Url(url))
    }
}

impl std::fmt::Display for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Handler::Builtin(None) => write!(f, "builtin:reference"),
            Handler::Builtin(Some(fault)) => write!(f, "builtin:reference?fault={}", fault.name()),
            Handler::Url(url) => write!(f, "{url}"),
        }
    }
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub handler: Handler,
    pub suites: Vec<SuiteSource>,
    pub filters: Vec<String>,
    pub draw: Draw,
    /// Cases in flight at once.
    pub jobs: usize,
    pub limits: Limits,
    pub wire: Wire,
    /// Where the mock portal listens; port 0 takes a free one.
    pub portal_addr: SocketAddr,
    /// The portal speaks https with a CA made for the run (PROTOCOL=1), as the official SDKs
    /// require (PROTOCOL.md 5).
    pub portal_tls: bool,
    /// A shell command that starts the handler at the `handler` URL (`--handler-cmd`).
    pub handler_cmd: Option<String>,
    /// How long the started handler has to listen.
    pub handler_wait: Duration,
    pub settings: checks::Settings,
}

impl RunConfig {
    /// The defaults of `b24-conform run` for `handler`: the built-in catalog, seed 24, 8 jobs,
    /// 10 s per case, 1 MiB of body, the split wire, a plain-http portal on a free loopback port,
    /// a handler that is already running (30 s to listen when given a command), a 3 s latency
    /// budget, warnings not failing the run.
    pub fn new(handler: Handler) -> RunConfig {
        RunConfig {
            handler,
            suites: vec![SuiteSource::Builtin],
            filters: Vec::new(),
            draw: Draw { seed: DEFAULT_SEED, count: None },
            jobs: 8,
            limits: Limits { timeout: Duration::from_secs(10), body_cap: 1 << 20 },
            wire: Wire::Split,
            portal_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            portal_tls: false,
            handler_cmd: None,
            handler_wait: Duration::from_secs(30),
            settings: checks::Settings::default(),
        }
    }
}

/// How long a started handler's exit may take to be seen after its connections went dead.
const EXIT_SHOWS: Duration = Duration::from_secs(1);

/// The seed used when none is given, so that runs are reproducible by default.
pub const DEFAULT_SEED: u64 = 24;

/// Why a run could not happen (as opposed to a run whose cases failed).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Suite(#[from] SuiteError),
    #[error("no case matches the filter(s) {0:?}; `b24-conform list` shows the case ids")]
    NoCases(Vec<String>),
    #[error("cannot start the mock portal on {addr}: {reason}; choose another --portal-addr (port 0 takes a free one)")]
    Portal { addr: SocketAddr, reason: String },
    #[error("nothing answers at {url}: {reason}; start the handler first")]
    Unreachable { url: String, reason: String },
    #[error("cannot start the built-in reference handler: {0}")]
    Reference(String),
    #[error("--handler-cmd needs --handler URL, the address where the started handler listens")]
    CommandWithoutUrl,
    #[error(transparent)]
    Launch(#[from] LaunchError),
}

impl RunError {
    /// 2 for bad input, 3 for a run that could not happen (DESIGN.md, CLI contract).
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Suite(_) | RunError::NoCases(_) | RunError::CommandWithoutUrl => 2,
            RunError::Portal { .. } | RunError::Unreachable { .. } | RunError::Reference(_) | RunError::Launch(_) => 3,
        }
    }
}

/// The cases of `sources` that `filters` select, in suite order. Selecting none is an error.
pub fn select(sources: &[SuiteSource], filters: &[String], draw: Draw) -> Result<Vec<Case>, RunError> {
    let filter = Filter::new(filters);
    let cases: Vec<Case> = suite::load(sources, draw)?.into_iter().filter(|c| filter.selects(&c.id)).collect();
    if cases.is_empty() {
        return Err(RunError::NoCases(filters.to_vec()));
    }
    Ok(cases)
}

/// Runs the cases and judges them. `on_case` sees each case as it completes (in completion
/// order); the report lists them in suite order.
pub async fn run(config: &RunConfig, on_case: impl FnMut(&CaseReport)) -> Result<RunReport, RunError> {
    let cases = select(&config.suites, &config.filters, config.draw)?;
    let stage = Stage::start(config, &cases).await?;
    stage.perform(config, &cases, on_case).await
}

/// Where the foreign portal listens: the port after a fixed home port, so that payloads naming
/// `{foreign}` are the same run after run; any free port when the home port is.
pub fn foreign_addr(home: SocketAddr) -> SocketAddr {
    match home.port() {
        0 => home,
        port => SocketAddr::new(home.ip(), port.wrapping_add(1)),
    }
}

/// The scene of a run: the mock portal holding every case's tokens and the handler under test,
/// started once and shared by all cases. Dropping it stops them all.
pub struct Stage {
    /// Declared first so it stops first, while the portal it may be calling still answers.
    process: Option<HandlerProcess>,
    portal: Portal,
    foreign: Portal,
    _reference: Option<Reference>,
    /// After the portals, so the CA file outlives every server that uses its certificate.
    authority: Option<Authority>,
    handler_url: Url,
    binding: Binding,
    client: reqwest::Client,
    wire: Wire,
    limits: Limits,
    started: Instant,
    settings: checks::Settings,
}

impl Stage {
    /// Starts the portal, then the handler (built in, or `--handler-cmd`, which needs the
    /// portal's URLs), checks that the handler listens, and issues each case its tokens; case
    /// `i` of `cases` is owner `i` from then on.
    pub async fn start(config: &RunConfig, cases: &[Case]) -> Result<Stage, RunError> {
        if config.handler_cmd.is_some() && matches!(config.handler, Handler::Builtin(_)) {
            return Err(RunError::CommandWithoutUrl);
        }
        let started = Instant::now();
        let authority = match config.portal_tls {
            true => Some(
                Authority::new().map_err(|e| RunError::Portal { addr: config.portal_addr, reason: e.to_string() })?,
            ),
            false => None,
        };
        let start = |addr: SocketAddr, role: Role| {
            let authority = authority.as_ref();
            async move {
                Portal::start_as(addr, role, authority)
                    .await
                    .map_err(|e| RunError::Portal { addr, reason: e.to_string() })
            }
        };
        let portal = start(config.portal_addr, Role::Home).await?;
        // A second Bitrix24 the app is not installed on: cases whose DOMAIN names it (`{foreign}`)
        // show whether a handler sends tokens wherever a request tells it to. Over https too, or
        // a handler that only speaks https could never leak a token to it.
        let foreign = start(foreign_addr(config.portal_addr), Role::Foreign).await?;
        let binding = portal.binding(&foreign);
        let (reference, handler_url) = match &config.handler {
            Handler::Builtin(fault) => {
                let installation = Installation {
                    domain: binding.domain.clone(),
                    member_id: binding.member_id.clone(),
                    rest_url: portal.rest_url(),
                    oauth_url: portal.oauth_url(),
                    ca_pem: authority.as_ref().map(|a| a.ca_pem().to_owned()),
                };
                let reference =
                    Reference::start(installation, *fault).await.map_err(|e| RunError::Reference(e.to_string()))?;
                let url = Url::parse(&reference.url()).map_err(|e| RunError::Reference(e.to_string()))?;
                (Some(reference), url)
            }
            Handler::Url(url) => (None, url.clone()),
        };
        let process = match &config.handler_cmd {
            Some(command) => Some(
                HandlerProcess::start(
                    command,
                    &handler_url,
                    &launch::environment(&portal, &binding.member_id, authority.as_ref()),
                    config.handler_wait,
                )
                .await?,
            ),
            None => None,
        };
        ensure_listening(&handler_url).await?;
        for (owner, case) in cases.iter().enumerate() {
            for p in [&portal, &foreign] {
                p.grant(owner, &case.payload.auth_id, &case.payload.refresh_id, case.token);
            }
        }
        Ok(Stage {
            process,
            portal,
            foreign,
            _reference: reference,
            authority,
            handler_url,
            binding,
            client: fire::client(),
            wire: config.wire,
            limits: config.limits,
            started,
            settings: config.settings,
        })
    }

    /// The mock portal the app is installed on.
    pub fn portal(&self) -> &Portal {
        &self.portal
    }

    /// The TLS handshakes the portals refused so far (none over plain http): the one trace a
    /// handler that does not trust the run's CA leaves at the portal.
    pub fn handshake_failures(&self) -> HandshakeFailures {
        self.portal.handshake_failures().merge(self.foreign.handshake_failures())
    }

    /// The run's CA, when the portals speak https.
    pub fn authority(&self) -> Option<&Authority> {
        self.authority.as_ref()
    }

    /// Fires `cases` (the ones the stage was started with), `config.jobs` at a time, and judges
    /// them. `on_case` sees each case as it completes (in completion order); the report lists
    /// them in suite order, and its duration counts from the stage's start. A started handler
    /// that exits meanwhile ends the run.
    pub async fn perform(
        &self,
        config: &RunConfig,
        cases: &[Case],
        mut on_case: impl FnMut(&CaseReport),
    ) -> Result<RunReport, RunError> {
        let all = async {
            let mut exchanges = futures::stream::iter(cases.iter().enumerate())
                .map(|(owner, case)| self.exercise(owner, case))
                .buffer_unordered(config.jobs.max(1));
            let mut reports: Vec<Option<CaseReport>> = vec![None; cases.len()];
            while let Some((owner, report)) = exchanges.next().await {
                on_case(&report);
                reports[owner] = Some(report);
            }
            reports.into_iter().flatten().collect()
        };
        let reports: Vec<CaseReport> = match &self.process {
            Some(process) => tokio::select! {
                reports = all => reports,
                died = process.died() => return Err(died.into()),
            },
            None => all.await,
        };
        // A handler that dies resets its connections before its exit can be reaped, so the
        // last cases can end, unanswered, first: give its exit a moment to show.
        if let Some(process) = &self.process
            && reports.iter().any(|r| r.outcome == CaseOutcome::Error)
            && let Ok(died) = tokio::time::timeout(EXIT_SHOWS, process.died()).await
        {
            return Err(died.into());
        }
        Ok(RunReport::new(config.handler.to_string(), config.draw.seed, config.wire, reports, self.started.elapsed()))
    }

    /// Fires one case and judges the exchange.
    pub async fn exercise(&self, owner: usize, case: &Case) -> (usize, CaseReport) {
        let request = case.request(&self.handler_url, &self.binding, self.wire);
        let response = fire::fire(&self.client, &request, self.limits).await;
        let mut portal_calls = self.portal.take_calls(owner);
        portal_calls.extend(self.foreign.take_calls(owner));
        let exchange = Exchange { request, response, portal_calls };
        let verdicts = checks::check(case, &exchange, &self.settings);
        (owner, CaseReport::new(case, exchange, verdicts))
    }
}

/// Fails fast, with exit 3, when nothing listens at the handler's address.
async fn ensure_listening(url: &Url) -> Result<(), RunError> {
    launch::listening(url, Duration::from_secs(5))
        .await
        .map_err(|reason| RunError::Unreachable { url: url.to_string(), reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_specs() {
        assert_eq!("builtin:reference".parse(), Ok(Handler::Builtin(None)));
        assert_eq!("builtin:reference?fault=json-page".parse(), Ok(Handler::Builtin(Some(Fault::JsonPage))));
        assert!(
            "builtin:reference?fault=nope".parse::<Handler>().unwrap_err().contains("the faults are: options-json-500")
        );
        assert!("ftp://x/".parse::<Handler>().is_err());
        assert!("localhost:8080".parse::<Handler>().is_err());
    }
}
