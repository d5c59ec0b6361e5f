//! Redactions: what changes from run to run is replaced by a placeholder before a snapshot is
//! written or compared, so that a snapshot changes only when the handler's behaviour does.

use std::sync::LazyLock;

use regex::Regex;

/// Patterns every snapshot is redacted with, in order, and what replaces a match.
static BUILT_IN: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // Ports are picked free for every run.
        (r"\b(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}\b", "$1:[port]"),
        // Times: ISO 8601, HTTP dates, Unix seconds and milliseconds of this century's decades.
        (r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b", "[time]"),
        (r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\b", "[time]"),
        (r"\b1[5-9]\d{8}(\d{3})?\b", "[time]"),
        // Nonces and request ids.
        (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "[uuid]"),
        // Tokens: the harness's are long hex strings; a refreshed one differs with the order
        // in which concurrent cases refresh.
        (r"\b[0-9a-fA-F]{32,}\b", "[token]"),
    ]
    .into_iter()
    .map(|(pattern, replacement)| (Regex::new(pattern).expect("a built-in pattern compiles"), replacement))
    .collect()
});

/// What a user pattern's match (or its capture groups) becomes.
pub const USER_PLACEHOLDER: &str = "[redacted]";

/// The redactions of one case: values known to vary (this run's addresses, the case's tokens),
/// the built-in patterns, then the user's.
#[derive(Clone, Debug, Default)]
pub struct Redactions {
    literals: Vec<(String, String)>,
    user: Vec<Regex>,
}

impl Redactions {
    /// `user` patterns replace their whole match, or only their capture groups if they have any.
    pub fn new(user: Vec<Regex>) -> Redactions {
        Redactions { literals: Vec::new(), user }
    }

    /// Replaces every occurrence of `value` with `[name]`. Longer values go first, so a value
    /// that contains another is replaced whole.
    pub fn literal(mut self, value: &str, name: &str) -> Redactions {
        if !value.is_empty() {
            self.literals.push((value.to_owned(), format!("[{name}]")));
            self.literals.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        }
        self
    }

    pub fn apply(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (value, placeholder) in &self.literals {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), placeholder);
            }
        }
        for (pattern, replacement) in BUILT_IN.iter() {
            text = pattern.replace_all(&text, *replacement).into_owned();
        }
        for pattern in &self.user {
            text = redact_user(pattern, &text);
        }
        text
    }
}

fn redact_user(pattern: &Regex, text: &str) -> String {
    if pattern.captures_len() == 1 {
        return pattern.replace_all(text, USER_PLACEHOLDER).into_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for captures in pattern.captures_iter(text) {
        for group in captures.iter().skip(1).flatten() {
            // Nested or overlapping groups: the outer one has been replaced already.
            if group.start() < copied {
                continue;
            }
            out.push_str(&text[copied..group.start()]);
            out.push_str(USER_PLACEHOLDER);
            copied = group.end();
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_varies_is_replaced() {
        let r = Redactions::default().literal("127.0.0.1:4711", "portal").literal("abc", "AUTH_ID");
        assert_eq!(r.apply("http://127.0.0.1:4711/rest/ auth=abc"), "http://[portal]/rest/ auth=[AUTH_ID]");
        assert_eq!(r.apply("at http://localhost:39999/x"), "at http://localhost:[port]/x");
        assert_eq!(
            r.apply("2026-11-25T21:27:53Z, Wed, 25 Nov 2026 21:27:53 GMT, 1764106073, 1764106073123"),
            "[time], [time], [time], [time]"
        );
        assert_eq!(r.apply("id 0f8fad5b-d9cb-469f-a165-70867728950e"), "id [uuid]");
        assert_eq!(r.apply(&format!("t={}", "ab12".repeat(10))), "t=[token]");
        // Ordinary numbers and words stay.
        assert_eq!(r.apply("Site 30, page 42, SITE_ID 123456789"), "Site 30, page 42, SITE_ID 123456789");
    }

    #[test]
    fn user_patterns_replace_the_match_or_its_groups() {
        let r = Redactions::new(vec![Regex::new(r"Build \d+").unwrap(), Regex::new(r"sid=(\w+);").unwrap()]);
        assert_eq!(r.apply("Build 1234, sid=xyz; path=/"), "[redacted], sid=[redacted]; path=/");
    }
}
