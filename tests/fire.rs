//! The firing engine's bounds: a body past the cap is cut and says so; a handler that never
//! answers is a timeout, not a hang.

use std::time::Duration;

use b24_conform::fire::{self, FireError, Limits};
use b24_conform::payload::HttpRequest;
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
    HttpRequest { method: "POST".into(), url, headers: vec![], body: b"a=1".to_vec() }
}

#[tokio::test]
async fn a_body_past_the_cap_is_cut_and_marked() {
    let url = server(Some(3 << 20)).await;
    let limits = Limits { timeout: Duration::from_secs(10), body_cap: 1 << 20 };
    let response = fire::fire(&fire::client(), &post(url), limits).await.unwrap();
    assert_eq!((response.body.len(), response.truncated), (1 << 20, true));
}

#[tokio::test]
async fn a_body_within_the_cap_is_whole() {
    let url = server(Some(1000)).await;
    let limits = Limits { timeout: Duration::from_secs(10), body_cap: 1000 };
    let response = fire::fire(&fire::client(), &post(url), limits).await.unwrap();
    assert_eq!((response.body.len(), response.truncated), (1000, false));
}

#[tokio::test]
async fn a_handler_that_never_answers_times_out() {
    let url = server(None).await;
    let limits = Limits { timeout: Duration::from_millis(300), body_cap: 1000 };
    let error = fire::fire(&fire::client(), &post(url), limits).await.unwrap_err();
    assert_eq!(error, FireError::Timeout(300));
}
