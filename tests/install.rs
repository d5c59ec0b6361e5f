//! `--install-url`: the run installs the app the way Bitrix24 does (ONAPPINSTALL), checks that it
//! bound LANDING_SETTINGS, and then fires the cases at the handler it bound.

mod common;

use common::collect;

use b24_conform::install::{self, InstallForm};
use b24_conform::portal::OauthClient;
use b24_conform::reference::{Credentials, Reference};
use b24_conform::run::{Handler, RunConfig};

#[tokio::test(flavor = "multi_thread")]
async fn an_app_given_by_url_is_installed_first_and_its_bound_handler_serves_the_cases() {
    // The app knows its OAuth client, as the portal does: token/expired refreshes with it.
    let client = OauthClient::default();
    let credentials = Credentials { client_id: client.id.clone(), client_secret: client.secret.clone() };
    let app = Reference::start(credentials, None, None).await.unwrap();
    // --handler points nowhere useful: the cases must go where the installation bound them.
    let mut config = RunConfig::new(Handler::Url(format!("{}-unused", app.url()).parse().unwrap()));
    config.portal.client = client;
    config.install_url = Some(app.install_url().parse().unwrap());
    config.filters = vec![
        install::InstallForm::Event.case_id().to_owned(),
        "valid/documented-example".to_owned(),
        "token/expired".to_owned(),
    ];
    let report = collect(&config).await.expect("the run happens");
    assert_eq!(report.summary.passed, 3, "{}", common::human(&report));
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
    let report = collect(&config).await.expect("the run happens");
    assert_eq!(report.summary.passed, 2, "{}", common::human(&report));
    let installed = &report.cases[0];
    assert_eq!(installed.id, "install/frame");
    assert!(installed.request.url.contains("DOMAIN=") && !installed.request.url.contains("event"));
    let html = installed.checks.iter().find(|v| v.id == "html-response").unwrap();
    assert_eq!(html.outcome, b24_conform::record::Outcome::Pass, "the installation page is a page: {}", html.message);
    let bound = installed.checks.iter().find(|v| v.id == "binds-landing-settings").unwrap();
    assert_eq!(bound.outcome, b24_conform::record::Outcome::Pass, "{}", bound.message);
}

/// The ONAPPINSTALL the run posts parses as the official SDKs parse it: b24pysdk
/// `OAuthEventData.from_dict` (event, int(event_handler_id), int(ts), and `auth` through
/// `EventOAuth`: member_id, client_endpoint, server_endpoint, domain, application_token,
/// int(user_id), status one of B24AppStatus, and `OAuthToken.from_dict`: int(expires),
/// int(expires_in)); on-app-install.md's required data[VERSION], data[ACTIVE], data[INSTALLED],
/// data[LANGUAGE_ID]. The values agree with the installation: its APPLICATION_TOKEN and status,
/// the OAuth server as server_endpoint, and a current ts.
#[test]
fn the_install_event_has_every_field_the_sdks_parse() {
    use b24_conform::portal::Portal;

    let home = "127.0.0.1:48624".parse().unwrap();
    let binding = Portal::binding_at(home, "127.0.0.1:48625".parse().unwrap());
    let case = install::case(InstallForm::Event, b24_conform::payload::Family::Settings);
    let request = install::request(&case, InstallForm::Event, &binding, &"http://127.0.0.1:9/install".parse().unwrap());
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&request.body.bytes).into_owned().collect();
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "event",
            "event_handler_id",
            "data[VERSION]",
            "data[ACTIVE]",
            "data[INSTALLED]",
            "data[LANGUAGE_ID]",
            "ts",
            "auth[access_token]",
            "auth[expires]",
            "auth[expires_in]",
            "auth[scope]",
            "auth[domain]",
            "auth[server_endpoint]",
            "auth[status]",
            "auth[client_endpoint]",
            "auth[member_id]",
            "auth[user_id]",
            "auth[refresh_token]",
            "auth[application_token]"
        ]
    );
    let get = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap();
    let int = |name: &str| get(name).parse::<u64>().unwrap_or_else(|e| panic!("int({name}): {e}"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let ts = int("ts");
    assert!(ts.abs_diff(now) < 60, "ts is when the event is sent: {ts}");
    assert_eq!(int("auth[expires]"), ts + int("auth[expires_in]"));
    int("event_handler_id");
    int("auth[user_id]");
    assert!(["F", "D", "T", "P", "L", "S"].contains(&get("auth[status]")));
    assert_eq!((get("data[ACTIVE]"), get("data[INSTALLED]")), ("Y", "Y"));
    assert_eq!(get("auth[server_endpoint]"), "http://127.0.0.1:48626/rest/", "the OAuth server's, not the portal's");
    assert_eq!(get("auth[client_endpoint]"), "http://127.0.0.1:48624/rest/");
    assert_eq!(get("auth[member_id]"), binding.member_id);
    let example = b24_conform::payload::Payload::documented_example();
    assert_eq!(Some(get("auth[application_token]").to_owned()), example.application_token);
    assert_eq!(get("auth[status]"), example.status);
}
