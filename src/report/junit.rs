//! The report as JUnit XML, for CI test-report viewers (GitLab, GitHub, Jenkins): one
//! `<testsuite>` per run of cases under the same evidence, one `<testcase>` per case. A failed
//! case's `<failure>` names the failing checks and ends with the commands that reproduce it.
//!
//! Streamed: a `<testsuite>` must carry its counts before its cases, so the writer holds the
//! cases of one suite at a time, at most [`SUITE`] of them, then writes it and starts the next
//! (a long group becomes several suites of the same name, which JUnit allows). quick-junit
//! serialises only whole reports, so each suite is serialised as a report of one suite and cut
//! out of it, and this writer writes the outer `<testsuites>` element itself; the totals on it
//! are optional in the schema and left out, since they are known only at the end.
//!
//! A warning (a failed `should`) is a passing `<testcase>` whose `<system-out>` says
//! "warning (should)": it did not fail the run, and viewers count `<skipped>` as "not run",
//! which would hide a case that ran and mostly passed; they all show a test's output beside it.
//! A case the harness could not judge (not modelled) is `<skipped>` with the reason: it was, in
//! effect, not judged, and viewers show a skip's message. A case not run is `<skipped>` with why.

use std::io::{self, Write};
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::reproduce::Reproducer;
use super::{Sink, clip};
use crate::record::{CaseOutcome, CaseReport, Event, Outcome, RunEnd, RunInfo};
use crate::suite::Evidence;

/// Cases a `<testsuite>` holds at most: the writer's memory for them is bounded by it.
const SUITE: usize = 500;
/// A failure's text, and a case's output, longer than this (long messages quoting a hostile
/// answer) is cut: a viewer shows it beside the test, and the file grows with every case.
const TEXT: usize = 2 * 1024;
/// The suite the cases not run go in: they have no evidence of their own in the events.
const NOT_RUN: &str = "not-run";

pub(super) struct Junit<W> {
    out: W,
    reproducer: Reproducer,
    info: Option<RunInfo>,
    /// The suite being filled: its evidence key (or [`NOT_RUN`]) and its cases so far.
    suite: Option<(String, TestSuite)>,
}

impl<W: Write> Junit<W> {
    pub fn new(out: W, reproducer: Reproducer) -> Self {
        Junit { out, reproducer, info: None, suite: None }
    }

    fn info(&self) -> io::Result<&RunInfo> {
        self.info.as_ref().ok_or_else(|| io::Error::other("a case came before the run started"))
    }

    /// The suite `key` for the next case: the one being filled, or a new one after the filled
    /// one is written.
    fn suite_for(&mut self, key: &str, evidence: Option<&Evidence>) -> io::Result<&mut TestSuite> {
        let full = self.suite.as_ref().is_some_and(|(k, suite)| k != key || suite.test_cases.len() >= SUITE);
        if full {
            self.flush_suite()?;
        }
        if self.suite.is_none() {
            let info = self.info()?;
            let mut suite = TestSuite::new(xml_text(key));
            // JUnit has no properties on the whole report, so each suite carries the run's.
            suite.add_properties([
                Property::new("handler", xml_text(&info.handler)),
                Property::new("seed", info.seed.to_string()),
                Property::new("wire", info.wire.to_string()),
            ]);
            if let Some(partition) = &info.partition {
                suite.add_property(Property::new("partition", partition.as_str()));
            }
            if let Some(evidence) = evidence {
                suite.add_properties([
                    Property::new("evidence.kind", evidence.kind.label()),
                    Property::new("evidence.url", xml_text(&evidence.url)),
                    Property::new("evidence.quote", xml_text(&evidence.quote)),
                ]);
            }
            suite.set_time(Duration::ZERO);
            self.suite = Some((key.to_owned(), suite));
        }
        Ok(&mut self.suite.as_mut().expect("a suite was just made").1)
    }

    /// Writes the suite being filled, if any.
    fn flush_suite(&mut self) -> io::Result<()> {
        let Some((_, suite)) = self.suite.take() else { return Ok(()) };
        let mut report = Report::new("");
        report.add_test_suite(suite);
        let xml = report.to_string().map_err(io::Error::other)?;
        // The report's only <testsuite> element, with the indentation it has inside the root.
        let start = xml.find("    <testsuite ").ok_or_else(|| io::Error::other("quick-junit wrote no testsuite"))?;
        let end = xml.rfind("</testsuites>").ok_or_else(|| io::Error::other("quick-junit wrote no root"))?;
        self.out.write_all(&xml.as_bytes()[start..end])
    }

    fn judged(&mut self, case: &CaseReport) -> io::Result<()> {
        let commands = match case.outcome {
            CaseOutcome::Fail | CaseOutcome::Error => {
                let info = self.info.as_ref().ok_or_else(|| io::Error::other("a case came before the run started"))?;
                format!("\nreproduce:\n{}", self.reproducer.commands(info, case)?)
            }
            _ => String::new(),
        };
        let test_case = test_case(case, &commands);
        let suite = self.suite_for(&case.evidence.key, Some(&case.evidence))?;
        let elapsed = Duration::from_millis(elapsed_ms(case));
        suite.set_time(suite.time.unwrap_or_default() + elapsed);
        suite.add_test_case(test_case);
        Ok(())
    }

    fn not_run(&mut self, id: &str, reason: &str) -> io::Result<()> {
        let mut status = TestCaseStatus::skipped();
        status.set_message(xml_text(reason));
        let mut test_case = TestCase::new(xml_text(id), status);
        test_case.set_classname(format!("b24-conform.{NOT_RUN}"));
        self.suite_for(NOT_RUN, None)?.add_test_case(test_case);
        Ok(())
    }

    fn ended(&mut self, _end: &RunEnd) -> io::Result<()> {
        self.flush_suite()?;
        self.out.write_all(b"</testsuites>\n")?;
        self.out.flush()
    }
}

impl<W: Write> Sink for Junit<W> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match *event {
            Event::Started(info) => {
                self.info = Some(info.clone());
                write!(
                    self.out,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\">\n",
                    // The tool's name, a constant: nothing to escape.
                    info.tool
                )
            }
            Event::Judged(case) => self.judged(case),
            Event::NotRun { id, reason, .. } => self.not_run(id, reason),
            // JUnit has no place for progress or for calls no case owns.
            Event::Answered { .. } | Event::Unattributed(_) => Ok(()),
            Event::Ended(end) => self.ended(end),
        }
    }
}

/// `case` as a `<testcase>`; `commands` (the reproduce commands) end a failure's text.
fn test_case(case: &CaseReport, commands: &str) -> TestCase {
    let failures = || {
        let lines: Vec<String> = case.failures().map(|v| format!("{}: {}", v.id, v.message)).collect();
        clip(&lines.join("\n"), TEXT).into_owned()
    };
    let status = match case.outcome {
        // Known deviations and warnings do not fail the run; CI viewers show them as output of
        // a pass.
        CaseOutcome::Pass | CaseOutcome::Known | CaseOutcome::Warn => TestCaseStatus::success(),
        CaseOutcome::NotModelled => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(xml_text(case.not_modelled.as_deref().unwrap_or("not modelled by the harness")));
            status.set_description(xml_text(&failures()));
            status
        }
        CaseOutcome::Fail => {
            let ids: Vec<&str> = case.run_failures().map(|v| v.id).collect();
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(xml_text(&format!("failed: {}", ids.join(", "))));
            status.set_description(xml_text(&format!("{}{commands}", failures())));
            status
        }
        CaseOutcome::Error => {
            let error = clip(case.error.as_deref().unwrap_or("no answer"), TEXT);
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(xml_text(&error));
            status.set_description(xml_text(&format!("{error}{commands}")));
            status
        }
    };
    let mut test_case = TestCase::new(xml_text(&case.id), status);
    test_case.set_classname(xml_text(&format!("b24-conform.{}", case.evidence.key)));
    test_case.set_time(Duration::from_millis(elapsed_ms(case)));
    let known = case
        .checks
        .iter()
        .filter(|v| v.outcome == Outcome::Known)
        .map(|v| format!("{} (known deviation, baseline): {}", v.id, v.message));
    let warnings = case.warnings().map(|v| format!("warning (should): {}: {}", v.id, v.message));
    let output: Vec<String> = warnings.chain(known).collect();
    if !output.is_empty() {
        test_case.set_system_out(xml_text(&clip(&output.join("\n"), TEXT)));
    }
    test_case
}

fn elapsed_ms(case: &CaseReport) -> u64 {
    case.response.as_ref().map_or(0, |r| r.elapsed_ms)
}

/// `text` without the two characters XML 1.0 forbids that quick-junit lets through (it drops the
/// C0 controls itself); a handler's answer can hold them, and one makes the whole file unreadable.
fn xml_text(text: &str) -> String {
    text.replace(['\u{fffe}', '\u{ffff}'], "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Format, sample};

    #[test]
    fn the_report() {
        insta::assert_snapshot!(sample::golden(Format::Junit, &sample::cases()));
    }

    #[test]
    fn a_warning_is_a_passing_testcase_that_says_so() {
        let scratch = sample::Scratch::new("junit-warning");
        let xml = sample::render(Format::Junit, &sample::with_warning(), scratch.beside());
        assert!(xml.contains("failures=\"0\""), "{xml}");
        assert!(xml.contains("<system-out>warning (should): rejects-invalid: answered 200"), "{xml}");
    }

    #[test]
    fn characters_xml_forbids_are_dropped() {
        let scratch = sample::Scratch::new("junit-forbidden");
        let xml = sample::render(Format::Junit, &sample::cases(), scratch.beside());
        assert!(!xml.contains('\u{ffff}') && !xml.contains('\u{7}') && !xml.contains('\u{1b}'), "{xml}");
        assert!(!xml.contains("<script>"), "{xml}");
    }

    #[test]
    fn a_long_group_is_written_in_suites_of_bounded_size() {
        let scratch = sample::Scratch::new("junit-long");
        let mut cases = Vec::new();
        for i in 0..(SUITE * 2 + 1) {
            let mut case = sample::cases().swap_remove(0);
            case.id = format!("valid/generated#{i}");
            cases.push(case);
        }
        let xml = sample::render(Format::Junit, &cases, scratch.beside());
        assert_eq!(xml.matches("<testsuite name=\"required\"").count(), 3, "{xml}");
        assert_eq!(xml.matches("<testcase ").count(), SUITE * 2 + 1 + 1, "the cases and the one not run");
        assert!(xml.contains(&format!("<testsuite name=\"required\" tests=\"{SUITE}\"")), "{xml}");
        assert!(xml.ends_with("</testsuite>\n</testsuites>\n"), "{xml}");
    }
}
