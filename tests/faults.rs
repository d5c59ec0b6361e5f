//! The fault zoo: every check is shown to fail. Each fault of the reference handler is one
//! realistic defect; the check it exists for, and no other, must flag it.

use std::collections::BTreeSet;

use b24_conform::checks::{self, Outcome};
use b24_conform::reference::Fault;
use b24_conform::report::RunReport;
use b24_conform::run::{Handler, RunConfig, run};
use b24_conform::snapshot::{self, SnapshotConfig};

async fn run_against(handler: Handler) -> RunReport {
    run(&RunConfig::new(handler), |_| {}).await.expect("the run happens")
}

/// The reviewed snapshots of the reference handler, read-only.
fn reviewed() -> SnapshotConfig {
    SnapshotConfig::new(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"))
}

async fn run_with_snapshots(handler: Handler) -> RunReport {
    let config = RunConfig { snapshots: Some(reviewed()), ..RunConfig::new(handler) };
    run(&config, |_| {}).await.expect("the run happens")
}

fn failing_checks(report: &RunReport) -> BTreeSet<&'static str> {
    report.cases.iter().flat_map(|c| c.checks.iter()).filter(|v| v.outcome == Outcome::Fail).map(|v| v.id).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_handler_passes_every_case() {
    let report = run_with_snapshots(Handler::Builtin(None)).await;
    assert!(report.summary.cases >= 10, "{:?}", report.summary);
    assert_eq!(report.summary.passed, report.summary.cases, "{}", b24_conform::report::render_human(&report));
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_fault_trips_its_check_and_only_it() {
    for &fault in Fault::ALL {
        // A snapshot records the whole exchange, so every fault that changes an answer changes
        // one; it is judged only for its own fault, where no semantic check sees a difference.
        let report = if fault.check() == snapshot::CHECK_ID {
            run_with_snapshots(Handler::Builtin(Some(fault))).await
        } else {
            run_against(Handler::Builtin(Some(fault))).await
        };
        assert_eq!(failing_checks(&report), BTreeSet::from([fault.check()]), "fault {}", fault.name());
        assert_eq!(report.exit_code(), 1, "fault {}", fault.name());
    }
}

#[test]
fn every_check_has_a_fault_that_proves_it() {
    let proven: BTreeSet<_> = Fault::ALL.iter().map(|f| f.check()).collect();
    let shipped: BTreeSet<_> = checks::ALL.iter().map(|c| c.id).collect();
    assert_eq!(proven, shipped);
}

/// The cases each fault fails, by id: the defect shows where it should and nowhere else.
#[tokio::test(flavor = "multi_thread")]
async fn faults_fail_the_cases_they_concern() {
    let failed = |report: &RunReport| -> BTreeSet<String> {
        report.cases.iter().filter(|c| c.failures().next().is_some()).map(|c| c.id.clone()).collect()
    };
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let options = run_against(Handler::Builtin(Some(Fault::OptionsJson500))).await;
    assert_eq!(failed(&options), ids(&["options/not-json", "options/truncated-json"]));
    let member = run_against(Handler::Builtin(Some(Fault::AcceptsMissingMemberId))).await;
    assert_eq!(failed(&member), ids(&["missing/member_id"]));
    let refresh = run_against(Handler::Builtin(Some(Fault::NoRefresh))).await;
    assert_eq!(failed(&refresh), ids(&["token/expired", "token/invalid"]));
    let legacy = run_against(Handler::Builtin(Some(Fault::RequiresAppToken))).await;
    assert!(failed(&legacy).contains("valid/legacy-portal"));
    assert!(!failed(&legacy).contains("valid/documented-example"));
}

/// Issue 5's acceptance: one character flipped in the page fails the `snapshot` check of exactly
/// the cases whose answer shows that page, and the diff points at the character.
#[tokio::test(flavor = "multi_thread")]
async fn a_flipped_character_fails_the_snapshots_of_exactly_the_pages_that_show_it() {
    let clean = run_against(Handler::Builtin(None)).await;
    let showing: BTreeSet<String> = clean
        .cases
        .iter()
        .filter(|c| c.response.as_ref().is_some_and(|r| String::from_utf8_lossy(&r.body).contains("<h1>Settings of")))
        .map(|c| c.id.clone())
        .collect();
    assert!(showing.len() >= 10, "{showing:?}");
    assert!(showing.len() < clean.cases.len(), "some cases must show other pages");

    let typo = run_with_snapshots(Handler::Builtin(Some(Fault::PageTypo))).await;
    let failed: BTreeSet<String> =
        typo.cases.iter().filter(|c| c.failures().next().is_some()).map(|c| c.id.clone()).collect();
    assert_eq!(failed, showing);
    for case in typo.cases.iter().filter(|c| showing.contains(&c.id)) {
        let failures: Vec<_> = case.failures().collect();
        assert_eq!(failures.len(), 1, "{}: {failures:?}", case.id);
        let message = &failures[0].message;
        assert_eq!(failures[0].id, snapshot::CHECK_ID);
        // The heading's line, before and after, and a caret under the one character.
        let line = message.lines().position(|l| l.starts_with("+      <h1>Settinqs of")).expect(message);
        let lines: Vec<&str> = message.lines().collect();
        assert!(lines[line - 1].starts_with("-      <h1>Settings of"), "{message}");
        assert_eq!(lines[line + 1], format!("?{}^", " ".repeat("      <h1>Settin".len())), "{message}");
    }
}
