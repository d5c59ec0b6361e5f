//! What went over the wire in one case: the request as sent, the redirects and the answer, or
//! why there was none.

use serde::{Deserialize, Deserializer, Serialize};

use super::PortalCall;
use crate::payload::lossy_text;

/// A request exactly as it is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(serialize_with = "lossy_text", deserialize_with = "text_bytes")]
    pub body: Vec<u8>,
}

/// The handler's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    #[serde(serialize_with = "crate::payload::lossy_text", deserialize_with = "text_bytes")]
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

/// A body as a report wrote it, as text (bytes that were not UTF-8 already shown as U+FFFD): its
/// UTF-8 bytes, so that a report read back (`merge`) is written again the same.
fn text_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    String::deserialize(deserializer).map(String::into_bytes)
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

/// One redirect the handler answered with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    pub status: u16,
    /// The Location header, as sent.
    pub location: String,
    /// Where it leads: Location resolved against the URL that answered it.
    pub to: String,
    /// It stays on the handler's origin and was followed; otherwise the browser would leave the
    /// frame for `to`, and this redirect is the answer.
    pub followed: bool,
}
