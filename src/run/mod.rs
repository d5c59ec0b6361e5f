//! A run, start to end: suite → cases → fire → exchange → checks → events. One engine for the
//! command, the library and the `cargo test` face: it starts the mock portal (and the handler
//! when asked: built in, or started from a command), fires the cases a few at a time, judges
//! each exchange once its late calls are in, and tells an [`Observer`] as it goes.

mod judge;
mod session;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::baseline::{Baseline, BaselineError, Tally};
use crate::checks;
use crate::fire::{self, DEFAULT_LIVENESS_LIMIT, Limits, Liveness};
use crate::install::{self, InstallForm};
use crate::intercept;
use crate::launch::LaunchError;
use crate::payload::{Family, Wire};
use crate::portal::PortalConfig;
use crate::record::{
    CaseOutcome, CaseReport, Date, Event, Exchange, FRAME_LIST, FireError, PortalCall, RunEnd, RunInfo, Summary,
};
use crate::reference::Fault;
use crate::regressions::{self, Recorder, RegressionsError};
use crate::snapshot::{self, SnapshotConfig, Snapshots};
use crate::suite::{self, Case, CaseKind, Draw, Filter, Partition, Plan, SuiteError, SuiteSource};

use judge::Judge;
pub use session::{NotSent, Session};

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
    /// A generated case that fails the run is shrunk with at most this many candidates (0: not
    /// shrunk)...
    pub shrink_budget: usize,
    /// ...and for at most this long.
    pub shrink_time: Duration,
    /// Stop firing new cases once this many failed the run (`--max-failures`, `--fail-fast`).
    pub max_failures: Option<usize>,
    /// Known deviations: their failures are judged `known` (`--baseline`).
    pub baseline: Option<Baseline>,
    /// Rewrite the baseline's file from the run, at its end (`--baseline-update`).
    pub baseline_update: bool,
    /// Where failing draws are recorded, and read back to be drawn again (`--regressions`).
    pub regressions: Option<PathBuf>,
    /// Run only this part of the plan (`--partition K/N`).
    pub partition: Option<Partition>,
    /// The portal speaks https with a CA made for the run (PROTOCOL=1), as the official SDKs
    /// require (PROTOCOL.md 5).
    pub portal_tls: bool,
    /// A shell command that starts the handler at the `handler` URL (`--handler-cmd`).
    pub handler_cmd: Option<String>,
    /// The handler reaches the portal through an intercepting proxy of the run's, by host names
    /// (`portal-1.bitrix24.test`, oauth.bitrix.info) over https (`--intercept`).
    pub intercept: bool,
    /// How long the started handler has to listen.
    pub handler_wait: Duration,
    /// Judge each exchange against its reviewed snapshot too (the `snapshot` check).
    pub snapshots: Option<SnapshotConfig>,
    /// CA certificates (PEM) the harness trusts for an https handler, besides the system's
    /// roots (`--handler-ca`).
    pub handler_ca: Option<String>,
    /// Also open each case a browser shows (`browser::opens`) in headless Chromium, as
    /// Bitrix24 opens it, and record what its frame did (`--browser`).
    pub browser: bool,
}

impl RunConfig {
    /// The defaults of `b24-conform run` for `handler`: the built-in catalog, seed 24, 8 jobs,
    /// 10 s per case, 1 MiB of body, the split wire, a plain-http portal on a free loopback port,
    /// a handler that is already running (30 s to listen when given a command), a 3 s latency
    /// budget, warnings not failing the run, failing draws shrunk with up to 256 candidates for
    /// up to 5 s each and recorded nowhere, no limit of failures, no baseline, and the whole plan
    /// (no partition).
    pub fn new(handler: Handler) -> RunConfig {
        RunConfig {
            handler,
            suites: vec![SuiteSource::Builtin(Family::Settings)],
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
            shrink_time: Duration::from_secs(5),
            max_failures: None,
            baseline: None,
            baseline_update: false,
            regressions: None,
            partition: None,
            portal_tls: false,
            handler_cmd: None,
            intercept: false,
            handler_wait: Duration::from_secs(30),
            snapshots: None,
            handler_ca: None,
            browser: false,
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
    #[error(
        "--intercept needs --handler URL: the built-in reference handler calls the portal directly, not through a proxy"
    )]
    InterceptBuiltin,
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error("--handler-ca: not a usable CA certificate")]
    HandlerCa(#[source] reqwest::Error),
    /// A consumer of the run's events failed: a report could not be written.
    #[error("cannot write the report")]
    Observer(#[source] std::io::Error),
}

impl RunError {
    /// 2 for bad input, 3 for a run that could not happen (DESIGN.md, CLI contract).
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Suite(_)
            | RunError::NoCases(_)
            | RunError::Regressions(_)
            | RunError::CommandWithoutUrl
            | RunError::InterceptBuiltin
            | RunError::Baseline(_)
            | RunError::Observer(_)
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
    let plan = selected(sources, filters, draw)?;
    let install =
        Some(install::case(InstallForm::default(), plan.family())).filter(|c| Filter::new(filters).selects(&c.id));
    if install.is_none() && plan.is_empty() {
        return Err(RunError::NoCases(filters.to_vec()));
    }
    Ok(install.into_iter().chain(plan.into_iter().map(|(_, case)| case)))
}

/// What consumes a run's events: progress, report writers, a test's collector. An error (a
/// report that cannot be written) stops the run: [`run`] returns it as [`RunError::Observer`].
pub trait Observer {
    fn event(&mut self, event: &Event<'_>) -> std::io::Result<()>;
}

impl<F: FnMut(&Event<'_>) -> std::io::Result<()>> Observer for F {
    fn event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        self(event)
    }
}

/// Runs the cases and judges them, telling `observer` as it goes: [`Event::Started`], then
/// for each case [`Event::Answered`] as its answer comes and [`Event::Judged`] once it is
/// judged for good (the installation first, then the plan's cases in firing order, each
/// exactly once), [`Event::NotRun`] for the cases an early stop left, [`Event::Unattributed`]
/// for the calls no case owns, and [`Event::Ended`]. Nothing of a case is kept after its
/// `Judged` event.
///
/// Cases are fired `jobs` at a time. A case's late calls (made with its tokens after its
/// answer) are attributed to it while it waits to be judged: it is judged once answered and
/// either [`SETTLE`] has passed since its answer or [`SETTLE_CASES`] answered cases wait behind
/// it, or nothing is left to fire. Its tokens are then retired; a call made with them later
/// belongs to no case. Failing generated cases are shrunk before they are judged, and their
/// draws recorded in the regressions file, if there is one.
pub async fn run(config: &RunConfig, observer: &mut dyn Observer) -> Result<RunEnd, RunError> {
    let plan = cases(config)?;
    let today = Date::today();
    let mut session = Session::start(config).await?;
    let installed = session.install(INSTALL, plan.family()).await?;
    let session = Arc::new(session);
    let snapshots = config.snapshots.clone().map(|c| Snapshots::new(c, config.draw.seed, &session.addresses()));
    let judge = Judge::new(config.settings, snapshots, config.baseline.clone(), today);
    let mut runner = Runner::new(config, session.clone(), observer, judge, today);
    let ran = match session.process() {
        None => runner.run(installed, plan).await,
        Some(process) => {
            let ran = tokio::select! {
                ran = runner.run(installed, plan) => ran,
                died = process.died() => Err(died.into()),
            };
            // A handler that dies resets its connections before its exit can be reaped, so the
            // last cases can end, unanswered, first: give its exit a moment to show.
            match ran {
                Ok(()) if runner.summary.errored > 0 => match tokio::time::timeout(EXIT_SHOWS, process.died()).await {
                    Ok(died) => Err(died.into()),
                    Err(_) => Ok(()),
                },
                ran => ran,
            }
        }
    };
    let end = match ran {
        Ok(()) => runner.end().await,
        Err(error) => Err(error),
    };
    drop(runner);
    session.close().await;
    end
}

/// How long a judged-to-be case waits after its answer for calls made with its tokens.
pub const SETTLE: Duration = Duration::from_millis(250);

/// Answered cases that may wait behind the oldest unjudged one before it is judged anyway:
/// bounds what a fast run holds.
pub const SETTLE_CASES: usize = 64;

/// Cases answered while an older one is still in flight, at most: what waits to be taken in
/// order is bounded however slow one case is.
const AHEAD: usize = 256;

/// How long a started handler's exit may take to be seen after its connections went dead.
const EXIT_SHOWS: Duration = Duration::from_secs(1);

/// Cases fired between two recyclings of the portals (measured: wiremock keeps ~3.6 KB a request,
/// so under 10 MB a round at two calls a case).
const RECYCLE_EVERY: usize = 1000;

/// The owner of the installation's tokens: case 0 of the plan.
const INSTALL: usize = 0;

/// Owners of the tokens of shrunk candidates and other extra firings, apart from the plan's
/// cases.
const EXTRA_OWNERS: usize = 1 << 48;

/// Failing generated cases shrunk per run, at most: each costs up to `shrink_budget` requests.
const MAX_SHRUNK: usize = 8;

/// Calls no case owns listed in a report, at most; the rest are counted.
const MAX_UNATTRIBUTED: usize = 1000;

/// Who made a portal call: the handler (its server), or the browser that opened a case's frame.
#[derive(Clone, Copy)]
enum Side {
    Server,
    Browser,
}

/// A case in flight: its firing runs on a task of its own, so it goes on while the runner
/// judges or shrinks. Dropping it (a run given up) stops it.
struct Firing {
    index: usize,
    task: tokio::task::JoinHandle<(Case, Result<Exchange, NotSent>)>,
}

impl Drop for Firing {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A case answered and waiting for its late calls before it is judged.
struct Waiting {
    index: usize,
    case: Case,
    fired: Result<Exchange, NotSent>,
    answered: Instant,
}

/// One run's firing and judging, and what it sums up as cases end.
struct Runner<'a> {
    config: &'a RunConfig,
    session: Arc<Session>,
    observer: &'a mut dyn Observer,
    judge: Judge,
    started: Instant,
    in_flight: VecDeque<Firing>,
    waiting: VecDeque<Waiting>,
    /// Whether the installation is reported (the filters select it).
    install_reported: bool,
    /// Answers so far, of `total` cases.
    done: usize,
    total: usize,
    fired_since_recycle: usize,
    next_owner: usize,
    summary: Summary,
    baseline: Option<Tally>,
    liveness: Liveness,
    /// Cases judged that fail the run, for `--max-failures`.
    failures: usize,
    stopped: Option<String>,
    unattributed: Vec<PortalCall>,
    /// Calls no case owns past [`MAX_UNATTRIBUTED`].
    unlisted: usize,
    /// Calls made with a case's token after the case was judged.
    after_judged: usize,
    /// Cases that timed out, and the first of them, to try alone at the end.
    timed_out: usize,
    first_timed_out: Option<Case>,
    shrunk: usize,
    regressions: Option<Recorder>,
}

impl<'a> Runner<'a> {
    fn new(
        config: &'a RunConfig,
        session: Arc<Session>,
        observer: &'a mut dyn Observer,
        judge: Judge,
        today: Date,
    ) -> Runner<'a> {
        Runner {
            config,
            session,
            observer,
            judge,
            started: Instant::now(),
            in_flight: VecDeque::new(),
            waiting: VecDeque::new(),
            install_reported: false,
            done: 0,
            total: 0,
            fired_since_recycle: 0,
            next_owner: EXTRA_OWNERS,
            summary: Summary::default(),
            baseline: config.baseline.clone().map(|b| Tally::new(b, today)),
            liveness: Liveness::new(DEFAULT_LIVENESS_LIMIT),
            failures: 0,
            stopped: None,
            unattributed: Vec::new(),
            unlisted: 0,
            after_judged: 0,
            timed_out: 0,
            first_timed_out: None,
            shrunk: 0,
            regressions: config.regressions.as_ref().map(Recorder::new),
        }
    }

    fn emit(&mut self, event: &Event<'_>) -> Result<(), RunError> {
        self.observer.event(event).map_err(RunError::Observer)
    }

    /// Fires the plan (after the installation, already fired) and judges every case.
    async fn run(&mut self, installed: Option<(Case, Exchange)>, plan: Plan) -> Result<(), RunError> {
        let filter = Filter::new(&self.config.filters);
        // Every part of a partitioned run installs the app; the first reports it.
        self.install_reported =
            plan.reports_install() && installed.as_ref().is_some_and(|(case, _)| filter.selects(&case.id));
        self.total = plan.len() + usize::from(self.install_reported);
        let info = RunInfo {
            tool: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            handler: self.config.handler.to_string(),
            seed: self.config.draw.seed,
            wire: self.config.wire,
            partition: plan.partition().map(|p| p.to_string()),
            cases: self.total,
            notes: self.start_notes(),
        };
        self.emit(&Event::Started(&info))?;
        if let Some((case, exchange)) = installed.filter(|_| self.install_reported) {
            self.answered(INSTALL, case, Ok(exchange))?;
        }
        let mut plan = plan.into_iter().peekable();
        // `jobs` permits: a case holds one while it is fired, so a slow case delays no other's
        // firing; its answer still waits its turn to be judged.
        let permits = Arc::new(Semaphore::new(self.config.jobs.max(1)));
        let mut spare: Option<OwnedSemaphorePermit> = None;
        loop {
            while self.may_fire(plan.peek().map(|(_, case)| case)) {
                let permit = match spare.take().map_or_else(|| permits.clone().try_acquire_owned(), Ok) {
                    Ok(permit) => permit,
                    Err(_) => break,
                };
                if self.fired_since_recycle >= RECYCLE_EVERY {
                    self.session.recycle().await;
                    self.fired_since_recycle = 0;
                }
                let Some((index, case)) = plan.next() else { break };
                self.fire(index, case, permit);
            }
            let room = spare.is_none() && self.may_fire(plan.peek().map(|(_, case)| case));
            let Some(front) = self.in_flight.front_mut() else { break };
            let index = front.index;
            let settles = self.waiting.front().map(|w| tokio::time::Instant::from_std(w.answered + SETTLE));
            tokio::select! {
                fired = &mut front.task => {
                    self.in_flight.pop_front();
                    let (case, fired) = fired.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                    self.answered(index, case, fired)?;
                }
                permit = permits.clone().acquire_owned(), if room => spare = permit.ok(),
                () = sleep_until(settles) => {}
            }
            self.settle(false).await?;
        }
        self.settle(true).await?;
        if let Some(stopped) = &self.stopped {
            let reason = format!("not run: {stopped}");
            for (index, case) in plan {
                self.summary.cases += 1;
                self.summary.not_run += 1;
                self.emit(&Event::NotRun { id: &case.id, index, reason: &reason })?;
            }
        }
        Ok(())
    }

    /// Whether `next` may be fired now. A journey's step changes the portal's state: it is fired
    /// alone. The portals drop their copies of the requests only while no case is in flight.
    /// Answers wait in order to be judged: no more than [`AHEAD`] cases beyond `jobs` run ahead
    /// of the oldest unanswered one.
    fn may_fire(&self, next: Option<&Case>) -> bool {
        let Some(next) = next.filter(|_| self.stopped.is_none()) else { return false };
        let alone = matches!(next.kind, CaseKind::Step(_)) || self.fired_since_recycle >= RECYCLE_EVERY;
        let ahead = self.in_flight.len() < self.config.jobs.max(1) + AHEAD;
        ahead && (!alone || self.in_flight.is_empty())
    }

    /// Fires case `index` on a task of its own, with its tokens granted, holding `permit` while
    /// it is in flight.
    fn fire(&mut self, index: usize, case: Case, permit: OwnedSemaphorePermit) {
        let session = self.session.clone();
        let task = tokio::spawn(async move {
            session.grant(index, &case);
            let mut fired = session.exercise(index, &case).await;
            // The frame's work holds the case's permit too: frames open `jobs` at a time.
            if let Ok(exchange) = &mut fired {
                session.open_frame(index, &case, exchange).await;
            }
            drop(permit);
            (case, fired)
        });
        self.in_flight.push_back(Firing { index, task });
        self.fired_since_recycle += 1;
    }

    /// Case `index` is answered (or could not be sent): it waits for its late calls.
    fn answered(&mut self, index: usize, case: Case, fired: Result<Exchange, NotSent>) -> Result<(), RunError> {
        self.done += 1;
        self.emit(&Event::Answered { id: &case.id, done: self.done, total: self.total })?;
        if let Ok(exchange) = &fired {
            if exchange.response.as_ref().is_err_and(FireError::timed_out) {
                self.timed_out += 1;
                if self.first_timed_out.is_none() {
                    self.first_timed_out = Some(case.clone());
                }
            }
            if let Some(stop) = self.liveness.observe(&case.id, exchange.answered()) {
                self.stopped.get_or_insert(stop);
            }
        }
        self.waiting.push_back(Waiting { index, case, fired, answered: Instant::now() });
        Ok(())
    }

    /// Hands the calls that came since to the cases waiting, and judges the oldest waiting
    /// cases that have settled (every one, at the end).
    async fn settle(&mut self, end: bool) -> Result<(), RunError> {
        for call in self.session.take_remaining() {
            self.attribute(call, Side::Server)?;
        }
        for call in self.session.take_remaining_browser() {
            self.attribute(call, Side::Browser)?;
        }
        while let Some(oldest) = self.waiting.front() {
            let settled = end || oldest.answered.elapsed() >= SETTLE || self.waiting.len() > SETTLE_CASES;
            if !settled {
                break;
            }
            let Some(waiting) = self.waiting.pop_front() else { break };
            self.judge(waiting).await?;
        }
        Ok(())
    }

    /// Gives a call that came after its case's answer (or a browser's, after its case's frame
    /// closed) to that case while it waits: the handler's to its exchange, the browser's to its
    /// frame. A call of no case, or of one already judged, is reported apart.
    fn attribute(&mut self, call: PortalCall, side: Side) -> Result<(), RunError> {
        match call.owner {
            // A shrunk candidate's late call: it is judged already, and shrinking is no case.
            Some(owner) if owner >= EXTRA_OWNERS => return Ok(()),
            // The installation not reported: neither are its calls.
            Some(INSTALL) if !self.install_reported => return Ok(()),
            Some(owner) => {
                let waiting = self.waiting.iter_mut().find(|w| w.index == owner);
                match (waiting, side) {
                    (Some(Waiting { fired: Ok(exchange), .. }), Side::Server) => {
                        exchange.portal_calls.push(call);
                        return Ok(());
                    }
                    (Some(Waiting { fired: Ok(Exchange { frame: Some(frame), .. }), .. }), Side::Browser) => {
                        // Past the frame record's cap, a call is dropped.
                        if frame.calls.len() < FRAME_LIST {
                            frame.calls.push(call);
                        }
                        return Ok(());
                    }
                    // A browser's call with the token of a case it did not open: no case's.
                    (Some(_), Side::Browser) => {}
                    _ => self.after_judged += 1,
                }
            }
            None => {}
        }
        if self.unattributed.len() < MAX_UNATTRIBUTED {
            self.unattributed.push(call);
        } else {
            self.unlisted += 1;
        }
        Ok(())
    }

    /// Judges one case for good: its checks, a shrink when it is a generated case that fails
    /// the run, the counts; then tells the observer and forgets it.
    async fn judge(&mut self, waiting: Waiting) -> Result<(), RunError> {
        let Waiting { index, case, fired, .. } = waiting;
        // The app keeps the installation's tokens (as CRest does): they stay good all run.
        if index != INSTALL {
            self.session.retire(index);
        }
        let (case, mut report) = match fired {
            Ok(exchange) => self.judge.judge(case, index, exchange).await,
            Err((request, reason)) => {
                let report = CaseReport::not_exercised(&case, index, request, &reason);
                (case, report)
            }
        };
        self.shrink(&case, &mut report).await;
        if let Some(tally) = &mut self.baseline {
            tally.observe(&report);
        }
        if let Some(recorder) = &mut self.regressions {
            recorder.observe(&report);
        }
        self.summary.count(&report);
        if matches!(report.outcome, CaseOutcome::Fail | CaseOutcome::Error) {
            self.failures += 1;
            if let Some(limit) = self.config.max_failures.filter(|&limit| self.failures >= limit) {
                self.stopped.get_or_insert_with(|| format!("stopped after {limit} failures (--max-failures {limit})"));
            }
        }
        self.emit(&Event::Judged(&report))
    }

    /// Shrinks a generated case that fails the run. A warning does not fail the run, a case the
    /// harness did not model is no failure of the handler, a snapshot's difference is no
    /// property of the draw, and a case without an answer would cost a timeout per candidate:
    /// none of them is shrunk.
    async fn shrink(&mut self, case: &Case, report: &mut CaseReport) {
        let Some(origin) = &case.origin else { return };
        let fails = report.response.is_some() && report.run_failures().any(|v| v.id != snapshot::CHECK_ID);
        let budget = (self.config.shrink_budget, self.config.shrink_time);
        if !fails || self.shrunk >= MAX_SHRUNK || budget.0 == 0 {
            return;
        }
        self.shrunk += 1;
        let settings = self.judge.settings;
        report.shrunk =
            self.session.shrink(case, origin, report, &mut self.next_owner, budget, settings).await.map(Box::new);
    }

    /// Lines for the reader before the first case: where a handler started by hand finds the
    /// portal's OAuth client, and the run's CA.
    fn start_notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self.session.browser_note().map(str::to_owned).into_iter().collect();
        let portal = self.session.portal();
        // A handler started by hand learns the app's OAuth client here (--handler-cmd gets it
        // in its environment): without it, its refreshes are refused with invalid_client.
        if matches!(self.config.handler, Handler::Url(_)) && self.config.handler_cmd.is_none() {
            let client = portal.client();
            notes.push(format!(
                "mock OAuth server at {} (SERVER_ENDPOINT {}); client_id {} client_secret {}",
                portal.oauth_url(),
                portal.server_endpoint(),
                client.id,
                client.secret
            ));
        }
        if let Some(authority) = self.session.authority() {
            notes.push(format!(
                "mock portal at {}; CA certificate: {}",
                portal.origin(),
                authority.ca_file().display()
            ));
        }
        if let Some(intercept) = self.session.intercept() {
            notes.push(format!(
                "intercepting proxy at {} (HTTPS_PROXY): {} and {} reach the mock portal and its OAuth server; any other host is refused",
                intercept.url(),
                intercept::PORTAL_HOST,
                intercept::OAUTH_HOSTS.join(", ")
            ));
        }
        notes
    }

    /// The end of the run: the calls no case owns, the notes, the files the run keeps
    /// (regressions, an updated baseline), and [`Event::Ended`].
    async fn end(&mut self) -> Result<RunEnd, RunError> {
        self.summary.duration_ms = self.started.elapsed().as_millis() as u64;
        let unattributed = std::mem::take(&mut self.unattributed);
        for call in &unattributed {
            self.emit(&Event::Unattributed(call))?;
        }
        let mut notes = Vec::new();
        if self.after_judged > 0 {
            notes.push(format!(
                "{} portal call(s) came with the token of a case already judged (more than {} ms after its \
                 answer, or {SETTLE_CASES} cases later): listed with the calls no case owns",
                self.after_judged,
                SETTLE.as_millis()
            ));
        }
        if self.unlisted > 0 {
            notes.push(format!("{} more portal call(s) no case owns were not listed", self.unlisted));
        }
        let refused = self.session.handshake_failures();
        if let (Some(authority), 1..) = (self.session.authority(), refused.count) {
            notes.push(format!(
                "warning: the mock portal refused {} TLS handshake(s), the first: {}; does the handler trust the \
                 run's CA ({}; --handler-cmd gives it in SSL_CERT_FILE; PHP's curl reads no variable: \
                 php -d curl.cainfo=\"$SSL_CERT_FILE\"), and speak https to it?",
                refused.count,
                refused.first,
                authority.ca_file().display()
            ));
        }
        if let (Some(intercept), Some(authority)) = (self.session.intercept(), self.session.authority()) {
            notes.extend(intercept.tally().notes(authority.ca_file()));
        }
        notes.extend(self.concurrency_hint().await);
        if let Some(recorder) = self.regressions.take() {
            notes.extend(recorder.finish()?);
        }
        let baseline = self.baseline.as_ref().map(Tally::report);
        if let Some(tally) = self.baseline.as_ref().filter(|_| self.config.baseline_update) {
            let updated = tally.updated();
            updated.save()?;
            notes.push(format!("baseline {}: {} deviations written", updated.path.display(), updated.deviations.len()));
        }
        let answered = self.liveness.ever_answered();
        let end = RunEnd { summary: self.summary.clone(), baseline, stopped: self.stopped.clone(), answered, notes };
        self.emit(&Event::Ended(&end))?;
        Ok(end)
    }

    /// When cases timed out with several in flight, one of them fired again alone: if it is
    /// answered then, the handler serves one request at a time (a development server).
    async fn concurrency_hint(&mut self) -> Option<String> {
        let jobs = self.config.jobs;
        // A handler that answered nothing is down, not busy.
        let answered = self.liveness.ever_answered();
        let case = self.first_timed_out.take().filter(|_| jobs > 1 && answered)?;
        let owner = self.next_owner;
        self.next_owner += 1;
        let ms = self.session.fire_alone(owner, &case).await?;
        Some(fire::serial_handler_note(self.timed_out, jobs, &case.id, ms))
    }
}

/// Waits until `deadline`, or forever when there is none.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
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
    let installs = Session::installs(config);
    if plan.total() == 0 && !(installs && Filter::new(&config.filters).selects(config.install_form.case_id())) {
        return Err(RunError::NoCases(config.filters.to_vec()));
    }
    Ok(match config.partition {
        Some(partition) => plan.partitioned(partition),
        None => plan,
    })
}

/// Where the foreign portal listens: the port after a fixed home port, so that payloads naming
/// `{foreign}` are the same run after run; any free port when the home port is.
pub fn foreign_addr(home: SocketAddr) -> SocketAddr {
    match home.port() {
        0 => home,
        port => SocketAddr::new(home.ip(), port.wrapping_add(1)),
    }
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
