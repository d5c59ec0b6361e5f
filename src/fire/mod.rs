//! The firing engine: sends a request to the handler and captures the answer, bounded in time
//! and in size, following the handler's redirects as the frame's browser does ([`navigate`]).
//! Whatever the handler does, a case costs at most `--timeout-ms` of waiting (redirects
//! included), one body cap of memory, and hyper's bounds on the head ([`MAX_HEADERS`],
//! [`MAX_HEAD_BYTES`]).

mod body;
mod failure;
mod liveness;
mod redirect;

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use crate::record::{FireError, HttpRequest, HttpResponse, SHOWN};

pub use failure::{MAX_HEAD_BYTES, MAX_HEADERS};
pub use liveness::{DEFAULT_LIVENESS_LIMIT, Liveness, answers_alone, serial_handler_note};
pub use redirect::{MAX_REDIRECTS, Navigation, navigate};

/// Limits of one exchange.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// One case: the request, the redirects followed and the last answer, body included.
    pub timeout: Duration,
    /// Bytes of body kept (decoded, when its coding is decoded); the rest is counted and hashed
    /// as it passes, not kept, and the response is marked `truncated`.
    pub body_cap: usize,
}

/// An HTTP client for the harness: loopback only in practice, so no proxy; it follows no redirect
/// itself, so each 3xx is seen as it is ([`navigate`] follows them as a browser does).
///
/// Built once per process and cloned: building one reads and parses the system's CA
/// certificates (/etc/ssl/certs), and a clone shares the settings and the connection pool, whose
/// connections are keyed by origin, so the harness's and the reference handler's never mix.
pub fn client() -> reqwest::Client {
    static CLIENT: LazyLock<reqwest::Client> =
        LazyLock::new(|| client_builder().build().expect("a client with static settings builds"));
    CLIENT.clone()
}

/// [`client`], trusting for https only the CA whose certificate is `ca_pem` (the mock portal's).
pub fn client_trusting(ca_pem: &str) -> Result<reqwest::Client, reqwest::Error> {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes())?;
    client_builder().tls_certs_only([ca]).build()
}

/// [`client`], trusting for https the CA certificates in `pem` besides the system's roots: a
/// handler served with a CA of its own (`--handler-ca`, a development CA such as mkcert's).
/// An error names what in `pem` is not a usable CA certificate.
pub fn client_also_trusting(pem: &str) -> Result<reqwest::Client, reqwest::Error> {
    let cas = reqwest::Certificate::from_pem_bundle(pem.as_bytes())?;
    client_builder().tls_certs_merge(cas).build()
}

fn client_builder() -> reqwest::ClientBuilder {
    // rustls needs a process-wide crypto provider before the first client; a second install
    // attempt fails harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).http1_max_headers(MAX_HEADERS)
}

/// Sends `request` and reads the answer within `limits`; a redirect is an answer like any other.
pub async fn fire(client: &reqwest::Client, request: &HttpRequest, limits: Limits) -> Result<HttpResponse, FireError> {
    fire_by(client, request, limits, tokio::time::Instant::now() + limits.timeout).await
}

/// [`fire`], ending by `deadline` (a navigation's, shared by its redirects).
async fn fire_by(
    client: &reqwest::Client,
    request: &HttpRequest,
    limits: Limits,
    deadline: tokio::time::Instant,
) -> Result<HttpResponse, FireError> {
    let started = Instant::now();
    let ms = failure::millis(limits.timeout);
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| FireError::Transport(format!("{:?} is not an HTTP method", request.method)))?;
    let mut builder = client.request(method, &request.url).body(request.body.bytes.clone());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let mut response = match tokio::time::timeout_at(deadline, builder.send()).await {
        Err(_) => return Err(FireError::Timeout(ms)),
        Ok(Err(error)) => return Err(failure::head_failed(request, error, deadline).await),
        Ok(Ok(response)) => response,
    };
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let value = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let announced = value("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let mut body = body::Body::new(value("content-encoding"), limits.body_cap);
    // Past the cap the body is still read, counted and hashed, not kept: a long body ends and
    // is named by its length and digest; an endless one runs into the deadline.
    match tokio::time::timeout_at(deadline, read_body(&mut response, &mut body)).await {
        Err(_) => return Err(FireError::SlowBody { ms, received: body.received(), announced }),
        Ok(Err(Read::Client(error))) => return Err(failure::body_failed(error, body.received(), announced)),
        Ok(Err(Read::Undecodable(words))) => return Err(FireError::Broken(words)),
        Ok(Ok(())) => {}
    }
    let finished = body.finish(SHOWN).map_err(FireError::Broken)?;
    Ok(HttpResponse {
        status,
        headers,
        body: finished.body,
        truncated: finished.truncated,
        note: finished.note,
        elapsed_ms: failure::millis(started.elapsed()),
    })
}

/// Why a body could not be read to its end.
enum Read {
    Client(reqwest::Error),
    Undecodable(String),
}

async fn read_body(response: &mut reqwest::Response, body: &mut body::Body) -> Result<(), Read> {
    while let Some(chunk) = response.chunk().await.map_err(Read::Client)? {
        body.take(&chunk).map_err(Read::Undecodable)?;
    }
    Ok(())
}
