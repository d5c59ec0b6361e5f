//! Reflected injection: whatever the request carried never comes back able to change the page.
//! A value is judged by where it lands in the HTML — text, a tag, an attribute (a URL one in
//! particular), a script — since the same characters are harmless in one place and an attack
//! in another. Only values found verbatim count: an escaped value is not the value.

use super::{Check, Citation, Grade, fail, pass, skip};
use crate::suite::{EvidenceKind, Level};

pub const NO_REFLECTED_INJECTION: Check = Check {
    id: "no-reflected-injection",
    level: Grade::Fixed(Level::Must),
    title: "No value the request carried, PLACEMENT_OPTIONS keys included, comes back unescaped where it changes the page",
    evidence: Citation {
        kind: EvidenceKind::Specification,
        url: "https://github.com/OWASP/ASVS/blob/044366c6e4a078c579f5fad1bb0e1fd91ae5e354/4.0/en/0x13-V5-Validation-Sanitization-Encoding.md",
        quote: "Verify that context-aware, preferably automated - or at worst, manual - output escaping protects against reflected, stored, and DOM based XSS.",
    },
    judge: |_, exchange, _| {
        let Ok(response) = &exchange.response else { return skip("no answer") };
        let content_type = response.header("content-type").unwrap_or("text/html").to_ascii_lowercase();
        if !content_type.starts_with("text/html") {
            return skip(format!("the answer is {content_type}, not HTML"));
        }
        let body = response.body.text();
        let values = exchange.request.sent_values();
        // The page is split into places only once a value is found in it: most pages hold none.
        let mut segmented = None;
        for value in values.iter().filter(|v| is_active(v)) {
            for (at, _) in body.match_indices(value.as_str()) {
                let segments = segmented.get_or_insert_with(|| segments(&body));
                let Some(segment) = segment_at(segments, at) else { continue };
                if let Some(why) = dangerous(value, at, segment, &body) {
                    return fail(format!("{value:?} comes back unescaped {why}"));
                }
            }
        }
        match values.iter().filter(|v| is_active(v)).count() {
            0 => pass("the request carried no value with markup characters"),
            n => pass(format!("none of the {n} values with markup characters came back unescaped")),
        }
    },
};

/// A value that could change a page if it came back raw.
fn is_active(value: &str) -> bool {
    value.len() >= 3 && (value.contains(['<', '>', '"', '\'', '`']) || starts_with_script_scheme(value))
}

fn starts_with_script_scheme(value: &str) -> bool {
    // Browsers drop tabs and newlines and leading spaces before the scheme.
    let cleaned: String =
        value.trim_start().chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).take(11).collect::<String>();
    let cleaned = cleaned.to_ascii_lowercase();
    cleaned.starts_with("javascript:") || cleaned.starts_with("vbscript:")
}

/// Where in an HTML document a stretch of it lies.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Place {
    Text,
    Comment,
    /// Inside `<script>` or `<style>`.
    Script,
    /// The tag's own name.
    TagName,
    /// Between attributes, or an attribute's name.
    InTag,
    AttrValue {
        attribute: String,
        quote: Option<char>,
    },
}

#[derive(Clone, Debug)]
struct Segment {
    start: usize,
    place: Place,
}

/// Splits an HTML document into the places its bytes lie in, the way a browser's tokenizer
/// would, closely enough to judge a reflected value.
fn segments(html: &str) -> Vec<Segment> {
    let bytes = html.as_bytes();
    let mut out = vec![Segment { start: 0, place: Place::Text }];
    let mut i = 0;
    let push = |out: &mut Vec<Segment>, start: usize, place: Place| out.push(Segment { start, place });
    while i < bytes.len() {
        // Only ASCII bytes start anything, so every slice below starts on a char boundary.
        if bytes[i] == b'<' && html[i..].starts_with("<!--") {
            push(&mut out, i, Place::Comment);
            i = html[i + 4..].find("-->").map_or(bytes.len(), |end| i + 4 + end + 3);
            push(&mut out, i, Place::Text);
            continue;
        }
        let opens_tag =
            bytes[i] == b'<' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'/' || *b == b'!');
        if !opens_tag {
            i += 1;
            continue;
        }
        push(&mut out, i, Place::TagName);
        let name_start = i + 1 + usize::from(bytes[i + 1] == b'/');
        i = name_start;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' && bytes[i] != b'/' {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        let closing = bytes[name_start - 1] == b'/';
        push(&mut out, i, Place::InTag);
        // Attributes up to the tag's `>`.
        while i < bytes.len() && bytes[i] != b'>' {
            if bytes[i].is_ascii_whitespace() || bytes[i] == b'/' {
                i += 1;
                continue;
            }
            let attr_start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !matches!(bytes[i], b'=' | b'>' | b'/') {
                i += 1;
            }
            let attribute = html[attr_start..i].to_ascii_lowercase();
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if bytes.get(i) != Some(&b'=') {
                continue;
            }
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            match bytes.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    push(&mut out, i + 1, Place::AttrValue { attribute, quote: Some(q as char) });
                    i = html[i + 1..].find(q as char).map_or(bytes.len(), |end| i + 1 + end + 1);
                }
                _ => {
                    push(&mut out, i, Place::AttrValue { attribute, quote: None });
                    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                        i += 1;
                    }
                }
            }
            push(&mut out, i, Place::InTag);
        }
        i = (i + 1).min(bytes.len());
        if !closing && (name == "script" || name == "style") {
            push(&mut out, i, Place::Script);
            i = crate::html::end_tag(&html[i..], &name).map_or(bytes.len(), |end| i + end);
        }
        push(&mut out, i, Place::Text);
    }
    out
}

/// The segment byte `at` lies in: the last to start at or before it. Segments are in order
/// of their starts, so a binary search finds it (a scan per reflected value was quadratic on a
/// page that reflects one many times).
fn segment_at(segments: &[Segment], at: usize) -> Option<&Segment> {
    segments.partition_point(|s| s.start <= at).checked_sub(1).map(|last| &segments[last])
}

const URL_ATTRIBUTES: &[&str] = &["href", "src", "action", "formaction", "xlink:href", "poster", "data", "background"];

/// Why `value`, found raw at byte `at` of `html`, inside `segment`, can change the page.
fn dangerous(value: &str, at: usize, segment: &Segment, html: &str) -> Option<String> {
    let opens_markup =
        value.as_bytes().windows(2).any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/'));
    match &segment.place {
        Place::Text if opens_markup => Some("in HTML text, where it opens markup".into()),
        Place::Text => None,
        Place::Comment => value.contains("-->").then(|| "in a comment it closes".into()),
        Place::TagName => Some("as a tag's name".into()),
        Place::InTag => value
            .contains(|c: char| c.is_whitespace() || matches!(c, '=' | '"' | '\'' | '>' | '<'))
            .then(|| "inside a tag, where it adds attributes".into()),
        Place::AttrValue { attribute, quote } => {
            let leading = html[segment.start..at].trim().is_empty();
            if leading && URL_ATTRIBUTES.contains(&attribute.as_str()) && starts_with_script_scheme(value) {
                return Some(format!("at the start of the URL in {attribute}=, where it runs script"));
            }
            let breaks_out = match quote {
                Some(q) => value.contains(*q),
                None => value.contains(|c: char| c.is_whitespace() || c == '>'),
            };
            if breaks_out {
                return Some(format!("in the {attribute}= attribute, which it breaks out of"));
            }
            (attribute.starts_with("on") && value.contains(['\'', '"', '`']))
                .then(|| format!("in the {attribute}= event handler, where it runs script"))
        }
        Place::Script => {
            if value.to_ascii_lowercase().contains("</") {
                return Some("in a script, which it closes".into());
            }
            match string_delimiter(&html[segment.start..at]) {
                Some(q) => value.contains(q).then(|| format!("in a script string delimited by {q}, which it ends")),
                None => value
                    .contains(['\'', '"', '`', ';', '(', ')', '\n'])
                    .then(|| "in script code, where it runs".into()),
            }
        }
    }
}

/// The quote of the JavaScript string `script` ends inside, if any.
fn string_delimiter(script: &str) -> Option<char> {
    let mut open: Option<char> = None;
    let mut escaped = false;
    for c in script.chars() {
        match open {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => open = None,
            Some(_) => {}
            None if matches!(c, '"' | '\'' | '`') => open = Some(c),
            None => {}
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(html: &str, value: &str) -> Option<String> {
        let segments = segments(html);
        html.match_indices(value).find_map(|(at, _)| {
            let segment = segment_at(&segments, at)?;
            dangerous(value, at, segment, html)
        })
    }

    #[test]
    fn judged_by_where_it_lands() {
        let markup = "<b24x-markup>";
        let attribute = "x\" onmouseover=\"b24x()";
        let url = "javascript:b24x()";
        let sql = "b24x' OR '1'='1";
        // Text.
        assert!(judge(&format!("<p>{markup}</p>"), markup).is_some());
        assert!(judge(&format!("<p>{attribute}</p>"), attribute).is_none());
        // A double-quoted attribute: markup is inert, a double quote breaks out.
        assert!(judge(&format!("<html lang=\"{markup}\">"), markup).is_none());
        assert!(judge(&format!("<html lang=\"{attribute}\">"), attribute).is_some());
        assert!(judge(&format!("<html lang='{sql}'>"), sql).is_some());
        assert!(judge(&format!("<html lang=\"{sql}\">"), sql).is_none());
        // A URL attribute: a script scheme at its start runs.
        assert!(judge(&format!("<a href=\"{url}\">back</a>"), url).is_some());
        assert!(judge(&format!("<a href=\"/x?u={url}\">back</a>"), url).is_none());
        assert!(judge(&format!("<p>{url}</p>"), url).is_none());
        // Scripts: the string's own quote ends it; the other quote is inert.
        assert!(judge(&format!("<script>var l = '{sql}';</script>"), sql).is_some());
        assert!(judge(&format!("<script>var l = \"{sql}\";</script>"), sql).is_none());
        assert!(
            judge("<script>var l = \"</script><script>b24x()</script>\";</script>", "</script><script>b24x()</script>")
                .is_some()
        );
        // Comments.
        assert!(judge(&format!("<!-- {markup} -->"), markup).is_none());
    }
}
