//! The mock portal over https (`--portal-tls`): the official SDKs call the portal over https
//! only (PROTOCOL.md 5), so the portal must be reachable over TLS with a CA made for the run.

mod common;

use common::collect;

use b24_conform::fire;
use b24_conform::portal::{Authority, HandshakeFailures, Portal, PortalConfig};
use b24_conform::record::Role;
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
    assert_eq!(report.summary.passed, report.summary.cases, "{}", common::human(&report));
    let calls: Vec<_> = report.cases.iter().flat_map(|c| &c.portal_calls).collect();
    assert!(calls.iter().any(|c| c.succeeded()), "the handler never reached the portal over https");
    // Cases about PROTOCOL set their own; the others say https.
    let valid: Vec<_> = report.cases.iter().filter(|c| c.id.starts_with("valid/")).collect();
    assert!(!valid.is_empty() && valid.iter().all(|c| c.request.url.contains("PROTOCOL=1")), "{valid:?}");
}

/// An https handler served with a CA of its own, as a developer's mkcert setup serves one: every
/// request gets a small settings page. Its URL, and the CA's PEM.
async fn https_handler_with_its_own_ca() -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let mut leaf = CertificateParams::default();
    leaf.subject_alt_names = vec![SanType::IpAddress([127, 0, 0, 1].into())];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf.signed_by(&leaf_key, &Issuer::new(ca, ca_key)).unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der());
    let config =
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone()], key.into())
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                // The head, then as much body as it announces.
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                let complete = |request: &[u8]| {
                    let text = String::from_utf8_lossy(request);
                    let (head, body) = text.split_once("\r\n\r\n")?;
                    let length = head.lines().find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
                    });
                    (body.len() >= length.unwrap_or(0)).then_some(())
                };
                while complete(&request).is_none() {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let page = "<!doctype html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Settings</title>\
                            </head><body><p>Settings</p></body></html>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (url, ca_pem)
}

/// A handler served over https with a CA of its own: the harness trusts that CA for it with
/// `--handler-ca FILE`; without it, the case errs on the certificate.
#[tokio::test(flavor = "multi_thread")]
async fn handler_ca_trusts_the_handlers_own_ca() {
    let scratch = common::Scratch::new("handler-ca");
    let (url, ca_pem) = https_handler_with_its_own_ca().await;
    let ca_file = scratch.0.join("rootCA.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let run = |ca: Option<&std::path::Path>| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_b24-conform"));
        command.args(["run", "--handler", &url, "--filter", "valid/documented-example", "--no-regressions"]);
        command.args(["--format", "json"]).current_dir(&scratch.0);
        if let Some(ca) = ca {
            command.arg("--handler-ca").arg(ca);
        }
        async move { command.output().await.expect("the binary runs") }
    };
    let trusted = run(Some(&ca_file)).await;
    let report: serde_json::Value = serde_json::from_slice(&trusted.stdout).expect("a JSON report");
    assert_eq!(trusted.status.code(), Some(0), "{report:#}");
    assert_eq!(report["cases"][0]["response"]["status"], 200, "{report:#}");

    // Without it no exchange ever works: the run could not judge the handler (exit 3).
    let untrusted = run(None).await;
    let report: serde_json::Value = serde_json::from_slice(&untrusted.stdout).expect("a JSON report");
    assert_eq!(untrusted.status.code(), Some(3), "{report:#}");
    assert!(report.to_string().contains("UnknownIssuer"), "{report:#}");
}

/// A `--handler-ca` file that is no CA certificate is refused before the run, naming the flag.
#[test]
fn handler_ca_refuses_a_file_that_is_no_certificate() {
    let scratch = common::Scratch::new("handler-ca-bad");
    let text = scratch.0.join("notes.txt");
    std::fs::write(&text, "not a certificate").unwrap();
    let bad = scratch.0.join("bad.pem");
    std::fs::write(&bad, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
    let missing = scratch.0.join("missing.pem");
    for (file, says) in [(&missing, "cannot read"), (&text, "holds no PEM certificate"), (&bad, "not a usable CA")] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_b24-conform"))
            .args(["run", "--no-regressions", "--handler-ca"])
            .arg(file)
            .current_dir(&scratch.0)
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("for '--handler-ca <FILE>'") && stderr.contains(says), "{stderr}");
    }
}
