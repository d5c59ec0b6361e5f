//! The scene of a run: the mock portals, the handler under test (built in, or started from a
//! command) and the client that fires at it, started once and shared by every case. It fires
//! one case at a time on request; what to fire, and when, is the runner's.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use url::Url;

use super::{Handler, RunConfig, RunError, foreign_addr};
use crate::browser::{self, Browser, FrameCase, parent};
use crate::checks;
use crate::fire::{self, Limits};
use crate::generate::Shrinker;
use crate::install::{self, InstallForm};
use crate::intercept::{self, Client, Intercept};
use crate::journey::{self, Action, AppToken, ONAPPUNINSTALL};
use crate::launch::{self, HandlerProcess};
use crate::payload::{Binding, Family, Payload, Wire, opaque_token};
use crate::portal::{Authority, HandshakeFailures, Portal};
use crate::record::{CaseReport, Exchange, FrameRecord, HttpRequest, PortalCall, RepoBinding, Role, Shrunk};
use crate::reference::{Credentials, Reference};
use crate::suite::{Case, CaseKind, Origin};

/// The portals, the handler and the client of a run. Dropping it stops them all.
pub struct Session {
    /// Declared first so it stops first, while the portal it may be calling still answers.
    process: Option<HandlerProcess>,
    /// The intercepting proxy (`--intercept`), stopped before the portals it passes requests to.
    intercept: Option<Intercept>,
    /// The browser's own (`--browser` with `--intercept`): what Chromium asks of other hosts is
    /// not the handler's doing.
    _browser_proxy: Option<Intercept>,
    portal: Portal,
    foreign: Portal,
    _reference: Option<Reference>,
    /// After the portals, so the CA file outlives every server that uses its certificate.
    authority: Option<Authority>,
    handler_url: Url,
    /// What the run's installation bound, for each placement family it bound one for.
    installed: Vec<(Family, Url)>,
    binding: Binding,
    client: reqwest::Client,
    wire: Wire,
    limits: Limits,
    /// Where and how the app is installed, when the run installs it.
    install_url: Option<Url>,
    install_form: InstallForm,
    /// The run's headless Chromium (`--browser`), when it could be started.
    browser: Option<Browser>,
    /// Why `--browser` opens no frame in this run, when it does not.
    browser_note: Option<String>,
}

/// A case that could not be fired: the request that would have been sent, and why not.
pub type NotSent = (HttpRequest, String);

impl Session {
    /// Starts the portals, then the handler (built in, or `--handler-cmd`, which needs the
    /// portal's URLs), and checks that the handler listens.
    pub async fn start(config: &RunConfig) -> Result<Session, RunError> {
        if config.handler_cmd.is_some() && matches!(config.handler, Handler::Builtin(_)) {
            return Err(RunError::CommandWithoutUrl);
        }
        // A CA that is no CA is bad input: refused before anything starts.
        let client = match &config.handler_ca {
            Some(pem) => fire::client_also_trusting(pem).map_err(RunError::HandlerCa)?,
            None => fire::client(),
        };
        if config.intercept && matches!(config.handler, Handler::Builtin(_)) {
            return Err(RunError::InterceptBuiltin);
        }
        // The proxy of --intercept issues its certificates from the run's CA too.
        let authority = match config.portal_tls || config.intercept {
            true => Some(
                Authority::new().map_err(|e| RunError::Portal { addr: config.portal_addr, reason: e.to_string() })?,
            ),
            false => None,
        };
        let start = |addr: SocketAddr, role: Role| {
            let authority = authority.as_ref().filter(|_| config.portal_tls);
            async move {
                Portal::start_as(addr, role, config.portal.clone(), authority)
                    .await
                    .map_err(|e| RunError::Portal { addr, reason: e.to_string() })
            }
        };
        let mut portal = start(config.portal_addr, Role::Home).await?;
        // A second Bitrix24 the app is not installed on: cases whose DOMAIN names it (`{foreign}`)
        // show whether a handler sends tokens wherever a request tells it to. Over https too, or
        // a handler that only speaks https could never leak a token to it.
        let mut foreign = start(foreign_addr(config.portal_addr), Role::Foreign).await?;
        let proxy_failed =
            |e: std::io::Error| RunError::Portal { addr: config.portal_addr, reason: format!("the proxy: {e}") };
        let intercept = match (config.intercept, &authority) {
            (true, Some(authority)) => {
                portal.rename(intercept::home_names());
                foreign.rename(intercept::foreign_names());
                Some(Intercept::start(&portal, &foreign, authority, Client::Handler).await.map_err(proxy_failed)?)
            }
            _ => None,
        };
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
            Some(command) => {
                let mut environment = launch::environment(&portal, authority.as_ref());
                environment.extend(intercept.iter().flat_map(Intercept::environment));
                Some(HandlerProcess::start(command, &handler_url, &environment, config.handler_wait).await?)
            }
            None => None,
        };
        ensure_listening(&handler_url).await?;
        let browser_proxy = match (config.browser && intercept.is_some(), &authority) {
            (true, Some(authority)) => {
                Some(Intercept::start(&portal, &foreign, authority, Client::Browser).await.map_err(proxy_failed)?)
            }
            _ => None,
        };
        let (browser, browser_note) = match config.browser {
            true => start_browser(browser_proxy.as_ref().map(Intercept::url)).await,
            false => (None, None),
        };
        Ok(Session {
            process,
            intercept,
            _browser_proxy: browser_proxy,
            portal,
            foreign,
            _reference: reference,
            authority,
            handler_url,
            installed: Vec::new(),
            binding,
            client,
            wire: config.wire,
            limits: config.limits,
            install_url,
            install_form: config.install_form,
            browser,
            browser_note,
        })
    }

    /// Installs the app, when the run has an installation handler, as owner `owner`: the
    /// installation case and its exchange. From then on the placement cases of each family go to
    /// the handler it bound for the family, if it bound one ([`Session::handler_for`]). Without
    /// an installation handler the app is taken as installed by hand before the run.
    /// The installation case is `family`'s: the app must bind a placement of that family.
    pub async fn install(&mut self, owner: usize, family: Family) -> Result<Option<(Case, Exchange)>, RunError> {
        let Some(url) = self.install_url.clone() else {
            self.portal.set_installed(true);
            return Ok(None);
        };
        ensure_listening(&url).await?;
        let case = install::case(self.install_form, family);
        self.grant(owner, &case);
        let mut exchange = self.install_as(owner, &case, &url, self.install_form).await;
        self.open_frame(owner, &case, &mut exchange).await;
        for family in Family::ALL {
            let Some(bound) = self.bound(family) else { continue };
            let unanswered = |reason: String| RunError::BoundHandler { url: bound.handler.clone(), reason };
            let url = Url::parse(&bound.handler).map_err(|e| unanswered(e.to_string()))?;
            ensure_listening(&url).await.map_err(|e| unanswered(e.to_string()))?;
            // The settings page stands for the app where a URL of the app is needed (the
            // snapshots' `[handler]`), as it did before there were other families.
            if family == Family::Settings {
                self.handler_url = url.clone();
            }
            self.installed.push((family, url));
        }
        Ok(Some((case, exchange)))
    }

    /// The latest binding of the app for a placement of `family`.
    fn bound(&self, family: Family) -> Option<RepoBinding> {
        self.portal.bindings().into_iter().rev().find(|b| family.serves(&b.placement))
    }

    /// Where a placement case of `family` goes: the handler the app's latest installation bound
    /// for the family; once the app is removed, the one its first installation bound; without
    /// either, the run's handler URL.
    fn handler_for(&self, family: Family) -> Url {
        let live = self.bound(family).and_then(|b| Url::parse(&b.handler).ok());
        let installed = || self.installed.iter().find(|(f, _)| *f == family).map(|(_, url)| url.clone());
        live.or_else(installed).unwrap_or_else(|| self.handler_url.clone())
    }

    /// Whether the run installs the app (and so has an installation case).
    pub fn installs(config: &RunConfig) -> bool {
        matches!(config.handler, Handler::Builtin(_)) || config.install_url.is_some()
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

    /// Fires `case` as owner `owner` (its tokens granted before): a placement case at the
    /// handler, a journey's step where the journey sends it.
    pub async fn exercise(&self, owner: usize, case: &Case) -> Result<Exchange, NotSent> {
        match case.kind {
            CaseKind::Step(_) => self.step(owner, case).await,
            _ => Ok(self.exercise_at(owner, case, &self.handler_for(case.family())).await),
        }
    }

    /// Fires one step of a journey, as owner `owner`; what would have been sent and why not,
    /// when the step cannot be exercised.
    async fn step(&self, owner: usize, case: &Case) -> Result<Exchange, NotSent> {
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
            _ => Ok(self.exercise_at(owner, case, &self.handler_for(case.family())).await),
        }
    }

    /// Issues `case`'s tokens to `owner` at both portals, so that calls are attributed to it,
    /// with the scopes the case's APPLICATION_SCOPE names.
    pub fn grant(&self, owner: usize, case: &Case) {
        let scope = granted_scope(case, &self.binding);
        for portal in [&self.portal, &self.foreign] {
            portal.grant(owner, &case.payload.auth_id, &case.payload.refresh_id, case.token, scope.as_deref());
        }
    }

    /// Forgets `owner`'s tokens at both portals: its case is judged.
    pub fn retire(&self, owner: usize) {
        self.portal.retire(owner);
        self.foreign.retire(owner);
    }

    /// The calls not taken by their case at its answer: late ones, and those with no token of
    /// the run.
    pub fn take_remaining(&self) -> Vec<PortalCall> {
        let mut calls = self.portal.take_remaining();
        calls.extend(self.foreign.take_remaining());
        calls
    }

    /// The browser's calls not taken when their case's frame closed: late ones.
    pub fn take_remaining_browser(&self) -> Vec<PortalCall> {
        let mut calls = self.portal.take_remaining_browser();
        calls.extend(self.foreign.take_remaining_browser());
        calls
    }

    /// Why `--browser` opens no frame in this run, when it does not: said once at the start.
    pub fn browser_note(&self) -> Option<&str> {
        self.browser_note.as_deref()
    }

    /// Opens `case`'s page in the browser as Bitrix24 does, when the run has a browser and
    /// opens such a case ([`browser::opens`]), after its `exchange` was fired: the portal's page
    /// posts the exchange's request into the app's frame and answers the frame protocol; what
    /// the frame did goes in `exchange.frame`. A browser that fails is a finding of the frame's
    /// record, not an error of the run.
    pub async fn open_frame(&self, owner: usize, case: &Case, exchange: &mut Exchange) {
        let Some(browser) = self.browser.as_ref().filter(|_| browser::opens(case)) else { return };
        // The browser delivers the case's request once more: its tokens as fresh as the first
        // time (an expired one refreshable again, a rate limit met again).
        self.grant(owner, case);
        let refreshed = self.portal.issue_refreshed(owner);
        let install = matches!(case.kind, CaseKind::Install(_));
        let frame = FrameCase::of(&exchange.request, &self.binding, refreshed, install);
        self.portal.open_frame(owner, Some(parent::page(&frame)));
        self.foreign.open_frame(owner, None);
        let url = self.portal.page_url(owner);
        let mut record = match browser.open(&url, browser::INIT_BUDGET, browser::SETTLE).await {
            Ok(record) => record,
            Err(error) => FrameRecord {
                page: url,
                exceptions: vec![format!("the browser failed: {error}")],
                ..Default::default()
            },
        };
        record.calls = self.portal.close_frame(owner);
        record.calls.extend(self.foreign.close_frame(owner));
        exchange.frame = Some(record);
    }

    /// Draws smaller and smaller versions of a failing generated case, firing each as a fresh
    /// owner from `next_owner`, and returns the smallest that still fails one of the checks the
    /// case failed; shrinking stops after `budget` candidates or `time`, whichever comes first.
    pub async fn shrink(
        &self,
        case: &Case,
        origin: &Origin,
        failed: &CaseReport,
        next_owner: &mut usize,
        (budget, time): (usize, Duration),
        settings: checks::Settings,
    ) -> Option<Shrunk> {
        let failing = |report: &CaseReport| -> Vec<&'static str> { report.run_failures().map(|v| v.id).collect() };
        let wanted = failing(failed);
        let started = Instant::now();
        let mut shrinker = Shrinker::new(origin.space, case.family(), origin.seed);
        let mut smallest: Option<CaseReport> = None;
        let mut stopped = None;
        while let Some(draft) = shrinker.candidate() {
            if shrinker.steps() >= budget {
                stopped = Some(format!("stopped after {budget} candidates (--shrink-budget {budget})"));
                break;
            }
            if started.elapsed() >= time {
                let ms = time.as_millis();
                stopped = Some(format!("stopped after {ms} ms (--shrink-time-ms {ms})"));
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
            self.grant(owner, &candidate);
            let exchange = self.exercise_at(owner, &candidate, &self.handler_for(candidate.family())).await;
            self.retire(owner);
            // Judged by the checks alone: a snapshot or a baseline entry belongs to the case's
            // own id, not to a candidate's request.
            let verdicts = checks::check(&candidate, &exchange, &checks::Context { settings, snapshots: None });
            let report = CaseReport::new(&candidate, failed.index, exchange, verdicts);
            let still_fails = failing(&report).iter().any(|id| wanted.contains(id));
            if still_fails {
                smallest = Some(report);
            }
            shrinker.verdict(still_fails);
        }
        // Stopped early with nothing smaller yet: the case itself is the smallest known, and the
        // report says why shrinking stopped.
        let smallest = match smallest {
            Some(report) => report,
            None if stopped.is_some() => failed.clone(),
            None => return None,
        };
        Some(Shrunk {
            steps: shrinker.steps(),
            // The shrinker's smallest is the case's own draw until a candidate still fails.
            mutations: shrinker.smallest().mutations.clone(),
            failures: smallest.run_failures().cloned().collect(),
            reproduce: smallest.reproduce,
            request: smallest.request,
            stopped,
        })
    }

    /// Fires `case` once more, alone, as a fresh `owner`: how long it took when it was answered.
    pub async fn fire_alone(&self, owner: usize, case: &Case) -> Option<u64> {
        self.grant(owner, case);
        let exchange = self.exercise(owner, case).await;
        self.retire(owner);
        exchange.ok()?.response.ok().map(|r| r.elapsed_ms)
    }

    /// Drops the portals' copies of the requests they answered; only while no case is in flight.
    pub async fn recycle(&self) {
        self.portal.recycle().await;
        self.foreign.recycle().await;
    }

    async fn exercise_at(&self, owner: usize, case: &Case, handler: &Url) -> Exchange {
        let request = case.request(handler, &self.binding, self.wire);
        self.fire(owner, request).await
    }

    /// Fires `request` as `owner`, following its redirects as the frame's browser does, and
    /// collects the calls made with its tokens until the answer. The installation event's
    /// redirects are followed the same way: how Bitrix24's server treats one is not documented,
    /// and the event is judged by its status and the binding it makes.
    async fn fire(&self, owner: usize, request: HttpRequest) -> Exchange {
        let fire::Navigation { redirects, response } = fire::navigate(&self.client, &request, self.limits).await;
        let mut portal_calls = self.portal.take_calls(owner);
        portal_calls.extend(self.foreign.take_calls(owner));
        Exchange { request, redirects, response, portal_calls, frame: None }
    }

    /// Stops the session. Dropping the mock portals runs wiremock's verification through a
    /// blocking executor; on a tokio task whose cooperative budget is spent, tokio answers every
    /// poll of its lock with Pending and that executor spins forever. A blocking thread has no
    /// budget. The last holder of the session drops it there.
    /// The browser, when the run has one, is closed first and its profile removed (dropped by a
    /// holder left, it is killed).
    pub async fn close(self: std::sync::Arc<Self>) {
        let session = match std::sync::Arc::try_unwrap(self) {
            Ok(mut session) => {
                if let Some(browser) = session.browser.take() {
                    browser.close().await;
                }
                std::sync::Arc::new(session)
            }
            Err(shared) => shared,
        };
        let _ = tokio::task::spawn_blocking(move || drop(session)).await;
    }

    /// The handler process the run started (`--handler-cmd`), if any.
    pub fn process(&self) -> Option<&HandlerProcess> {
        self.process.as_ref()
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

    /// The intercepting proxy, with `--intercept`.
    pub fn intercept(&self) -> Option<&Intercept> {
        self.intercept.as_ref()
    }

    /// The run's CA, when the portals or the proxy speak https.
    pub fn authority(&self) -> Option<&Authority> {
        self.authority.as_ref()
    }

    /// This run's `host:port`s with their names: they change every run, so snapshots show the
    /// names.
    pub fn addresses(&self) -> [(String, &'static str); 3] {
        let handler = format!(
            "{}:{}",
            self.handler_url.host_str().unwrap_or_default(),
            self.handler_url.port_or_known_default().unwrap_or_default()
        );
        [(self.portal.addr().to_string(), "portal"), (self.foreign.addr().to_string(), "foreign"), (handler, "handler")]
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

/// The run's browser (`--browser`), behind the run's intercepting proxy when there is one (the
/// portal goes by names only the proxy knows), or why there is none: Chromium missing or not
/// starting is no error of the run, whose frame checks then give no verdict.
async fn start_browser(proxy: Option<String>) -> (Option<Browser>, Option<String>) {
    const SKIPPED: &str = "frame checks skipped";
    let Some(executable) = browser::find_chromium() else {
        let why = "Chromium not found (install Debian's `chromium`, or set B24_CHROMIUM)";
        return (None, Some(format!("--browser: {why}; {SKIPPED}")));
    };
    match Browser::launch(&executable, proxy.as_deref()).await {
        Ok(browser) => (Some(browser), None),
        Err(error) => (None, Some(format!("--browser: {error}; {SKIPPED}"))),
    }
}

/// Fails fast, with exit 3, when nothing listens at the handler's address.
async fn ensure_listening(url: &Url) -> Result<(), RunError> {
    launch::listening(url, Duration::from_secs(5))
        .await
        .map_err(|reason| RunError::Unreachable { url: url.to_string(), reason })
}
