//! The fault zoo: every check is shown to fail. Each fault of the reference handler is one
//! realistic defect; the check it exists for, and no other, must flag it, on exactly the cases
//! the defect concerns, at the level the defect deserves: a `must` fails the run, a `should`
//! warns (and fails it with --strict).

mod common;

use common::collect;

use std::collections::BTreeSet;

use b24_conform::checks;
use b24_conform::install::{self, InstallForm};
use b24_conform::payload::Family;
use b24_conform::record::{CaseOutcome, Outcome};
use b24_conform::reference::Fault;
use b24_conform::report::RunReport;
use b24_conform::run::{Handler, RunConfig};
use b24_conform::snapshot::{self, SnapshotConfig};
use b24_conform::suite::{Level, SuiteSource};

/// Held by the zoo's long tests, one at a time: each runs the catalog dozens of times (the
/// browser's several Chromiums besides), and together on two cores they pushed right pages past
/// the latency budget, a warning the zoo counts as a wrong check.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The run of the built-in catalog of the placement family whose pages a fault spoils (the
/// settings page's, unless the fault is the block item's).
fn config_for(handler: Handler) -> RunConfig {
    // slow-page holds every page 3.2 s: fire them all at once. Others keep the default, so
    // that a loaded machine does not slow answers past the latency budget.
    let slow = handler == Handler::Builtin(Some(Fault::SlowPage));
    let jobs = if slow { 256 } else { 8 };
    let family = match handler {
        Handler::Builtin(Some(fault)) => fault.family(),
        _ => Family::Settings,
    };
    // Shrinking failing draws is tested in tests/generate.rs; here it would only cost time.
    let mut config =
        RunConfig { jobs, shrink_budget: 0, suites: vec![SuiteSource::Builtin(family)], ..RunConfig::new(handler) };
    // Only slow-page is about latency: for the others a machine loaded by the parallel runs of
    // this zoo must not push a debug build's answer past the 3 s budget and flag it.
    if !slow {
        config.settings.latency_budget = std::time::Duration::from_secs(60);
    }
    config
}

async fn run_against(handler: Handler) -> RunReport {
    collect(&config_for(handler)).await.expect("the run happens")
}

/// The clean run of one family's catalog.
async fn clean(family: Family) -> RunReport {
    let config = RunConfig { suites: vec![SuiteSource::Builtin(family)], ..config_for(Handler::Builtin(None)) };
    collect(&config).await.expect("the run happens")
}

/// The reviewed snapshots of the reference handler, read-only.
fn reviewed() -> SnapshotConfig {
    SnapshotConfig::new(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"))
}

async fn run_with_snapshots(handler: Handler, suites: Vec<SuiteSource>) -> RunReport {
    let config = RunConfig { snapshots: Some(reviewed()), shrink_budget: 0, suites, ..RunConfig::new(handler) };
    collect(&config).await.expect("the run happens")
}

fn settings() -> Vec<SuiteSource> {
    vec![SuiteSource::Builtin(Family::Settings)]
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

/// The named cases a fault must fail — exactly these — or "every case the right handler
/// answers 2xx" for the faults that spoil every page. Generated cases are random requests: any
/// malformed draw may trip a defect, and valid draws may where the defect is in the valid space.
enum Concerns {
    Cases(&'static [&'static str]),
    /// These named cases, and valid draws too.
    ValidSpace(&'static [&'static str]),
    EveryPage,
    /// Every such page but these.
    EveryPageBut(&'static [&'static str]),
    /// Every placement case opened in the browser (`--browser`): the accepted ones.
    EveryFrame,
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
            "placement/IM_NAVIGATION",
            "placement/LEFT_MENU",
            "placement/PAGE_BACKGROUND_WORKER",
            "placement/SONET_GROUP_DETAIL_TAB",
            "placement/TASK_VIEW_TAB",
            "placement/USER_PROFILE_MENU",
        ]),
        Fault::GetServesPage => Cases(&["request/GET"]),
        Fault::RequiresAppToken => ValidSpace(&["valid/legacy-portal"]),
        Fault::LangAllowlist => Cases(&["lang/unknown"]),
        Fault::StatusAllowlist => ValidSpace(&["status/S"]),
        Fault::AppSid500 => Cases(&[
            "app-sid/not-hex",
            "app-sid/long",
            "inject/APP_SID/attribute",
            "inject/APP_SID/crlf",
            "inject/APP_SID/markup",
            "inject/APP_SID/script",
            "inject/APP_SID/script-url",
            "inject/APP_SID/sql",
            "inject/APP_SID/traversal",
        ]),
        Fault::ScopeAssert500 => Cases(&["scope/without-landing"]),
        Fault::Duplicate500 => {
            Cases(&["duplicate/DOMAIN", "duplicate/member_id", "duplicate/PLACEMENT", "duplicate/AUTH_ID"])
        }
        Fault::PhpArray500 => Cases(&[
            "options/php-array",
            "php-array/LANG",
            "php-array/member_id",
            "php-array/PLACEMENT",
            "php-array/status",
            "php-array/AUTH_ID",
        ]),
        Fault::BodyLimit500 => Cases(&[
            "oversize/AUTH_ID-64KiB",
            "oversize/AUTH_ID-1MiB",
            "oversize/REFRESH_ID-64KiB",
            "oversize/REFRESH_ID-1MiB",
            "oversize/PLACEMENT_OPTIONS-64KiB",
            "oversize/PLACEMENT_OPTIONS-1MiB",
        ]),
        Fault::AuthExpires500 => Cases(&["auth-expires/fraction", "auth-expires/huge", "auth-expires/non-numeric"]),
        Fault::InvalidUtf8500 => Cases(&[
            "encoding/LANG-invalid-utf8",
            "encoding/member_id-invalid-utf8",
            "encoding/PLACEMENT-invalid-utf8",
            "encoding/PLACEMENT_OPTIONS-invalid-utf8",
        ]),
        Fault::LangMarkup500 => Cases(&["inject/LANG/markup", "inject/LANG/script"]),
        Fault::NoRefresh => Cases(&["token/expired", "token/invalid", "token/expiring", "token/revoked"]),
        // The journeys install the app again: the same defect shows there.
        Fault::NoBind => Cases(&["install/onappinstall", "lifecycle/forged-uninstall/step-1-install"]),
        // The installer's token, used for every user, shows up after the installation was answered.
        Fault::InstallerToken => Cases(&["install/onappinstall", "lifecycle/forged-uninstall/step-1-install"]),
        // The forged event removes the installation: the portal's next request is refused.
        Fault::UninstallIgnoresAppToken => Cases(&["lifecycle/forged-uninstall/step-3-case"]),
        // The installation outlives the genuine event: the page is still served.
        Fault::ServesAfterUninstall => Cases(&["lifecycle/uninstall/step-3-case"]),
        Fault::TrustsDomain => Cases(&["domain/foreign"]),
        // Context decides: the same probes elsewhere are inert (markup inside a quoted attribute).
        Fault::ReflectsLang => Cases(&["inject/LANG/attribute"]),
        Fault::LangInScript => Cases(&["inject/LANG/script", "inject/LANG/sql"]),
        Fault::OptionsUnescaped => Cases(&["inject/options.SITE_ID/markup", "inject/options.SITE_ID/script"]),
        Fault::TrustsUri => Cases(&["inject/options.URI/script-url"]),
        // The portal's overload, passed on: only the case where the portal is overloaded.
        Fault::RateLimit502 => Cases(&["token/rate-limited"]),
        // The block suite: the blocks the portal does not give the user are served anyway.
        Fault::IgnoresBlockRights => Cases(&["block/rights/unavailable", "block/rights/zero"]),
        // The heading shows CODE: markup and a script break out of it; the other probes are inert text.
        Fault::BlockCodeUnescaped => Cases(&["block/inject/options.CODE/markup", "block/inject/options.CODE/script"]),
        Fault::JsonPage | Fault::ForbidsFraming | Fault::SlowPage | Fault::PageTypo | Fault::CallsUnknownMethod => {
            EveryPage
        }
        // The hand-over replaces every page whose AUTH_ID fits in a URL; where AUTH_ID is a probe
        // or a second value, what leaves is not the case's token.
        // The frame's script runs in every frame; the installation page has one of its own.
        Fault::FrameNeverInits | Fault::FrameThrows | Fault::FrameBlank | Fault::FrameTokenElsewhere => EveryFrame,
        Fault::FrameNoInstallFinish => Cases(&["install/frame"]),
        // Only a frame whose own call meets expired_token: the browser zoo's one case of it.
        Fault::FrameIgnoresRefresh => Cases(&["frame/expired"]),
        Fault::RedirectTokenElsewhere => EveryPageBut(&[
            "oversize/AUTH_ID-64KiB",
            "oversize/AUTH_ID-1MiB",
            "duplicate/AUTH_ID",
            "inject/AUTH_ID/attribute",
            "inject/AUTH_ID/crlf",
            "inject/AUTH_ID/markup",
            "inject/AUTH_ID/script",
            "inject/AUTH_ID/script-url",
            "inject/AUTH_ID/sql",
            "inject/AUTH_ID/traversal",
        ]),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_handler_passes_every_case() {
    let report = run_with_snapshots(Handler::Builtin(None), settings()).await;
    assert!(report.summary.cases >= 120, "{:?}", report.summary);
    assert_eq!(report.summary.passed, report.summary.cases, "{}", common::human(&report));
    assert_eq!(report.exit_code(), 0);
}

/// The second placement family: its catalog, its reviewed snapshots, the same checks.
#[tokio::test(flavor = "multi_thread")]
async fn the_reference_handler_passes_every_block_case() {
    let report = run_with_snapshots(Handler::Builtin(None), vec![SuiteSource::Builtin(Family::Block)]).await;
    assert!(report.summary.cases >= 80, "{:?}", report.summary);
    assert_eq!(report.summary.passed, report.summary.cases, "{}", common::human(&report));
    assert_eq!(report.exit_code(), 0);
    // Every block case went to the block item the installation bound, and it read the block.
    let block = report.cases.iter().find(|c| c.id == "block/valid/documented-example").expect("the example");
    assert!(block.request.url.contains("/landing-block?"), "{}", block.request.url);
    assert!(block.portal_calls.iter().any(|c| c.method == "landing.block.getbyid" && c.succeeded()));
}

#[tokio::test(flavor = "multi_thread")]
async fn each_fault_trips_its_check_only_and_on_the_cases_it_concerns() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut pages: Vec<(Family, BTreeSet<String>)> = Vec::new();
    for family in Family::ALL {
        let clean = clean(family).await;
        let answered = clean
            .cases
            .iter()
            // The installation's and the removal's answers are not pages: nothing shows them.
            .filter(|c| {
                c.id != install::InstallForm::Event.case_id()
                    && !c.id.ends_with("-install")
                    && !c.id.ends_with("-uninstall")
                    && c.response.as_ref().is_some_and(|r| (200..300).contains(&r.status))
            })
            .map(|c| c.id.clone())
            .collect();
        pages.push((family, answered));
    }
    for &fault in Fault::ALL {
        let pages = &pages.iter().find(|(f, _)| *f == fault.family()).expect("every family's clean run").1;
        // A snapshot records the whole exchange, so every fault that changes an answer changes
        // one; it is judged only for its own fault, where no semantic check sees a difference.
        let report = if fault.check() == snapshot::CHECK_ID {
            run_with_snapshots(Handler::Builtin(Some(fault)), settings()).await
        } else {
            run_against(Handler::Builtin(Some(fault))).await
        };
        let name = fault.name();
        // Without a browser nothing runs the pages' script: its faults change no verdict
        // (the browser's zoo below judges them).
        if fault.in_frame() {
            assert_eq!(failing_checks(&report), BTreeSet::new(), "fault {name} without a browser");
            assert_eq!(report.exit_code(), 0, "fault {name} without a browser");
            continue;
        }
        assert_eq!(failing_checks(&report), BTreeSet::from([fault.check()]), "fault {name}");
        let named =
            |set: &BTreeSet<String>| set.iter().filter(|id| !id.contains('#')).cloned().collect::<BTreeSet<_>>();
        let failed = failing_cases(&report);
        let (expected, valid_draws) = match concerns(fault) {
            Concerns::Cases(list) => (ids(list), false),
            Concerns::ValidSpace(list) => (ids(list), true),
            Concerns::EveryPage => (named(pages), true),
            Concerns::EveryPageBut(but) => (named(pages).difference(&ids(but)).cloned().collect(), true),
            Concerns::EveryFrame => unreachable!("fault {name}: judged in the browser's zoo"),
        };
        assert_eq!(named(&failed), expected, "fault {name}");
        let stray = failed.iter().find(|id| id.contains("valid/generated#") && !valid_draws);
        assert!(stray.is_none(), "fault {name} fails a valid draw: {stray:?}");
        // The level of the defect is the highest level of the verdicts it fails.
        let levels: BTreeSet<Level> = report.cases.iter().flat_map(|c| c.failures()).map(|v| v.level).collect();
        assert_eq!(levels.first(), Some(&fault.level()), "fault {name}");
        if fault == Fault::CallsUnknownMethod {
            // Not the handler's fault: the harness does not know the method it called.
            let judged = report.cases.iter().filter(|c| c.failures().next().is_some());
            assert!(judged.clone().all(|c| c.outcome == CaseOutcome::NotModelled), "fault {name}");
            assert_eq!(report.summary.not_modelled, failed.len(), "fault {name}");
            assert_eq!(report.exit_code(), 0, "fault {name}");
            continue;
        }
        match fault.level() {
            Level::Must => assert_eq!(report.exit_code(), 1, "fault {name}"),
            // A warning fails the run only with --strict.
            Level::Should => {
                assert_eq!(report.exit_code(), 0, "fault {name}");
                assert_eq!(report.summary.warned, failed.len(), "fault {name}: {:?}", report.summary);
                let mut strict = config_for(Handler::Builtin(Some(fault)));
                strict.settings.strict = true;
                let strict = collect(&strict).await.expect("the run happens");
                let s = &strict.summary;
                assert!(s.failed > 0 && s.warned == 0 && strict.exit_code() == 1, "fault {name} --strict: {s:?}");
            }
        }
    }
}

/// The frame faults, in a browser (`--browser`): the valid cases, the installation page in its
/// frame and a frame whose token has expired. The clean handler passes every frame check; each
/// frame fault fails its check and no other, on exactly the cases it concerns.
#[tokio::test(flavor = "multi_thread")]
async fn each_frame_fault_trips_its_check_only_in_a_browser() {
    let _alone = ONE_AT_A_TIME.lock().await;
    if common::chromium().is_none() {
        return;
    }
    let config = |fault| RunConfig {
        browser: true,
        install_form: InstallForm::Frame,
        // The catalog opens no frame whose token has expired: fixtures/suites/frame.toml does.
        suites: vec![SuiteSource::Builtin(Family::Settings), common::frame_suite()],
        filters: vec!["valid/*".to_owned(), "install/frame".to_owned(), "frame/expired".to_owned()],
        ..config_for(Handler::Builtin(fault))
    };
    let clean = collect(&config(None)).await.expect("the run happens");
    assert_eq!(clean.summary.passed, clean.summary.cases, "{}", common::human(&clean));
    let framed = |id: &str| clean.cases.iter().find(|c| c.id == id).and_then(|c| c.frame.as_ref());
    // The checks were exercised, not skipped: the installation finished, the expired token refreshed.
    let verdict = |id: &str, check: &str| {
        let case = clean.cases.iter().find(|c| c.id == id).expect("the case ran");
        case.checks.iter().find(|v| v.id == check).map(|v| v.outcome)
    };
    assert_eq!(verdict("install/frame", "frame-install-finish"), Some(Outcome::Pass));
    assert_eq!(verdict("frame/expired", "frame-refresh-auth"), Some(Outcome::Pass));
    assert!(framed("install/frame").is_some() && framed("frame/expired").is_some());
    let every_frame: BTreeSet<String> = clean
        .cases
        .iter()
        .filter(|c| c.frame.is_some() && c.id != InstallForm::Frame.case_id())
        .map(|c| c.id.clone())
        .collect();
    assert!(every_frame.len() >= 3, "{every_frame:?}");
    for &fault in Fault::ALL.iter().filter(|f| f.in_frame()) {
        let name = fault.name();
        let report = collect(&config(Some(fault))).await.expect("the run happens");
        assert_eq!(
            failing_checks(&report),
            BTreeSet::from([fault.check()]),
            "fault {name}: {}",
            common::human(&report)
        );
        let expected = match concerns(fault) {
            Concerns::Cases(list) => ids(list),
            Concerns::EveryFrame => every_frame.clone(),
            _ => unreachable!("fault {name}: a frame fault concerns frames"),
        };
        assert_eq!(failing_cases(&report), expected, "fault {name}");
        let levels: BTreeSet<Level> = report.cases.iter().flat_map(|c| c.failures()).map(|v| v.level).collect();
        assert_eq!(levels.first(), Some(&fault.level()), "fault {name}");
        let code = if fault.level() == Level::Must { 1 } else { 0 };
        assert_eq!(report.exit_code(), code, "fault {name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_makes_warnings_fail_the_run() {
    let handler = Handler::Builtin(Some(Fault::SlowPage));
    let mut config = RunConfig { jobs: 8, filters: vec!["valid/documented-example".into()], ..RunConfig::new(handler) };
    let relaxed = collect(&config).await.expect("the run happens");
    assert_eq!((relaxed.summary.warned, relaxed.exit_code()), (1, 0));
    assert_eq!(relaxed.cases[0].outcome, CaseOutcome::Warn);
    let warning = relaxed.cases[0].failures().next().expect("a failed check");
    assert_eq!((warning.id, warning.level), ("latency-budget", Level::Should));
    config.settings.strict = true;
    let strict = collect(&config).await.expect("the run happens");
    assert_eq!((strict.summary.failed, strict.exit_code()), (1, 1));
    assert_eq!(strict.cases[0].failures().next().map(|v| v.level), Some(Level::Must));
    // A budget above the delay passes it.
    config.settings.latency_budget = std::time::Duration::from_secs(10);
    assert_eq!(collect(&config).await.expect("the run happens").exit_code(), 0);
}

/// A handler that calls a method the mock portal does not model, and fails for it, is not failed:
/// the case says which method, and the run passes, even with --strict.
#[tokio::test(flavor = "multi_thread")]
async fn a_case_the_harness_does_not_model_fails_no_run() {
    let mut config = config_for(Handler::Builtin(Some(Fault::CallsUnknownMethod)));
    config.filters = vec!["valid/documented-example".into()];
    config.settings.strict = true;
    let report = collect(&config).await.expect("the run happens");
    let case = &report.cases[0];
    assert_eq!(case.outcome, CaseOutcome::NotModelled);
    assert_eq!(case.not_modelled.as_deref(), Some("not modelled by the harness: no.such.method"));
    assert!(case.portal_calls.iter().any(|c| c.method == "no.such.method" && !c.modelled), "{:?}", case.portal_calls);
    assert!(case.failures().any(|v| v.id == "no-server-error"), "{:?}", case.checks);
    assert_eq!((report.summary.not_modelled, report.summary.failed, report.exit_code()), (1, 0, 0));
    let text = common::human(&report);
    assert!(text.contains("0 failed, 0 errored; 0 checks not exercised, 1 case not modelled (seed 24, "), "{text}");
}

#[test]
fn every_check_has_a_fault_that_proves_it() {
    let proven: BTreeSet<_> = Fault::ALL.iter().map(|f| f.check()).collect();
    let shipped: BTreeSet<_> = checks::ALL.iter().map(|c| c.id).collect();
    assert_eq!(proven, shipped);
}

/// Issue 5's acceptance: one character flipped in the page fails the `snapshot` check of exactly
/// the cases whose answer shows that page, and the diff points at the character.
#[tokio::test(flavor = "multi_thread")]
async fn a_flipped_character_fails_the_snapshots_of_exactly_the_pages_that_show_it() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let clean = run_against(Handler::Builtin(None)).await;
    let showing: BTreeSet<String> = clean
        .cases
        .iter()
        .filter(|c| c.response.as_ref().is_some_and(|r| r.body.text().contains("<h1>Settings of")))
        .map(|c| c.id.clone())
        .collect();
    assert!(showing.len() >= 10, "{showing:?}");
    assert!(showing.len() < clean.cases.len(), "some cases must show other pages");

    let typo = run_with_snapshots(Handler::Builtin(Some(Fault::PageTypo)), settings()).await;
    let failed: BTreeSet<String> =
        typo.cases.iter().filter(|c| c.failures().next().is_some()).map(|c| c.id.clone()).collect();
    assert_eq!(failed, showing);
    for case in typo.cases.iter().filter(|c| showing.contains(&c.id)) {
        let failures: Vec<_> = case.failures().collect();
        assert_eq!(failures.len(), 1, "{}: {failures:?}", case.id);
        let message = &failures[0].message;
        assert_eq!(failures[0].id, snapshot::CHECK_ID);
        // The heading's line, before and after, and a caret under the one character.
        let lines: Vec<&str> = message.lines().collect();
        let added = lines.iter().position(|l| l.starts_with('+') && l.contains("<h1>Settinqs of")).expect(message);
        assert_eq!(lines[added - 1], lines[added].replacen('+', "-", 1).replace("Settinqs", "Settings"), "{message}");
        let column = lines[added].find("Settinqs").expect(message) + "Settin".len();
        assert_eq!(lines[added + 1], format!("?{}^", " ".repeat(column - 1)), "{message}");
    }
}
