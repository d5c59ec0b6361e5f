//! `--install-url`: the run installs the app the way Bitrix24 does (ONAPPINSTALL), checks that it
//! bound LANDING_SETTINGS, and then fires the cases at the handler it bound.

use b24_conform::install;
use b24_conform::reference::{Credentials, Reference};
use b24_conform::run::{Handler, RunConfig, run};

#[tokio::test(flavor = "multi_thread")]
async fn an_app_given_by_url_is_installed_first_and_its_bound_handler_serves_the_cases() {
    let credentials = Credentials { client_id: "local.app".into(), client_secret: "secret".into() };
    let app = Reference::start(credentials, None).await.unwrap();
    // --handler points nowhere useful: the cases must go where the installation bound them.
    let mut config = RunConfig::new(Handler::Url(format!("{}-unused", app.url()).parse().unwrap()));
    config.install_url = Some(app.install_url().parse().unwrap());
    config.filters =
        vec![install::CASE_ID.to_owned(), "valid/documented-example".to_owned(), "token/expired".to_owned()];
    let report = run(&config, |_| {}).await.expect("the run happens");
    assert_eq!(report.summary.passed, 3, "{}", b24_conform::report::render_human(&report));
    let installed = &report.cases[0];
    assert_eq!(installed.id, install::CASE_ID);
    let bind = installed.portal_calls.iter().find(|c| c.method == "landing.repo.bind").expect("the app bound");
    let binding = bind.binding.as_ref().unwrap();
    assert_eq!((binding.placement.as_str(), binding.handler.as_str()), ("LANDING_SETTINGS", app.url().as_str()));
    assert!(report.cases[1].request.url.starts_with(&app.url()), "{}", report.cases[1].request.url);
}
