//! A handler that never calls the portal is not failed by the checks that judge its calls, nor
//! passed by them: where a right handler would have called, they report "not exercised", say
//! why, and the summary counts them; where none would, they skip.

mod common;

use common::collect;

use axum::Router;
use axum::http::header;
use b24_conform::record::Outcome;
use b24_conform::run::{Handler, RunConfig};
use b24_conform::suite::{Expectation, TokenState};

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_that_never_calls_the_portal_leaves_the_token_checks_not_exercised() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/settings", listener.local_addr().unwrap());
    let page = || async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], "<!doctype html><p>Settings</p>") };
    let server = tokio::spawn(async move { axum::serve(listener, Router::new().fallback(page)).await });
    let mut config = RunConfig::new(Handler::Url(url.parse().unwrap()));
    config.filters = vec!["valid/*".to_owned(), "token/*".to_owned(), "missing/member_id".to_owned()];
    let cases = b24_conform::run::cases(&config).expect("the cases");
    let report = collect(&config).await.expect("the run happens");
    server.abort();
    assert!(report.summary.cases >= 10, "{:?}", report.summary);
    // A vacuous pass is still no failure; missing/member_id is served, so it fails.
    assert_eq!(report.summary.passed, report.summary.cases - 1, "{}", common::human(&report));
    let mut idle = 0;
    for ((_, case), reported) in cases.iter().zip(&report.cases) {
        assert_eq!(case.id, reported.id);
        assert!(reported.portal_calls.is_empty(), "{}", case.id);
        let outcome = |id: &str| {
            let verdict = reported.checks.iter().find(|v| v.id == id).expect("every check judges every case");
            assert!(!verdict.message.is_empty(), "{} {id} says why", case.id);
            verdict.outcome
        };
        let refusable = matches!(
            case.token,
            TokenState::Expired | TokenState::Expiring | TokenState::Invalid | TokenState::Revoked
        );
        let expected = |applies: bool| if applies { Outcome::NotExercised } else { Outcome::Skip };
        // Accept and token cases need a call; others (a reject case, a tolerated absent
        // PLACEMENT_OPTIONS) may be answered without one.
        let calls_needed = case.expect == Expectation::Accept || case.token != TokenState::Valid;
        assert_eq!(outcome("uses-given-token"), expected(calls_needed), "{}", case.id);
        assert_eq!(outcome("refreshes-expired-token"), expected(refusable), "{}", case.id);
        assert_eq!(outcome("binds-landing-settings"), Outcome::Skip, "{}", case.id);
        idle += usize::from(calls_needed) + usize::from(refusable);
    }
    assert_eq!(report.summary.not_exercised, idle);
    let text = common::human(&report);
    assert!(text.contains(&format!("; {idle} checks not exercised, 0 cases not modelled (seed 24, ")), "{text}");
    assert!(text.contains("uses-given-token not exercised: the handler made no call"), "{text}");
}
