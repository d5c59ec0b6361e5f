//! A run, start to end: suite → cases → fire → exchange → checks → report. It starts the mock
//! portal (and the handler when asked: built in, or started from a command), fires every case,
//! and judges each exchange.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use futures::StreamExt;
use url::Url;

use crate::checks;
use crate::fire::{self, Exchange, Limits};
use crate::generate::Shrinker;
use crate::install::{self, InstallForm};
use crate::journey::{self, Action, AppToken, ONAPPUNINSTALL};
use crate::launch::{self, HandlerProcess, LaunchError};
use crate::payload::{Binding, HttpRequest, LANDING_SETTINGS, Payload, Wire, opaque_token};
use crate::portal::{Authority, HandshakeFailures, Portal, PortalCall, PortalConfig, Role};
use crate::reference::{Credentials, Fault, Reference};
use crate::regressions::{self, Recorder, RegressionsError};
use crate::report::{CaseOutcome, CaseReport, RunReport, Shrunk};
use crate::snapshot::{self, SnapshotConfig, Snapshots};
use crate::suite::{self, Case, CaseKind, Draw, Filter, Origin, Partition, Plan, SuiteError, SuiteSource};

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
    pub portal: PortalConfig,
    /// The app's installation handler: the run installs the app there first (the built-in
    /// handler always has one).
    pub install_url: Option<Url>,
    pub install_form: InstallForm,
    pub settings: checks::Settings,
    /// A failing generated case is shrunk with at most this many candidates (0: not shrunk).
    pub shrink_budget: usize,
    /// Where failing draws are recorded, and read back to be drawn again (`--regressions`).
    pub regressions: Option<PathBuf>,
    /// Run only this part of the plan (`--partition K/N`).
    pub partition: Option<Partition>,
    /// The portal speaks https with a CA made for the run (PROTOCOL=1), as the official SDKs
    /// require (PROTOCOL.md 5).
    pub portal_tls: bool,
    /// A shell command that starts the handler at the `handler` URL (`--handler-cmd`).
    pub handler_cmd: Option<String>,
    /// How long the started handler has to listen.
    pub handler_wait: Duration,
    /// Judge each exchange against its reviewed snapshot too (the `snapshot` check).
    pub snapshots: Option<SnapshotConfig>,
    /// CA certificates (PEM) the harness trusts for an https handler, besides the system's
    /// roots (`--handler-ca`).
    pub handler_ca: Option<String>,
}

impl RunConfig {
    /// The defaults of `b24-conform run` for `handler`: the built-in catalog, seed 24, 8 jobs,
    /// 10 s per case, 1 MiB of body, the split wire, a plain-http portal on a free loopback port,
    /// a handler that is already running (30 s to listen when given a command), a 3 s latency
    /// budget, warnings not failing the run, failing draws shrunk with up to 256 candidates and
    /// recorded nowhere, and the whole plan (no partition).
    pub fn new(handler: Handler) -> RunConfig {
        RunConfig {
            handler,
            suites: vec![SuiteSource::Builtin],
            filters: Vec::new(),
            draw: Draw { seed: DEFAULT_SEED, ..Draw::default() },
            jobs: 8,
            limits: Limits { timeout: Duration::from_secs(10), body_cap: 1 << 20 },
            wire: Wire::Split,
            portal_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            portal: PortalConfig::default(),
            install_url: None,
            install_form: InstallForm::default(),
            settings: checks::Settings::default(),
            shrink_budget: 256,
            regressions: None,
            partition: None,
            portal_tls: false,
            handler_cmd: None,
            handler_wait: Duration::from_secs(30),
            snapshots: None,
            handler_ca: None,
        }
    }
}

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
    #[error(transparent)]
    Regressions(#[from] RegressionsError),
    #[error("the installation bound PLACEMENT_HANDLER {url}, which does not answer: {reason}")]
    BoundHandler { url: String, reason: String },
    #[error("--handler-cmd needs --handler URL, the address where the started handler listens")]
    CommandWithoutUrl,
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error("--handler-ca: not a usable CA certificate")]
    HandlerCa(#[source] reqwest::Error),
}

impl RunError {
    /// 2 for bad input, 3 for a run that could not happen (DESIGN.md, CLI contract).
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Suite(_)
            | RunError::NoCases(_)
            | RunError::Regressions(_)
            | RunError::CommandWithoutUrl
            | RunError::HandlerCa(_) => 2,
            RunError::Portal { .. }
            | RunError::Unreachable { .. }
            | RunError::Reference(_)
            | RunError::BoundHandler { .. }
            | RunError::Launch(_) => 3,
        }
    }
}

/// The plan of the cases of `sources` that `filters` select. Selecting none is an error.
pub fn select(sources: &[SuiteSource], filters: &[String], draw: &Draw) -> Result<Plan, RunError> {
    let plan = selected(sources, filters, draw)?;
    if plan.is_empty() {
        return Err(RunError::NoCases(filters.to_vec()));
    }
    Ok(plan)
}

/// The plan of the cases of `sources` that `filters` select, none perhaps. A journey's steps
/// make sense only together: selecting one step selects its whole journey.
fn selected(sources: &[SuiteSource], filters: &[String], draw: &Draw) -> Result<Plan, RunError> {
    Ok(suite::load(sources, draw)?.select(Filter::new(filters)))
}

/// The cases `list` shows, drawn as they are listed: the installation (as the run performs it
/// by default), then the suites' cases, those the filters select. Selecting none is an error.
pub fn catalog(
    sources: &[SuiteSource],
    filters: &[String],
    draw: &Draw,
) -> Result<impl Iterator<Item = Case> + use<>, RunError> {
    let install = Some(install::case(InstallForm::default())).filter(|c| Filter::new(filters).selects(&c.id));
    let plan = selected(sources, filters, draw)?;
    if install.is_none() && plan.is_empty() {
        return Err(RunError::NoCases(filters.to_vec()));
    }
    Ok(install.into_iter().chain(plan.into_iter().map(|(_, case)| case)))
}

/// Runs the cases and judges them. `on_case` sees each case as it is judged; the report lists
/// them in suite order, the installation first. Cases are judged once every case has been
/// answered, so that a call made with a case's token after its answer is judged with it.
/// Failing generated cases are then shrunk, and their draws recorded in the regressions file,
/// if there is one.
pub async fn run(config: &RunConfig, on_case: impl FnMut(&CaseReport)) -> Result<RunReport, RunError> {
    let cases: Vec<Case> = cases(config)?.iter().map(|(_, case)| case).collect();
    let stage = Stage::start(config, &cases).await?;
    let report = stage.perform(config, &cases, on_case).await;
    stage.close().await;
    report
}

/// The plan of the run: the suites' cases the filters select, in the run's partition, with the
/// regressions file's draws that the run does not draw anyway, when there is a file. A filter
/// may select the installation alone: the plan is empty then.
pub fn cases(config: &RunConfig) -> Result<Plan, RunError> {
    let mut draw = config.draw.clone();
    if let Some(path) = &config.regressions {
        draw.replay = regressions::read(path)?;
    }
    let plan = selected(&config.suites, &config.filters, &draw)?;
    let installs = matches!(config.handler, Handler::Builtin(_)) || config.install_url.is_some();
    if plan.total() == 0 && !(installs && Filter::new(&config.filters).selects(config.install_form.case_id())) {
        return Err(RunError::NoCases(config.filters.to_vec()));
    }
    Ok(match config.partition {
        Some(partition) => plan.partitioned(partition),
        None => plan,
    })
}

/// [`Stage::perform`] without the watch on a started handler.
async fn perform(
    stage: &Stage,
    config: &RunConfig,
    cases: &[Case],
    mut on_fired: impl FnMut(&Case, usize),
    mut on_case: impl FnMut(&CaseReport),
) -> Result<RunReport, RunError> {
    let mut exchanges: Vec<Option<Exchange>> = vec![None; cases.len()];
    let (steps, regular): (Vec<usize>, Vec<usize>) =
        (0..cases.len()).partition(|&owner| matches!(cases[owner].kind, CaseKind::Step(_)));
    // In rounds, so that the portals can drop wiremock's copies of the requests between them,
    // when no case is in flight: memory stays flat however long the run.
    for (round, chunk) in regular.chunks(RECYCLE_EVERY).enumerate() {
        if round > 0 {
            stage.recycle().await;
        }
        let mut fired = futures::stream::iter(chunk)
            .map(|&owner| async move { (owner, stage.exercise(owner, &cases[owner]).await) })
            .buffer_unordered(config.jobs.max(1));
        while let Some((owner, exchange)) = fired.next().await {
            on_fired(&cases[owner], cases.len());
            exchanges[owner] = Some(exchange);
        }
    }
    // Journeys change the portal's state (an uninstalled app): after every other case, one
    // step at a time, in suite order.
    let mut unexercised: Vec<Option<(HttpRequest, String)>> = vec![None; cases.len()];
    for owner in steps {
        match stage.step(owner, &cases[owner]).await {
            Ok(exchange) => exchanges[owner] = Some(exchange),
            Err(skipped) => unexercised[owner] = Some(skipped),
        }
        on_fired(&cases[owner], cases.len());
    }
    let (install, unattributed) = stage.finish(&mut exchanges);
    let mut judge_one = |case: &Case, fired: Result<Exchange, (HttpRequest, String)>| {
        let report = match fired {
            Ok(exchange) => stage.judge(case, exchange),
            Err((request, reason)) => CaseReport::not_exercised(case, request, &reason),
        };
        on_case(&report);
        report
    };
    let filter = Filter::new(&config.filters);
    let reported = config.partition.is_none_or(Partition::reports_install);
    let install =
        install.filter(|(case, _)| reported && filter.selects(&case.id)).map(|(case, e)| judge_one(&case, Ok(e)));
    let mut reports: Vec<CaseReport> = cases
        .iter()
        .zip(exchanges)
        .zip(unexercised)
        .filter_map(|((case, exchange), skipped)| {
            let fired = match (exchange, skipped) {
                (Some(exchange), _) => Ok(exchange),
                (None, Some(skipped)) => Err(skipped),
                (None, None) => return None,
            };
            Some(judge_one(case, fired))
        })
        .collect();

    let mut next_owner = cases.len();
    let mut shrunk = 0;
    // A snapshot's difference is no property of the draw: shrinking judges candidates without
    // snapshots, and a replayed draw has a case id no snapshot is stored under. A warning does
    // not fail the run, and a case the harness did not model is no failure of the handler:
    // neither is shrunk nor recorded.
    let failing = cases
        .iter()
        .zip(reports.iter_mut())
        .filter(|(_, r)| r.outcome == CaseOutcome::Error || r.run_failures().any(|v| v.id != snapshot::CHECK_ID));
    for (case, report) in failing {
        let Some(origin) = &case.origin else { continue };
        if shrunk < MAX_SHRUNK && config.shrink_budget > 0 {
            shrunk += 1;
            report.shrunk =
                stage.shrink(case, origin, report, &mut next_owner, config.shrink_budget).await.map(Box::new);
        }
    }
    if let Some(path) = &config.regressions {
        let mut recorder = Recorder::new(path);
        reports.iter().for_each(|report| recorder.observe(report));
        recorder.finish()?;
    }
    reports.splice(0..0, install);
    let mut report =
        RunReport::new(config.handler.to_string(), config.draw.seed, config.wire, reports, stage.started.elapsed());
    report.unattributed = unattributed;
    Ok(report)
}

/// How long a started handler's exit may take to be seen after its connections went dead.
const EXIT_SHOWS: Duration = Duration::from_secs(1);

/// Cases fired between two recyclings of the portals (measured: wiremock keeps ~3.6 KB a request,
/// so under 10 MB a round at two calls a case).
const RECYCLE_EVERY: usize = 1000;

/// A case's report: every check's verdict on its exchange.
pub fn judge(case: &Case, exchange: Exchange, settings: &checks::Settings) -> CaseReport {
    let verdicts = checks::check(case, &exchange, settings);
    CaseReport::new(case, exchange, verdicts)
}

/// The owner number of the installation's tokens: apart from the cases' (0..) and the shrunk
/// candidates' (numbered on from the cases).
const INSTALL_OWNER: usize = usize::MAX;

/// Failing generated cases shrunk per run, at most: each costs up to `shrink_budget` requests.
const MAX_SHRUNK: usize = 8;

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
    started: Instant,
    handler_url: Url,
    binding: Binding,
    client: reqwest::Client,
    wire: Wire,
    limits: Limits,
    settings: checks::Settings,
    /// The installation case and its exchange, once the app is installed.
    install: Option<(Case, Exchange)>,
    /// Where and how the app is installed, when the run installs it.
    install_url: Option<Url>,
    install_form: InstallForm,
    snapshots: Option<Snapshots>,
}

impl Stage {
    /// Starts the portals, then the handler (built in, or `--handler-cmd`, which needs the
    /// portal's URLs), checks that the handler listens, issues each case its tokens (case `i` of
    /// `cases` is owner `i` from then on), and installs the app when there is an installation
    /// handler.
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
                Portal::start_as(addr, role, config.portal.clone(), authority)
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
        let (reference, handler_url, install_url) = match &config.handler {
            Handler::Builtin(fault) => {
                let client = &config.portal.client;
                let credentials = Credentials { client_id: client.id.clone(), client_secret: client.secret.clone() };
                let ca_pem = authority.as_ref().map(Authority::ca_pem);
                let reference = Reference::start(credentials, *fault, ca_pem)
                    .await
                    .map_err(|e| RunError::Reference(e.to_string()))?;
                let parse = |url: String| Url::parse(&url).map_err(|e| RunError::Reference(e.to_string()));
                let (url, install_url) = (parse(reference.url())?, parse(reference.install_url())?);
                (Some(reference), url, Some(install_url))
            }
            Handler::Url(url) => (None, url.clone(), config.install_url.clone()),
        };
        let process = match &config.handler_cmd {
            Some(command) => Some(
                HandlerProcess::start(
                    command,
                    &handler_url,
                    &launch::environment(&portal, authority.as_ref()),
                    config.handler_wait,
                )
                .await?,
            ),
            None => None,
        };
        ensure_listening(&handler_url).await?;
        // Ports are new every run: snapshots name them instead.
        let handler_addr = format!(
            "{}:{}",
            handler_url.host_str().unwrap_or_default(),
            handler_url.port_or_known_default().unwrap_or_default()
        );
        let addresses =
            [(portal.addr().to_string(), "portal"), (foreign.addr().to_string(), "foreign"), (handler_addr, "handler")];
        let snapshots = config.snapshots.clone().map(|c| Snapshots::new(c, config.draw.seed, &addresses));
        let mut stage = Stage {
            process,
            snapshots,
            portal,
            foreign,
            _reference: reference,
            authority,
            started,
            handler_url,
            binding,
            client: match &config.handler_ca {
                Some(pem) => fire::client_also_trusting(pem).map_err(RunError::HandlerCa)?,
                None => fire::client(),
            },
            wire: config.wire,
            limits: config.limits,
            settings: config.settings,
            install: None,
            install_url: install_url.clone(),
            install_form: config.install_form,
        };
        for (owner, case) in cases.iter().enumerate() {
            stage.enlist(owner, case);
        }
        match install_url {
            Some(install_url) => stage.install(&install_url, config.install_form).await?,
            // Installed by hand before the run.
            None => stage.portal.set_installed(true),
        }
        Ok(stage)
    }

    /// Fires `cases` (the ones the stage was started with) and judges them, as [`run`] does. A
    /// started handler that exits meanwhile ends the run.
    pub async fn perform(
        &self,
        config: &RunConfig,
        cases: &[Case],
        on_case: impl FnMut(&CaseReport),
    ) -> Result<RunReport, RunError> {
        self.perform_observed(config, cases, |_, _| {}, on_case).await
    }

    /// [`Stage::perform`], with `on_fired` seeing each case as its answer arrives, and the
    /// number of cases, so a terminal can show progress while they are fired (they are judged
    /// only once all are answered).
    pub async fn perform_observed(
        &self,
        config: &RunConfig,
        cases: &[Case],
        on_fired: impl FnMut(&Case, usize),
        on_case: impl FnMut(&CaseReport),
    ) -> Result<RunReport, RunError> {
        let Some(process) = &self.process else { return perform(self, config, cases, on_fired, on_case).await };
        let report = tokio::select! {
            report = perform(self, config, cases, on_fired, on_case) => report?,
            died = process.died() => return Err(died.into()),
        };
        // A handler that dies resets its connections before its exit can be reaped, so the
        // last cases can end, unanswered, first: give its exit a moment to show.
        if report.cases.iter().any(|r| r.outcome == CaseOutcome::Error)
            && let Ok(died) = tokio::time::timeout(EXIT_SHOWS, process.died()).await
        {
            return Err(died.into());
        }
        Ok(report)
    }

    /// Stops the stage. Dropping the mock portals runs wiremock's verification through a
    /// blocking executor; on a tokio task whose cooperative budget is spent, tokio answers every
    /// poll of its lock with Pending and that executor spins forever. A blocking thread has no
    /// budget.
    pub async fn close(self) {
        let _ = tokio::task::spawn_blocking(move || drop(self)).await;
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

    /// Installs the app at `url` in `form`; from then on the placement cases go to the
    /// LANDING_SETTINGS handler it bound, if it bound one.
    /// The installation page's form is not finished until the page has answered (the run plays
    /// its BX24.installFinish then); the event form comes when it is (an app without a page has
    /// nothing to finish: on-app-install.md's example says INSTALLED=Y).
    async fn install(&mut self, url: &Url, form: InstallForm) -> Result<(), RunError> {
        ensure_listening(url).await?;
        let case = install::case(form);
        self.enlist(INSTALL_OWNER, &case);
        let exchange = self.install_as(INSTALL_OWNER, &case, url, form).await;
        self.install = Some((case, exchange));
        let bound = self.portal.bindings().into_iter().rev().find(|b| b.placement == LANDING_SETTINGS);
        if let Some(bound) = bound {
            let unanswered = |reason: String| RunError::BoundHandler { url: bound.handler.clone(), reason };
            let url = Url::parse(&bound.handler).map_err(|e| unanswered(e.to_string()))?;
            ensure_listening(&url).await.map_err(|e| unanswered(e.to_string()))?;
            self.handler_url = url;
        }
        Ok(())
    }

    /// Fires `case`'s installation request at `url` in `form`, as owner `owner`. The portal
    /// begins a new installation; an app without a page "is immediately considered installed",
    /// one with a page once it finishes (installation-finish.md): its page's
    /// `BX24.installFinish()`, which the harness does not run, stands for a 2xx answer here.
    async fn install_as(&self, owner: usize, case: &Case, url: &Url, form: InstallForm) -> Exchange {
        self.portal.begin_installation();
        self.portal.set_installed(form == InstallForm::Event);
        let exchange = self.fire(owner, install::request(case, form, &self.binding, url)).await;
        if exchange.response.as_ref().is_ok_and(|r| (200..300).contains(&r.status)) {
            self.portal.set_installed(true);
        }
        exchange
    }

    /// Fires one step of a journey, as owner `owner`; what would have been sent and why not,
    /// when the step cannot be exercised.
    pub async fn step(&self, owner: usize, case: &Case) -> Result<Exchange, (HttpRequest, String)> {
        let not_sent = |url: &Url, reason: String| (case.request(url, &self.binding, self.wire), reason);
        match case.kind {
            CaseKind::Step(Action::Install) => {
                let Some(url) = &self.install_url else {
                    // As at the start of such a run: the app is taken as installed by hand.
                    self.portal.begin_installation();
                    self.portal.set_installed(true);
                    let reason = "the run has no installation handler (--install-url): the portal takes the app as installed again by hand";
                    return Err(not_sent(&self.handler_url, reason.to_owned()));
                };
                Ok(self.install_as(owner, case, url, self.install_form).await)
            }
            CaseKind::Step(Action::Uninstall(token)) => {
                // Bitrix24 numbers the handlers it calls (event_handler_id); the mock, by binding.
                let bound = self
                    .portal
                    .event_handlers()
                    .into_iter()
                    .zip(1..)
                    .find(|(h, _)| h.event.eq_ignore_ascii_case(ONAPPUNINSTALL));
                // Bitrix24 removes the app first: the event's auth carries no token that works.
                if token == AppToken::Genuine {
                    self.portal.mark_uninstalled();
                }
                let fallback = self.install_url.as_ref().unwrap_or(&self.handler_url);
                let Some((bound, handler_id)) = bound else {
                    let reason =
                        format!("the app bound no {ONAPPUNINSTALL} handler with event.bind at its installation");
                    return Err(not_sent(fallback, reason));
                };
                let url = Url::parse(&bound.handler).map_err(|e| {
                    not_sent(
                        fallback,
                        format!("the bound {ONAPPUNINSTALL} handler {:?} is not a URL: {e}", bound.handler),
                    )
                })?;
                let request = journey::uninstall_request(case, token, &self.binding, handler_id, &url);
                Ok(self.fire(owner, request).await)
            }
            // Placement requests go where the app's latest installation bound them, or where
            // they went before, once the app is removed.
            _ => {
                let bound = self.portal.bindings().into_iter().rev().find(|b| b.placement == LANDING_SETTINGS);
                let handler =
                    bound.and_then(|b| Url::parse(&b.handler).ok()).unwrap_or_else(|| self.handler_url.clone());
                Ok(self.exercise_at(owner, case, &handler).await)
            }
        }
    }

    /// Issues `case`'s tokens to `owner` at both portals, so that calls are attributed to it,
    /// with the scopes the case's APPLICATION_SCOPE names.
    fn enlist(&self, owner: usize, case: &Case) {
        let scope = granted_scope(case, &self.binding);
        for portal in [&self.portal, &self.foreign] {
            portal.grant(owner, &case.payload.auth_id, &case.payload.refresh_id, case.token, scope.as_deref());
        }
    }

    /// Draws smaller and smaller versions of a failing generated case, firing each, and returns
    /// the smallest that still fails one of the checks the case failed (or still gets no answer).
    async fn shrink(
        &self,
        case: &Case,
        origin: &Origin,
        failed: &CaseReport,
        next_owner: &mut usize,
        budget: usize,
    ) -> Option<Shrunk> {
        let failing = |report: &CaseReport| -> Vec<&'static str> { report.run_failures().map(|v| v.id).collect() };
        let wanted = failing(failed);
        let mut shrinker = Shrinker::new(origin.space, origin.seed);
        let mut smallest: Option<CaseReport> = None;
        while let Some(draft) = shrinker.candidate() {
            if shrinker.steps() >= budget {
                break;
            }
            let owner = *next_owner;
            *next_owner += 1;
            // Fresh tokens for each candidate: calls must be attributed to it alone.
            let tag = format!("{}/shrink/{owner}", case.id);
            let payload = Payload {
                auth_id: opaque_token(&format!("{tag}/auth"), 70),
                refresh_id: opaque_token(&format!("{tag}/refresh"), 70),
                ..draft.payload.clone()
            };
            let candidate = Case { payload, mutations: draft.mutations.clone(), ..case.clone() };
            self.enlist(owner, &candidate);
            let report = judge(&candidate, self.exercise(owner, &candidate).await, &self.settings);
            let still_fails = (failed.error.is_some() && report.error.is_some())
                || failing(&report).iter().any(|id| wanted.contains(id));
            if still_fails {
                smallest = Some(report);
            }
            shrinker.verdict(still_fails);
        }
        let report = smallest?;
        Some(Shrunk {
            steps: shrinker.steps(),
            mutations: shrinker.smallest().mutations.clone(),
            failures: report.run_failures().cloned().collect(),
            reproduce: report.reproduce,
            request: report.request,
        })
    }

    /// Drops the portals' copies of the requests they answered; only while no case is in flight.
    async fn recycle(&self) {
        self.portal.recycle().await;
        self.foreign.recycle().await;
    }

    /// Fires one case and collects the calls made with its tokens until the answer.
    pub async fn exercise(&self, owner: usize, case: &Case) -> Exchange {
        self.exercise_at(owner, case, &self.handler_url).await
    }

    async fn exercise_at(&self, owner: usize, case: &Case, handler: &Url) -> Exchange {
        let request = case.request(handler, &self.binding, self.wire);
        self.fire(owner, request).await
    }

    /// Fires `request` as `owner`, following its redirects as the frame's browser does. The
    /// installation event's are followed the same way: how Bitrix24's server treats one is not
    /// documented, and the event is judged by its status and the binding it makes.
    async fn fire(&self, owner: usize, request: HttpRequest) -> Exchange {
        let fire::Navigation { redirects, response } = fire::navigate(&self.client, &request, self.limits).await;
        let mut portal_calls = self.portal.take_calls(owner);
        portal_calls.extend(self.foreign.take_calls(owner));
        Exchange { request, redirects, response, portal_calls }
    }

    /// Ends the collection of the cases' calls: hands each case the calls that came with its
    /// tokens after its answer (marked `late`), and returns the installation's case and exchange
    /// and the calls that carried no token of the run.
    pub fn finish(&self, exchanges: &mut [Option<Exchange>]) -> (Option<(Case, Exchange)>, Vec<PortalCall>) {
        let mut install = self.install.clone();
        let mut unattributed = Vec::new();
        for call in self.portal.take_remaining().into_iter().chain(self.foreign.take_remaining()) {
            let slot = match call.owner {
                Some(INSTALL_OWNER) => install.as_mut().map(|(_, exchange)| exchange),
                Some(owner) => exchanges.get_mut(owner).and_then(Option::as_mut),
                None => None,
            };
            match slot {
                Some(exchange) => exchange.portal_calls.push(call),
                None => unattributed.push(call),
            }
        }
        (install, unattributed)
    }

    /// A case's report: every check's verdict on its exchange, the `snapshot` check's against
    /// the stored snapshot when the run has a snapshots directory.
    pub fn judge(&self, case: &Case, exchange: Exchange) -> CaseReport {
        let mut verdicts = checks::check(case, &exchange, &self.settings);
        if let Some(snapshots) = &self.snapshots {
            let (outcome, message) = snapshots.judge(case, &exchange);
            for verdict in verdicts.iter_mut().filter(|v| v.id == snapshot::CHECK_ID) {
                verdict.outcome = outcome;
                verdict.message.clone_from(&message);
            }
        }
        CaseReport::new(case, exchange, verdicts)
    }
}

/// The scopes a case's tokens are granted: what its APPLICATION_SCOPE says (an app's scopes are
/// what it was granted: APPLICATION_SCOPE "List of scopes available to the application"), when it
/// reads as a list of scope names (`crm,placement`, or empty for none); the installation's when
/// the case sends none or something else (an encoding case bends the field, not the app).
fn granted_scope(case: &Case, binding: &Binding) -> Option<String> {
    let field = case.fields(binding).into_iter().rev().find(|f| f.name == "APPLICATION_SCOPE")?;
    let name = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    let reads = field.value.is_empty() || field.value.split(',').all(name);
    (reads && !field.raw).then_some(field.value)
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
