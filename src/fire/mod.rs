//! The firing engine: sends a request to the handler and captures the answer, bounded in time
//! and in size, following the handler's redirects as the frame's browser does ([`navigate`]).

mod redirect;

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::payload::HttpRequest;
use crate::portal::PortalCall;

pub use redirect::{MAX_REDIRECTS, Navigation, Redirect, navigate};

/// Limits of one exchange.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// One request and its answer, body included (each redirect followed gets as long again).
    pub timeout: Duration,
    /// Bytes of body kept; the rest is not read and the response is marked `truncated`.
    pub body_cap: usize,
}

/// The handler's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    #[serde(serialize_with = "crate::payload::lossy_text")]
    pub body: Vec<u8>,
    /// The body was longer than the cap and was cut.
    pub truncated: bool,
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
}

/// Why there was no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FireError {
    #[error("could not connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("no complete answer within {0} ms")]
    Timeout(u64),
    #[error("the exchange failed: {0}")]
    Transport(String),
    #[error("redirect loop: {url} was requested again, the same way, after {hops} redirect(s)")]
    RedirectLoop { url: String, hops: usize },
    #[error("more than {0} redirects: the harness follows no more (a browser gives up after 20)")]
    TooManyRedirects(usize),
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
    reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none())
}

/// Sends `request` and reads the answer within `limits`; a redirect is an answer like any other.
pub async fn fire(client: &reqwest::Client, request: &HttpRequest, limits: Limits) -> Result<HttpResponse, FireError> {
    let started = Instant::now();
    let exchange = async {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| FireError::Transport(format!("{:?} is not an HTTP method", request.method)))?;
        let mut builder = client.request(method, &request.url).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let mut response = builder.send().await.map_err(|e| classify(&request.url, e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&request.url, e))? {
            let room = limits.body_cap - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        let elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(HttpResponse { status, headers, body, truncated, elapsed_ms })
    };
    tokio::time::timeout(limits.timeout, exchange)
        .await
        .unwrap_or(Err(FireError::Timeout(limits.timeout.as_millis() as u64)))
}

fn classify(url: &str, error: reqwest::Error) -> FireError {
    if error.is_connect() {
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(inner) = source {
            reason = inner.to_string();
            source = inner.source();
        }
        FireError::Connect { url: url.to_owned(), reason }
    } else {
        // The URL can be a megabyte long; the report shows the request elsewhere.
        let error = error.without_url();
        let mut reason = error.to_string();
        if let Some(inner) = std::error::Error::source(&error) {
            reason = format!("{reason}: {inner}");
        }
        FireError::Transport(reason)
    }
}
