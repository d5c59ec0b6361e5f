//! `--install-url`: the run installs the app the way Bitrix24 does (ONAPPINSTALL), checks that it
//! bound LANDING_SETTINGS, and then fires the cases at the handler it bound.

use b24_conform::install::{self, InstallForm};
use b24_conform::reference::{Credentials, Reference};
use b24_conform::run::{Handler, RunConfig, run};

#[tokio::test(flavor = "multi_thread")]
async fn an_app_given_by_url_is_installed_first_and_its_bound_handler_serves_the_cases() {
    let credentials = Credentials { client_id: "local.app".into(), client_secret: "secret".into() };
    let app = Reference::start(credentials, None, None).await.unwrap();
    // --handler points nowhere useful: the cases must go where the installation bound them.
    let mut config = RunConfig::new(Handler::Url(format!("{}-unused", app.url()).parse().unwrap()));
    config.install_url = Some(app.install_url().parse().unwrap());
    config.filters = vec![
        install::InstallForm::Event.case_id().to_owned(),
        "valid/documented-example".to_owned(),
        "token/expired".to_owned(),
    ];
    let report = run(&config, |_| {}).await.expect("the run happens");
    assert_eq!(report.summary.passed, 3, "{}", b24_conform::report::render_human(&report));
    let installed = &report.cases[0];
    assert_eq!(installed.id, install::InstallForm::Event.case_id());
    let bind = installed.portal_calls.iter().find(|c| c.method == "landing.repo.bind").expect("the app bound");
    let binding = bind.binding.as_ref().unwrap();
    assert_eq!((binding.placement.as_str(), binding.handler.as_str()), ("LANDING_SETTINGS", app.url().as_str()));
    assert!(report.cases[1].request.url.starts_with(&app.url()), "{}", report.cases[1].request.url);
}

/// An app with a page is installed through its installation page, opened in a frame with the
/// usual POST (simple-way.md); its answer is a page, and the same checks hold.
#[tokio::test(flavor = "multi_thread")]
async fn the_installation_page_form_installs_the_app_too() {
    let mut config = RunConfig::new(Handler::Builtin(None));
    config.install_form = InstallForm::Frame;
    config.filters = vec!["install/*".to_owned(), "valid/documented-example".to_owned()];
    let report = run(&config, |_| {}).await.expect("the run happens");
    assert_eq!(report.summary.passed, 2, "{}", b24_conform::report::render_human(&report));
    let installed = &report.cases[0];
    assert_eq!(installed.id, "install/frame");
    assert!(installed.request.url.contains("DOMAIN=") && !installed.request.url.contains("event"));
    let html = installed.checks.iter().find(|v| v.id == "html-response").unwrap();
    assert_eq!(html.outcome, b24_conform::checks::Outcome::Pass, "the installation page is a page: {}", html.message);
    let bound = installed.checks.iter().find(|v| v.id == "binds-landing-settings").unwrap();
    assert_eq!(bound.outcome, b24_conform::checks::Outcome::Pass, "{}", bound.message);
}
