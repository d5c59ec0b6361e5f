//! Calls are matched to cases by token lineage, not by time: under heavy concurrency every
//! upstream call still lands in exactly one case, the one whose token it carried.

use b24_conform::portal::{Endpoint, Role, TokenRole};
use b24_conform::run::{Handler, RunConfig, run};
use b24_conform::suite::Draw;

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_cases_at_32_jobs_attribute_every_call_to_exactly_one_case() {
    let mut config = RunConfig::new(Handler::Builtin(None));
    config.filters = vec!["valid/generated#*".to_owned()];
    config.draw = Draw { seed: 24, count: Some(1000) };
    config.jobs = 32;
    let report = run(&config, |_| {}).await.expect("the run happens");
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
