//! Whether the handler is still there: a run stops firing once the handler has stopped answering
//! (a crashed server, a wrong port that accepts and says nothing), instead of waiting out
//! `--timeout-ms` for every case left; and a hint when cases time out only because they were fired
//! together at a handler that serves one request at a time.

use super::{Limits, navigate};
use crate::record::HttpRequest;

/// Cases in a row with no HTTP answer at all after which a run stops firing. Twice the default
/// `--jobs`: a dead handler is noticed after two or three waves of timeouts (about 3 ×
/// `--timeout-ms` with 8 jobs), while a handler that drops the odd request (a dev server
/// reloading, a full accept backlog under 8 connections) answers again long before 16 in a row.
pub const DEFAULT_LIVENESS_LIMIT: usize = 16;

/// Counts the cases that got no HTTP answer at all ([`crate::record::Exchange::answered`]), in
/// the order their answers (or timeouts) come, and says when to stop.
#[derive(Clone, Debug)]
pub struct Liveness {
    limit: usize,
    /// Cases in a row with no answer, up to the latest.
    silent: usize,
    last_answered: Option<String>,
    ever_answered: bool,
    stopped: bool,
}

impl Liveness {
    /// Stops after `limit` cases in a row got no answer (a limit of 0 counts as 1).
    pub fn new(limit: usize) -> Liveness {
        Liveness { limit: limit.max(1), silent: 0, last_answered: None, ever_answered: false, stopped: false }
    }

    /// Notes that case `id` got an HTTP answer or did not. Returns the sentence saying why the run
    /// stops, once: when this case makes `limit` in a row without an answer.
    pub fn observe(&mut self, id: &str, answered: bool) -> Option<String> {
        if answered {
            self.silent = 0;
            self.ever_answered = true;
            self.last_answered = Some(id.to_owned());
            return None;
        }
        self.silent += 1;
        if self.stopped || self.silent < self.limit {
            return None;
        }
        self.stopped = true;
        let streak = format!("{} in a row got no HTTP answer, the last {id}", cases(self.silent));
        Some(match &self.last_answered {
            Some(last) => format!("the handler stopped answering after {last} ({streak})"),
            None => format!("the handler never answered ({streak})"),
        })
    }

    /// Some case got an HTTP answer: a run whose cases never did could not happen (exit 3).
    pub fn ever_answered(&self) -> bool {
        self.ever_answered
    }
}

/// Fires `request` alone (nothing else in flight) within `limits`: how long its HTTP answer took
/// when one came. A case that timed out among `--jobs` others and answers alone shows a handler
/// that serves one request at a time.
pub async fn answers_alone(client: &reqwest::Client, request: &HttpRequest, limits: Limits) -> Option<u64> {
    let navigation = navigate(client, request, limits).await;
    match &navigation.response {
        Ok(response) => Some(response.elapsed_ms),
        Err(_) => None,
    }
}

/// The note for a run where `timed_out` cases timed out under `--jobs jobs` but case `id`
/// answered alone in `ms`.
pub fn serial_handler_note(timed_out: usize, jobs: usize, id: &str, ms: u64) -> String {
    format!(
        "{} timed out with --jobs {jobs} but {id} answered alone in {ms} ms: \
         the handler seems to serve one request at a time; try --jobs 1",
        cases(timed_out)
    )
}

fn cases(n: usize) -> String {
    match n {
        1 => "1 case".to_owned(),
        n => format!("{n} cases"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_silence_stops_once_and_names_the_last_answer() {
        let mut liveness = Liveness::new(3);
        assert_eq!(liveness.observe("a", true), None);
        assert_eq!(liveness.observe("b", false), None);
        assert_eq!(liveness.observe("c", false), None);
        assert_eq!(
            liveness.observe("d", false).as_deref(),
            Some("the handler stopped answering after a (3 cases in a row got no HTTP answer, the last d)")
        );
        assert_eq!(liveness.observe("e", false), None, "the stop is said once");
        assert!(liveness.ever_answered());
    }

    #[test]
    fn an_answer_in_between_starts_the_count_again() {
        let mut liveness = Liveness::new(2);
        for (id, answered) in [("a", false), ("b", true), ("c", false), ("d", true), ("e", false)] {
            assert_eq!(liveness.observe(id, answered), None, "{id}");
        }
        assert!(liveness.observe("f", false).is_some());
    }

    #[test]
    fn a_handler_that_never_answered_is_said_so() {
        let mut liveness = Liveness::new(0);
        assert_eq!(
            liveness.observe("a", false).as_deref(),
            Some("the handler never answered (1 case in a row got no HTTP answer, the last a)")
        );
        assert!(!liveness.ever_answered());
    }

    #[test]
    fn the_concurrency_hint_names_the_flag() {
        assert_eq!(
            serial_handler_note(3, 8, "lang/de", 1012),
            "3 cases timed out with --jobs 8 but lang/de answered alone in 1012 ms: \
             the handler seems to serve one request at a time; try --jobs 1"
        );
        assert!(serial_handler_note(1, 4, "x", 5).starts_with("1 case timed out with --jobs 4"));
    }
}
