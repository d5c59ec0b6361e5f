//! The frame's browser: a placement request carries what a browser's form POST into the portal's
//! frame carries, and the installation event (server to server) does not; a handler that answers
//! with POST-redirect-GET is judged by the page it redirects to; a redirect loop is an error that
//! says so.

mod common;

use common::collect;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use b24_conform::install::InstallForm;
use b24_conform::payload::frame::USER_AGENT;
use b24_conform::record::{CaseOutcome, CaseReport, Outcome};
use b24_conform::report::{Format, RunReport};
use b24_conform::run::{Handler, RunConfig};

/// What a test handler was sent: per path, the headers and query of each request.
type Seen = Arc<Mutex<Vec<(String, HeaderMap, String)>>>;

/// A handler on a free loopback port, its base URL, and what it was sent:
/// - `/install` answers 200 to any installation;
/// - `/page` answers every request with a page;
/// - `/prg` keeps the post in a session and answers 303 to `/prg/page`, which shows the page only
///   to the session's cookie (POST-redirect-GET);
/// - `/away` answers 303 to another origin, with no token in the URL;
/// - `/loop` and `/loop/again` redirect to each other.
async fn handler() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let page = || async { ([(header::CONTENT_TYPE, "text/html")], "<h1>Settings</h1>").into_response() };
    let router = Router::new()
        .route("/install", post(|| async { "installed" }))
        .route("/page", any(page))
        .route(
            "/prg",
            post(|| async {
                (
                    StatusCode::SEE_OTHER,
                    [(header::LOCATION, "/prg/page?saved=1"), (header::SET_COOKIE, "sid=s1; HttpOnly")],
                )
            }),
        )
        .route("/prg/page", any(|headers: HeaderMap| async move { session_page(&headers) }))
        .route("/away", post(|| async { (StatusCode::SEE_OTHER, [(header::LOCATION, ELSEWHERE)]) }))
        .route("/loop", any(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop/again")]) }))
        .route("/loop/again", any(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]) }))
        .layer(axum::middleware::from_fn_with_state(seen.clone(), record))
        .with_state(());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), seen)
}

/// Another origin: nothing listens there, and the harness never goes there.
const ELSEWHERE: &str = "http://127.0.0.1:9/welcome";

fn session_page(headers: &HeaderMap) -> Response {
    match headers.get(header::COOKIE).and_then(|v| v.to_str().ok()) {
        Some("sid=s1") => ([(header::CONTENT_TYPE, "text/html")], "<h1>Settings, saved</h1>").into_response(),
        _ => (StatusCode::UNAUTHORIZED, "no session").into_response(),
    }
}

async fn record(
    State(seen): State<Seen>,
    uri: Uri,
    RawQuery(query): RawQuery,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    seen.lock().unwrap().push((uri.path().to_owned(), request.headers().clone(), query.unwrap_or_default()));
    next.run(request).await
}

async fn run_at(url: String, filters: &[&str], install: Option<(String, InstallForm)>) -> RunReport {
    let mut config = RunConfig::new(Handler::Url(url.parse().unwrap()));
    config.filters = filters.iter().map(|f| f.to_string()).collect();
    if let Some((install_url, form)) = install {
        config.install_url = Some(install_url.parse().unwrap());
        config.install_form = form;
    }
    collect(&config).await.expect("the run happens")
}

fn verdict<'a>(case: &'a CaseReport, id: &str) -> (&'a Outcome, &'a str) {
    let v = case.checks.iter().find(|v| v.id == id).unwrap();
    (&v.outcome, v.message.as_str())
}

fn headers_of(seen: &Seen, path: &str) -> Vec<(HeaderMap, HashMap<String, String>)> {
    let seen = seen.lock().unwrap();
    let query = |q: &str| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect();
    seen.iter().filter(|(p, _, _)| p == path).map(|(_, h, q)| (h.clone(), query(q))).collect()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_placement_request_carries_what_the_frames_browser_sends_and_the_installation_event_does_not() {
    let (base, seen) = handler().await;
    // The installation runs whatever the filter (this handler binds nothing; not judged here).
    let install = Some((format!("{base}/install"), InstallForm::Event));
    let report = run_at(format!("{base}/page"), &["valid/documented-example"], install).await;
    assert_eq!(report.summary.passed, 1, "{}", common::human(&report));

    let pages = headers_of(&seen, "/page");
    let [(page, query)] = pages.as_slice() else { panic!("one placement request: {pages:?}") };
    let origin = format!("http://{}", query["DOMAIN"]);
    assert_eq!(header(page, "origin"), Some(origin.as_str()));
    assert_eq!(header(page, "referer"), Some(format!("{origin}/").as_str()));
    assert_eq!(header(page, "user-agent"), Some(USER_AGENT));
    assert!(header(page, "accept").is_some_and(|a| a.starts_with("text/html,")));
    assert!(header(page, "accept-language").is_some());
    let fetch: Vec<_> =
        ["sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-user", "upgrade-insecure-requests"]
            .iter()
            .map(|name| header(page, name))
            .collect();
    assert_eq!(fetch, [Some("iframe"), Some("navigate"), Some("cross-site"), Some("?1"), Some("1")]);
    // The reproduce command sends them too.
    assert!(report.cases[0].reproduce.contains("-H 'sec-fetch-dest: iframe'"), "{}", report.cases[0].reproduce);

    let installs = headers_of(&seen, "/install");
    let [(event, _)] = installs.as_slice() else { panic!("one installation: {installs:?}") };
    for name in ["origin", "referer", "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "upgrade-insecure-requests"]
    {
        assert_eq!(header(event, name), None, "the installation event carries {name}");
    }
    assert_ne!(header(event, "user-agent"), Some(USER_AGENT));
}

/// The installation page is opened in a frame like any placement: the browser's headers are there.
#[tokio::test(flavor = "multi_thread")]
async fn the_installation_frame_carries_the_browsers_headers() {
    let (base, seen) = handler().await;
    let install = Some((format!("{base}/install"), InstallForm::Frame));
    run_at(format!("{base}/page"), &["valid/documented-example"], install).await;
    let installs = headers_of(&seen, "/install");
    let [(frame, query)] = installs.as_slice() else { panic!("one installation: {installs:?}") };
    assert_eq!(header(frame, "origin"), Some(format!("http://{}", query["DOMAIN"]).as_str()));
    assert_eq!(header(frame, "sec-fetch-dest"), Some("iframe"));
}

#[tokio::test(flavor = "multi_thread")]
async fn post_redirect_get_is_judged_by_the_page_it_leads_to() {
    let (base, seen) = handler().await;
    let report = run_at(format!("{base}/prg"), &["valid/documented-example"], None).await;
    let case = &report.cases[0];
    assert_eq!(case.outcome, CaseOutcome::Pass, "{}", common::human(&report));
    let (outcome, message) = verdict(case, "accepts-valid");
    assert_eq!(*outcome, Outcome::Pass);
    assert_eq!(message, format!("answered 200 after 303 to {base}/prg/page?saved=1 (followed)"));
    assert_eq!(verdict(case, "html-response").0, &Outcome::Pass);
    assert_eq!(case.response.as_ref().unwrap().body.bytes, b"<h1>Settings, saved</h1>");
    // The browser's GET: no body, no Origin, the session's cookie, the rest as before.
    let gets = headers_of(&seen, "/prg/page");
    let [(get, _)] = gets.as_slice() else { panic!("one GET: {gets:?}") };
    assert_eq!((header(get, "origin"), header(get, "content-type")), (None, None));
    assert_eq!((header(get, "cookie"), header(get, "sec-fetch-dest")), (Some("sid=s1"), Some("iframe")));
    // Every report shows the hop.
    assert!(common::human(&report).contains(" 303→200 "), "{}", common::human(&report));
    let json: serde_json::Value = serde_json::from_str(&common::text(&report, Format::Json)).unwrap();
    let hops = &json["cases"][0]["redirects"];
    assert_eq!(hops[0]["status"], 303);
    assert_eq!(hops[0]["location"], "/prg/page?saved=1");
    assert_eq!(hops[0]["followed"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_loop_errors_the_case_and_says_so() {
    let (base, _) = handler().await;
    let report = run_at(format!("{base}/loop"), &["valid/documented-example"], None).await;
    let case = &report.cases[0];
    assert_eq!(case.outcome, CaseOutcome::Error);
    let error = case.error.as_deref().unwrap();
    assert_eq!(
        error,
        format!("redirect loop: {base}/loop/again was requested again, the same way, after 3 redirect(s)")
    );
    let (outcome, message) = verdict(case, "no-server-error");
    assert_eq!((*outcome, message), (Outcome::Fail, format!("no answer: {error}").as_str()));
    let text = common::human(&report);
    assert!(text.contains(&format!("redirect 302 to {base}/loop (followed)")), "{text}");
}

/// A redirect to another origin is the answer: the browser leaves the frame for that page. With
/// no token in its URL nothing leaves with it.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_elsewhere_without_a_token_is_an_answer() {
    let (base, _) = handler().await;
    let report = run_at(format!("{base}/away"), &["valid/documented-example"], None).await;
    let case = &report.cases[0];
    assert_eq!(case.outcome, CaseOutcome::Pass, "{}", common::human(&report));
    let (_, message) = verdict(case, "accepts-valid");
    assert_eq!(
        message,
        format!(
            "answered 303 to {ELSEWHERE} (another origin: not followed): the browser leaves the frame for that page"
        )
    );
    assert_eq!(verdict(case, "token-stays-home").0, &Outcome::Pass);
    assert_eq!((case.redirects.len(), case.response.as_ref().unwrap().status), (1, 303));
}
