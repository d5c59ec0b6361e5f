//! The `.snap` file: insta's format, a YAML header between `---` lines and the snapshot's text,
//! so `cargo insta review` can show and accept pending ones and reviewers know it on sight.

use crate::suite::Case;

/// The whole file for `case` with `record` as its content.
pub fn render(case: &Case, seed: u64, record: &str) -> String {
    // JSON strings are YAML double-quoted scalars: any id or title is quoted safely.
    let quote = |text: &str| serde_json::Value::String(text.to_owned()).to_string();
    format!(
        "---\nsource: b24-conform\ndescription: {}\nexpression: {}\ninfo:\n  expect: {}\n  level: {}\n  evidence: {}\n  seed: {seed}\n---\n{}\n",
        quote(&case.title),
        quote(&case.id),
        case.expect.label(),
        case.level.label(),
        quote(&case.evidence.url),
        record.trim_end()
    )
}

/// The snapshot's text: what follows the header. A file without a header is all text.
pub fn body(file: &str) -> &str {
    let Some(rest) = file.strip_prefix("---\n") else { return file };
    if let Some(text) = rest.strip_prefix("---\n") {
        return text;
    }
    rest.find("\n---\n").map_or(file, |end| &rest[end + 5..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_follows_the_header() {
        assert_eq!(body("---\nsource: x\nexpression: \"a\"\n---\nstatus: 200\n"), "status: 200\n");
        assert_eq!(body("status: 200\n"), "status: 200\n");
        assert_eq!(body("---\n---\nstatus: 200\n"), "status: 200\n");
        assert_eq!(body("---\nunterminated"), "---\nunterminated");
    }
}
