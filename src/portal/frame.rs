//! The portal's side of a frame opened in a real browser (`--browser`): the portal's page that
//! holds the app's frame, served from the portal's own origin (the frame SDKs post to
//! `http(s)://DOMAIN` exactly and accept answers only from there: b24jssdk frame/frame.ts), the
//! CORS answers the frame's REST calls need, a fresh token pair for the page's `refreshAuth`
//! answer, and the calls the browser made, kept apart from the handler's.

use std::sync::{Arc, Mutex};

use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{Portal, REST_PATH, State, TOKEN_PATH, lock};
use crate::record::{FRAME_LIST, PortalCall};

/// Where the portal serves case `owner`'s page: `{origin}/b24-conform/frame/{owner}`.
const PAGE_PATH: &str = "^/b24-conform/frame/[0-9]+$";
const PAGE_PREFIX: &str = "/b24-conform/frame/";

/// The headers every REST answer of a portal carries, CORS among them: CRestUtil::sendHeaders()
/// sends `Access-Control-Allow-Origin: *` and `Access-Control-Allow-Headers: origin,
/// content-type, accept` (bitrix24-core-corp modules/rest/classes/general/rest_util.php,
/// https://github.com/avshatalov48/bitrix24-core-corp/blob/b520f907a7c044eb26d3f7e94f918deeacccd67c/modules/rest/classes/general/rest_util.php).
pub(super) const CORS: [(&str, &str); 3] = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Headers", "origin, content-type, accept"),
    ("X-Content-Type-Options", "nosniff"),
];

/// Whether a request came from a browser: browsers send `Sec-Fetch-Mode` with every request
/// (Fetch Metadata), HTTP clients of handlers' servers send none.
pub(super) fn from_browser(request: &Request) -> bool {
    request.headers.contains_key("sec-fetch-mode")
}

/// Whether the browser's calls kept for `owner` are at the record's cap: a frame that loops
/// over a call cannot grow the portal's memory.
pub(super) fn browser_calls_full(state: &State, owner: usize) -> bool {
    state.browser_calls.iter().filter(|c| c.owner == Some(owner)).count() >= FRAME_LIST
}

/// The preflight a browser sends before a REST call it may not send plainly: b24jssdk posts its
/// calls as JSON (core/http/abstract-http.ts, `axios.post(url, params)`), a content type a
/// cross-origin request needs a preflight for. Its frames call REST from the browser, so a
/// portal passes that preflight: answered 200 with the headers of every REST answer. A preflight
/// is no call: it is not recorded.
fn preflight() -> ResponseTemplate {
    CORS.iter().fold(ResponseTemplate::new(200), |answer, (name, value)| answer.insert_header(*name, *value))
}

/// Serves the page of the case its path names, while its frame is open.
struct Page {
    state: Arc<Mutex<State>>,
}

impl Respond for Page {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let owner = request.url.path().strip_prefix(PAGE_PREFIX).and_then(|n| n.parse::<usize>().ok());
        let page = owner.and_then(|owner| lock(&self.state).pages.get(&owner).cloned());
        match page {
            Some(page) => ResponseTemplate::new(200).set_body_raw(page.into_bytes(), "text/html; charset=utf-8"),
            None => ResponseTemplate::new(404),
        }
    }
}

impl Portal {
    /// Mounts the preflight answers on `server`, and the cases' pages when `pages`: the home
    /// portal's own server serves them.
    pub(super) async fn mount_browser_side(&self, server: &MockServer, pages: bool) {
        for path in [REST_PATH, TOKEN_PATH] {
            // Before every other mock of the path: a preflight never reaches a route.
            Mock::given(method("OPTIONS"))
                .and(path_regex(path))
                .respond_with(preflight())
                .with_priority(1)
                .mount(server)
                .await;
        }
        if pages {
            let page = Page { state: self.state.clone() };
            Mock::given(method("GET")).and(path_regex(PAGE_PATH)).respond_with(page).mount(server).await;
        }
    }

    /// The URL of case `owner`'s page.
    pub fn page_url(&self, owner: usize) -> String {
        format!("{}{PAGE_PREFIX}{owner}", self.origin())
    }

    /// Case `owner`'s frame opens, in `page` when given: the home portal serves it at
    /// [`Portal::page_url`] until the frame closes. Meanwhile the handler's server-side calls
    /// with the case's tokens serve the browser's second delivery of the case's request: they
    /// are not the case's exchange (its server-side checks see what they see without a
    /// browser), nor the frame's, and are not recorded.
    pub fn open_frame(&self, owner: usize, page: Option<String>) {
        let mut state = lock(&self.state);
        state.framing.insert(owner);
        if let Some(page) = page {
            state.pages.insert(owner, page);
        }
    }

    /// Case `owner`'s frame closed: its page is gone, and the calls the browser made with its
    /// tokens so far are returned, in the order they arrived.
    pub fn close_frame(&self, owner: usize) -> Vec<PortalCall> {
        let mut state = lock(&self.state);
        state.framing.remove(&owner);
        state.pages.remove(&owner);
        let (mine, rest) = std::mem::take(&mut state.browser_calls).into_iter().partition(|c| c.owner == Some(owner));
        state.browser_calls = rest;
        mine
    }

    /// The browser's calls not taken when their frame closed: those made after it, of cases
    /// whose frame is closed.
    pub fn take_remaining_browser(&self) -> Vec<PortalCall> {
        let mut state = lock(&self.state);
        let State { browser_calls, framing, .. } = &mut *state;
        let (remaining, open) =
            std::mem::take(browser_calls).into_iter().partition(|c| c.owner.is_none_or(|o| !framing.contains(&o)));
        *browser_calls = open;
        remaining
    }

    /// A fresh token pair of case `owner`'s lineage, as a refresh would mint it (its calls are
    /// the case's, with refreshed tokens), without spending the case's REFRESH_ID: what the
    /// portal's page answers the frame's `refreshAuth` with. `None` when the case holds no
    /// tokens here.
    pub fn issue_refreshed(&self, owner: usize) -> Option<(String, String)> {
        lock(&self.state).tokens.issue_refreshed(owner)
    }
}
