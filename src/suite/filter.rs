//! Case selection by id glob: `options/*`, `!valid/generated#*`.

/// A set of id patterns. `*` matches any run of characters, `?` one; a leading `!` excludes.
/// A case is selected when it matches some include (or there is none) and no exclude.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl Filter {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Filter {
        let mut filter = Filter::default();
        for pattern in patterns {
            match pattern.as_ref().strip_prefix('!') {
                Some(excluded) => filter.exclude.push(excluded.to_owned()),
                None => filter.include.push(pattern.as_ref().to_owned()),
            }
        }
        filter
    }

    /// Whether every id is selected: no pattern at all.
    pub fn selects_all(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    pub fn selects(&self, id: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| glob(p, id)))
            && !self.exclude.iter().any(|p| glob(p, id))
    }
}

fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Classic wildcard matching with one backtrack point for the last `*`.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_and_excludes() {
        let filter = Filter::new(&["missing/*", "valid/*", "!valid/generated#*"]);
        assert!(filter.selects("missing/member_id"));
        assert!(filter.selects("valid/documented-example"));
        assert!(!filter.selects("valid/generated#3"));
        assert!(!filter.selects("options/not-json"));
        assert!(Filter::new::<&str>(&[]).selects("anything"));
        assert!(Filter::new(&["m?ssing/DOM*N"]).selects("missing/DOMAIN"));
    }
}
