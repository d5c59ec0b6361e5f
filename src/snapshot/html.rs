//! HTML normalised for a snapshot, so that what a browser would not show differently does not
//! churn it: one tag or text per line, indented by nesting; tag and attribute names lower-cased,
//! attributes sorted and double-quoted; runs of whitespace in text collapsed; `<br/>` and `<br>`
//! alike. A tolerant tokenizer, not a parser: whatever the handler sends gives a stable text,
//! and a stray `<` is text. Values that change from one request to the next (nonces, CSRF
//! tokens) are replaced here, where it is known which attribute holds them.

/// Elements that never have content, so they open no level of nesting.
const VOID: &[&str] =
    &["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"];

/// Elements whose content is text up to their end tag, never markup.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp", "noembed", "noframes"];

/// Elements whose whitespace a browser shows as it is.
const PREFORMATTED: &[&str] = &["pre", "textarea", "listing"];

/// Substrings of a `name` or `id` that mark a form field or meta tag holding a per-request secret.
const SECRET_NAMES: &[&str] = &["csrf", "xsrf", "token", "sessid", "nonce", "authenticity"];

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Start {
        name: String,
        attributes: Vec<(String, Option<String>)>,
        self_closing: bool,
    },
    End(String),
    Text(&'a str),
    Comment(&'a str),
    /// `<!doctype …>`, `<?xml …?>` and their like.
    Declaration(&'a str),
}

/// The normalised page, one line per tag or text, ending in a newline (empty for an empty page).
pub fn normalise(html: &str) -> String {
    let tokens = tokenize(html);
    let mut out = String::new();
    let mut depth = 0usize;
    let mut preformatted = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let indent = "  ".repeat(depth);
        match &tokens[i] {
            Token::Start { name, attributes, self_closing } => {
                let tag = start_tag(name, attributes, *self_closing);
                // An element holding only text reads best on one line: `<h1>Settings</h1>`.
                if let (Some(Token::Text(text)), Some(Token::End(end))) = (tokens.get(i + 1), tokens.get(i + 2))
                    && end == name
                    && !text.contains('\n')
                    && !VOID.contains(&name.as_str())
                {
                    let text = if PREFORMATTED.contains(&name.as_str()) { (*text).to_owned() } else { collapse(text) };
                    out.push_str(&format!("{indent}{tag}{text}</{name}>\n"));
                    i += 3;
                    continue;
                }
                out.push_str(&format!("{indent}{tag}\n"));
                if !*self_closing && !VOID.contains(&name.as_str()) {
                    depth += 1;
                    if PREFORMATTED.contains(&name.as_str()) {
                        preformatted += 1;
                    }
                }
            }
            Token::End(name) => {
                if !VOID.contains(&name.as_str()) {
                    depth = depth.saturating_sub(1);
                    if PREFORMATTED.contains(&name.as_str()) {
                        preformatted = preformatted.saturating_sub(1);
                    }
                }
                out.push_str(&format!("{}</{name}>\n", "  ".repeat(depth)));
            }
            Token::Text(text) if preformatted > 0 => {
                for line in text.lines() {
                    out.push_str(&format!("{indent}{}\n", line.trim_end()));
                }
            }
            // Scripts and styles keep their lines, so a diff of a long one stays readable.
            Token::Text(text)
                if i > 0
                    && matches!(&tokens[i - 1], Token::Start { name, .. } if name == "script" || name == "style") =>
            {
                for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    out.push_str(&format!("{indent}{line}\n"));
                }
            }
            Token::Text(text) => {
                let text = collapse(text);
                if !text.is_empty() {
                    out.push_str(&format!("{indent}{text}\n"));
                }
            }
            Token::Comment(text) => out.push_str(&format!("{indent}<!-- {} -->\n", collapse(text))),
            Token::Declaration(text) => {
                let text = collapse(text);
                let text =
                    if text.to_ascii_lowercase().starts_with("!doctype") { text.to_ascii_lowercase() } else { text };
                out.push_str(&format!("{indent}<{text}>\n"));
            }
        }
        i += 1;
    }
    out
}

fn start_tag(name: &str, attributes: &[(String, Option<String>)], self_closing: bool) -> String {
    // The first of two attributes of one name is the one a browser keeps.
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<&(String, Option<String>)> =
        attributes.iter().filter(|(name, _)| seen.insert(name.as_str())).collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let secret = kept.iter().any(|(n, v)| {
        (n == "name" || n == "id" || n == "http-equiv")
            && v.as_deref().is_some_and(|v| SECRET_NAMES.iter().any(|s| v.to_ascii_lowercase().contains(s)))
    });
    let mut tag = format!("<{name}");
    for (attribute, value) in kept {
        match value {
            None => tag.push_str(&format!(" {attribute}")),
            Some(_) if attribute == "nonce" => tag.push_str(" nonce=\"[nonce]\""),
            Some(_) if secret && (attribute == "value" || attribute == "content") => {
                tag.push_str(&format!(" {attribute}=\"[csrf]\""))
            }
            Some(value) => tag.push_str(&format!(" {attribute}=\"{}\"", value.replace('"', "&quot;"))),
        }
    }
    // `<br/>` is `<br>`; on other elements the slash is kept, as it is what was sent.
    if self_closing && !VOID.contains(&name) {
        tag.push('/');
    }
    tag.push('>');
    tag
}

/// Runs of whitespace as one space, none at either end.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn tokenize(html: &str) -> Vec<Token<'_>> {
    let bytes = html.as_bytes();
    // A tag ends at a `>`: past the last one, no `<` opens a tag (comments and declarations run
    // to the end of the page instead), and trying each would take time quadratic in a page of
    // unclosed `<a`.
    let last_close = html.rfind('>');
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut text_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let closes = last_close.is_some_and(|close| close > i);
        let markup = match bytes.get(i + 1) {
            Some(b'!') if html[i..].starts_with("<!--") => {
                let end = html[i + 4..].find("-->").map_or(html.len(), |e| i + 4 + e);
                Some((Token::Comment(&html[i + 4..end]), (end + 3).min(html.len())))
            }
            Some(b'!' | b'?') => {
                let end = html[i..].find('>').map_or(html.len(), |e| i + e);
                Some((Token::Declaration(&html[i + 1..end]), (end + 1).min(html.len())))
            }
            Some(b'/') if closes && bytes.get(i + 2).is_some_and(u8::is_ascii_alphabetic) => {
                html[i..].find('>').map(|e| {
                    let name = html[i + 2..i + e].split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
                    (Token::End(name.to_ascii_lowercase()), i + e + 1)
                })
            }
            Some(c) if closes && c.is_ascii_alphabetic() => start_tag_at(html, i),
            _ => None,
        };
        let Some((token, next)) = markup else {
            // A `<` that opens nothing is text.
            i += 1;
            continue;
        };
        if text_start < i {
            tokens.push(Token::Text(&html[text_start..i]));
        }
        i = next;
        text_start = next;
        if let Token::Start { name, self_closing: false, .. } = &token
            && RAW_TEXT.contains(&name.as_str())
        {
            // Everything up to the matching end tag is the element's text.
            let end = crate::html::end_tag(&html[i..], name).map_or(html.len(), |e| i + e);
            tokens.push(token);
            if end > i {
                tokens.push(Token::Text(&html[i..end]));
            }
            i = end;
            text_start = end;
            continue;
        }
        tokens.push(token);
    }
    if text_start < html.len() {
        tokens.push(Token::Text(&html[text_start..]));
    }
    tokens
}

/// The start tag at `start` (a `<` followed by a letter) and the index after it; `None` when it
/// never closes, and is then text.
fn start_tag_at(html: &str, start: usize) -> Option<(Token<'_>, usize)> {
    let bytes = html.as_bytes();
    let mut i = start + 1;
    let name_end = html[i..].find(|c: char| c.is_whitespace() || c == '/' || c == '>').map_or(html.len(), |e| i + e);
    let name = html[i..name_end].to_ascii_lowercase();
    i = name_end;
    let mut attributes = Vec::new();
    loop {
        while i < bytes.len()
            && (bytes[i].is_ascii_whitespace() || (bytes[i] == b'/' && bytes.get(i + 1) != Some(&b'>')))
        {
            i += 1;
        }
        match bytes.get(i) {
            None => return None,
            Some(b'>') => return Some((Token::Start { name, attributes, self_closing: false }, i + 1)),
            Some(b'/') => return Some((Token::Start { name, attributes, self_closing: true }, i + 2)),
            Some(_) => {}
        }
        let attr_end = html[i..]
            .find(|c: char| c.is_whitespace() || c == '=' || c == '>' || c == '/')
            .map_or(html.len(), |e| i + e);
        let attribute = html[i..attr_end].to_ascii_lowercase();
        i = attr_end;
        let mut j = i;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if bytes.get(j) != Some(&b'=') {
            attributes.push((attribute, None));
            continue;
        }
        j += 1;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let value = match bytes.get(j) {
            None => return None,
            Some(&quote @ (b'"' | b'\'')) => {
                let end = html[j + 1..].find(quote as char).map(|e| j + 1 + e)?;
                i = end + 1;
                &html[j + 1..end]
            }
            Some(_) => {
                let end = html[j..].find(|c: char| c.is_whitespace() || c == '>').map_or(html.len(), |e| j + e);
                i = end;
                &html[j..end]
            }
        };
        attributes.push((attribute, Some(value.to_owned())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_attribute_order_and_quotes_do_not_matter() {
        let a = "<!DOCTYPE html><html><body class='x' id=main>\n  <p>Hello,   <b>world</b>!</p><br/></body></html>";
        let b = "<!doctype html>\n<HTML>\n<body id=\"main\"   class=\"x\"><p>\n Hello,\n<b>world</b>\n!\n</p><br></body></html>\n";
        assert_eq!(normalise(a), normalise(b));
        assert_eq!(
            normalise(a),
            "<!doctype html>\n<html>\n  <body class=\"x\" id=\"main\">\n    <p>\n      Hello,\n      <b>world</b>\n      !\n    </p>\n    <br>\n  </body>\n</html>\n"
        );
    }

    #[test]
    fn a_changed_character_still_shows() {
        assert_ne!(normalise("<h1>Settings</h1>"), normalise("<h1>Settinqs</h1>"));
        assert_ne!(normalise("<a href=\"/a\">x</a>"), normalise("<a href=\"/b\">x</a>"));
    }

    #[test]
    fn raw_text_and_preformatted_text_are_kept() {
        assert_eq!(normalise("<script>if (a<b) { x(); }</script>"), "<script>if (a<b) { x(); }</script>\n");
        assert_eq!(normalise("<pre>a\n  b</pre>"), "<pre>\n  a\n    b\n</pre>\n");
        assert_eq!(normalise("<style>\n p { }\n</style>"), "<style>\n  p { }\n</style>\n");
    }

    #[test]
    fn per_request_secrets_are_redacted() {
        let page = "<input type=hidden name=csrf_token value=abc123><meta name=\"csrf-token\" content=\"x\">\
                    <script nonce=\"r4nd\"></script><input name=title value=kept>";
        assert_eq!(
            normalise(page),
            "<input name=\"csrf_token\" type=\"hidden\" value=\"[csrf]\">\n<meta content=\"[csrf]\" name=\"csrf-token\">\n\
             <script nonce=\"[nonce]\">\n</script>\n<input name=\"title\" value=\"kept\">\n"
        );
    }

    #[test]
    fn anything_is_tolerated() {
        for page in
            ["", "<", "a < b", "<p", "<p class=\"x", "</", "<!--", "<!-- x", "<a b=>", "</p></p></div>", "\u{fffd}<é>"]
        {
            let _ = normalise(page);
        }
        assert_eq!(normalise("a < b"), "a < b\n");
        assert_eq!(normalise("</p></div>x"), "</p>\n</div>\nx\n");
    }
}
