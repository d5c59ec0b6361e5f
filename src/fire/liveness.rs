//! Whether the handler still answers: a run of consecutive cases with no answer at all
//! (timeout, refused or reset connection) means it stopped, and firing the rest would only wait
//! out their timeouts.

/// Counts consecutive cases without an answer, in the order they were fired.
#[derive(Clone, Debug)]
pub struct Liveness {
    limit: usize,
    silent: usize,
}

impl Liveness {
    /// Cases in a row without an answer after which the handler is taken to have stopped.
    pub const DEFAULT_LIMIT: usize = 20;

    pub fn new(limit: usize) -> Liveness {
        Liveness { limit: limit.max(1), silent: 0 }
    }

    /// Counts case `id`, answered or not; the sentence saying the handler stopped once `limit`
    /// cases in a row got no answer (at the last of them).
    pub fn observe(&mut self, id: &str, answered: bool) -> Option<String> {
        self.silent = if answered { 0 } else { self.silent + 1 };
        (self.silent == self.limit).then(|| format!("the handler stopped answering after {id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_the_limit_in_a_row_only() {
        let mut liveness = Liveness::new(2);
        assert_eq!(liveness.observe("a", false), None);
        assert_eq!(liveness.observe("b", true), None);
        assert_eq!(liveness.observe("c", false), None);
        assert_eq!(liveness.observe("d", false).as_deref(), Some("the handler stopped answering after d"));
    }
}
