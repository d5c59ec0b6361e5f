//! A request for the portal or its OAuth server, passed on to the plain mock server that plays
//! it, on a connection of its own, and its answer passed back as it comes.

use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Headers meant for the proxy, not for the server behind it (RFC 9112 9.6; Proxy-Connection
/// is what old clients send instead of Connection).
const FOR_THE_PROXY: [&str; 3] = ["proxy-connection", "proxy-authorization", "keep-alive"];

/// Why a request could not be passed on: the mock did not take it (the run is ending).
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("cannot reach the mock at {backend}: {source}")]
    Connect {
        backend: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the mock at {backend} did not answer: {source}")]
    Http {
        backend: SocketAddr,
        #[source]
        source: hyper::Error,
    },
}

/// Sends `request` (absolute-form or origin-form) to `backend` in origin form, `Host` kept as
/// the client sent it (or set from the absolute URL), and returns the answer.
pub async fn forward(backend: SocketAddr, mut request: Request<Incoming>) -> Result<Response<Incoming>, ForwardError> {
    let http = |source| ForwardError::Http { backend, source };
    let stream = TcpStream::connect(backend).await.map_err(|source| ForwardError::Connect { backend, source })?;
    // Small answers must not wait on the client's delayed ACK (STACK.md, Nagle).
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(http)?;
    // Ends when the answer has been read and the sender dropped.
    tokio::spawn(connection);
    if let Some(authority) = request.uri().authority().cloned()
        && !request.headers().contains_key(hyper::header::HOST)
        && let Ok(host) = HeaderValue::from_str(authority.as_str())
    {
        request.headers_mut().insert(hyper::header::HOST, host);
    }
    let origin_form = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    *request.uri_mut() = origin_form.parse::<Uri>().unwrap_or_else(|_| Uri::from_static("/"));
    for name in FOR_THE_PROXY {
        request.headers_mut().remove(HeaderName::from_static(name));
    }
    sender.send_request(request).await.map_err(http)
}
