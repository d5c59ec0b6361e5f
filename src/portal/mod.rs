//! The mock portal: one loopback server that plays Bitrix24 for the handler under test. It
//! answers REST calls at `/rest/{method}[.json]` and token refreshes at `/oauth/token/`, keeps a
//! token table, and records every call, attributed to the case whose token it carried.

mod answer;
mod installation;
mod landing;
mod oauth;
mod params;
mod rest;
mod tls;
mod tokens;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::payload::{Binding, opaque_token};
use crate::suite::TokenState;

pub use installation::{EventBinding, Installation};
pub use landing::RepoBinding;
use tls::TlsFront;
pub use tls::{Authority, AuthorityError, HandshakeFailures};
pub use tokens::TokenRole;
use tokens::Tokens;

/// Which part of the portal a call reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    Rest,
    Oauth,
    /// Neither: a path Bitrix24 does not serve.
    Other,
}

/// One call the handler made to the portal, as the portal saw and answered it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortalCall {
    /// The case the call's token belongs to; `None` when it carried no token the run issued.
    #[serde(skip)]
    pub owner: Option<usize>,
    /// Which Bitrix24 got the call: the one the app is installed on, or a foreign one.
    pub portal: Role,
    pub endpoint: Endpoint,
    /// The REST method (lower-cased, as Bitrix24 reads it), the grant type, or the path.
    pub method: String,
    pub http_method: String,
    /// What the presented token was to the case.
    pub token: TokenRole,
    pub status: u16,
    /// The error code of the answer, if it was an error.
    pub error: Option<String>,
    /// The call came after the handler had answered the request its token belongs to: another
    /// request (or a background task) made it with this case's token.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    /// False when the portal does not model the REST method (it answered ERROR_METHOD_NOT_FOUND):
    /// what the handler did next is no fault of its own.
    pub modelled: bool,
    /// What a `landing.repo.bind` call asked the portal to bind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<RepoBinding>,
}

impl PortalCall {
    /// A REST call that the portal answered with a result.
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status) && self.error.is_none()
    }
}

impl std::fmt::Display for PortalCall {
    /// `home: POST user.current, given token → 401 expired_token`, as plain text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} {}, {} token → {}",
            self.portal.label(),
            self.http_method,
            self.method,
            self.token.label(),
            self.status
        )?;
        if let Some(error) = &self.error {
            write!(f, " {error}")?;
        }
        if self.late {
            write!(f, " (after the answer)")?;
        }
        Ok(())
    }
}

/// The part a portal plays in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The Bitrix24 the app is installed on: it answers as Bitrix24 does.
    Home,
    /// A Bitrix24 the app is not installed on. It knows the run's tokens only to attribute a
    /// leaked one to its case, and refuses every call as an unknown token.
    Foreign,
}

/// What a run tells the portal about the app, and answers on which sources disagree.
#[derive(Clone, Debug)]
pub struct PortalConfig {
    pub client: OauthClient,
    /// The HTTP status of `insufficient_scope`: 403 in the documentation (the default), 401 in
    /// the product's source (PROTOCOL.md 2.4).
    pub insufficient_scope_status: u16,
}

impl Default for PortalConfig {
    fn default() -> PortalConfig {
        PortalConfig { client: OauthClient::default(), insufficient_scope_status: 403 }
    }
}

/// The app's OAuth credentials; the OAuth server accepts any value of a `None` part.
#[derive(Clone, Debug, Default)]
pub struct OauthClient {
    pub id: Option<String>,
    pub secret: Option<String>,
}

impl Role {
    /// The name reports use.
    pub fn label(self) -> &'static str {
        match self {
            Role::Home => "home",
            Role::Foreign => "foreign",
        }
    }
}

/// Things the mock portal says about itself in its answers.
const MEMBER_SEED: &str = "b24-conform mock portal";

/// The running mock portal. Dropping it stops the server.
pub struct Portal {
    server: MockServer,
    state: Arc<Mutex<State>>,
    /// Present when the portal speaks https: handlers reach it only through this front.
    tls: Option<TlsFront>,
}

struct State {
    role: Role,
    config: PortalConfig,
    tokens: Tokens,
    calls: Vec<PortalCall>,
    /// Cases whose calls were taken because the handler answered them.
    answered: HashSet<usize>,
    bindings: Vec<RepoBinding>,
    /// The app's installation, and the event handlers it bound.
    installation: Installation,
    events: Vec<EventBinding>,
    origin: String,
    member_id: String,
}

/// The portal's state stays usable even if a responder thread panicked while holding it.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Portal {
    /// Starts the home portal over plain http on `addr` (port 0 picks a free one), accepting any
    /// OAuth client. Fails when the port is taken.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Portal> {
        Portal::start_as(addr, Role::Home, PortalConfig::default(), None).await
    }

    /// Starts a portal playing `role`, over https with `tls`'s certificate when given.
    pub async fn start_as(
        addr: SocketAddr,
        role: Role,
        config: PortalConfig,
        tls: Option<&Authority>,
    ) -> std::io::Result<Portal> {
        // With TLS, `addr` is the front's: the plain server behind it takes any free port.
        let plain_addr = if tls.is_some() { SocketAddr::new(addr.ip(), 0) } else { addr };
        let listener = std::net::TcpListener::bind(plain_addr)?;
        let plain_addr = listener.local_addr()?;
        let server = MockServer::builder().listener(listener).disable_request_recording().start().await;
        let tls = match tls {
            Some(authority) => Some(TlsFront::start(addr, plain_addr, authority).await?),
            None => None,
        };
        let public_addr = tls.as_ref().map_or(plain_addr, TlsFront::addr);
        let member_id = opaque_token(MEMBER_SEED, 32);
        let state = Arc::new(Mutex::new(State {
            role,
            config,
            tokens: Tokens::default(),
            calls: Vec::new(),
            answered: HashSet::new(),
            bindings: Vec::new(),
            installation: Installation::default(),
            events: Vec::new(),
            origin: origin(public_addr, tls.is_some()),
            member_id,
        }));
        let portal = Portal { server, state, tls };
        portal.mount().await;
        Ok(portal)
    }

    async fn mount(&self) {
        Mock::given(any()).respond_with(Responder(self.state.clone())).mount(&self.server).await;
    }

    /// Frees what wiremock keeps of every request it answered (a clone each, even with recording
    /// off: STACK.md) by dropping the mock and mounting it again. The token table and the calls
    /// not yet taken live in the portal's own state and are kept. Between the two steps a request
    /// would get an empty 404: call it only when no case is in flight.
    pub async fn recycle(&self) {
        self.server.reset().await;
        self.mount().await;
    }

    /// `http://127.0.0.1:PORT`, or `https://…` over TLS.
    pub fn origin(&self) -> String {
        origin(self.addr(), self.tls.is_some())
    }

    /// The REST endpoint handlers call: `http(s)://127.0.0.1:PORT/rest/`.
    pub fn rest_url(&self) -> String {
        format!("{}/rest/", self.origin())
    }

    /// The OAuth token endpoint: `http(s)://127.0.0.1:PORT/oauth/token/`.
    pub fn oauth_url(&self) -> String {
        format!("{}/oauth/token/", self.origin())
    }

    /// Where handlers reach the portal.
    pub fn addr(&self) -> SocketAddr {
        self.tls.as_ref().map_or(*self.server.address(), TlsFront::addr)
    }

    /// The fields that point a payload at this portal, with `foreign` for the portal the app is
    /// not installed on; PROTOCOL=1 when this portal speaks https.
    pub fn binding(&self, foreign: &Portal) -> Binding {
        binding(self.addr(), foreign.addr(), self.tls.is_some())
    }

    /// The fields that point a payload at a plain-http portal on `home`, with `foreign` for the
    /// portal the app is not installed on: the same for every portal on those addresses, so a
    /// payload can be printed before its portal runs.
    pub fn binding_at(home: SocketAddr, foreign: SocketAddr) -> Binding {
        binding(home, foreign, false)
    }

    /// The TLS handshakes this portal refused so far; none over plain http.
    pub fn handshake_failures(&self) -> HandshakeFailures {
        self.tls.as_ref().map(TlsFront::handshake_failures).unwrap_or_default()
    }

    /// Issues a case's token pair: AUTH_ID in `state`, REFRESH_ID good for one refresh.
    pub fn grant(&self, owner: usize, auth_id: &str, refresh_id: &str, state: TokenState) {
        lock(&self.state).tokens.grant(owner, auth_id, refresh_id, state);
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

    /// Removes and returns every call not taken yet: late ones of answered cases, and those that
    /// carried no token of the run.
    pub fn take_remaining(&self) -> Vec<PortalCall> {
        std::mem::take(&mut lock(&self.state).calls)
    }

    /// What apps have bound with `landing.repo.bind` and not unbound, oldest first.
    pub fn bindings(&self) -> Vec<RepoBinding> {
        lock(&self.state).bindings.clone()
    }

    /// Where the app's installation stands.
    pub fn installation(&self) -> Installation {
        lock(&self.state).installation
    }

    /// An installation begins: `app.info` says `INSTALLED: false`, and nothing is bound yet —
    /// an app "must set them from scratch in the installer of each version" (event-bind.md).
    pub fn begin_installation(&self) {
        let mut state = lock(&self.state);
        state.installation = Installation::Pending;
        state.bindings.clear();
        state.events.clear();
    }

    /// The installation has ended: `app.info` says `INSTALLED: true` from now on.
    pub fn mark_installed(&self) {
        lock(&self.state).installation = Installation::Installed;
    }

    /// The app is removed: every token of it is refused (`APPLICATION_NOT_FOUND`), and what it
    /// bound, placements and event handlers, is forgotten.
    pub fn mark_uninstalled(&self) {
        let mut state = lock(&self.state);
        state.installation = Installation::Removed;
        state.bindings.clear();
        state.events.clear();
    }

    /// The handlers the app bound for `event` with `event.bind`, oldest first.
    pub fn event_handlers(&self, event: &str) -> Vec<EventBinding> {
        let state = lock(&self.state);
        state.events.iter().filter(|b| b.event.eq_ignore_ascii_case(event)).cloned().collect()
    }
}

fn origin(addr: SocketAddr, tls: bool) -> String {
    format!("{}://{addr}", if tls { "https" } else { "http" })
}

fn binding(home: SocketAddr, foreign: SocketAddr, tls: bool) -> Binding {
    Binding {
        domain: home.to_string(),
        protocol: u8::from(tls),
        server_endpoint: format!("{}/rest/", origin(home, tls)),
        member_id: opaque_token(MEMBER_SEED, 32),
        foreign_domain: foreign.to_string(),
    }
}

struct Responder(Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let params = params::Params::read(request);
        let path = collapse_slashes(request.url.path());
        let mut state = lock(&self.0);
        let endpoint = if path == "/oauth/token/" || path == "/oauth/token" {
            Endpoint::Oauth
        } else if path.starts_with("/rest/") {
            Endpoint::Rest
        } else {
            Endpoint::Other
        };
        let mut binding = None;
        let (method, owner, token, answer) = match (state.role, endpoint) {
            (Role::Foreign, _) => {
                let (owner, token, answer) = foreign_answer(&state, &params);
                (path.clone(), owner, token, answer)
            }
            (Role::Home, Endpoint::Oauth) => {
                let (owner, token, answer) = oauth::refresh(&mut state, &params);
                (params.text("grant_type").unwrap_or_default(), owner, token, answer)
            }
            (Role::Home, Endpoint::Rest) => {
                let method = path["/rest/".len()..].trim_end_matches('/');
                let method = method.strip_suffix(".json").unwrap_or(method).to_lowercase();
                let outcome = rest::call(&mut state, &method, &params);
                binding = outcome.binding;
                (method, outcome.owner, outcome.role, outcome.answer)
            }
            (Role::Home, Endpoint::Other) => {
                (path.clone(), None, TokenRole::None, answer::Answer::error(404, "NOT_FOUND", "Not found"))
            }
        };
        let portal = state.role;
        let late = owner.is_some_and(|o| state.answered.contains(&o));
        state.calls.push(PortalCall {
            owner,
            portal,
            endpoint,
            method,
            http_method: request.method.to_string(),
            token,
            status: answer.status,
            error: answer.error_code(),
            late,
            modelled: answer.error_code().as_deref() != Some("ERROR_METHOD_NOT_FOUND"),
            binding,
        });
        answer.into_response()
    }
}

/// A foreign portal's refusal, attributed to the case whose token (access or refresh) came.
fn foreign_answer(state: &State, params: &params::Params) -> (Option<usize>, TokenRole, answer::Answer) {
    let presented = params.auth().or_else(|| params.text("refresh_token"));
    let (owner, role) = match presented {
        Some(token) => state.tokens.identify(&token),
        None => (None, TokenRole::None),
    };
    (owner, role, answer::Answer::error(401, "invalid_token", "The access token provided is invalid."))
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
