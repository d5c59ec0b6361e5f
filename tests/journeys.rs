//! Journeys: the install lifecycle as suite data, steps in order, each judged as a case of its
//! own; the portal's side of it (app.info INSTALLED, event.bind, a removed app's tokens).

mod common;

use common::collect;

use b24_conform::fire;
use b24_conform::journey::forged_application_token;
use b24_conform::portal::Portal;
use b24_conform::record::{CaseOutcome, CaseReport, Outcome};
use b24_conform::report::RunReport;
use b24_conform::run::{Handler, RunConfig};
use b24_conform::suite::{self, Draw, SuiteSource, TokenState};
use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const STEPS: [&str; 6] = [
    "lifecycle/uninstall/step-1-case",
    "lifecycle/uninstall/step-2-uninstall",
    "lifecycle/uninstall/step-3-case",
    "lifecycle/forged-uninstall/step-1-install",
    "lifecycle/forged-uninstall/step-2-uninstall",
    "lifecycle/forged-uninstall/step-3-case",
];

async fn journeys(handler: Handler, install_url: Option<String>) -> RunReport {
    let mut config = RunConfig { shrink_budget: 0, ..RunConfig::new(handler) };
    config.filters = vec!["lifecycle/*".to_owned()];
    config.install_url = install_url.map(|u| u.parse().unwrap());
    collect(&config).await.expect("the run happens")
}

fn case<'a>(report: &'a RunReport, id: &str) -> &'a CaseReport {
    report.cases.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no case {id}"))
}

fn body(case: &CaseReport) -> String {
    case.request.body.text().into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_passes_both_journeys_step_by_step_under_stable_ids() {
    let report = journeys(Handler::Builtin(None), None).await;
    let ids: Vec<&str> = report.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, STEPS);
    assert_eq!(report.summary.passed, 6, "{}", common::human(&report));
    // The same ids, in the same order, on every run.
    let again = journeys(Handler::Builtin(None), None).await;
    assert_eq!(again.cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), STEPS);

    let genuine = body(case(&report, "lifecycle/uninstall/step-2-uninstall"));
    assert!(genuine.starts_with("event=ONAPPUNINSTALL&event_handler_id="), "{genuine}");
    assert!(genuine.contains("data%5BCLEAN%5D=0") && genuine.contains("auth%5Bmember_id%5D="), "{genuine}");
    // No token comes with the removal: the app is gone.
    assert!(!genuine.contains("access_token") && !genuine.contains("refresh_token"), "{genuine}");
    let forged = body(case(&report, "lifecycle/forged-uninstall/step-2-uninstall"));
    assert!(forged.contains(&format!("auth%5Bapplication_token%5D={}", forged_application_token())), "{forged}");
    assert!(!genuine.contains(&forged_application_token()));
    // After the removal the app refuses the portal's request without calling it; the forged
    // removal is refused and changes nothing.
    let after = case(&report, "lifecycle/uninstall/step-3-case");
    assert_eq!(after.response.as_ref().map(|r| r.status), Some(403));
    assert_eq!(
        case(&report, "lifecycle/forged-uninstall/step-2-uninstall").response.as_ref().map(|r| r.status),
        Some(403)
    );
    assert_eq!(case(&report, "lifecycle/forged-uninstall/step-3-case").response.as_ref().map(|r| r.status), Some(200));
}

/// An app that binds nothing at its installation gets no ONAPPUNINSTALL: those steps are not
/// exercised (every check skipped, saying why), the portal removes the app all the same, and an
/// app that still serves the page afterwards is flagged.
#[tokio::test(flavor = "multi_thread")]
async fn an_app_that_binds_no_uninstall_handler_is_not_exercised_there() {
    let app = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw("<p>hi</p>", "text/html"))
        .mount(&app)
        .await;
    let report = journeys(Handler::Url(app.uri().parse().unwrap()), Some(format!("{}/install", app.uri()))).await;
    for id in ["lifecycle/uninstall/step-2-uninstall", "lifecycle/forged-uninstall/step-2-uninstall"] {
        let step = case(&report, id);
        assert!(step.response.is_none() && step.reproduce.is_empty(), "{id} was sent");
        // What would have judged the answer is not exercised, and counted; the rest is skipped.
        let unexercised: Vec<&str> =
            step.checks.iter().filter(|v| v.outcome == Outcome::NotExercised).map(|v| v.id).collect();
        let expected: &[&str] =
            if id.contains("forged") { &["no-server-error"] } else { &["no-server-error", "accepts-valid"] };
        assert_eq!(unexercised, expected);
        assert!(step.checks.iter().all(|v| matches!(v.outcome, Outcome::NotExercised | Outcome::Skip)));
        assert_eq!(step.outcome, CaseOutcome::Pass);
        assert!(
            step.checks[0].message.contains("bound no ONAPPUNINSTALL handler with event.bind"),
            "{:?}",
            step.checks[0]
        );
    }
    let after = case(&report, "lifecycle/uninstall/step-3-case");
    assert_eq!(after.outcome, CaseOutcome::Warn, "a should: a warning");
    let failed: Vec<&str> = after.failures().map(|v| v.id).collect();
    assert_eq!(failed, ["rejects-invalid"]);
    let install = case(&report, "lifecycle/forged-uninstall/step-1-install");
    assert_eq!(install.failures().map(|v| v.id).collect::<Vec<_>>(), ["binds-landing-settings"]);
}

#[test]
fn journey_mistakes_are_refused_with_file_line_and_column() {
    let dir = std::env::temp_dir().join(format!("b24-conform-journeys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let head = "[suite]\nname = \"t\"\n[docs.d]\nkind = \"inference\"\nurl = \"docs/protocol.md\"\nquote = \"q\"\n[[case]]\nid = \"a\"\ntitle = \"t\"\ndoc = \"d\"\nlevel = \"must\"\nexpect = \"accept\"\n";
    let error = |steps: &str| {
        let path = dir.join("t.toml");
        std::fs::write(
            &path,
            format!(
                "{head}[[journey]]\nid = \"j\"\ntitle = \"t\"\ndoc = \"d\"\nlevel = \"must\"\nsteps = [\n{steps}\n]\n"
            ),
        )
        .unwrap();
        let error = suite::load(&[SuiteSource::File(path.clone())], &Draw::default()).unwrap_err().to_string();
        error.replace(&path.display().to_string(), "t.toml")
    };
    let message = error("{ do = \"dance\" }");
    assert!(
        message.starts_with("t.toml:19:8: unknown variant `dance`, expected one of `case`, `install`, `uninstall`"),
        "{message}"
    );
    let message = error("{ do = \"case\", case = \"nope\" }");
    assert!(message.starts_with("t.toml:19:23: unknown case `nope`"), "{message}");
    let message = error("{ do = \"case\" }");
    assert!(message.starts_with("t.toml:19:8: a `case` step names its case"), "{message}");
    let message = error("{ do = \"uninstall\", application_token = \"stolen\" }");
    assert!(message.contains("unknown variant `stolen`, expected `genuine` or `forged`"), "{message}");
    let message = error("{ do = \"case\", case = \"a\", application_token = \"forged\" }");
    assert!(message.contains("only an `uninstall` step takes application_token"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_shows_each_step_as_a_case() {
    let out = common::binary()
        .args(["list", "--filter", "lifecycle/uninstall/step-3-case"])
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    // Selecting one step selects its journey: the steps make sense only together.
    for id in &STEPS[..3] {
        assert!(stdout.contains(id), "{id} missing from {stdout}");
    }
    assert!(stdout.contains("after ONAPPUNINSTALL, the app no longer acts for the portal"), "{stdout}");
    assert!(!stdout.contains("forged-uninstall"), "{stdout}");
}

const AUTH: &str = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";
const REFRESH: &str = "r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0";

#[tokio::test]
async fn the_portal_says_installed_only_once_it_is_and_refuses_a_removed_apps_tokens() {
    let portal = Portal::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    portal.grant(0, AUTH, REFRESH, TokenState::Valid, None);
    let client = fire::client();
    let rest = portal.rest_url();
    let call = |method: &str| {
        let request = client.post(format!("{rest}{method}.json")).form(&[("auth", AUTH)]);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    portal.begin_installation();
    assert_eq!(call("app.info").await.1["result"]["INSTALLED"], false);
    let bind = client
        .post(format!("{rest}event.bind.json"))
        .form(&[("auth", AUTH), ("event", "onAppUninstall"), ("handler", "http://127.0.0.1:9/uninstall")])
        .send()
        .await
        .unwrap();
    assert_eq!(bind.status(), 200);
    portal.set_installed(true);
    assert_eq!(call("app.info").await.1["result"]["INSTALLED"], true);
    assert_eq!(portal.event_handlers().len(), 1);

    portal.mark_uninstalled();
    assert!(portal.event_handlers().is_empty(), "a removed app's handlers are forgotten");
    for method in ["app.info", "user.current", "batch"] {
        let (status, body) = call(method).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("APPLICATION_NOT_FOUND")), "{method}: {body}");
    }
    // A token the portal never issued is still just invalid.
    let unknown = client.get(format!("{rest}user.current?auth=nope")).send().await.unwrap();
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"], "invalid_token");
    let app = portal.client();
    let refresh = client
        .post(portal.oauth_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", REFRESH),
            ("client_id", app.id.as_str()),
            ("client_secret", app.secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 401);
    assert_eq!(refresh.json::<Value>().await.unwrap()["error"], "NOT_INSTALLED");
    // A new installation starts afresh.
    portal.begin_installation();
    assert_eq!(call("user.current").await.0, 200);
}

/// A handler installed by hand (no --install-url), written as the docs show and unaware of
/// ONAPPUNINSTALL: the removal is not exercised, the re-installation neither (the portal takes
/// the app as installed again by hand), and nothing fails the run — at most a warning for
/// passing the portal's APPLICATION_NOT_FOUND on after the removal.
#[tokio::test(flavor = "multi_thread")]
async fn a_handler_installed_by_hand_is_not_failed_by_the_journeys() {
    let port = (20_000 + (std::process::id() % 400) as u16 * 30..)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/handlers/landing_settings.py");
    let mut config = RunConfig {
        shrink_budget: 0,
        handler_cmd: Some(format!("python3 '{}' {port}", fixture.display())),
        ..RunConfig::new(Handler::Url(format!("http://127.0.0.1:{port}/").parse().unwrap()))
    };
    config.filters = vec!["lifecycle/*".to_owned()];
    let report = collect(&config).await.expect("the run happens");
    let text = common::human(&report);
    assert_eq!(report.exit_code(), 0, "{text}");
    let install = case(&report, "lifecycle/forged-uninstall/step-1-install");
    assert!(install.response.is_none() && install.checks[0].message.contains("installed again by hand"), "{text}");
    assert_eq!(case(&report, "lifecycle/forged-uninstall/step-3-case").outcome, CaseOutcome::Pass, "{text}");
    let after = case(&report, "lifecycle/uninstall/step-3-case");
    assert!(matches!(after.outcome, CaseOutcome::Pass | CaseOutcome::Warn), "{text}");
}
