//! Why an exchange gave no answer the checks can judge, said in the words of a handler's author:
//! the client's errors (reqwest over hyper over the socket) are read down their source chain and
//! named for what the handler did.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use crate::record::{FireError, HttpRequest};

/// Headers an answer may have at most. Browsers bound the size of the head, not the count; far
/// above what any page sends, and still a few kilobytes of parsing per answer.
pub const MAX_HEADERS: usize = 500;

/// The most bytes of status line and headers read: hyper's own bound, which reqwest does not
/// expose (hyper's `DEFAULT_MAX_BUFFER_SIZE`, 8 KiB + 100 × 4 KiB).
pub const MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;

/// The error of sending `request` and waiting for its status line and headers. A status line
/// hyper cannot read is looked at again by a [`probe`], until `deadline`, to say what came instead.
pub(super) async fn head_failed(
    request: &HttpRequest,
    error: reqwest::Error,
    deadline: tokio::time::Instant,
) -> FireError {
    if error.is_connect() {
        // What came back to the TLS handshake was no TLS record: a plain-http server, most likely.
        if find::<rustls::Error>(&error).is_some_and(|e| matches!(e, rustls::Error::InvalidMessage(_))) {
            return FireError::NoAnswer(
                "not TLS: the handler answered the https handshake with something else (plain http?); \
                 use an http:// --handler URL"
                    .to_owned(),
            );
        }
        let reason = chain(&error).last().map(ToString::to_string).unwrap_or_default();
        return FireError::Connect { url: request.url.clone(), reason };
    }
    if let Some(hyper) = find::<hyper::Error>(&error) {
        if hyper.is_parse_too_large() {
            return FireError::Broken(format!(
                "headers larger than the harness reads: more than {MAX_HEADERS} headers or {} KiB of status line \
                 and headers",
                MAX_HEAD_BYTES / 1024
            ));
        }
        if hyper.is_parse_status() {
            return FireError::NoAnswer(
                "not HTTP: the status line has no status code of three digits (RFC 9112 §4)".to_owned(),
            );
        }
        if hyper.is_parse() && hyper.to_string().starts_with("invalid HTTP version") {
            let fallback = "not HTTP: the answer did not start with a status line (HTTP/0.9, TLS or another protocol)";
            let seen = tokio::time::timeout_at(deadline, probe(request)).await.ok().flatten();
            return FireError::NoAnswer(seen.as_deref().map_or_else(|| fallback.to_owned(), not_http));
        }
        if hyper.is_parse() {
            return FireError::Broken(format!("a header line HTTP does not allow ({hyper})"));
        }
        if hyper.is_incomplete_message() {
            return FireError::NoAnswer("the handler closed the connection before answering".to_owned());
        }
    }
    if let Some(io) = find::<std::io::Error>(&error) {
        match io.kind() {
            std::io::ErrorKind::ConnectionReset => {
                return FireError::NoAnswer("the handler reset the connection (TCP RST) before answering".to_owned());
            }
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionAborted => {
                return FireError::NoAnswer(
                    "the handler closed the connection while the request was being sent, and did not answer".to_owned(),
                );
            }
            _ => {}
        }
    }
    FireError::Transport(words(&error))
}

/// The error of reading the body after `received` bytes of it, `announced` by Content-Length.
pub(super) fn body_failed(error: reqwest::Error, received: u64, announced: Option<u64>) -> FireError {
    let reset = find::<std::io::Error>(&error).is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionReset);
    if reset {
        return FireError::Broken(format!(
            "the handler reset the connection (TCP RST) in the middle of the body, after {received} bytes"
        ));
    }
    // hyper says "end of file before message length reached" or "unexpected EOF during chunk …".
    let ended = chain(&error).any(|e| {
        let text = e.to_string();
        text.contains("end of file") || text.contains("EOF")
    });
    match (ended, announced) {
        (true, Some(announced)) => FireError::Broken(format!(
            "the body ended after {received} of the {announced} bytes its Content-Length announced"
        )),
        (true, None) => FireError::Broken(format!(
            "the connection closed in the middle of the chunked body, after {received} bytes (no last chunk)"
        )),
        (false, _) => FireError::Broken(format!("the body broke off after {received} bytes: {}", words(&error))),
    }
}

/// The error and its sources, outermost first.
fn chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |&e| e.source())
}

fn find<E: std::error::Error + 'static>(error: &reqwest::Error) -> Option<&E> {
    chain(error).find_map(within)
}

/// `error` as an `E`, or the `E` an io::Error wraps (an io::Error's source is its inner error's
/// source, which skips the inner error itself).
fn within<'a, E: std::error::Error + 'static>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a E> {
    error.downcast_ref::<E>().or_else(|| {
        let inner: &'a (dyn std::error::Error + 'static) = error.downcast_ref::<std::io::Error>()?.get_ref()?;
        within(inner)
    })
}

/// Each distinct message of the chain, joined; not the URL, which can be a megabyte long (the
/// report shows the request elsewhere).
fn words(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in chain(error).skip(1) {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    match parts.is_empty() {
        true => error.to_string(),
        false => parts.join(": "),
    }
}

/// Sends `request` again on a connection of its own and returns the first bytes that come back:
/// hyper refuses an answer that is not HTTP without saying what it was, and what it was is the
/// hint the author needs (TLS on a plain port is the usual one). Plain http only.
async fn probe(request: &HttpRequest) -> Option<Vec<u8>> {
    let url = Url::parse(&request.url).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    let mut stream = tokio::net::TcpStream::connect((host, port)).await.ok()?;
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nhost: {}\r\n",
        request.method,
        &url[url::Position::BeforeHost..url::Position::AfterPort]
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", request.body.bytes.len()));
    // The answer may come before the body is taken: write and read at once.
    let (mut reader, mut writer) = stream.split();
    let send = async {
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(&request.body.bytes).await;
        std::future::pending::<()>().await
    };
    let mut first = vec![0u8; 16];
    let read = async {
        let mut filled = 0;
        while filled < first.len() {
            match reader.read(&mut first[filled..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => filled += n,
            }
        }
        filled
    };
    let filled = tokio::select! { filled = read => filled, () = send => 0 };
    first.truncate(filled);
    (!first.is_empty()).then_some(first)
}

/// What the first bytes of an answer that is not HTTP look like.
fn not_http(first: &[u8]) -> String {
    // A TLS record: content type 20–23 (handshake, alert, …), then protocol version 3.x.
    if first.len() >= 2 && (0x14..=0x17).contains(&first[0]) && first[1] == 0x03 {
        return "TLS bytes on a plain http port: is the handler https? use an https:// --handler URL".to_owned();
    }
    if first.starts_with(b"HTTP/") {
        let line = String::from_utf8_lossy(first.split(|&b| b == b'\r' || b == b'\n').next().unwrap_or(first));
        return format!("not HTTP/1.x: the status line begins {line:?}; the harness speaks HTTP/1.1");
    }
    let text = first.iter().all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    match text {
        true => format!(
            "not HTTP: the answer did not start with a status line (HTTP/0.9 or another protocol); it began {:?}",
            String::from_utf8_lossy(first)
        ),
        false => format!(
            "not HTTP: the answer began with the bytes {} where a status line belongs (binary data)",
            first.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
        ),
    }
}

/// How long an answer took, for a message.
pub(super) fn millis(duration: Duration) -> u64 {
    duration.as_millis().try_into().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bytes_say_what_came_instead_of_http() {
        assert!(not_http(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]).starts_with("TLS bytes on a plain http port"));
        assert!(not_http(b"<html><body>hi").contains("(HTTP/0.9 or another protocol); it began \"<html><body>hi\""));
        assert_eq!(
            not_http(&[0x00, 0xff, 0x13]),
            "not HTTP: the answer began with the bytes 00 ff 13 where a status line belongs (binary data)"
        );
        assert!(not_http(b"HTTP/2.0 200 OK\r\n").contains("begins \"HTTP/2.0 200 OK\""));
    }

    #[test]
    fn only_silence_is_unheard() {
        assert!(!FireError::Timeout(5).heard());
        assert!(!FireError::NoAnswer("x".into()).heard());
        assert!(FireError::SlowBody { ms: 5, received: 1, announced: None }.heard());
        assert!(FireError::SlowBody { ms: 5, received: 1, announced: None }.timed_out());
        assert_eq!(
            FireError::SlowBody { ms: 1000, received: 3, announced: Some(40) }.to_string(),
            "the body did not end within 1000 ms (--timeout-ms): 3 bytes came of the 40 its Content-Length announced"
        );
    }
}
