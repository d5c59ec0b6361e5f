//! The fault zoo: every check is shown to fail. Each fault of the reference handler is one
//! realistic defect; the check it exists for, and no other, must flag it, on exactly the cases
//! the defect concerns.

use std::collections::BTreeSet;

use b24_conform::checks::{self, Outcome};
use b24_conform::reference::Fault;
use b24_conform::report::RunReport;
use b24_conform::run::{Handler, RunConfig, run};

async fn run_against(handler: Handler) -> RunReport {
    // slow-page holds every page 3.2 s: fire them all at once. Others keep the default, so
    // that a loaded machine does not slow answers past the latency budget.
    let jobs = if handler == Handler::Builtin(Some(Fault::SlowPage)) { 256 } else { 8 };
    let config = RunConfig { jobs, ..RunConfig::new(handler) };
    run(&config, |_| {}).await.expect("the run happens")
}

fn failing_checks(report: &RunReport) -> BTreeSet<&'static str> {
    report.cases.iter().flat_map(|c| c.checks.iter()).filter(|v| v.outcome == Outcome::Fail).map(|v| v.id).collect()
}

fn failing_cases(report: &RunReport) -> BTreeSet<String> {
    report.cases.iter().filter(|c| c.failures().next().is_some()).map(|c| c.id.clone()).collect()
}

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The cases a fault must fail: named, or "every case the right handler answers 2xx" for the
/// faults that spoil every page.
enum Concerns {
    Cases(&'static [&'static str]),
    EveryPage,
    /// Some of these, and only cases with this prefix (the valid space is drawn at random).
    Within {
        must: &'static [&'static str],
        prefix: &'static str,
    },
}

/// Every PLACEMENT_OPTIONS that the right handler refuses as not the object LANDING_SETTINGS gets.
const BAD_OPTIONS: &[&str] = &[
    "options/empty-array",
    "options/empty-object",
    "options/SITE_ID-missing",
    "options/SITE_ID-null",
    "options/SITE_ID-nested",
    "options/LID-missing",
    "options/LID-null",
    "options/bom",
    "options/deeply-nested",
    "options/a-json-array",
    "options/a-json-string",
    "options/json-null",
    "options/not-json",
    "options/single-quotes",
    "options/trailing-comma",
    "options/truncated-json",
    "encoding/PLACEMENT_OPTIONS-bad-percent",
    "encoding/PLACEMENT_OPTIONS-control",
    "encoding/PLACEMENT_OPTIONS-invalid-utf8",
    "encoding/PLACEMENT_OPTIONS-nul",
    "oversize/PLACEMENT_OPTIONS-64KiB",
    "oversize/PLACEMENT_OPTIONS-1MiB",
];

fn concerns(fault: Fault) -> Concerns {
    use Concerns::*;
    match fault {
        Fault::OptionsJson500 | Fault::LeaksStackTrace => Cases(BAD_OPTIONS),
        Fault::AcceptsMissingMemberId => Cases(&["missing/member_id", "empty/member_id", "blank/member_id"]),
        Fault::AnyMemberId => Cases(&["member-id/not-hex", "member-id/too-short", "member-id/unknown"]),
        Fault::AnyDomain => {
            Cases(&["domain/foreign", "domain/idn", "domain/no-port", "domain/userinfo-trick", "domain/with-path"])
        }
        Fault::ProtocolUnchecked => Cases(&[
            "missing/PROTOCOL",
            "empty/PROTOCOL",
            "blank/PROTOCOL",
            "protocol/https",
            "protocol/minus-one",
            "protocol/two",
        ]),
        Fault::IgnoresPlacement => Cases(&[
            "missing/PLACEMENT",
            "empty/PLACEMENT",
            "blank/PLACEMENT",
            "placement/CALENDAR_GRIDVIEW",
            "placement/CRM_CONTACT_LIST_MENU",
            "placement/CRM_DEAL_DETAIL_TAB",
            "placement/CRM_LEAD_DETAIL_TAB",
            "placement/DEFAULT",
            "placement/IM_NAVIGATION",
            "placement/LANDING_BLOCK",
            "placement/LEFT_MENU",
            "placement/PAGE_BACKGROUND_WORKER",
            "placement/SONET_GROUP_DETAIL_TAB",
            "placement/TASK_VIEW_TAB",
            "placement/USER_PROFILE_MENU",
        ]),
        Fault::GetServesPage => Cases(&["request/GET"]),
        Fault::RequiresAppToken => Within { must: &["valid/legacy-portal"], prefix: "valid/generated#" },
        Fault::LangAllowlist => Cases(&["lang/unknown"]),
        Fault::StatusAllowlist => Within { must: &["status/S"], prefix: "valid/generated#" },
        Fault::AuthExpires500 => Cases(&["auth-expires/fraction", "auth-expires/huge", "auth-expires/non-numeric"]),
        Fault::InvalidUtf8500 => Cases(&[
            "encoding/LANG-invalid-utf8",
            "encoding/member_id-invalid-utf8",
            "encoding/PLACEMENT-invalid-utf8",
            "encoding/PLACEMENT_OPTIONS-invalid-utf8",
        ]),
        Fault::LangMarkup500 => Cases(&["inject/LANG/markup", "inject/LANG/script"]),
        Fault::NoRefresh => Cases(&["token/expired", "token/invalid"]),
        // Context decides: the same probes elsewhere are inert (markup inside a quoted attribute).
        Fault::ReflectsLang => Cases(&["inject/LANG/attribute"]),
        Fault::LangInScript => Cases(&["inject/LANG/script", "inject/LANG/sql"]),
        Fault::OptionsUnescaped => Cases(&["inject/options.SITE_ID/markup", "inject/options.SITE_ID/script"]),
        Fault::TrustsUri => Cases(&["inject/options.URI/script-url"]),
        Fault::JsonPage | Fault::ForbidsFraming | Fault::SlowPage => EveryPage,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_handler_passes_every_case() {
    let report = run_against(Handler::Builtin(None)).await;
    assert!(report.summary.cases >= 120, "{:?}", report.summary);
    assert_eq!(report.summary.passed, report.summary.cases, "{}", b24_conform::report::render_human(&report));
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_fault_trips_its_check_only_and_on_the_cases_it_concerns() {
    let clean = run_against(Handler::Builtin(None)).await;
    let pages: BTreeSet<String> = clean
        .cases
        .iter()
        .filter(|c| c.response.as_ref().is_some_and(|r| (200..300).contains(&r.status)))
        .map(|c| c.id.clone())
        .collect();
    for &fault in Fault::ALL {
        let report = run_against(Handler::Builtin(Some(fault))).await;
        let name = fault.name();
        assert_eq!(failing_checks(&report), BTreeSet::from([fault.check()]), "fault {name}");
        let failed = failing_cases(&report);
        match concerns(fault) {
            Concerns::Cases(list) => assert_eq!(failed, ids(list), "fault {name}"),
            Concerns::EveryPage => assert_eq!(failed, pages, "fault {name}"),
            Concerns::Within { must, prefix } => {
                assert!(failed.is_superset(&ids(must)), "fault {name}: {failed:?}");
                assert!(failed.iter().all(|id| id.starts_with(prefix) || ids(must).contains(id)), "{name}: {failed:?}");
            }
        }
        // Warnings fail a run only with --strict.
        let warning = checks::find(fault.check()).is_some_and(|c| c.severity == checks::Severity::Warning);
        assert_eq!(report.exit_code(), if warning { 0 } else { 1 }, "fault {name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_makes_warnings_fail_the_run() {
    let handler = Handler::Builtin(Some(Fault::SlowPage));
    let mut config = RunConfig { jobs: 8, filters: vec!["valid/documented-example".into()], ..RunConfig::new(handler) };
    let relaxed = run(&config, |_| {}).await.expect("the run happens");
    assert_eq!((relaxed.summary.passed, relaxed.exit_code()), (1, 0));
    config.settings.strict = true;
    let strict = run(&config, |_| {}).await.expect("the run happens");
    assert_eq!((strict.summary.failed, strict.exit_code()), (1, 1));
    // A budget above the delay passes it.
    config.settings.latency_budget = std::time::Duration::from_secs(10);
    assert_eq!(run(&config, |_| {}).await.expect("the run happens").exit_code(), 0);
}

#[test]
fn every_check_has_a_fault_that_proves_it() {
    let proven: BTreeSet<_> = Fault::ALL.iter().map(|f| f.check()).collect();
    let shipped: BTreeSet<_> = checks::ALL.iter().map(|c| c.id).collect();
    assert_eq!(proven, shipped);
}
