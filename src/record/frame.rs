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

/// What a screenshot shows, colour-wise.
#[derive(Debug, PartialEq, Eq)]
pub struct Colours {
    pub width: u32,
    pub height: u32,
    /// The one colour of every pixel (its samples as decoded), when there is only one.
    pub single: Option<Vec<u8>>,
}

impl Colours {
    /// Reads a PNG row by row (the decoder's default limit bounds what it allocates) and finds
    /// whether every pixel has the same colour.
    pub fn of(png: &[u8]) -> Result<Colours, png::DecodingError> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
        // Palette and low bit depths become plain samples, so equal bytes mean equal colours.
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info()?;
        let (width, height) = (reader.info().width, reader.info().height);
        let (colour_type, depth) = reader.output_color_type();
        let pixel = colour_type.samples() * if depth == png::BitDepth::Sixteen { 2 } else { 1 };
        let mut first: Option<Vec<u8>> = None;
        let mut single = true;
        while let Some(row) = reader.next_row()? {
            let data = row.data();
            let colour = first.get_or_insert_with(|| data[..pixel.min(data.len())].to_vec());
            if !data.chunks(pixel).all(|p| p == colour.as_slice()) {
                single = false;
                break;
            }
        }
        Ok(Colours { width, height, single: first.filter(|_| single) })
    }

    /// Whether `png` shows a single colour (a PNG that cannot be read is not known to).
    pub fn blank(png: &[u8]) -> bool {
        Colours::of(png).is_ok_and(|c| c.single.is_some())
    }
}
