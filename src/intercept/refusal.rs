//! A request for any host but the portal's and its OAuth server's: answered by the proxy itself
//! with 403, never sent on, and kept (its start only) so that a token it carried is found and
//! its case fails `token-stays-home`, naming the host.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

use crate::portal::Refused;

/// How much of a refused request is kept (URL, headers and body together): the run's tokens are
/// 32 to 70 characters and sit near the start of what carries them.
pub const KEPT: usize = 4 << 10;
/// How long the proxy waits for the body of a refused request.
const BODY_WAIT: Duration = Duration::from_secs(2);
/// The longest URL kept whole in the report.
const URL_KEPT: usize = 512;

/// What is kept of `request`, sent for `origin` (`https://host[:port]`), read within
/// [`BODY_WAIT`] and up to [`KEPT`] bytes.
pub async fn read(origin: &str, request: Request<Incoming>) -> Refused {
    let (parts, mut body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut url = format!("{origin}{path}");
    let mut text = format!("{url}\n");
    for (name, value) in &parts.headers {
        text.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes())));
    }
    let mut kept = text.into_bytes();
    kept.truncate(KEPT);
    let _ = tokio::time::timeout(BODY_WAIT, async {
        while kept.len() < KEPT {
            let Some(Ok(frame)) = body.frame().await else { break };
            if let Some(data) = frame.data_ref() {
                let room = KEPT - kept.len();
                kept.extend_from_slice(&data[..data.len().min(room)]);
            }
        }
    })
    .await;
    if url.len() > URL_KEPT {
        let mut cut = URL_KEPT;
        while !url.is_char_boundary(cut) {
            cut -= 1;
        }
        url.truncate(cut);
        url.push('…');
    }
    Refused { http_method: parts.method.to_string(), url, text: String::from_utf8_lossy(&kept).into_owned() }
}

/// The proxy's answer to a refused request: 403, saying why, and the connection closed (the
/// rest of the body is not read).
pub fn answer(host: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "b24-conform --intercept: {host} is neither the mock portal nor its OAuth server; the request was not sent anywhere\n"
    );
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::FORBIDDEN;
    let headers = response.headers_mut();
    headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    response
}
