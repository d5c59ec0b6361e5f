//! The firing engine: sends a request to the handler and captures the answer, bounded in time
//! and in size, following the handler's redirects as the frame's browser does ([`navigate`]).
//! Whatever the handler does, a case costs at most `--timeout-ms` of waiting (redirects
//! included), one body cap of memory, and hyper's bounds on the head ([`MAX_HEADERS`],
//! [`MAX_HEAD_BYTES`]).

mod body;
mod failure;
mod liveness;
mod redirect;

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::payload::HttpRequest;
use crate::portal::PortalCall;

pub use failure::{FireError, MAX_HEAD_BYTES, MAX_HEADERS};
pub use liveness::{DEFAULT_LIVENESS_LIMIT, Liveness, answers_alone, serial_handler_note};
pub use redirect::{MAX_REDIRECTS, Navigation, Redirect, navigate};

/// Limits of one exchange.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// One case: the request, the redirects followed and the last answer, body included.
    pub timeout: Duration,
    /// Bytes of body kept (decoded, when its coding is decoded); the rest is counted and hashed
    /// as it passes, not kept, and the response is marked `truncated`.
    pub body_cap: usize,
}

/// Bytes of body a report shows ([`HttpResponse::shown`]); the checks see up to the body cap.
pub const SHOWN: usize = 64 * 1024;

/// The handler's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, decoded from gzip or deflate when it came so, up to the body cap (or SHOWN,
    /// once [`HttpResponse::shown`]).
    #[serde(serialize_with = "crate::payload::lossy_text")]
    pub body: Vec<u8>,
    /// Bytes of body received (decoded, as far as it was decoded), counting those past what was
    /// kept.
    pub length: u64,
    /// Hex SHA-256 of all `length` bytes, when `body` is not all of them or is longer than SHOWN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `body` is not the whole body: it was cut at the body cap, or at SHOWN for a report.
    pub truncated: bool,
    /// What the harness did to the body, if anything: decoded it from gzip, kept a coding it does
    /// not decode as sent, stopped decoding at the cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub elapsed_ms: u64,
}

impl HttpResponse {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The answer as a report keeps it: the first SHOWN bytes of body, cut before a UTF-8
    /// sequence rather than inside it; `length` and `sha256` still name the whole body.
    pub fn shown(mut self) -> HttpResponse {
        if self.body.len() <= SHOWN {
            return self;
        }
        if self.sha256.is_none() {
            use sha2::Digest;
            self.sha256 = Some(body::hex(&sha2::Sha256::digest(&self.body)));
        }
        // Back over up to three continuation bytes (10xxxxxx) to the start of the sequence cut
        // through; a body that is not UTF-8 there is cut where it is.
        let continues = |at: usize| self.body[at] & 0xc0 == 0x80;
        let cut = (SHOWN - 3..=SHOWN).rev().find(|&at| !continues(at)).unwrap_or(SHOWN);
        self.body.truncate(cut);
        self.body.shrink_to_fit();
        self.truncated = true;
        self
    }
}

/// What happened in one case: the request as sent, the redirects the handler answered with,
/// the last answer, and every call the handler made to the portal with the case's tokens
/// meanwhile.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub request: HttpRequest,
    pub redirects: Vec<Redirect>,
    pub response: Result<HttpResponse, FireError>,
    pub portal_calls: Vec<PortalCall>,
}

impl Exchange {
    /// The redirect to another origin that is the answer, if it is one: the browser leaves the
    /// frame for that page, which the harness does not follow.
    pub fn left_for(&self) -> Option<&Redirect> {
        self.redirects.last().filter(|r| !r.followed && self.response.is_ok())
    }

    /// The handler answered in HTTP, even if the answer then broke (a body cut short, a redirect
    /// loop): what [`Liveness`] observes. Silence is no answer at all: a timeout before any
    /// status line, a refused, reset or closed connection, bytes that are not HTTP.
    pub fn answered(&self) -> bool {
        match &self.response {
            Ok(_) => true,
            Err(error) => error.heard() || !self.redirects.is_empty(),
        }
    }
}

/// An HTTP client for the harness: loopback only in practice, so no proxy; it follows no redirect
/// itself, so each 3xx is seen as it is ([`navigate`] follows them as a browser does).
pub fn client() -> reqwest::Client {
    client_builder().build().expect("a client with static settings builds")
}

/// [`client`], trusting for https only the CA whose certificate is `ca_pem` (the mock portal's).
pub fn client_trusting(ca_pem: &str) -> Result<reqwest::Client, reqwest::Error> {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes())?;
    client_builder().tls_certs_only([ca]).build()
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
    let mut builder = client.request(method, &request.url).body(request.body.clone());
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
        length: finished.length,
        sha256: finished.sha256,
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
