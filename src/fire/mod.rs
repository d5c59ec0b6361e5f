//! The firing engine: sends a request to the handler and captures the answer, bounded in time
//! and in size, following the handler's redirects as the frame's browser does ([`navigate`]).

mod liveness;
mod redirect;

use std::time::{Duration, Instant};

use crate::payload::HttpRequest;

pub use crate::record::{Exchange, FireError, HttpResponse};
pub use liveness::Liveness;
pub use redirect::{MAX_REDIRECTS, Navigation, Redirect, navigate};

/// Limits of one exchange.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// One request and its answer, body included (each redirect followed gets as long again).
    pub timeout: Duration,
    /// Bytes of body kept; the rest is not read and the response is marked `truncated`.
    pub body_cap: usize,
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
