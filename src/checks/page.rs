//! What a successful answer looks like: a page the portal can show in its frame.

use super::{Check, Citation, Grade, fail, pass, skip};
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
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return fail("the page is empty");
        }
        pass(format!("{content_type}, {} bytes", response.body.len()))
    },
};

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
