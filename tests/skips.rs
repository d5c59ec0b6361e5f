//! A handler that never calls the portal is not failed by the checks that judge its calls: they
//! skip, and say why.

use axum::Router;
use axum::http::header;
use b24_conform::checks::Outcome;
use b24_conform::run::{Handler, RunConfig, run};

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_that_never_calls_the_portal_is_skipped_by_the_token_checks() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/settings", listener.local_addr().unwrap());
    let page = || async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], "<!doctype html><p>Settings</p>") };
    let server = tokio::spawn(async move { axum::serve(listener, Router::new().fallback(page)).await });
    let mut config = RunConfig::new(Handler::Url(url.parse().unwrap()));
    config.filters = vec!["valid/*".to_owned(), "token/*".to_owned()];
    let report = run(&config, |_| {}).await.expect("the run happens");
    server.abort();
    assert!(report.summary.cases >= 10, "{:?}", report.summary);
    assert_eq!(report.summary.passed, report.summary.cases, "{}", b24_conform::report::render_human(&report));
    for case in &report.cases {
        assert!(case.portal_calls.is_empty(), "{}", case.id);
        for id in ["refreshes-expired-token", "uses-given-token", "binds-landing-settings"] {
            let verdict = case.checks.iter().find(|v| v.id == id).expect("every check judges every case");
            assert_eq!(verdict.outcome, Outcome::Skip, "{} {id}: {}", case.id, verdict.message);
            assert!(!verdict.message.is_empty(), "{} {id} says why it skipped", case.id);
        }
    }
}
