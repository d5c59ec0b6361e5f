//! The mock portal over https (`--portal-tls`): the official SDKs call the portal over https
//! only (PROTOCOL.md 5), so the portal must be reachable over TLS with a CA made for the run.

mod common;

use common::collect;

use b24_conform::fire;
use b24_conform::portal::{Authority, HandshakeFailures, Portal, PortalConfig, Role};
use b24_conform::report::render_human;
use b24_conform::run::{Handler, RunConfig};
use b24_conform::suite::TokenState;

const AUTH: &str = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";
const REFRESH: &str = "r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0";

async fn tls_portal(role: Role, authority: &Authority) -> Portal {
    let portal =
        Portal::start_as("127.0.0.1:0".parse().unwrap(), role, PortalConfig::default(), Some(authority)).await.unwrap();
    portal.grant(0, AUTH, REFRESH, TokenState::Valid, None);
    portal
}

#[tokio::test]
async fn the_portal_answers_over_https_to_a_client_that_trusts_the_runs_ca() {
    let authority = Authority::new().unwrap();
    let portal = tls_portal(Role::Home, &authority).await;
    let foreign = tls_portal(Role::Foreign, &authority).await;
    assert!(portal.origin().starts_with("https://127.0.0.1:"), "{}", portal.origin());
    assert_eq!(portal.rest_url(), format!("{}/rest/", portal.origin()));
    // The OAuth server speaks https too, on a port of its own: SERVER_ENDPOINT names it.
    assert!(portal.oauth_origin().starts_with("https://127.0.0.1:") && portal.oauth_origin() != portal.origin());
    assert_eq!(portal.oauth_url(), format!("{}/oauth/token/", portal.oauth_origin()));
    let binding = portal.binding(&foreign);
    assert_eq!(binding.protocol, 1);
    assert_eq!(binding.server_endpoint, format!("{}/rest/", portal.oauth_origin()));
    assert_eq!(format!("https://{}", binding.domain), portal.origin());
    assert_eq!(format!("https://{}", binding.foreign_domain), foreign.origin());

    let client = fire::client_trusting(authority.ca_pem()).unwrap();
    for origin in [portal.origin(), portal.origin().replace("127.0.0.1", "localhost")] {
        let response = client.get(format!("{origin}/rest/user.current.json?auth={AUTH}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{origin}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["result"]["ID"], "1", "{origin}");
    }
}

#[tokio::test]
async fn a_client_that_speaks_only_tls_1_2_is_served_too() {
    let authority = Authority::new().unwrap();
    let portal = tls_portal(Role::Home, &authority).await;
    // Installs the process's crypto provider, which a client built by hand needs.
    let _ = fire::client();
    let ca = reqwest::Certificate::from_pem(authority.ca_pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([ca])
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    let response = client.get(format!("{}user.current.json?auth={AUTH}", portal.rest_url())).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_runs_ca_is_refused() {
    let authority = Authority::new().unwrap();
    let portal = tls_portal(Role::Home, &authority).await;
    let error = fire::client().get(format!("{}user.current?auth={AUTH}", portal.rest_url())).send().await.unwrap_err();
    let mut chain = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        chain.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    assert!(chain.contains("certificate"), "not a TLS verification error: {chain}");
    assert!(portal.take_calls(0).is_empty(), "the refused client reached the portal");
    let failures = settled_failures(&portal, 1).await;
    assert!(failures.first.contains("UnknownIssuer") || failures.first.contains("alert"), "{failures:?}");
}

#[tokio::test]
async fn plain_http_to_the_https_portal_is_a_refused_handshake_too() {
    let authority = Authority::new().unwrap();
    let portal = tls_portal(Role::Home, &authority).await;
    assert_eq!(portal.handshake_failures().count, 0);
    let plain = portal.rest_url().replace("https://", "http://");
    assert!(fire::client().get(format!("{plain}user.current?auth={AUTH}")).send().await.is_err());
    let failures = settled_failures(&portal, 1).await;
    assert!(!failures.first.is_empty(), "{failures:?}");
    assert!(portal.take_calls(0).is_empty());
}

/// The portal's tally once it reaches `count`: the server side of a failed handshake may end a
/// moment after the client's.
async fn settled_failures(portal: &Portal, count: usize) -> HandshakeFailures {
    for _ in 0..100 {
        if portal.handshake_failures().count >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let failures = portal.handshake_failures();
    assert_eq!(failures.count, count, "{failures:?}");
    failures
}

#[tokio::test]
async fn the_refresh_answer_names_the_https_portal() {
    let authority = Authority::new().unwrap();
    let portal = tls_portal(Role::Home, &authority).await;
    let foreign = tls_portal(Role::Foreign, &authority).await;
    let client = fire::client_trusting(authority.ca_pem()).unwrap();
    let app = portal.client();
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", &app.id),
        ("client_secret", &app.secret),
        ("refresh_token", REFRESH),
    ];
    let answer: serde_json::Value =
        client.post(portal.oauth_url()).form(&form).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["client_endpoint"], portal.rest_url());
    assert_eq!(answer["server_endpoint"], portal.binding(&foreign).server_endpoint);
    assert_eq!(answer["domain"], portal.oauth_origin().trim_start_matches("https://"), "the authorization server's");
    let info: serde_json::Value = client
        .get(format!("{}app.info?auth={}", portal.server_endpoint(), answer["access_token"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["result"]["install"]["uri"], "https://127.0.0.1", "{info}");
}

#[tokio::test]
async fn the_foreign_portal_speaks_https_too_and_names_the_case_a_leaked_token_belongs_to() {
    let authority = Authority::new().unwrap();
    let foreign = tls_portal(Role::Foreign, &authority).await;
    assert!(foreign.origin().starts_with("https://"), "{}", foreign.origin());
    let client = fire::client_trusting(authority.ca_pem()).unwrap();
    let response = client.post(format!("{}user.current.json", foreign.rest_url())).form(&[("auth", AUTH)]);
    assert_eq!(response.send().await.unwrap().status(), 401);
    let calls = foreign.take_calls(0);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].portal, Role::Foreign);
}

#[test]
fn the_ca_file_holds_the_ca_while_the_authority_lives() {
    let authority = Authority::new().unwrap();
    let path = authority.ca_file().to_owned();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), authority.ca_pem());
    assert!(authority.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    let other = Authority::new().unwrap();
    assert_ne!(other.ca_file(), path, "two runs share a CA file");
    assert_ne!(other.ca_pem(), authority.ca_pem(), "two runs share a CA");
    drop(authority);
    assert!(!path.exists(), "{} outlived its run", path.display());
}

#[tokio::test]
async fn a_plain_portal_speaks_http_with_protocol_0() {
    let portal = Portal::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert!(portal.origin().starts_with("http://"));
    assert_eq!(portal.binding(&portal).protocol, 0);
    // The same fields as printed before a portal runs, but for the OAuth server's port, which
    // port 0 leaves free to fall anywhere.
    let printed = Portal::binding_at(portal.addr(), portal.addr());
    assert_eq!(
        portal.binding(&portal),
        b24_conform::payload::Binding { server_endpoint: portal.server_endpoint(), ..printed }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_handler_passes_the_catalog_against_the_https_portal() {
    let config = RunConfig { portal_tls: true, ..RunConfig::new(Handler::Builtin(None)) };
    let report = collect(&config).await.expect("the run happens");
    assert_eq!(report.summary.passed, report.summary.cases, "{}", render_human(&report));
    let calls: Vec<_> = report.cases.iter().flat_map(|c| &c.portal_calls).collect();
    assert!(calls.iter().any(|c| c.succeeded()), "the handler never reached the portal over https");
    // Cases about PROTOCOL set their own; the others say https.
    let valid: Vec<_> = report.cases.iter().filter(|c| c.id.starts_with("valid/")).collect();
    assert!(!valid.is_empty() && valid.iter().all(|c| c.request.url.contains("PROTOCOL=1")), "{valid:?}");
}
