//! The report as JUnit XML, for CI test-report viewers (GitLab, GitHub, Jenkins): one
//! `<testsuite>` per documentation sentence, one `<testcase>` per case. A failed case's
//! `<failure>` names the failing checks and ends with the command that reproduces it.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::{CaseOutcome, CaseReport, RunReport};

pub fn render_junit(report: &RunReport) -> String {
    let mut junit = Report::new(report.tool);
    junit.set_time(Duration::from_millis(report.summary.duration_ms));
    for (doc, cases) in report.groups() {
        let mut suite = TestSuite::new(xml_text(&doc.key));
        // JUnit has no properties on the whole report, so each suite carries the run's.
        suite.add_properties([
            Property::new("handler", xml_text(&report.handler)),
            Property::new("seed", report.seed.to_string()),
            Property::new("wire", report.wire.to_string()),
            Property::new("doc.source", xml_text(&doc.source)),
            Property::new("doc.quote", xml_text(&doc.quote)),
        ]);
        suite.set_time(Duration::from_millis(cases.iter().map(|c| elapsed_ms(c)).sum()));
        suite.add_test_cases(cases.into_iter().map(|case| test_case(&doc.key, case)));
        junit.add_test_suite(suite);
    }
    let xml = junit.to_string().expect("a report in memory serialises");
    // The Jenkins xUnit schema (fixtures/junit/junit-10.xsd) allows no `skipped` on the root
    // element, which quick-junit always writes; no case is ever skipped, so it is always 0 and
    // its first occurrence is in the root element, whose only text attribute is the tool's name.
    xml.replacen(r#" skipped="0""#, "", 1)
}

fn test_case(key: &str, case: &CaseReport) -> TestCase {
    let failures = || case.failures().map(|v| format!("{}: {}", v.id, v.message)).collect::<Vec<_>>();
    let status = match case.outcome {
        CaseOutcome::Pass => TestCaseStatus::success(),
        CaseOutcome::Fail => {
            let ids: Vec<&str> = case.failures().map(|v| v.id).collect();
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
    // Checks of severity `warning` can fail on a passing case: CI viewers show them as output.
    if case.outcome == CaseOutcome::Pass && case.failures().next().is_some() {
        test_case.set_system_out(xml_text(&failures().join("\n")));
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
            xml.contains("<property name=\"doc.quote\" value=\"Required parameters are marked with *\"/>"),
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
    fn characters_xml_forbids_are_dropped() {
        let xml = render_junit(&sample::report());
        assert!(!xml.contains('\u{ffff}') && !xml.contains('\u{7}'), "{xml}");
        assert!(!xml.contains("<script>"), "{xml}");
    }
}
