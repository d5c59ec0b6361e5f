//! Calls are matched to cases by token lineage, not by time: under heavy concurrency every
//! upstream call still lands in exactly one case, the one whose token it carried.

mod common;

use common::collect;

use b24_conform::record::{Endpoint, Role, TokenRole};
use b24_conform::run::{Handler, RunConfig};
use b24_conform::suite::Draw;

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_cases_at_32_jobs_attribute_every_call_to_exactly_one_case() {
    let mut config = RunConfig::new(Handler::Builtin(None));
    config.filters = vec!["valid/generated#*".to_owned()];
    config.draw = Draw { seed: 24, count: Some(1000), ..Draw::default() };
    config.jobs = 32;
    let report = collect(&config).await.expect("the run happens");
    assert_eq!((report.summary.cases, report.summary.passed), (1000, 1000), "{:?}", report.summary);
    assert!(report.unattributed.is_empty(), "calls with no token of the run: {:?}", report.unattributed);
    // The reference handler makes two calls a case with the given token; each case holds its
    // own two, in order, so the 2 000 calls are split one case each.
    for case in &report.cases {
        let calls: Vec<_> =
            case.portal_calls.iter().map(|c| (c.portal, c.endpoint, c.method.as_str(), c.token, c.late)).collect();
        assert_eq!(
            calls,
            [
                (Role::Home, Endpoint::Rest, "user.current", TokenRole::Given, false),
                (Role::Home, Endpoint::Rest, "landing.site.getlist", TokenRole::Given, false)
            ],
            "{}",
            case.id
        );
    }
}

/// A call that carries no token of the run belongs to no case: the report lists it apart, with
/// the portal's answer (`NO_AUTH_FOUND` for no token at all).
#[tokio::test(flavor = "multi_thread")]
async fn calls_without_a_token_of_the_run_are_reported_apart() {
    use axum::extract::Query;
    use std::collections::HashMap;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/settings", listener.local_addr().unwrap());
    // Calls the portal DOMAIN names, forgetting the token.
    let page = |Query(query): Query<HashMap<String, String>>| async move {
        let domain = query.get("DOMAIN").cloned().unwrap_or_default();
        let _ = b24_conform::fire::client().get(format!("http://{domain}/rest/user.current.json")).send().await;
        axum::response::Html("<p>Settings</p>")
    };
    let server = tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(page)).await });
    let mut config = RunConfig::new(Handler::Url(url.parse().unwrap()));
    config.filters = vec!["valid/documented-example".to_owned()];
    let report = collect(&config).await.expect("the run happens");
    server.abort();
    assert!(report.cases[0].portal_calls.is_empty());
    let stray: Vec<_> = report.unattributed.iter().map(|c| (c.method.as_str(), c.token, c.error.as_deref())).collect();
    assert_eq!(stray, [("user.current", TokenRole::None, Some("NO_AUTH_FOUND"))]);
    let human = common::human(&report);
    assert!(human.contains("home: GET user.current, no token → 401 NO_AUTH_FOUND"), "{human}");
}
