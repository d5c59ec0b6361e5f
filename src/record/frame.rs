//! What a case's frame did when a real browser opened it as Bitrix24 does (`--browser`): the
//! frame protocol commands it sent to the portal's page, its console errors and uncaught
//! exceptions, the requests it made, the calls it made to the mock portals from the browser, and
//! a screenshot of the frame.

use serde::{Deserialize, Serialize};

use super::PortalCall;

/// Most commands, requests, console errors and exceptions a frame record keeps: a frame that
/// loops cannot grow a case's record without bound.
pub const FRAME_LIST: usize = 200;

/// Most characters of one recorded text (a console message, an exception, a request's URL or
/// body) a frame record keeps.
pub const FRAME_TEXT: usize = 4096;

/// A command the frame sent to the portal's page, as the page recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameCommand {
    /// `getInitData`, `resizeWindow`, `setInstallFinish`…
    pub command: String,
    /// The parameters as sent (a JSON string for most commands), empty when none.
    pub params: String,
    /// The frame's callback key, which the answer starts with.
    pub callback: String,
    /// The APP_SID the frame sent back.
    pub app_sid: String,
    /// The origin the message came from.
    pub origin: String,
    /// Whether the page answered it.
    pub answered: bool,
}

/// A request the portal's page or the app's frame made in the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserRequest {
    pub method: String,
    pub url: String,
    /// The request's body, when it had one (cut to [`FRAME_TEXT`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The request's Authorization header, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
    /// The HTTP status of the answer, when one came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why the request failed, in the browser's words (`net::ERR_NAME_NOT_RESOLVED`), when it
    /// did. The browser reaches no address but loopback: every other host fails this way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// What happened when one case's frame was opened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRecord {
    /// The portal's page that held the frame.
    pub page: String,
    /// The commands the frame sent to the portal's page, in order.
    pub commands: Vec<FrameCommand>,
    /// Milliseconds from the navigation's start to the frame's `getInitData`; `None` when it
    /// never asked within the budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initialised_after_ms: Option<u64>,
    /// `console.error` messages of the page and the frame.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub console_errors: Vec<String>,
    /// Uncaught exceptions of the page and the frame.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<String>,
    /// Every request the page and the frame made: the form's POST, scripts, REST calls…
    pub requests: Vec<BrowserRequest>,
    /// The calls the browser made to the mock portals (REST from the frame, and OAuth), apart
    /// from the handler's own server-side calls in the exchange.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<PortalCall>,
    /// A PNG of the frame as it was left. Reports show it; the JSON report leaves it out.
    #[serde(skip)]
    pub screenshot: Vec<u8>,
}

impl FrameRecord {
    /// Whether the frame asked for its init data within the budget.
    pub fn initialised(&self) -> bool {
        self.initialised_after_ms.is_some()
    }

    /// The commands named `name`, in order.
    pub fn commands_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a FrameCommand> + 'a {
        self.commands.iter().filter(move |c| c.command == name)
    }
}
