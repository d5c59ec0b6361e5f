//! The fault zoo: every check is shown to fail. Each fault of the reference handler is one
//! realistic defect; the check it exists for, and no other, must flag it.

use std::collections::BTreeSet;

use b24_conform::checks::{self, Outcome};
use b24_conform::reference::Fault;
use b24_conform::report::RunReport;
use b24_conform::run::{Handler, RunConfig, run};

async fn run_against(handler: Handler) -> RunReport {
    run(&RunConfig::new(handler), |_| {}).await.expect("the run happens")
}

fn failing_checks(report: &RunReport) -> BTreeSet<&'static str> {
    report.cases.iter().flat_map(|c| c.checks.iter()).filter(|v| v.outcome == Outcome::Fail).map(|v| v.id).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_handler_passes_every_case() {
    let report = run_against(Handler::Builtin(None)).await;
    assert!(report.summary.cases >= 10, "{:?}", report.summary);
    assert_eq!(report.summary.passed, report.summary.cases, "{}", b24_conform::report::render_human(&report));
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_fault_trips_its_check_and_only_it() {
    for &fault in Fault::ALL {
        let report = run_against(Handler::Builtin(Some(fault))).await;
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
    assert_eq!(failed(&refresh), ids(&["token/expired", "token/invalid", "token/expiring", "token/revoked"]));
    let bind = run_against(Handler::Builtin(Some(Fault::NoBind))).await;
    assert_eq!(failed(&bind), ids(&["install/onappinstall"]));
    // The installer's token, used for every user, shows up after the installation was answered.
    let installer = run_against(Handler::Builtin(Some(Fault::InstallerToken))).await;
    assert_eq!(failed(&installer), ids(&["install/onappinstall"]));
    let domain = run_against(Handler::Builtin(Some(Fault::TrustsDomain))).await;
    assert_eq!(failed(&domain), ids(&["token/foreign-domain"]));
    let legacy = run_against(Handler::Builtin(Some(Fault::RequiresAppToken))).await;
    assert!(failed(&legacy).contains("valid/legacy-portal"));
    assert!(!failed(&legacy).contains("valid/documented-example"));
}
