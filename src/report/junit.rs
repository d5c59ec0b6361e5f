//! The report as JUnit XML, for CI test-report viewers (GitLab, GitHub, Jenkins): one
//! `<testsuite>` per piece of evidence, one `<testcase>` per case. A failed case's `<failure>`
//! names the failing checks and ends with the command that reproduces it.
//!
//! A warning (a failed `should`) is a passing `<testcase>` whose `<system-out>` says
//! "warning (should)": it did not fail the run, and viewers count `<skipped>` as "not run",
//! which would hide a case that ran and mostly passed; they all show a test's output beside it.
//! A case the harness could not judge (not modelled) is `<skipped>` with the reason: it was, in
//! effect, not judged, and viewers show a skip's message.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use regex::Regex;

use super::{CaseOutcome, CaseReport, RunReport};
use crate::checks::Outcome;

pub fn render_junit(report: &RunReport) -> String {
    let mut junit = Report::new(report.tool);
    junit.set_time(Duration::from_millis(report.summary.duration_ms));
    for (evidence, cases) in report.groups() {
        let mut suite = TestSuite::new(xml_text(&evidence.key));
        // JUnit has no properties on the whole report, so each suite carries the run's.
        suite.add_properties([
            Property::new("handler", xml_text(&report.handler)),
            Property::new("seed", report.seed.to_string()),
            Property::new("wire", report.wire.to_string()),
            Property::new("warned", report.summary.warned.to_string()),
            Property::new("not-exercised", report.summary.not_exercised.to_string()),
            Property::new("not-modelled", report.summary.not_modelled.to_string()),
            Property::new("evidence.kind", evidence.kind.label()),
            Property::new("evidence.url", xml_text(&evidence.url)),
            Property::new("evidence.quote", xml_text(&evidence.quote)),
        ]);
        suite.set_time(Duration::from_millis(cases.iter().map(|c| elapsed_ms(c)).sum()));
        suite.add_test_cases(cases.into_iter().map(|case| test_case(&evidence.key, case)));
        junit.add_test_suite(suite);
    }
    let xml = junit.to_string().expect("a report in memory serialises");
    // The Jenkins xUnit schema (fixtures/junit/junit-10.xsd) allows no `skipped` on the root
    // element, which quick-junit always writes; its first occurrence is in the root element,
    // whose only text attribute is the tool's name.
    let root_skipped = Regex::new(r#" skipped="[0-9]+""#).expect("a valid pattern");
    root_skipped.replacen(&xml, 1, "").into_owned()
}

fn test_case(key: &str, case: &CaseReport) -> TestCase {
    let failures = || case.failures().map(|v| format!("{}: {}", v.id, v.message)).collect::<Vec<_>>();
    let status = match case.outcome {
        // Known deviations and warnings do not fail the run; CI viewers show them as output of
        // a pass.
        CaseOutcome::Pass | CaseOutcome::Known | CaseOutcome::Warn => TestCaseStatus::success(),
        CaseOutcome::NotModelled => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(xml_text(case.not_modelled.as_deref().unwrap_or("not modelled by the harness")));
            status.set_description(xml_text(&failures().join("\n")));
            status
        }
        CaseOutcome::Fail => {
            let ids: Vec<&str> = case.run_failures().map(|v| v.id).collect();
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(xml_text(&format!("failed: {}", ids.join(", "))));
            status.set_description(xml_text(&format!("{}\nreproduce: {}", failures().join("\n"), case.reproduce)));
            status
        }
        CaseOutcome::Error => {
            let error = case.error.as_deref().unwrap_or("no answer");
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(xml_text(error));
            status.set_description(xml_text(&format!("{error}\nreproduce: {}", case.reproduce)));
            status
        }
    };
    let mut test_case = TestCase::new(xml_text(&case.id), status);
    test_case.set_classname(xml_text(&format!("b24-conform.{key}")));
    test_case.set_time(Duration::from_millis(elapsed_ms(case)));
    let known = case
        .checks
        .iter()
        .filter(|v| v.outcome == Outcome::Known)
        .map(|v| format!("{} (known deviation, baseline): {}", v.id, v.message));
    let warnings = case.warnings().map(|v| format!("warning (should): {}: {}", v.id, v.message));
    let output: Vec<String> = warnings.chain(known).collect();
    if !output.is_empty() {
        test_case.set_system_out(xml_text(&output.join("\n")));
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
    use crate::report::sample;

    #[test]
    fn one_suite_per_sentence_and_one_testcase_per_case() {
        let xml = render_junit(&sample::report());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"b24-conform\" tests=\"3\" failures=\"1\" errors=\"1\" time=\"1.234\">"), "{xml}");
        assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
        assert_eq!(xml.matches("<testcase ").count(), 3, "{xml}");
        assert!(
            xml.contains(
                "<testsuite name=\"required\" tests=\"2\" skipped=\"0\" errors=\"0\" failures=\"1\" time=\"0.014\">"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("<property name=\"evidence.quote\" value=\"Required parameters are marked with *\"/>"),
            "{xml}"
        );
        assert!(xml.contains("<property name=\"seed\" value=\"24\"/>"), "{xml}");
        assert!(
            xml.contains("<testcase name=\"valid/one\" classname=\"b24-conform.required\" time=\"0.007\"/>"),
            "{xml}"
        );
    }

    #[test]
    fn a_failure_names_its_checks_and_how_to_reproduce_it() {
        let xml = render_junit(&sample::report());
        assert!(xml.contains("<failure message=\"failed: rejects-invalid\">rejects-invalid: answered 200; expected 4xx &lt;script&gt;"), "{xml}");
        assert!(xml.contains("reproduce: curl -sS -i -X POST &apos;http://127.0.0.1:9/handler?DOMAIN="), "{xml}");
        assert!(xml.contains("<error message=\"no complete answer within 10000 ms &lt;script&gt;"), "{xml}");
    }

    #[test]
    fn a_warning_is_a_passing_testcase_that_says_so() {
        let xml = render_junit(&sample::with_warning());
        assert!(xml.contains("failures=\"0\" errors=\"1\""), "{xml}");
        assert!(xml.contains("<system-out>warning (should): rejects-invalid: answered 200"), "{xml}");
    }

    #[test]
    fn characters_xml_forbids_are_dropped() {
        let xml = render_junit(&sample::report());
        assert!(!xml.contains('\u{ffff}') && !xml.contains('\u{7}'), "{xml}");
        assert!(!xml.contains("<script>"), "{xml}");
    }
}
