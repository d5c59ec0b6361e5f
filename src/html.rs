//! HTML escaping, shared by the reference handler's pages and the HTML report: both show text
//! that came from outside; and finding where a raw-text element ends, shared by the two readers
//! of a handler's page (the injection check and the snapshot's normaliser).

/// Escapes text for HTML element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where the first `</NAME` starts in `html`, ASCII case ignored (`name` lower-case): the end of
/// a raw-text element such as `<script>`. It searches in place; lower-casing a copy of the rest
/// of the page for each such element took time quadratic in the page on one made of many.
pub fn end_tag(html: &str, name: &str) -> Option<usize> {
    let bytes = html.as_bytes();
    html.match_indices("</")
        .map(|(at, _)| at)
        .find(|&at| bytes.get(at + 2..at + 2 + name.len()).is_some_and(|tag| tag.eq_ignore_ascii_case(name.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_tags_are_found_in_any_case() {
        for (html, name, at) in [
            ("x</SCRIPT>", "script", Some(1)),
            ("</scrip</sCrIpT", "script", Some(7)),
            ("</scrip", "script", None),
            ("</style>é</style>", "style", Some(0)),
            ("<script>", "script", None),
        ] {
            assert_eq!(end_tag(html, name), at, "{html}");
            assert_eq!(end_tag(html, name), html.to_ascii_lowercase().find(&format!("</{name}")), "{html}");
        }
    }
}
