//! A snapshot's difference from the stored one, as a reviewer reads it: a unified line diff with
//! two lines of context, and under each changed line that replaced exactly one other, a `?` line
//! whose `^` marks the characters that differ (as Python's difflib does), so a one-character
//! change is found at a glance.

use std::fmt::Write;

use similar::{ChangeTag, DiffOp, TextDiff};

/// `-` lines are the stored snapshot's, `+` lines this run's.
pub fn render(stored: &str, current: &str) -> String {
    let diff = TextDiff::from_lines(stored, current);
    let mut out = String::from("--- stored\n+++ this run\n");
    for group in diff.grouped_ops(2) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        let old = first.old_range().start..last.old_range().end;
        let new = first.new_range().start..last.new_range().end;
        let _ = writeln!(out, "@@ -{},{} +{},{} @@", old.start + 1, old.len(), new.start + 1, new.len());
        for op in &group {
            let changes: Vec<_> = diff.iter_changes(op).collect();
            let replaced_one = matches!(op, DiffOp::Replace { old_len: 1, new_len: 1, .. });
            for change in &changes {
                let sign = match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                };
                let line = change.value().trim_end_matches('\n');
                let _ = writeln!(out, "{sign}{line}");
            }
            if replaced_one && let [before, after] = changes.as_slice() {
                let _ = writeln!(out, "?{}", markers(before.value(), after.value()));
            }
        }
    }
    out
}

/// Spaces, and a `^` under each character of `after` that is not in `before` (or where one was
/// taken out), aligned with `after` as printed.
fn markers(before: &str, after: &str) -> String {
    let before = before.trim_end_matches('\n');
    let after = after.trim_end_matches('\n');
    let diff = TextDiff::from_chars(before, after);
    let mut line = String::new();
    let mut pending_removal = false;
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Equal => {
                line.push(if pending_removal { '^' } else { ' ' });
                pending_removal = false;
            }
            ChangeTag::Insert => {
                line.push('^');
                pending_removal = false;
            }
            ChangeTag::Delete => pending_removal = true,
        }
    }
    if pending_removal {
        line.push('^');
    }
    line.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_character_is_pointed_at() {
        let stored = "status: 200\nbody:\n  <h1>Settings of Site 30</h1>\n  <p>x</p>\n";
        let current = "status: 200\nbody:\n  <h1>Settinqs of Site 30</h1>\n  <p>x</p>\n";
        assert_eq!(
            render(stored, current),
            format!(
                "--- stored\n+++ this run\n@@ -1,4 +1,4 @@\n status: 200\n body:\n-  <h1>Settings of Site 30</h1>\n\
             +  <h1>Settinqs of Site 30</h1>\n?{}^\n   <p>x</p>\n",
                " ".repeat(12)
            )
        );
    }

    #[test]
    fn added_and_removed_lines_show_without_markers() {
        let text = render("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nd\ne\nf\ng\nh\n");
        assert_eq!(text, "--- stored\n+++ this run\n@@ -6,2 +6,3 @@\n f\n g\n+h\n");
        assert_eq!(markers("abc", "ac"), " ^");
        assert_eq!(markers("abc", "ab"), "  ^");
    }
}
