//! What went over the wire in one case: the request as sent, the redirects and the answer, or
//! why there was none.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::PortalCall;

/// A request exactly as it is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Whole as it is sent; cut at SHOWN in a report ([`HttpRequest::shown`]).
    #[serde(flatten)]
    pub body: Body,
}

impl HttpRequest {
    /// The request as a report shows it: its body cut as [`Body::shown`] cuts it. The record
    /// keeps the whole body, which a reproduce command's file holds.
    pub fn shown(&self) -> Cow<'_, HttpRequest> {
        match self.body.shown() {
            Cow::Borrowed(_) => Cow::Borrowed(self),
            Cow::Owned(body) => Cow::Owned(HttpRequest {
                method: self.method.clone(),
                url: self.url.clone(),
                headers: self.headers.clone(),
                body,
            }),
        }
    }
}

/// Bytes of body a report shows ([`Body::shown`]); the checks see up to the body cap.
pub const SHOWN: usize = 64 * 1024;

/// A body as a record holds it, a request's or an answer's: its bytes, or the first of them,
/// with the length of the whole and, once the bytes are not all of it or are more than a report
/// shows, the SHA-256 of the whole. A body cut for a report (or at the body cap) is still named
/// exactly, and reads back (`merge`) as it was written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// Written as the `body` of the request or answer it belongs to, as text.
    #[serde(rename = "body", serialize_with = "lossy_text", deserialize_with = "text_bytes")]
    pub bytes: Vec<u8>,
    /// Bytes of the whole body: of an answer, those received (decoded, as far as it was
    /// decoded), counting those past what was kept.
    pub length: u64,
    /// Hex SHA-256 of all `length` bytes, when `bytes` is not all of them or is more than SHOWN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl From<Vec<u8>> for Body {
    /// A whole body.
    fn from(bytes: Vec<u8>) -> Body {
        Body { length: bytes.len() as u64, bytes, sha256: None }
    }
}

impl Body {
    /// `bytes` are the whole body, not the first of it.
    pub fn is_whole(&self) -> bool {
        self.bytes.len() as u64 == self.length
    }

    /// A report shows these bytes as they are: they are no more than SHOWN.
    pub fn fits_shown(&self) -> bool {
        self.bytes.len() <= SHOWN
    }

    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }

    /// The body as a report shows it: the first SHOWN bytes, cut before a UTF-8 sequence rather
    /// than inside it; `length` and `sha256` still name the whole body.
    pub fn shown(&self) -> Cow<'_, Body> {
        if self.fits_shown() {
            return Cow::Borrowed(self);
        }
        let sha256 = self.sha256.clone().unwrap_or_else(|| {
            use sha2::Digest;
            hex(&sha2::Sha256::digest(&self.bytes))
        });
        let cut = cut_at_char(&self.bytes, SHOWN);
        Cow::Owned(Body { bytes: self.bytes[..cut].to_vec(), length: self.length, sha256: Some(sha256) })
    }
}

/// The handler's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, decoded from gzip or deflate when it came so, up to the body cap (or SHOWN,
    /// once [`HttpResponse::shown`]).
    #[serde(flatten)]
    pub body: Body,
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

    /// The answer as a report keeps it: its body as [`Body::shown`] cuts it.
    pub fn shown(mut self) -> HttpResponse {
        if let Cow::Owned(body) = self.body.shown() {
            self.body = body;
            self.truncated = true;
        }
        self
    }
}

/// How many of `bytes` a cut at `cap` keeps: all of them when they are no more, else those before
/// the UTF-8 sequence the cap falls in (back over at most three continuation bytes, 10xxxxxx), so
/// that no character is cut in two; bytes that are not UTF-8 there are cut at `cap`.
pub(crate) fn cut_at_char(bytes: &[u8], cap: usize) -> usize {
    if bytes.len() <= cap {
        return bytes.len();
    }
    let continues = |at: usize| bytes[at] & 0xc0 == 0x80;
    (cap.saturating_sub(3)..=cap).rev().find(|&at| !continues(at)).unwrap_or(cap)
}

/// Bytes as lower-case hex, as a digest is written.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// Bodies are shown as text; bytes that are not UTF-8 show as U+FFFD.
fn lossy_text<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&String::from_utf8_lossy(bytes))
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
    /// Not even a status line and headers came in time.
    #[error("nothing came within {0} ms (--timeout-ms), not even a status line")]
    Timeout(u64),
    /// The status line and headers came, the body did not end in time.
    #[error(
        "the body did not end within {ms} ms (--timeout-ms): {received} bytes came{}",
        announced.map(|m| format!(" of the {m} its Content-Length announced")).unwrap_or_default()
    )]
    SlowBody { ms: u64, received: u64, announced: Option<u64> },
    /// The connection ended, or carried something other than HTTP, before any answer.
    #[error("{0}")]
    NoAnswer(String),
    /// An answer began and broke: its head too large or malformed, its body cut short or in a
    /// coding that does not decode.
    #[error("{0}")]
    Broken(String),
    #[error("the exchange failed: {0}")]
    Transport(String),
    #[error("redirect loop: {url} was requested again, the same way, after {hops} redirect(s)")]
    RedirectLoop { url: String, hops: usize },
    #[error("more than {0} redirects: the harness follows no more (a browser gives up after 20)")]
    TooManyRedirects(usize),
}

impl FireError {
    /// The handler got as far as a status line: it is alive and speaks HTTP, though this answer
    /// broke. The others are silence: nothing, a dropped connection, or another protocol.
    pub fn heard(&self) -> bool {
        matches!(
            self,
            FireError::SlowBody { .. }
                | FireError::Broken(_)
                | FireError::RedirectLoop { .. }
                | FireError::TooManyRedirects(_)
        )
    }

    /// The time ran out (before the head, or in the body).
    pub fn timed_out(&self) -> bool {
        matches!(self, FireError::Timeout(_) | FireError::SlowBody { .. })
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
    /// What the case's frame did in a real browser (`--browser`), when it was opened there.
    pub frame: Option<super::FrameRecord>,
}

impl Exchange {
    /// The redirect to another origin that is the answer, if it is one: the browser leaves the
    /// frame for that page, which the harness does not follow.
    pub fn left_for(&self) -> Option<&Redirect> {
        self.redirects.last().filter(|r| !r.followed && self.response.is_ok())
    }

    /// The handler answered in HTTP, even if the answer then broke (a body cut short, a redirect
    /// loop): what `fire::Liveness` observes. Silence is no answer at all: a timeout before any
    /// status line, a refused, reset or closed connection, bytes that are not HTTP.
    pub fn answered(&self) -> bool {
        match &self.response {
            Ok(_) => true,
            Err(error) => error.heard() || !self.redirects.is_empty(),
        }
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
