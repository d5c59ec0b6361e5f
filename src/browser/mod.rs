//! The frame side: a real browser opens each case as Bitrix24 opens it. The portal's page
//! ([`parent`]) holds the app's frame, posts the case's fields into it and answers the frame
//! protocol; headless Chromium, driven over the DevTools protocol (chromiumoxide), loads that
//! page and records what the frame did: the commands it sent, its console errors and uncaught
//! exceptions, the requests it made and the ones that failed, and a screenshot.
//!
//! One browser serves a run; each case gets its own page (a tab), so cases open concurrently up
//! to the run's `--jobs` by calling [`Browser::open`] from concurrent tasks.

pub mod parent;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::network::{EventLoadingFailed, EventRequestWillBeSent};
use chromiumoxide::cdp::js_protocol::runtime::{ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown};
use chromiumoxide::error::CdpError;
use chromiumoxide::listeners::EventStream;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{BrowserConfig, Page};
use futures::{FutureExt, StreamExt};
use tokio::task::JoinHandle;

pub use parent::FrameCase;

use crate::record::{BrowserRequest, FrameCommand, FrameRecord};

/// The names Chromium's executable goes by on the systems the harness runs on (Debian's package
/// installs `chromium`).
const EXECUTABLES: [&str; 4] = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/// How often the page's record of commands is read while waiting for the frame.
const POLL: Duration = Duration::from_millis(20);

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

/// One headless Chromium for a run.
pub struct Browser {
    browser: chromiumoxide::Browser,
    events: JoinHandle<()>,
    profile: PathBuf,
}

impl Browser {
    /// Starts headless Chromium with a fresh profile of its own.
    pub async fn launch(executable: &Path) -> Result<Self, BrowserError> {
        let failed = |reason: String| BrowserError::Launch { executable: executable.display().to_string(), reason };
        let profile = fresh_profile();
        let mut config = BrowserConfig::builder()
            .chrome_executable(executable)
            .new_headless_mode()
            .user_data_dir(&profile)
            // Containers give /dev/shm 64 MB, too little for Chromium's renderers.
            .arg("--disable-dev-shm-usage");
        // Chromium's sandbox refuses to run as root (CI containers do).
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            config = config.no_sandbox();
        }
        let config = config.build().map_err(failed)?;
        let (browser, mut handler) = chromiumoxide::Browser::launch(config).await.map_err(|e| failed(e.to_string()))?;
        // The DevTools connection makes progress only while its handler is polled.
        let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Ok(Self { browser, events, profile })
    }

    /// Opens the portal's page at `url` in a new tab, waits until the frame has asked for its
    /// init data (or `budget` has passed), lets it `settle`, then records what happened.
    pub async fn open(&self, url: &str, budget: Duration, settle: Duration) -> Result<FrameRecord, BrowserError> {
        let cdp = |source| BrowserError::Cdp { url: url.to_owned(), source };
        let page = self.browser.new_page("about:blank").await.map_err(cdp)?;
        let result = record(&page, url, budget, settle).await;
        // A tab left open holds a renderer: close it whatever happened.
        let _ = page.close().await;
        result
    }

    /// Closes the browser and removes its profile.
    pub async fn close(mut self) {
        let _ = self.browser.close().await;
        let _ = self.browser.wait().await;
        self.events.abort();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The listeners of one tab.
struct Listeners {
    console: EventStream<EventConsoleApiCalled>,
    exceptions: EventStream<EventExceptionThrown>,
    requests: EventStream<EventRequestWillBeSent>,
    failures: EventStream<EventLoadingFailed>,
}

async fn record(page: &Page, url: &str, budget: Duration, settle: Duration) -> Result<FrameRecord, BrowserError> {
    let cdp = |source| BrowserError::Cdp { url: url.to_owned(), source };
    let mut listeners = Listeners {
        console: page.event_listener().await.map_err(cdp)?,
        exceptions: page.event_listener().await.map_err(cdp)?,
        requests: page.event_listener().await.map_err(cdp)?,
        failures: page.event_listener().await.map_err(cdp)?,
    };
    let started = Instant::now();
    page.goto(url).await.map_err(cdp)?;
    let mut initialised_after_ms = None;
    let mut commands = recorded_commands(page, url).await?;
    while started.elapsed() < budget {
        if commands.iter().any(|c| c.command == "getInitData") {
            initialised_after_ms = Some(started.elapsed().as_millis() as u64);
            break;
        }
        tokio::time::sleep(POLL).await;
        commands = recorded_commands(page, url).await?;
    }
    if initialised_after_ms.is_some() {
        tokio::time::sleep(settle).await;
        commands = recorded_commands(page, url).await?;
    }
    let screenshot = page.screenshot(ScreenshotParams::builder().build()).await.map_err(cdp)?;
    let mut record =
        FrameRecord { page: url.to_owned(), commands, initialised_after_ms, screenshot, ..FrameRecord::default() };
    drain(&mut listeners, &mut record);
    Ok(record)
}

/// What the portal's page recorded of the frame's commands so far.
async fn recorded_commands(page: &Page, url: &str) -> Result<Vec<FrameCommand>, BrowserError> {
    let failed = |reason: String| BrowserError::Record { url: url.to_owned(), reason };
    let result = page
        .evaluate(format!("(window.{} || {{ commands: [] }}).commands", parent::RECORD))
        .await
        .map_err(|e| failed(e.to_string()))?;
    result.into_value().map_err(|e| failed(e.to_string()))
}

/// Moves the events that have arrived into the record.
fn drain(listeners: &mut Listeners, record: &mut FrameRecord) {
    while let Some(Some(event)) = listeners.console.next().now_or_never() {
        if event.r#type == ConsoleApiCalledType::Error {
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
            record.console_errors.push(text.join(" "));
        }
    }
    while let Some(Some(event)) = listeners.exceptions.next().now_or_never() {
        let details = &event.exception_details;
        let description =
            details.exception.as_ref().and_then(|e| e.description.clone()).unwrap_or_else(|| details.text.clone());
        record.exceptions.push(description);
    }
    let mut ids = Vec::new();
    while let Some(Some(event)) = listeners.requests.next().now_or_never() {
        ids.push(event.request_id.clone());
        record.requests.push(BrowserRequest {
            method: event.request.method.clone(),
            url: event.request.url.clone(),
            body: None,
            authorization: None,
            status: None,
            failed: None,
        });
    }
    while let Some(Some(event)) = listeners.failures.next().now_or_never() {
        if let Some(at) = ids.iter().position(|id| *id == event.request_id) {
            record.requests[at].failed = Some(event.error_text.clone());
        }
    }
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
