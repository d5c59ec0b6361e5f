//! The frame side: a real browser opens each case as Bitrix24 opens it. The portal's page
//! ([`parent`]) holds the app's frame, posts the case's fields into it and answers the frame
//! protocol; headless Chromium, driven over the DevTools protocol (chromiumoxide), loads that
//! page and records what the frame did: the commands it sent, its console errors and uncaught
//! exceptions, the requests it made and the ones that failed, and a screenshot.
//!
//! One browser serves a run; each case gets its own page (a tab), so cases open concurrently up
//! to the run's `--jobs` by calling [`Browser::open`] from concurrent tasks, with at most one tab
//! per core at a time.

pub mod parent;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use chromiumoxide::cdp::browser_protocol::network::{
    EventLoadingFailed, EventLoadingFinished, EventRequestWillBeSent, EventResponseReceived, Request, RequestId,
};
use chromiumoxide::cdp::browser_protocol::page::Viewport;
use chromiumoxide::cdp::js_protocol::runtime::{ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown};
use chromiumoxide::error::CdpError;
use chromiumoxide::listeners::EventStream;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{BrowserConfig, Page};
use futures::{FutureExt, StreamExt};
use tokio::task::JoinHandle;

pub use parent::FrameCase;

use crate::install::InstallForm;
use crate::record::{BrowserRequest, Colours, FRAME_LIST, FRAME_TEXT, FrameCommand, FrameRecord};
use crate::suite::{Case, CaseKind, Expectation};

/// The names Chromium's executable goes by on the systems the harness runs on (Debian's package
/// installs `chromium`).
const EXECUTABLES: [&str; 4] = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/// How long a frame has, from the navigation's start, to ask for its init data.
pub const INIT_BUDGET: Duration = Duration::from_secs(10);

/// After the frame asked for its init data, how long the page may take to settle (no request in
/// flight for [`QUIET`]) before it is recorded, at most.
pub const SETTLE: Duration = Duration::from_millis(1500);

/// How long the network must be idle (nothing in flight) for the page to count as settled...
/// A frame's first REST call starts only once its SDK has read the init data: on a loaded
/// machine that took more than 150 ms, and the frame was recorded before its call.
const QUIET: Duration = Duration::from_millis(300);

/// ...or silent (no request started or ended), whatever is still counted in flight: a request
/// whose end DevTools never reports (a preflight, a beacon) cannot hold the page for [`SETTLE`].
const SILENT: Duration = Duration::from_millis(500);

/// How many times a blank screenshot is taken again, and after how long each time.
const RESHOTS: u32 = 2;
const RESHOT_AFTER: Duration = Duration::from_millis(400);

/// How often the page's record of commands and the browser's events are read while waiting.
const POLL: Duration = Duration::from_millis(20);

/// Beyond the budget and the settling, how long one case's opening may take before the browser
/// is taken for hung (a screenshot, a tab that does not close).
const SLACK: Duration = Duration::from_secs(10);

/// Whether a run with `--browser` opens `case` in the browser: a placement request a right
/// handler accepts (its page is what the user sees), and the installation when Bitrix24 opens it
/// in a frame.
pub fn opens(case: &Case) -> bool {
    match case.kind {
        CaseKind::Placement => case.expect == Expectation::Accept,
        CaseKind::Install(form) => form == InstallForm::Frame,
        CaseKind::Step(_) => false,
    }
}

/// Why the browser side could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("Chromium did not start ({executable}): {reason}")]
    Launch { executable: String, reason: String },
    #[error("the browser failed while opening {url}: {source}")]
    Cdp {
        url: String,
        #[source]
        source: CdpError,
    },
    #[error("the portal's page at {url} kept no record of the frame's commands: {reason}")]
    Record { url: String, reason: String },
    #[error("the browser did not finish opening {url} within {seconds} s")]
    Hung { url: String, seconds: u64 },
    #[error("the browser is closed")]
    Closed,
}

/// Chromium's executable: `B24_CHROMIUM` when set, else the first of the usual names on PATH.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("B24_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| EXECUTABLES.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// One headless Chromium for a run. Dropping it kills Chromium (chromiumoxide starts it
/// `kill_on_drop`) and removes its profile.
pub struct Browser {
    /// Always there but in `drop`, which kills it before it removes the profile.
    browser: Option<chromiumoxide::Browser>,
    /// Tabs open at once, at most one per core: a frame's time to initialise is judged against
    /// [`INIT_BUDGET`], and tabs beyond the cores only slow each other down (measured: `--jobs
    /// 4` took as long as `--jobs 1` on two cores) until a right frame misses its budget.
    tabs: tokio::sync::Semaphore,
    events: JoinHandle<()>,
    profile: PathBuf,
}

impl Browser {
    /// Starts headless Chromium with a fresh profile of its own. It reaches nothing but
    /// loopback: every other host goes to `proxy`, the run's intercepting proxy (`--intercept`),
    /// which passes the portal's names to the mocks and refuses the rest; or, without one, to a
    /// loopback port where nothing listens, so that the request fails
    /// (`net::ERR_PROXY_CONNECTION_FAILED`). Either way it is recorded with its URL and body.
    /// Chromium never proxies loopback itself (its implicit bypass rules).
    pub async fn launch(executable: &Path, proxy: Option<&str>) -> Result<Self, BrowserError> {
        let failed = |reason: String| BrowserError::Launch { executable: executable.display().to_string(), reason };
        let proxy = match proxy {
            Some(proxy) => proxy.to_owned(),
            None => {
                let port = dead_port().map_err(|e| failed(format!("no loopback port for the proxy: {e}")))?;
                format!("http://127.0.0.1:{port}")
            }
        };
        let profile = fresh_profile();
        let mut config = BrowserConfig::builder()
            .chrome_executable(executable)
            .new_headless_mode()
            .user_data_dir(&profile)
            // chromiumoxide adds the `--` to a key itself.
            // Containers give /dev/shm 64 MB, too little for Chromium's renderers.
            .arg("disable-dev-shm-usage")
            // One renderer for the portal's page and the app's frame: under site isolation a
            // frame of another site (the https portal of --portal-tls or --intercept beside an
            // http handler, as a real portal beside its app) runs in a process of its own, whose
            // console, exceptions and requests never reach the page's DevTools session. The
            // frame's origin, and so what it may do, stays what it was.
            .arg("disable-site-isolation-trials")
            .arg(("disable-features", "TranslateUI,IsolateOrigins,site-per-process"))
            // Chromium's own updates would be requests of the run's (the intercepting proxy
            // counts what it refuses).
            .arg("disable-component-update")
            .arg(("proxy-server", proxy.as_str()))
            // The https portal (--portal-tls) and the intercepting proxy have a CA made for the
            // run, which Chromium's store does not hold; it reaches nothing but loopback, whose
            // servers are the run's own.
            // Given at launch, not only over DevTools: otherwise Chromium's first handshakes fail
            // and the portal counts them as a handler that does not trust the CA.
            .arg("ignore-certificate-errors");
        // Chromium's sandbox refuses to run as root (CI containers do).
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            config = config.no_sandbox();
        }
        let config = config.build().map_err(failed)?;
        let (browser, mut handler) = chromiumoxide::Browser::launch(config).await.map_err(|e| failed(e.to_string()))?;
        // The DevTools connection makes progress only while its handler is polled.
        let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Self { browser: Some(browser), tabs: tokio::sync::Semaphore::new(cores), events, profile })
    }

    /// Opens the portal's page at `url` in a new tab, waits until the frame has asked for its
    /// init data (or `budget` has passed), lets the page settle for up to `settle`, then records
    /// what happened.
    pub async fn open(&self, url: &str, budget: Duration, settle: Duration) -> Result<FrameRecord, BrowserError> {
        let cdp = |source| BrowserError::Cdp { url: url.to_owned(), source };
        // Waiting for a tab is no part of the frame's time: its clock starts at the navigation.
        let _tab = self.tabs.acquire().await.map_err(|_| BrowserError::Closed)?;
        let opened = async {
            let browser = self.browser.as_ref().ok_or(BrowserError::Closed)?;
            let page = browser.new_page("about:blank").await.map_err(cdp)?;
            let result = record(&page, url, budget, settle).await;
            // A tab left open holds a renderer: close it whatever happened.
            let _ = page.close().await;
            result
        };
        let limit = budget + settle + SLACK;
        tokio::time::timeout(limit, opened)
            .await
            .unwrap_or_else(|_| Err(BrowserError::Hung { url: url.to_owned(), seconds: limit.as_secs() }))
    }

    /// Closes the browser and removes its profile.
    pub async fn close(mut self) {
        if let Some(browser) = &mut self.browser {
            let _ = browser.close().await;
            let _ = browser.wait().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Killed first (chromiumoxide starts it `kill_on_drop`), so that it writes no more into
        // the profile being removed.
        drop(self.browser.take());
        self.events.abort();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The listeners of one tab.
struct Listeners {
    console: EventStream<EventConsoleApiCalled>,
    exceptions: EventStream<EventExceptionThrown>,
    requests: EventStream<EventRequestWillBeSent>,
    responses: EventStream<EventResponseReceived>,
    finished: EventStream<EventLoadingFinished>,
    failures: EventStream<EventLoadingFailed>,
}

/// What the tab's events told so far.
#[derive(Default)]
struct Seen {
    record: FrameRecord,
    /// Where each request's latest entry is in `record.requests` (none past the cap).
    entries: HashMap<RequestId, usize>,
    /// Requests sent and neither finished nor failed.
    in_flight: usize,
    /// When a request last started or ended, or the frame sent a command.
    last_activity: Option<Instant>,
}

impl Seen {
    /// Whether the network is idle: nothing in flight for [`QUIET`], or no event for [`SILENT`].
    fn settled(&self) -> bool {
        let quiet_for = |span| self.last_activity.is_none_or(|at| at.elapsed() >= span);
        (self.in_flight == 0 && quiet_for(QUIET)) || quiet_for(SILENT)
    }
}

async fn record(page: &Page, url: &str, budget: Duration, settle: Duration) -> Result<FrameRecord, BrowserError> {
    let cdp = |source| BrowserError::Cdp { url: url.to_owned(), source };
    let mut listeners = Listeners {
        console: page.event_listener().await.map_err(cdp)?,
        exceptions: page.event_listener().await.map_err(cdp)?,
        requests: page.event_listener().await.map_err(cdp)?,
        responses: page.event_listener().await.map_err(cdp)?,
        finished: page.event_listener().await.map_err(cdp)?,
        failures: page.event_listener().await.map_err(cdp)?,
    };
    let mut seen = Seen::default();
    let started = Instant::now();
    page.goto(url).await.map_err(cdp)?;
    // Polled for what the wait needs, not the whole list, which is read once at the end.
    let asked = ".some(function (c) { return c.command === 'getInitData' })";
    while started.elapsed() < budget {
        if recorded::<bool>(page, url, asked).await? {
            seen.record.initialised_after_ms = Some(started.elapsed().as_millis() as u64);
            break;
        }
        tokio::time::sleep(POLL).await;
        drain(&mut listeners, &mut seen);
    }
    if seen.record.initialised() {
        // Settled: the network idle a while (the frame's REST calls answered), or `settle` spent.
        // The quiet counts from the init data's answer: the frame's first call starts only once
        // the SDK has read it, and the network was idle before. A command is activity too: a
        // refreshAuth answered, the call it retries comes next, with no request in between.
        seen.last_activity = Some(Instant::now());
        let mut sent: usize = recorded(page, url, ".length").await?;
        let settling = Instant::now();
        while settling.elapsed() < settle {
            tokio::time::sleep(POLL).await;
            drain(&mut listeners, &mut seen);
            let now: usize = recorded(page, url, ".length").await?;
            if now > sent {
                (sent, seen.last_activity) = (now, Some(Instant::now()));
            }
            if seen.settled() {
                break;
            }
        }
    }
    let commands: Vec<FrameCommand> = recorded(page, url, "").await?;
    // A frame whose scripts have run may not be painted yet: on a loaded machine a page of text
    // was shot all white. A blank shot is taken again after a while; a blank page stays blank.
    for attempt in 0..=RESHOTS {
        if attempt > 0 {
            tokio::time::sleep(RESHOT_AFTER).await;
        }
        let clip = frame_box(page).await;
        let shot = clip.map_or_else(ScreenshotParams::builder, |clip| ScreenshotParams::builder().clip(clip));
        seen.record.screenshot = page.screenshot(shot.build()).await.map_err(cdp)?;
        if !Colours::blank(&seen.record.screenshot) {
            break;
        }
    }
    drain(&mut listeners, &mut seen);
    seen.record.page = url.to_owned();
    seen.record.commands =
        commands.into_iter().take(FRAME_LIST).map(|c| FrameCommand { params: cut(c.params), ..c }).collect();
    Ok(seen.record)
}

/// What the portal's page recorded of the frame's commands so far: `of` applied to their list
/// (`""` for the list itself, `".length"` for how many).
async fn recorded<T: serde::de::DeserializeOwned>(page: &Page, url: &str, of: &str) -> Result<T, BrowserError> {
    let failed = |reason: String| BrowserError::Record { url: url.to_owned(), reason };
    let result = page
        .evaluate(format!("(window.{} || {{ commands: [] }}).commands{of}", parent::RECORD))
        .await
        .map_err(|e| failed(e.to_string()))?;
    result.into_value().map_err(|e| failed(e.to_string()))
}

/// Where the app's frame is on the page, for a screenshot of the frame alone; `None` when the
/// page cannot say (the whole page is taken then).
async fn frame_box(page: &Page) -> Option<Viewport> {
    let script = "(function () { var r = document.getElementById('app-frame').getBoundingClientRect(); \
                  return [r.left, r.top, r.width, r.height]; })()";
    let [x, y, width, height]: [f64; 4] = page.evaluate(script).await.ok()?.into_value().ok()?;
    (width >= 1.0 && height >= 1.0).then_some(Viewport { x, y, width, height, scale: 1.0 })
}

/// Moves the events that have arrived into what was seen, within the record's caps.
fn drain(listeners: &mut Listeners, seen: &mut Seen) {
    let record = &mut seen.record;
    while let Some(Some(event)) = listeners.console.next().now_or_never() {
        if event.r#type == ConsoleApiCalledType::Error && record.console_errors.len() < FRAME_LIST {
            let text: Vec<String> = event
                .args
                .iter()
                .map(|arg| match (&arg.value, &arg.description) {
                    (Some(serde_json::Value::String(s)), _) => s.clone(),
                    (Some(value), _) => value.to_string(),
                    (None, Some(description)) => description.clone(),
                    (None, None) => String::new(),
                })
                .collect();
            record.console_errors.push(cut(text.join(" ")));
        }
    }
    while let Some(Some(event)) = listeners.exceptions.next().now_or_never() {
        let details = &event.exception_details;
        let description =
            details.exception.as_ref().and_then(|e| e.description.clone()).unwrap_or_else(|| details.text.clone());
        if record.exceptions.len() < FRAME_LIST {
            record.exceptions.push(cut(description));
        }
    }
    while let Some(Some(event)) = listeners.requests.next().now_or_never() {
        seen.in_flight += 1;
        seen.last_activity = Some(Instant::now());
        // A redirect goes on under the same id: the hop before it was answered with a redirect.
        if let (Some(redirect), Some(&at)) = (&event.redirect_response, seen.entries.get(&event.request_id)) {
            record.requests[at].status = u16::try_from(redirect.status).ok();
            seen.in_flight -= 1;
        }
        if record.requests.len() < FRAME_LIST {
            seen.entries.insert(event.request_id.clone(), record.requests.len());
            record.requests.push(request(&event.request));
        } else {
            seen.entries.remove(&event.request_id);
        }
    }
    while let Some(Some(event)) = listeners.responses.next().now_or_never() {
        if let Some(&at) = seen.entries.get(&event.request_id) {
            record.requests[at].status = u16::try_from(event.response.status).ok();
        }
    }
    while let Some(Some(_)) = listeners.finished.next().now_or_never() {
        seen.in_flight = seen.in_flight.saturating_sub(1);
        seen.last_activity = Some(Instant::now());
    }
    while let Some(Some(event)) = listeners.failures.next().now_or_never() {
        seen.in_flight = seen.in_flight.saturating_sub(1);
        seen.last_activity = Some(Instant::now());
        if let Some(&at) = seen.entries.get(&event.request_id) {
            record.requests[at].failed = Some(event.error_text.clone());
        }
    }
}

/// A request as the record keeps it: its method, URL, body and Authorization, cut to
/// [`FRAME_TEXT`].
fn request(request: &Request) -> BrowserRequest {
    let body: Vec<u8> = request
        .post_data_entries
        .iter()
        .flatten()
        .filter_map(|entry| entry.bytes.as_ref())
        .filter_map(|bytes| base64::engine::general_purpose::STANDARD.decode(AsRef::<str>::as_ref(bytes)).ok())
        .flatten()
        .collect();
    let authorization = request.headers.inner().as_object().and_then(|headers| {
        headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("authorization")).map(|(_, value)| match value {
            serde_json::Value::String(text) => cut(text.clone()),
            other => cut(other.to_string()),
        })
    });
    BrowserRequest {
        method: request.method.clone(),
        url: cut(request.url.clone()),
        body: (!body.is_empty()).then(|| cut(String::from_utf8_lossy(&body).into_owned())),
        authorization,
        status: None,
        failed: None,
    }
}

/// `text` cut to [`FRAME_TEXT`] characters.
fn cut(text: String) -> String {
    match text.char_indices().nth(FRAME_TEXT) {
        Some((at, _)) => text[..at].to_owned(),
        None => text,
    }
}

/// A loopback port where nothing listens: a port the system handed out, let go at once.
fn dead_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    listener.local_addr().map(|addr| addr.port())
}

/// A profile directory no other run uses: chromiumoxide's default is one shared directory, and
/// two runs on one profile fight over its lock.
fn fresh_profile() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "b24-conform-chromium-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}
