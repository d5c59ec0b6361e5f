//! The mock portal: one loopback server that plays Bitrix24 for the handler under test. It
//! answers REST calls at `/rest/{method}[.json]` and token refreshes at `/oauth/token/`, keeps a
//! token table, and records every call, attributed to the case whose token it carried.

mod oauth;
mod params;
mod rest;
mod tls;
mod tokens;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::payload::{Binding, opaque_token};
use crate::suite::TokenState;

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
}

impl PortalCall {
    /// A REST call that the portal answered with a result.
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status) && self.error.is_none()
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
    tokens: Tokens,
    calls: Vec<PortalCall>,
    bindings: Vec<rest::RepoBinding>,
    origin: String,
    member_id: String,
}

/// The portal's state stays usable even if a responder thread panicked while holding it.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Portal {
    /// Starts the home portal over plain http on `addr` (port 0 picks a free one). Fails when
    /// the port is taken.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Portal> {
        Portal::start_as(addr, Role::Home, None).await
    }

    /// Starts a portal playing `role`, over https with `tls`'s certificate when given.
    pub async fn start_as(addr: SocketAddr, role: Role, tls: Option<&Authority>) -> std::io::Result<Portal> {
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
            tokens: Tokens::default(),
            calls: Vec::new(),
            bindings: Vec::new(),
            origin: origin(public_addr, tls.is_some()),
            member_id,
        }));
        Mock::given(any()).respond_with(Responder(state.clone())).mount(&server).await;
        Ok(Portal { server, state, tls })
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

    /// Removes and returns the calls attributed to case `owner`, in the order they arrived.
    pub fn take_calls(&self, owner: usize) -> Vec<PortalCall> {
        let mut state = lock(&self.state);
        let (mine, rest) = std::mem::take(&mut state.calls).into_iter().partition(|c| c.owner == Some(owner));
        state.calls = rest;
        mine
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
        let (endpoint, method, owner, token, answer) = if state.role == Role::Foreign {
            foreign_answer(&state, &path, &params)
        } else if path == "/oauth/token/" || path == "/oauth/token" {
            let (owner, token, answer) = oauth::refresh(&mut state, &params);
            (Endpoint::Oauth, params.text("grant_type").unwrap_or_default(), owner, token, answer)
        } else if let Some(method) = path.strip_prefix("/rest/") {
            let method = method.trim_end_matches('/');
            let method = method.strip_suffix(".json").unwrap_or(method).to_lowercase();
            let (owner, token, answer) = rest::call(&mut state, &method, &params);
            (Endpoint::Rest, method, owner, token, answer)
        } else {
            let answer = rest::Answer::error(404, "NOT_FOUND", "Not found");
            (Endpoint::Other, path.clone(), None, TokenRole::None, answer)
        };
        let portal = state.role;
        state.calls.push(PortalCall {
            owner,
            portal,
            endpoint,
            method,
            http_method: request.method.to_string(),
            token,
            status: answer.status,
            error: answer.error_code(),
        });
        answer.into_response()
    }
}

/// A foreign portal's refusal, attributed to the case whose token (access or refresh) came.
fn foreign_answer(
    state: &State,
    path: &str,
    params: &params::Params,
) -> (Endpoint, String, Option<usize>, TokenRole, rest::Answer) {
    let presented = params.auth().or_else(|| params.text("refresh_token"));
    let (owner, role) = match presented.as_deref().map(|t| state.tokens.lookup(t)) {
        Some(tokens::Lookup::Valid { owner, role } | tokens::Lookup::Expired { owner, role }) => (Some(owner), role),
        Some(tokens::Lookup::Invalid { owner, role }) => (owner, role),
        None => (None, TokenRole::None),
    };
    let answer = rest::Answer::error(401, "invalid_token", "The access token provided is invalid.");
    (Endpoint::Other, path.to_owned(), owner, role, answer)
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
