//! The firing engine's bounds: a body past the cap is cut and says so; a handler that never
//! answers is a timeout, not a hang; redirects are followed as a browser follows them, ten at
//! most, and never to another origin.

use std::time::Duration;

use b24_conform::fire::{self, Limits};
use b24_conform::record::{FireError, HttpRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A one-connection HTTP server that answers `body_len` bytes, or never answers.
async fn server(body_len: Option<usize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = [0u8; 4096];
        let _ = socket.read(&mut buffer).await;
        match body_len {
            Some(len) => {
                let head = format!("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {len}\r\n\r\n");
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&vec![b'x'; len]).await;
            }
            None => tokio::time::sleep(Duration::from_secs(30)).await,
        }
    });
    format!("http://{addr}/")
}

fn post(url: String) -> HttpRequest {
    HttpRequest { method: "POST".into(), url, headers: vec![], body: b"a=1".to_vec().into() }
}

#[tokio::test]
async fn a_body_past_the_cap_is_cut_and_marked() {
    let url = server(Some(3 << 20)).await;
    let limits = Limits { timeout: Duration::from_secs(10), body_cap: 1 << 20 };
    let response = fire::fire(&fire::client(), &post(url), limits).await.unwrap();
    assert_eq!((response.body.bytes.len(), response.truncated), (1 << 20, true));
    // Read to its end past the cap, counted and hashed, not kept.
    assert_eq!(response.body.length, 3 << 20);
    assert_eq!(response.body.sha256.as_deref().map(str::len), Some(64));
}

#[tokio::test]
async fn a_body_within_the_cap_is_whole() {
    let url = server(Some(1000)).await;
    let limits = Limits { timeout: Duration::from_secs(10), body_cap: 1000 };
    let response = fire::fire(&fire::client(), &post(url), limits).await.unwrap();
    assert_eq!(
        (response.body.bytes.len(), response.truncated, response.body.length, response.body.sha256),
        (1000, false, 1000, None)
    );
}

#[tokio::test]
async fn a_handler_that_never_answers_times_out() {
    let url = server(None).await;
    let limits = Limits { timeout: Duration::from_millis(300), body_cap: 1000 };
    let error = fire::fire(&fire::client(), &post(url), limits).await.unwrap_err();
    assert_eq!(error, FireError::Timeout(300));
}

/// A handler on a free loopback port: `/hop/N` redirects with 302 to `/hop/N+1` forever (`/slow/N`
/// likewise, after 150 ms), `/keep`
/// answers 307 to `/echo`, which shows the method and body it got, and `/away` sends the browser
/// to `elsewhere` with 303.
async fn redirecting(elsewhere: String) -> String {
    use axum::extract::Path;
    use axum::http::{Method, StatusCode, header};
    use axum::routing::any;
    let router =
        axum::Router::new()
            .route(
                "/hop/{n}",
                any(|Path(n): Path<u32>| async move {
                    (StatusCode::FOUND, [(header::LOCATION, format!("/hop/{}", n + 1))])
                }),
            )
            .route(
                "/slow/{n}",
                any(|Path(n): Path<u32>| async move {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    (StatusCode::FOUND, [(header::LOCATION, format!("/slow/{}", n + 1))])
                }),
            )
            .route("/keep", any(|| async { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, "/echo")]) }))
            .route("/echo", any(|method: Method, body: String| async move { format!("{method} {body}") }))
            .route("/away", any(move || async move { (StatusCode::SEE_OTHER, [(header::LOCATION, elsewhere)]) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

fn limits() -> Limits {
    Limits { timeout: Duration::from_secs(10), body_cap: 1 << 20 }
}

#[tokio::test]
async fn a_307_is_followed_with_its_method_and_body() {
    let base = redirecting(String::new()).await;
    let navigation = fire::navigate(&fire::client(), &post(format!("{base}/keep")), limits()).await;
    let response = navigation.response.unwrap();
    assert_eq!((response.status, response.body.text().as_ref()), (200, "POST a=1"));
    assert_eq!(navigation.redirects.len(), 1);
    assert_eq!((navigation.redirects[0].status, navigation.redirects[0].followed), (307, true));
    assert_eq!(navigation.redirects[0].to, format!("{base}/echo"));
}

#[tokio::test]
async fn more_than_ten_redirects_are_an_error_that_says_so() {
    let base = redirecting(String::new()).await;
    let navigation = fire::navigate(&fire::client(), &post(format!("{base}/hop/0")), limits()).await;
    let error = navigation.response.unwrap_err();
    assert_eq!(error, FireError::TooManyRedirects(fire::MAX_REDIRECTS));
    assert!(error.to_string().starts_with("more than 10 redirects"), "{error}");
    assert_eq!(navigation.redirects.len(), fire::MAX_REDIRECTS + 1);
}

/// The harness goes nowhere but the handler: a redirect to another origin, even on loopback, is
/// the answer, and nothing is sent there.
#[tokio::test]
async fn a_redirect_to_another_origin_is_the_answer_and_is_not_followed() {
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}/x?y=1", elsewhere.local_addr().unwrap());
    let base = redirecting(target.clone()).await;
    let navigation = fire::navigate(&fire::client(), &post(format!("{base}/away")), limits()).await;
    assert_eq!(navigation.response.unwrap().status, 303);
    assert_eq!(navigation.redirects.len(), 1);
    assert_eq!((navigation.redirects[0].to.as_str(), navigation.redirects[0].followed), (target.as_str(), false));
    let contacted = tokio::time::timeout(Duration::from_millis(200), elsewhere.accept()).await;
    assert!(contacted.is_err(), "the other origin was contacted");
}

/// One deadline for the whole navigation: slow redirects do not each get the timeout again.
#[tokio::test]
async fn slow_redirects_share_one_timeout() {
    let base = redirecting(String::new()).await;
    let limits = Limits { timeout: Duration::from_millis(400), body_cap: 1000 };
    let started = std::time::Instant::now();
    let navigation = fire::navigate(&fire::client(), &post(format!("{base}/slow/0")), limits).await;
    assert_eq!(navigation.response.unwrap_err(), FireError::Timeout(400));
    assert!(started.elapsed() < Duration::from_millis(1000), "{:?}", started.elapsed());
    assert!(!navigation.redirects.is_empty());
}

/// The concurrency hint's probe: a case fired alone says how long its answer took, or that none
/// came.
#[tokio::test]
async fn a_case_fired_alone_says_how_long_its_answer_took() {
    let answering = server(Some(10)).await;
    assert!(fire::answers_alone(&fire::client(), &post(answering), limits()).await.is_some());
    let silent = server(None).await;
    let short = Limits { timeout: Duration::from_millis(200), body_cap: 1000 };
    assert_eq!(fire::answers_alone(&fire::client(), &post(silent), short).await, None);
}

/// The reverse of TLS on a plain port: a plain-http handler given as https.
#[tokio::test]
async fn plain_http_at_an_https_url_says_so() {
    let url = server(Some(10)).await.replace("http://", "https://");
    let error = fire::fire(&fire::client(), &post(url), limits()).await.unwrap_err();
    assert!(error.to_string().starts_with("not TLS: the handler answered the https handshake"), "{error}");
}
