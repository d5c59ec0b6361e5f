//! What a successful answer looks like: a page the portal can show in its frame.

use super::{Check, Severity, fail, pass, skip};
use crate::suite::CaseKind;

pub const HTML_RESPONSE: Check = Check {
    id: "html-response",
    severity: Severity::Error,
    title: "A 2xx answer is a non-empty HTML page",
    doc: "widget_data.md, What the Handler Must Return: an HTML page shown in the frame (PROTOCOL.md 1.1)",
    judge: |case, exchange| {
        if case.kind == CaseKind::Install {
            return skip("the installation event's answer is not shown in a frame");
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
