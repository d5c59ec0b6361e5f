//! The mock Bitrix24: the portal the app is installed on (REST at `/rest/{method}[.json]`) and,
//! beside it on a port of its own, its OAuth server (oauth.bitrix.info's part: the refresh grant
//! at `/oauth/token/`, `app.info` at `/rest/`), which SERVER_ENDPOINT names; or a foreign portal
//! the app is not installed on. Each endpoint is a wiremock mock of its own with a small
//! responder; they share one state: the installation, the token table, and every call made,
//! attributed to the case whose token it carried.

mod answer;
mod app;
mod batch;
mod elsewhere;
mod frame;
mod installation;
mod landing;
mod oauth;
mod params;
mod rest;
mod tls;
mod tokens;
mod users;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use wiremock::matchers::{any, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::payload::{Binding, opaque_token};
use crate::record::{Endpoint, PortalCall, RepoBinding, Role, TokenRole};
use crate::suite::TokenState;

use answer::Answer;
pub use elsewhere::{Recorder, Refused};
pub use installation::EventHandler;
use installation::{Installation, MEMBER_SEED};
use params::Params;
use tls::TlsFront;
pub(crate) use tls::accept_each;
pub use tls::{Authority, AuthorityError, HandshakeFailures, HostCertificates};
use tokens::Tokens;

/// What a run tells the portal about the app, and answers on which sources disagree.
#[derive(Clone, Debug)]
pub struct PortalConfig {
    pub client: OauthClient,
    /// The HTTP status of `insufficient_scope`: 401 as the product raises it for an OAuth token
    /// (oauth/auth.php throws an OAuthException, whose status defaults to 401; the default), or
    /// 403 as system-errors.md gives it for a webhook's.
    pub insufficient_scope_status: u16,
}

impl Default for PortalConfig {
    fn default() -> PortalConfig {
        PortalConfig { client: OauthClient::default(), insufficient_scope_status: 401 }
    }
}

/// The app's OAuth credentials: the OAuth server refreshes tokens only for this pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OauthClient {
    pub id: String,
    pub secret: String,
}

impl Default for OauthClient {
    /// The pair the run makes when it is given none, shaped as a local app's
    /// (`local.<14 hex>.<8 digits>`, as auto-renewal.md's `app.573ad8a0346747.09223434`; a
    /// 50-character secret), the same on every run.
    fn default() -> OauthClient {
        let hex = opaque_token("b24-conform client_id", 22);
        let digits = u64::from_str_radix(&hex[14..], 16).unwrap_or_default() % 100_000_000;
        OauthClient {
            id: format!("local.{}.{digits:08}", &hex[..14]),
            secret: opaque_token("b24-conform client_secret", 50),
        }
    }
}

impl Role {
    /// The name reports use.
    pub fn label(self) -> &'static str {
        match self {
            Role::Home => "home",
            Role::Foreign => "foreign",
            Role::Elsewhere => "elsewhere",
        }
    }
}

/// A loopback server of the portal: wiremock, behind a TLS front when it speaks https.
struct Server {
    mock: MockServer,
    /// Present when the server speaks https: handlers reach it only through this front.
    tls: Option<TlsFront>,
}

impl Server {
    /// Starts on `addr` (port 0 picks a free one); with TLS, `addr` is the front's and the
    /// plain server behind it takes any free port.
    async fn start(addr: SocketAddr, tls: Option<&Authority>) -> std::io::Result<Server> {
        let plain_addr = if tls.is_some() { SocketAddr::new(addr.ip(), 0) } else { addr };
        let listener = std::net::TcpListener::bind(plain_addr)?;
        let plain_addr = listener.local_addr()?;
        let mock = MockServer::builder().listener(listener).disable_request_recording().start().await;
        let tls = match tls {
            Some(authority) => Some(TlsFront::start(addr, plain_addr, authority).await?),
            None => None,
        };
        Ok(Server { mock, tls })
    }

    fn addr(&self) -> SocketAddr {
        self.tls.as_ref().map_or(*self.mock.address(), TlsFront::addr)
    }

    fn origin(&self) -> String {
        origin(self.addr(), self.tls.is_some())
    }

    fn handshake_failures(&self) -> HandshakeFailures {
        self.tls.as_ref().map(TlsFront::handshake_failures).unwrap_or_default()
    }
}

/// The running mock portal. Dropping it stops its servers.
pub struct Portal {
    state: Arc<Mutex<State>>,
    server: Server,
    /// The home portal's OAuth server; a foreign portal has none of its own.
    oauth: Option<Server>,
    /// The names handlers reach it by through the intercepting proxy, when it has them.
    names: Option<Names>,
}

/// The host names a portal and its OAuth server answer to behind the intercepting proxy
/// (`--intercept`), over https on the default port, as a Bitrix24 in the cloud does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// DOMAIN, e.g. `portal-1.bitrix24.test`.
    pub portal: String,
    /// The OAuth server's host, e.g. `oauth.bitrix.info` (a foreign portal's is its own).
    pub oauth: String,
}

struct State {
    role: Role,
    config: PortalConfig,
    installation: Installation,
    tokens: Tokens,
    calls: Vec<PortalCall>,
    /// Cases whose calls were taken because the handler answered them.
    answered: HashSet<usize>,
    /// The calls a browser made (`--browser`), apart from the handler's: a frame's.
    browser_calls: Vec<PortalCall>,
    /// Cases whose frame is open in the browser ([`Portal::open_frame`]).
    framing: HashSet<usize>,
    /// The portal's page of each case whose frame is open.
    pages: HashMap<usize, String>,
    /// The portal's origin, `http(s)://127.0.0.1:PORT`.
    origin: String,
    /// The OAuth server's origin (the portal's own for a foreign portal, which has none).
    oauth_origin: String,
}

impl State {
    fn new(role: Role, config: PortalConfig, origin: String, oauth_origin: String) -> State {
        State {
            role,
            installation: Installation::documented(),
            config,
            tokens: Tokens::default(),
            calls: Vec::new(),
            answered: HashSet::new(),
            browser_calls: Vec::new(),
            framing: HashSet::new(),
            pages: HashMap::new(),
            origin,
            oauth_origin,
        }
    }

    fn grant(&mut self, owner: usize, auth_id: &str, refresh_id: &str, state: TokenState, scope: Option<&str>) {
        let scope = scope.map_or_else(|| self.installation.scope.clone(), str::to_owned);
        self.tokens.grant(owner, auth_id, refresh_id, state, &scope);
    }
}

/// The portal's state stays usable even if a responder thread panicked while holding it.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where the home portal's OAuth server listens: two ports after a fixed home port (the foreign
/// portal takes the one between), so that payloads are the same run after run; any free port
/// when the home port is.
pub fn oauth_addr(home: SocketAddr) -> SocketAddr {
    match home.port() {
        0 => home,
        port => SocketAddr::new(home.ip(), port.wrapping_add(2)),
    }
}

impl Portal {
    /// Starts the home portal and its OAuth server over plain http, the portal on `addr` (port
    /// 0 picks a free one). Fails when a port is taken.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Portal> {
        Portal::start_as(addr, Role::Home, PortalConfig::default(), None).await
    }

    /// Starts a portal playing `role`, over https with `tls`'s certificate when given. The home
    /// portal's OAuth server listens at [`oauth_addr`]`(addr)`.
    pub async fn start_as(
        addr: SocketAddr,
        role: Role,
        config: PortalConfig,
        tls: Option<&Authority>,
    ) -> std::io::Result<Portal> {
        let server = Server::start(addr, tls).await?;
        let oauth = match role {
            Role::Home => Some(Server::start(oauth_addr(addr), tls).await?),
            Role::Foreign | Role::Elsewhere => None,
        };
        let origin = server.origin();
        let oauth_origin = oauth.as_ref().map_or_else(|| origin.clone(), Server::origin);
        let state = Arc::new(Mutex::new(State::new(role, config, origin, oauth_origin)));
        let portal = Portal { state, server, oauth, names: None };
        portal.mount().await;
        Ok(portal)
    }

    /// A mock per endpoint, each with its small responder over the shared state. Paths allow
    /// doubled slashes: the JS SDK sends `/rest//METHOD` when its endpoint ends in `/`, b24phpsdk
    /// `//oauth/token/` (its default OAuth server URL ends in `/`).
    async fn mount(&self) {
        let role = lock(&self.state).role;
        for (server, host) in [(Some(&self.server), Host::Portal), (self.oauth.as_ref(), Host::Oauth)] {
            let Some(server) = server else { continue };
            for route in routes(role, host) {
                let responder = Responder { state: self.state.clone(), route: *route };
                let mock = match route.path {
                    Some(path) => Mock::given(path_regex(path)).respond_with(responder),
                    // The fallback, tried after every other mock.
                    None => Mock::given(any()).respond_with(responder).with_priority(u8::MAX),
                };
                mock.mount(&server.mock).await;
            }
            self.mount_browser_side(&server.mock, role == Role::Home && host == Host::Portal).await;
        }
    }

    /// Frees what wiremock keeps of every request it answered (a clone each, even with recording
    /// off: STACK.md) by dropping the mocks and mounting them again. The token table and the calls
    /// not yet taken live in the portal's own state and are kept. Between the two steps a request
    /// would get an empty 404: call it only when no case is in flight.
    pub async fn recycle(&self) {
        self.server.mock.reset().await;
        if let Some(oauth) = &self.oauth {
            oauth.mock.reset().await;
        }
        self.mount().await;
    }

    /// From now on the portal goes by `names` (through the intercepting proxy): its origin, its
    /// OAuth server's, DOMAIN and SERVER_ENDPOINT, and what its answers say of them.
    pub fn rename(&mut self, names: Names) {
        let mut state = lock(&self.state);
        state.origin = format!("https://{}", names.portal);
        state.oauth_origin = format!("https://{}", names.oauth);
        drop(state);
        self.names = Some(names);
    }

    /// Where the proxy reaches the portal's plain servers: the portal's own, and its OAuth
    /// server's (a foreign portal has none).
    pub fn backends(&self) -> (SocketAddr, Option<SocketAddr>) {
        (*self.server.mock.address(), self.oauth.as_ref().map(|oauth| *oauth.mock.address()))
    }

    /// What records the requests the intercepting proxy refused, with this portal's tokens.
    pub fn recorder(&self) -> Recorder {
        Recorder { state: self.state.clone() }
    }

    /// `http://127.0.0.1:PORT`, or `https://…` over TLS, or `https://NAME` behind the proxy.
    pub fn origin(&self) -> String {
        match &self.names {
            Some(names) => format!("https://{}", names.portal),
            None => self.server.origin(),
        }
    }

    /// DOMAIN: `127.0.0.1:PORT`, or the portal's name behind the proxy.
    fn domain(&self) -> String {
        match &self.names {
            Some(names) => names.portal.clone(),
            None => self.addr().to_string(),
        }
    }

    /// The REST endpoint handlers call: `http(s)://127.0.0.1:PORT/rest/`.
    pub fn rest_url(&self) -> String {
        format!("{}/rest/", self.origin())
    }

    /// The OAuth server's origin (the home portal's; a foreign portal's own origin).
    pub fn oauth_origin(&self) -> String {
        match &self.names {
            Some(names) => format!("https://{}", names.oauth),
            None => self.oauth.as_ref().map_or_else(|| self.origin(), Server::origin),
        }
    }

    /// The OAuth server's token endpoint: `http(s)://127.0.0.1:PORT/oauth/token/`.
    pub fn oauth_url(&self) -> String {
        format!("{}/oauth/token/", self.oauth_origin())
    }

    /// SERVER_ENDPOINT: the OAuth server's REST address, `http(s)://127.0.0.1:PORT/rest/`.
    pub fn server_endpoint(&self) -> String {
        format!("{}/rest/", self.oauth_origin())
    }

    /// Where handlers reach the portal.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The portal's member_id.
    pub fn member_id(&self) -> String {
        lock(&self.state).installation.member_id.clone()
    }

    /// The app's OAuth client, which the OAuth server requires on refresh.
    pub fn client(&self) -> OauthClient {
        lock(&self.state).config.client.clone()
    }

    /// The fields that point a payload at this portal, with `foreign` for the portal the app is
    /// not installed on; PROTOCOL=1 when this portal speaks https.
    pub fn binding(&self, foreign: &Portal) -> Binding {
        Binding {
            domain: self.domain(),
            protocol: u8::from(self.server.tls.is_some() || self.names.is_some()),
            server_endpoint: self.server_endpoint(),
            member_id: opaque_token(MEMBER_SEED, 32),
            foreign_domain: foreign.domain(),
        }
    }

    /// The fields that point a payload at a plain-http portal on `home` (its OAuth server at
    /// [`oauth_addr`]), with `foreign` for the portal the app is not installed on: the same for
    /// every portal on those addresses, so a payload can be printed before its portal runs.
    pub fn binding_at(home: SocketAddr, foreign: SocketAddr) -> Binding {
        Binding {
            domain: home.to_string(),
            protocol: 0,
            server_endpoint: format!("{}/rest/", origin(oauth_addr(home), false)),
            member_id: opaque_token(MEMBER_SEED, 32),
            foreign_domain: foreign.to_string(),
        }
    }

    /// The TLS handshakes this portal's servers refused so far; none over plain http.
    pub fn handshake_failures(&self) -> HandshakeFailures {
        let oauth = self.oauth.as_ref().map(Server::handshake_failures).unwrap_or_default();
        self.server.handshake_failures().merge(oauth)
    }

    /// Issues a case's token pair: AUTH_ID in `state`, REFRESH_ID good for one refresh, both
    /// granted `scope` (comma-separated, as APPLICATION_SCOPE), or the installation's when `None`.
    pub fn grant(&self, owner: usize, auth_id: &str, refresh_id: &str, state: TokenState, scope: Option<&str>) {
        lock(&self.state).grant(owner, auth_id, refresh_id, state, scope);
    }

    /// A new installation of the app begins: not finished, nothing bound yet.
    pub fn begin_installation(&self) {
        lock(&self.state).installation.begin();
    }

    /// The app is removed (Bitrix24 then posts ONAPPUNINSTALL): every token of it is refused
    /// (`APPLICATION_NOT_FOUND`), and what it bound, placements and event handlers, is forgotten.
    pub fn mark_uninstalled(&self) {
        lock(&self.state).installation.remove();
    }

    /// Marks the installation finished (BX24.installFinish) or not: the portal's `app.info`
    /// says INSTALLED accordingly, the OAuth server's `install.installed` too.
    pub fn set_installed(&self, installed: bool) {
        lock(&self.state).installation.installed = installed;
    }

    /// Removes and returns the calls attributed to case `owner`, in the order they arrived, once
    /// the handler has answered the case: any later call with its tokens is marked `late`.
    pub fn take_calls(&self, owner: usize) -> Vec<PortalCall> {
        let mut state = lock(&self.state);
        state.answered.insert(owner);
        let (mine, rest) = std::mem::take(&mut state.calls).into_iter().partition(|c| c.owner == Some(owner));
        state.calls = rest;
        mine
    }

    /// Removes and returns the calls not taken yet but of cases still waiting for their answer:
    /// late ones of answered cases, and those that carried no token of the run.
    pub fn take_remaining(&self) -> Vec<PortalCall> {
        let mut state = lock(&self.state);
        let State { calls, answered, .. } = &mut *state;
        let (remaining, waiting) =
            std::mem::take(calls).into_iter().partition(|c| c.owner.is_none_or(|o| answered.contains(&o)));
        *calls = waiting;
        remaining
    }

    /// The case `owner` is over: its tokens are forgotten (a later call with one is a call with
    /// a token the run never issued), so the portal holds only the cases still in play.
    pub fn retire(&self, owner: usize) {
        let mut state = lock(&self.state);
        state.tokens.retire(owner);
        state.answered.remove(&owner);
    }

    /// What apps have bound with `landing.repo.bind` and not unbound, oldest first.
    pub fn bindings(&self) -> Vec<RepoBinding> {
        lock(&self.state).installation.repo_bindings.clone()
    }

    /// The event handlers the app has bound with `event.bind` and not unbound, oldest first.
    pub fn event_handlers(&self) -> Vec<EventHandler> {
        lock(&self.state).installation.events.clone()
    }
}

fn origin(addr: SocketAddr, tls: bool) -> String {
    format!("{}://{addr}", if tls { "https" } else { "http" })
}

/// `/rest/…`, with any number of slashes.
const REST_PATH: &str = "^/+rest/";
/// `/oauth/token` or `/oauth/token/`, with any number of slashes.
const TOKEN_PATH: &str = "^/+oauth/+token/*$";

/// What a route made of one request: to whom it is attributed, and the answer.
struct Handled {
    method: String,
    owner: Option<usize>,
    token: TokenRole,
    answer: Answer,
    binding: Option<RepoBinding>,
    commands: Vec<batch::Command>,
}

impl Handled {
    fn plain(method: String, (owner, token, answer): (Option<usize>, TokenRole, Answer)) -> Handled {
        Handled { method, owner, token, answer, binding: None, commands: Vec::new() }
    }
}

/// One endpoint of a server: the paths it serves (`None`: the fallback, for every path no other
/// route serves) and the handler that answers there.
#[derive(Clone, Copy)]
struct Route {
    path: Option<&'static str>,
    endpoint: Endpoint,
    handle: fn(&mut State, &Request, &Params) -> Handled,
}

/// The routes of a home portal's own server, its OAuth server's, and a foreign portal's (whose
/// OAuth server is itself).
const HOME: &[Route] = &[
    Route { path: Some(REST_PATH), endpoint: Endpoint::Rest, handle: portal_rest },
    Route { path: Some(TOKEN_PATH), endpoint: Endpoint::PortalOauth, handle: token },
    Route { path: None, endpoint: Endpoint::Other, handle: not_found },
];
const OAUTH: &[Route] = &[
    Route { path: Some(TOKEN_PATH), endpoint: Endpoint::Oauth, handle: token },
    Route { path: Some(REST_PATH), endpoint: Endpoint::OauthRest, handle: oauth_rest },
    Route { path: None, endpoint: Endpoint::Other, handle: not_found },
];
const FOREIGN: &[Route] = &[
    Route { path: Some(REST_PATH), endpoint: Endpoint::Rest, handle: foreign },
    Route { path: Some(TOKEN_PATH), endpoint: Endpoint::PortalOauth, handle: foreign },
    Route { path: None, endpoint: Endpoint::Other, handle: foreign },
];

fn routes(role: Role, host: Host) -> &'static [Route] {
    match (role, host) {
        (Role::Home, Host::Portal) => HOME,
        (Role::Home, Host::Oauth) => OAUTH,
        // No portal plays elsewhere; one that did would refuse everything, as a foreign one.
        (Role::Foreign | Role::Elsewhere, _) => FOREIGN,
    }
}

/// Which of a portal's servers a request reached: the portal's own, or its OAuth server (a
/// foreign portal's OAuth server is itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    Portal,
    Oauth,
}

/// A route's wiremock responder over the shared state.
struct Responder {
    state: Arc<Mutex<State>>,
    route: Route,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        serve(&self.state, self.route, request).into_response()
    }
}

/// Reads the request, lets the route's handler answer over the shared state, and records the
/// call (and the commands of a batch). The parameters are read before the lock is taken.
fn serve(state: &Mutex<State>, route: Route, request: &Request) -> Answer {
    let params = Params::read(request);
    let browser = frame::from_browser(request);
    let mut state = lock(state);
    let handled = (route.handle)(&mut state, request, &params);
    // A browser's call is the frame's, which opens after the handler's answer: never late.
    let late = !browser && handled.owner.is_some_and(|o| state.answered.contains(&o));
    let call = PortalCall {
        modelled: modelled(&handled.method, handled.answer.error_code().as_deref()),
        owner: handled.owner,
        portal: state.role,
        endpoint: route.endpoint,
        method: handled.method,
        http_method: request.method.to_string(),
        token: handled.token,
        status: handled.answer.status,
        error: handled.answer.error_code(),
        late,
        binding: handled.binding,
        batch: None,
    };
    let commands: Vec<PortalCall> = handled
        .commands
        .into_iter()
        .map(|command| PortalCall {
            modelled: modelled(&command.method, command.error.as_deref()),
            method: command.method,
            status: command.status,
            error: command.error,
            binding: command.binding,
            batch: Some(command.name),
            ..call.clone()
        })
        .collect();
    match handled.owner {
        // A browser's call with no token of the run belongs to no case, and the frame's record
        // of its requests has it already (the page's favicon, a frame's untokened fetch).
        Some(owner) if browser => {
            if !frame::browser_calls_full(&state, owner) {
                state.browser_calls.push(call);
                state.browser_calls.extend(commands);
            }
        }
        None if browser => {}
        // The handler serving the browser's own delivery of a case whose frame is open.
        Some(owner) if state.framing.contains(&owner) => {}
        _ => {
            state.calls.push(call);
            state.calls.extend(commands);
        }
    }
    handled.answer
}

/// A portal without servers, answering requests handed to it: the routes, responders and state
/// of a started [`Portal`] on `addr` (its OAuth server at [`oauth_addr`]), but no socket and no
/// wiremock server. For tests that feed the portal what a handler might send by the hundred
/// thousand (tests/portal_fuzz.rs).
pub struct Offline {
    state: Mutex<State>,
}

/// What the portal answered one request: the status and the JSON body as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Offline {
    pub fn new(role: Role, config: PortalConfig, addr: SocketAddr) -> Offline {
        let oauth_origin = match role {
            Role::Home => origin(oauth_addr(addr), false),
            Role::Foreign | Role::Elsewhere => origin(addr, false),
        };
        Offline { state: Mutex::new(State::new(role, config, origin(addr, false), oauth_origin)) }
    }

    /// As [`Portal::grant`].
    pub fn grant(&self, owner: usize, auth_id: &str, refresh_id: &str, state: TokenState, scope: Option<&str>) {
        lock(&self.state).grant(owner, auth_id, refresh_id, state, scope);
    }

    /// The answer to `request` at `host`, through the route the started portal's server would
    /// take for its path.
    pub fn answer(&self, host: Host, request: &Request) -> Served {
        let role = lock(&self.state).role;
        let routes = routes(role, host);
        let path = request.url.path();
        // Each server's fallback comes last in its routes.
        let route = routes
            .iter()
            .find(|r| r.path.is_none_or(|p| route_regex(p).is_match(path)))
            .copied()
            .unwrap_or(Route { path: None, endpoint: Endpoint::Other, handle: not_found });
        let answer = serve(&self.state, route, request);
        Served { status: answer.status, body: answer.body_bytes() }
    }

    /// As [`Portal::take_remaining`]: every call recorded and not taken yet.
    pub fn take_remaining(&self) -> Vec<PortalCall> {
        std::mem::take(&mut lock(&self.state).calls)
    }
}

/// The compiled form of a route's path pattern (one of [`REST_PATH`], [`TOKEN_PATH`]), as
/// wiremock's `path_regex` matches it.
fn route_regex(pattern: &str) -> &'static regex::Regex {
    static REST: LazyLock<regex::Regex> = LazyLock::new(|| regex::Regex::new(REST_PATH).expect("a valid regex"));
    static TOKEN: LazyLock<regex::Regex> = LazyLock::new(|| regex::Regex::new(TOKEN_PATH).expect("a valid regex"));
    if pattern == REST_PATH { &REST } else { &TOKEN }
}

/// Whether the mock knows what Bitrix24 answers `method`: it answers every REST method it does
/// not model ERROR_METHOD_NOT_FOUND, and nothing else. A name with a path in it (DOMAIN with a
/// path, `/rest/x/rest/user.current`) is no method on a real portal either; REST v3 (`api/…`) is
/// one the mock does not model.
fn modelled(method: &str, error: Option<&str>) -> bool {
    error != Some("ERROR_METHOD_NOT_FOUND") || (method.contains('/') && !method.starts_with("api/"))
}

/// The REST method a path names: lower-cased, `.json` dropped. Other transports (`.xml`) and
/// REST v3 (`/rest/api/…`) keep their suffix or prefix and so name no modelled method.
fn rest_method(request: &Request) -> String {
    let path = collapse_slashes(request.url.path());
    let method = path.strip_prefix("/rest/").unwrap_or(&path).trim_end_matches('/');
    method.strip_suffix(".json").unwrap_or(method).to_lowercase()
}

/// The portal's REST methods.
fn portal_rest(state: &mut State, request: &Request, params: &Params) -> Handled {
    let method = rest_method(request);
    let outcome = rest::call(state, &method, params);
    Handled {
        method,
        owner: outcome.owner,
        token: outcome.role,
        answer: outcome.answer,
        binding: outcome.binding,
        commands: outcome.commands,
    }
}

/// The refresh grant, at the OAuth server or at the portal that passes it on.
fn token(state: &mut State, _: &Request, params: &Params) -> Handled {
    Handled::plain(params.text("grant_type").unwrap_or_default(), oauth::refresh(state, params))
}

/// The OAuth server's REST: `app.info` only. What the real server answers for another method is
/// not documented; the mock's 404 NOT_FOUND is not the portal's ERROR_METHOD_NOT_FOUND, so a
/// portal method sent to the OAuth server is never taken for a method the mock does not model.
fn oauth_rest(state: &mut State, request: &Request, params: &Params) -> Handled {
    let method = rest_method(request);
    if method == "app.info" {
        return Handled::plain(method, oauth::app_info(state, params));
    }
    let (owner, token) = params.auth().map_or((None, TokenRole::None), |t| state.tokens.identify(&t));
    Handled::plain(method, (owner, token, Answer::error(404, "NOT_FOUND", "Not found")))
}

fn not_found(_: &mut State, request: &Request, _: &Params) -> Handled {
    let path = collapse_slashes(request.url.path());
    Handled::plain(path, (None, TokenRole::None, Answer::error(404, "NOT_FOUND", "Not found")))
}

/// A foreign portal's refusal of anything, attributed to the case whose token (access or
/// refresh) came.
fn foreign(state: &mut State, request: &Request, params: &Params) -> Handled {
    let presented = params.auth().or_else(|| params.text("refresh_token"));
    let (owner, role) = match presented {
        Some(token) => state.tokens.identify(&token),
        None => (None, TokenRole::None),
    };
    let path = collapse_slashes(request.url.path());
    Handled::plain(path, (owner, role, rest::invalid()))
}

/// `/rest//user.current` is what the JS SDK sends when its endpoint ends in `/` (PROTOCOL.md).
fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}
