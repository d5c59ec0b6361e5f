//! What a successful answer looks like: a page the portal can show in its frame.

use super::{Check, Citation, Grade, fail, pass, skip};
use crate::record::{HttpRequest, HttpResponse};
use crate::suite::{EvidenceKind, Level};

pub const HTML_RESPONSE: Check = Check {
    id: "html-response",
    level: Grade::OfCase,
    title: "A 2xx answer is a non-empty HTML page",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/api-reference/landing/embedding/settings.html",
        quote: "The handler responds with a regular HTML page — Bitrix24 displays it in a frame in place of the widget.",
    },
    judge: |case, exchange, _| {
        if case.kind.is_event() {
            return skip("an event's answer is not shown in a frame");
        }
        let Ok(response) = &exchange.response else { return skip("no answer") };
        if !(200..300).contains(&response.status) {
            return skip(format!("answered {}, not a page", response.status));
        }
        let content_type = response.header("content-type").unwrap_or("(none)");
        if !content_type.to_ascii_lowercase().starts_with("text/html") {
            return fail(format!("Content-Type is {content_type}, not text/html: the frame would not render it"));
        }
        if response.body.bytes.iter().all(u8::is_ascii_whitespace) {
            return fail("the page is empty");
        }
        if let Some(flaw) = unreadable(response, &exchange.request) {
            return fail(flaw).at(Level::Should);
        }
        pass(format!("{content_type}, {} bytes", response.body.bytes.len()))
    },
};

/// What in a page's bytes the browser cannot show as sent: bytes that are not UTF-8 in a page
/// that says it is (the WHATWG Encoding standard decodes each to U+FFFD, "�"), and NUL, an HTML
/// parse error ("unexpected-null-character") dropped or shown as U+FFFD. Either garbles the page,
/// and neither stops it from showing: a warning. What the request itself carried (a value with a
/// NUL, or bytes that are not UTF-8) and the page shows again, escaped, is the request's garble.
fn unreadable(response: &HttpResponse, request: &HttpRequest) -> Option<String> {
    let content_type = response.header("content-type").unwrap_or_default().to_ascii_lowercase();
    let says_utf8 = content_type.split(';').skip(1).any(|p| matches!(p.trim(), "charset=utf-8" | "charset=\"utf-8\""));
    // A sequence cut by the body cap is not the page's fault.
    let not_utf8 = match std::str::from_utf8(&response.body.bytes) {
        Err(error) if says_utf8 && (error.error_len().is_some() || !response.truncated) => Some(error.valid_up_to()),
        _ => None,
    };
    let nul = response.body.bytes.iter().position(|&b| b == 0);
    if not_utf8.is_none() && nul.is_none() {
        return None;
    }
    let sent = request.sent_values();
    let mut flaws = Vec::new();
    if let Some(at) = not_utf8.filter(|_| !sent.iter().any(|v| v.contains('\u{fffd}'))) {
        flaws.push(format!(
            "it says charset=utf-8, but byte {at} (0x{:02x}) is not UTF-8: the frame shows \"\u{fffd}\" there",
            response.body.bytes[at]
        ));
    }
    if let Some(at) = nul.filter(|_| !sent.iter().any(|v| v.contains('\0'))) {
        flaws.push(format!(
            "it holds a NUL byte at {at}, an HTML parse error the browser drops or shows as \"\u{fffd}\""
        ));
    }
    (!flaws.is_empty()).then(|| format!("the page is garbled: {}", flaws.join("; ")))
}

pub const IFRAME_EMBEDDABLE: Check = Check {
    id: "iframe-embeddable",
    level: Grade::Fixed(Level::Must),
    title: "A 2xx page does not forbid the portal from framing it (X-Frame-Options, CSP frame-ancestors)",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/api-reference/landing/embedding/settings.html",
        quote: "The page must allow embedding: if the application server sends the X-Frame-Options or Content-Security-Policy headers that prohibit framing, an empty area remains in place of the widget.",
    },
    judge: |_, exchange, _| {
        let Ok(response) = &exchange.response else { return skip("no answer") };
        if !(200..300).contains(&response.status) {
            return skip(format!("answered {}, not a page", response.status));
        }
        let headers =
            |name: &'static str| response.headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str());
        for value in headers("x-frame-options") {
            let value = value.trim().to_ascii_uppercase();
            if value == "DENY" || value == "SAMEORIGIN" {
                return fail(format!("X-Frame-Options: {value} keeps the portal from framing the page"));
            }
        }
        // Every policy is enforced, so one that forbids is enough.
        for policy in headers("content-security-policy").flat_map(|v| v.split(',')) {
            let Some(sources) = policy.split(';').map(str::trim).find_map(|d| {
                d.strip_prefix("frame-ancestors").filter(|rest| rest.is_empty() || rest.starts_with(' '))
            }) else {
                continue;
            };
            let sources: Vec<&str> = sources.split_whitespace().collect();
            // The portal is never the app's own origin, so 'self' alone forbids it too.
            if sources.iter().all(|s| s.eq_ignore_ascii_case("'none'") || s.eq_ignore_ascii_case("'self'")) {
                return fail(format!(
                    "Content-Security-Policy frame-ancestors {} keeps the portal out",
                    sources.join(" ")
                ));
            }
        }
        pass("nothing forbids framing")
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixture::exchange;

    fn garbled(content_type: &str, body: &[u8], truncated: bool) -> Option<String> {
        let mut exchange = exchange("http://h/", 200, "", Vec::new());
        let response = exchange.response.as_mut().unwrap();
        response.headers = vec![("content-type".into(), content_type.into())];
        response.body = body.to_vec().into();
        response.truncated = truncated;
        unreadable(response, &exchange.request)
    }

    #[test]
    fn bytes_that_are_not_the_declared_utf_8_or_nul_garble_the_page() {
        let flaw = garbled("text/html; charset=UTF-8", b"<p>caf\xe9</p>", false).unwrap();
        assert!(flaw.contains("byte 6 (0xe9) is not UTF-8"), "{flaw}");
        let flaw = garbled("text/html", b"<p>\0</p>", false).unwrap();
        assert_eq!(
            flaw,
            "the page is garbled: it holds a NUL byte at 3, an HTML parse error the browser drops or shows as \"\u{fffd}\""
        );
        // Latin-1 bytes in a page that declares no charset are how such a page is written.
        assert_eq!(garbled("text/html", b"<p>caf\xe9</p>", false), None);
        // A sequence the body cap cut through is the harness's doing.
        assert_eq!(garbled("text/html;charset=utf-8", "<p>caf\u{e9}".as_bytes().split_last().unwrap().1, true), None);
    }

    /// A handler that shows a value it was sent, escaped, shows the NUL the value held.
    #[test]
    fn a_nul_the_request_carried_is_the_requests() {
        let mut exchange = exchange("http://h/?LANG=d%00e", 200, "", Vec::new());
        let response = exchange.response.as_mut().unwrap();
        response.body = b"<p>d\0e</p>".to_vec().into();
        assert_eq!(unreadable(response, &exchange.request), None);
    }
}
