//! The intercepting proxy (`--intercept`): a loopback HTTP proxy of the run's own, given to the
//! handler it starts as HTTPS_PROXY/HTTP_PROXY, so that an app runs exactly as it ships, whatever
//! hosts its SDK hard-codes. It terminates TLS with certificates of the run's CA for the host
//! the client asks for, and passes requests for the portal's DOMAIN and the OAuth hosts to the
//! mock portal and its OAuth server ([`route`]); it answers every other host itself, with 403,
//! and records the request ([`refusal`]). It listens on 127.0.0.1 only and connects to nothing
//! but the run's own mocks.

mod forward;
mod refusal;
mod route;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::portal::{Authority, HandshakeFailures, HostCertificates, Portal, Recorder};
pub use route::{FOREIGN_HOST, OAUTH_HOSTS, PORTAL_HOST, Routes, foreign_names, home_names};

/// How long a client has to complete its TLS handshake inside a tunnel.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Refused requests that carry no token of the run are recorded up to this many (a handler that
/// polls some other host must not fill the run's memory); those that carry one always are, and
/// go with their case.
const UNOWNED_KEPT: usize = 32;
/// Distinct refused hosts named in the run's note.
const HOSTS_NAMED: usize = 8;

/// What the proxy refused and failed so far, for the run's closing notes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Requests for other hosts, answered 403.
    pub refused: usize,
    /// The first few hosts refused, in the order met.
    pub hosts: Vec<String>,
    /// Refused requests recorded that carried no token of the run.
    unowned: usize,
    /// TLS handshakes inside a tunnel that failed: the client does not trust the run's CA.
    pub handshakes: HandshakeFailures,
}

impl Tally {
    /// The run's closing notes about the proxy: the hosts it refused, and the handshakes it
    /// failed, with what a client needs to trust the run's CA (`ca_file`).
    pub fn notes(&self, ca_file: &std::path::Path) -> Vec<String> {
        let mut notes = Vec::new();
        if self.refused > 0 {
            notes.push(format!(
                "the intercepting proxy refused {} request(s) for other hosts ({}); none was sent on",
                self.refused,
                self.hosts.join(", ")
            ));
        }
        if self.handshakes.count > 0 {
            notes.push(format!(
                "warning: the intercepting proxy failed {} TLS handshake(s), the first: {}; does the handler trust the \
                 run's CA ({})? --handler-cmd gives it in SSL_CERT_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS and \
                 CURL_CA_BUNDLE; PHP's curl reads none of them: start PHP with -d curl.cainfo=\"$SSL_CERT_FILE\"",
                self.handshakes.count,
                self.handshakes.first,
                ca_file.display()
            ));
        }
        notes
    }
}

/// Who the proxy serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// The handler: a refused request is recorded for its case and tallied for the run's notes.
    Handler,
    /// The browser (`--browser`): DevTools records the frame's requests itself, and Chromium's
    /// own (its updates, its sign-in) are no finding of the handler's; refused ones are only
    /// answered.
    Browser,
}

/// What every connection of the proxy shares.
struct Shared {
    routes: Routes,
    certificates: HostCertificates,
    /// `None` for the browser's proxy.
    recorder: Option<Recorder>,
    tally: Mutex<Tally>,
}

impl Shared {
    fn tally(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running proxy; dropping it closes its port and every connection.
pub struct Intercept {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for Intercept {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Intercept {
    /// Starts the proxy on a free loopback port, for `home` (already renamed to
    /// [`home_names`]) and `foreign` ([`foreign_names`]), with certificates of `authority`,
    /// serving `client`.
    pub async fn start(
        home: &Portal,
        foreign: &Portal,
        authority: &Authority,
        client: Client,
    ) -> io::Result<Intercept> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            routes: Routes::to(home, foreign),
            certificates: authority.host_certificates(),
            recorder: (client == Client::Handler).then(|| home.recorder()),
            tally: Mutex::default(),
        });
        let task = tokio::spawn(serve(listener, shared.clone()));
        Ok(Intercept { addr, shared, task })
    }

    /// `http://127.0.0.1:PORT`, the proxy's URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What a handler started behind the proxy gets in its environment: the proxy, under the
    /// names clients read (curl and libcurl: `https_proxy`, `HTTPS_PROXY`, `http_proxy`; Python's
    /// requests and urllib, Node's axios, Go: either case), and loopback exempt, so that calls
    /// to the handler itself and to loopback services go straight there.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        let mut environment: Vec<_> = ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"]
            .into_iter()
            .map(|name| (name, self.url()))
            .collect();
        for name in ["NO_PROXY", "no_proxy"] {
            environment.push((name, "localhost,127.0.0.1,::1".to_owned()));
        }
        environment
    }

    /// What the proxy refused and failed so far.
    pub fn tally(&self) -> Tally {
        self.shared.tally().clone()
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    crate::portal::accept_each(listener, |tcp| connection(tcp, shared.clone())).await;
}

type Body = Either<Incoming, Full<Bytes>>;

/// One client connection: proxy requests (CONNECT, or absolute-form) until it closes.
async fn connection(tcp: TcpStream, shared: Arc<Shared>) {
    let _ = tcp.set_nodelay(true);
    let service = service_fn(move |request| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(proxy(request, shared).await) }
    });
    let _ =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).with_upgrades().await;
}

/// A request to the proxy: CONNECT opens a tunnel whose TLS the proxy terminates; an
/// absolute-form request (`GET http://host/…`, or `https://…`, as axios sends through an http
/// proxy) is served at once.
async fn proxy(request: Request<Incoming>, shared: Arc<Shared>) -> Response<Body> {
    let Some(authority) = request.uri().authority().cloned() else {
        return text(StatusCode::BAD_REQUEST, "b24-conform --intercept is a proxy: send CONNECT or an absolute URL\n");
    };
    let host = authority.host().trim_matches(['[', ']']).to_owned();
    if request.method() == Method::CONNECT {
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(request).await {
                tunnel(TokioIo::new(upgraded), authority.to_string(), host, shared).await;
            }
        });
        return Response::new(Either::Right(Full::default()));
    }
    let scheme = request.uri().scheme_str().unwrap_or("http").to_owned();
    at(request, &format!("{scheme}://{authority}"), &host, &shared).await
}

/// The TLS inside a CONNECT tunnel to `authority`, terminated with a certificate for the name
/// the client asks for, then HTTP/1 requests as for that host.
async fn tunnel(io: TokioIo<hyper::upgrade::Upgraded>, authority: String, host: String, shared: Arc<Shared>) {
    let Ok(acceptor) = shared.certificates.acceptor(&host) else { return };
    let handshake = match tokio::time::timeout(HANDSHAKE, acceptor.accept(io)).await {
        Ok(handshake) => handshake,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "no handshake within 10 s")),
    };
    let tls = match handshake {
        Ok(tls) => tls,
        Err(e) => {
            let mut tally = shared.tally();
            if tally.handshakes.count == 0 {
                tally.handshakes.first = format!("{host}: {e}");
            }
            tally.handshakes.count += 1;
            return;
        }
    };
    let origin = match authority.strip_suffix(":443") {
        Some(default_port) => format!("https://{default_port}"),
        None => format!("https://{authority}"),
    };
    let service = service_fn(move |request| {
        let (shared, origin, host) = (shared.clone(), origin.clone(), host.clone());
        async move { Ok::<_, Infallible>(at(request, &origin, &host, &shared).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
}

/// A request for `host` (reached as `origin`): passed to its mock, or refused and recorded.
async fn at(request: Request<Incoming>, origin: &str, host: &str, shared: &Shared) -> Response<Body> {
    if let Some(backend) = shared.routes.backend(host) {
        return match forward::forward(backend, request).await {
            Ok(response) => response.map(Either::Left),
            Err(e) => text(StatusCode::BAD_GATEWAY, &format!("b24-conform --intercept: {e}\n")),
        };
    }
    let Some(recorder) = &shared.recorder else { return refusal::answer(host).map(Either::Right) };
    let refused = refusal::read(origin, request).await;
    let keep_unowned = shared.tally().unowned < UNOWNED_KEPT;
    let owned = recorder.record_refused(&refused, keep_unowned);
    let mut tally = shared.tally();
    tally.refused += 1;
    if !owned && keep_unowned {
        tally.unowned += 1;
    }
    if tally.hosts.len() < HOSTS_NAMED && !tally.hosts.iter().any(|h| h == host) {
        tally.hosts.push(host.to_owned());
    }
    drop(tally);
    refusal::answer(host).map(Either::Right)
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body.to_owned()))));
    *response.status_mut() = status;
    response
}
