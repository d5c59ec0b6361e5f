//! The frame: what the handler's page did when a real browser opened it in the portal's frame as
//! Bitrix24 does (`--browser`). Each check here judges only a case that was opened in a browser;
//! on any other it gives no verdict at all ([`IDS`]), so a run without `--browser` reports what
//! it reported before these checks existed. `token-stays-home` judges the frame's requests too
//! (src/checks/token.rs).

use url::Url;

use super::{Check, Citation, Finding, Grade, fail, not_exercised, pass, skip};
use crate::record::{BrowserRequest, Colours, Exchange, FrameRecord, TokenRole};
use crate::suite::{EvidenceKind, Level};

/// The checks that judge a frame, and nothing else.
pub const IDS: &[&str] =
    &[FRAME_INITIALISES.id, FRAME_NO_ERRORS.id, FRAME_VISIBLE.id, FRAME_INSTALL_FINISH.id, FRAME_REFRESH_AUTH.id];

pub const FRAME_INITIALISES: Check = Check {
    id: "frame-initialises",
    // A page may load the SDK and initialise it only on a click; nothing documents when.
    level: Grade::Fixed(Level::Should),
    title: "A frame that loads a Bitrix24 frame SDK or speaks the frame protocol asks the portal for its init data within the budget",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/sdk/bx24-js-sdk/system-functions/bx24-init.html",
        quote: "During application initialization, the library requests data for operation from the parent frame.",
    },
    judge: |_, exchange, _| {
        let Some(frame) = &exchange.frame else { return skip("not opened in a browser") };
        if let Some(ms) = frame.initialised_after_ms {
            return pass(format!("asked for its init data (getInitData) after {ms} ms"));
        }
        if let Some(unknown) = sdk_out_of_reach(exchange, frame) {
            return unknown;
        }
        if frame.commands_named("getInitData").next().is_some() {
            return fail("asked for its init data (getInitData) only after the budget had passed".to_owned());
        }
        if let Some(first) = frame.commands.first() {
            return fail(format!(
                "sent {} command(s), the first {}, but never getInitData within the budget: it has no token and no PLACEMENT_OPTIONS",
                frame.commands.len(),
                first.command
            ));
        }
        match sdk(frame) {
            Some(sdk) => {
                fail(format!("loaded the frame SDK ({}) but never asked for its init data within the budget", sdk.url))
            }
            None => pass("loaded no frame SDK and sent no command: a page rendered by its server"),
        }
    },
};

pub const FRAME_NO_ERRORS: Check = Check {
    id: "frame-no-errors",
    // Good practice: an exception may hit a part of the page nobody needs.
    level: Grade::Fixed(Level::Should),
    title: "The frame throws no uncaught exception, and every resource of the handler's own origin loads",
    evidence: Citation {
        kind: EvidenceKind::SdkSource,
        url: "https://github.com/bitrix24/b24jssdk/blob/b6861d7242e1f44d3ecb474db3b2500e365b91c1/docs/content/docs/2.working-with-the-rest-api/96.error-codes.md",
        quote: "These codes propagate through the promise rejection path. Wrap your calls in try / catch if you need to handle them centrally.",
    },
    judge: |_, exchange, _| {
        let Some(frame) = &exchange.frame else { return skip("not opened in a browser") };
        if let Some(first) = frame.exceptions.first() {
            return fail(format!("{} uncaught exception(s) in the frame; the first: {first}", frame.exceptions.len()));
        }
        let own = handler_origins(exchange);
        let broken = frame.requests.iter().find(|r| {
            origin(&r.url).is_some_and(|o| own.contains(&o))
                && (r.status.is_some_and(|s| s >= 400)
                    // A request cancelled (the frame navigated on, the tab closed) did not fail.
                    || r.failed.as_deref().is_some_and(|f| f != "net::ERR_ABORTED"))
        });
        if let Some(request) = broken {
            return fail(format!("the frame's own {} {} failed: {}", request.method, request.url, why(request)));
        }
        let console = match frame.console_errors.len() {
            0 => String::new(),
            n => format!(" ({n} console.error message(s), not judged)"),
        };
        pass(format!("no uncaught exception, and every request to the handler's origin succeeded{console}"))
    },
};

pub const FRAME_VISIBLE: Check = Check {
    id: "frame-visible",
    // A page still loading when the screenshot is taken looks blank too: a warning.
    level: Grade::Fixed(Level::Should),
    title: "The frame shows something: its screenshot is not a single colour",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/api-reference/landing/embedding/settings.html",
        quote: "The handler responds with a regular HTML page — Bitrix24 displays it in a frame in place of the widget.",
    },
    judge: |_, exchange, _| {
        let Some(frame) = &exchange.frame else { return skip("not opened in a browser") };
        if frame.screenshot.is_empty() {
            return skip("the browser took no screenshot of the frame");
        }
        match Colours::of(&frame.screenshot) {
            Err(error) => skip(format!("the screenshot could not be read: {error}")),
            Ok(Colours { width, height, single: Some(colour) }) => fail(format!(
                "the frame shows nothing: every pixel of its {width}×{height} screenshot is {}",
                colour.iter().map(|b| format!("{b:02x}")).collect::<String>()
            )),
            Ok(Colours { width, height, single: None }) => {
                pass(format!("its {width}×{height} screenshot has more than one colour"))
            }
        }
    },
};

pub const FRAME_INSTALL_FINISH: Check = Check {
    id: "frame-install-finish",
    // Documented, but not when: an installer may ask the user something first and call
    // installFinish on a click, which the harness never makes. A must would fail such an app.
    level: Grade::Fixed(Level::Should),
    title: "The installation page in its frame calls installFinish (sends setInstallFinish)",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/settings/app-installation/installation-finish.html",
        quote: "Until the application sends a signal indicating the completion of installation via installFinish, the application will be considered not configured. Functionality will be blocked.",
    },
    judge: |case, exchange, _| {
        let Some(frame) = &exchange.frame else { return skip("not opened in a browser") };
        if !case.kind.installs() {
            return skip("not the installation");
        }
        if frame.commands_named("setInstallFinish").next().is_some() {
            return pass("sent setInstallFinish");
        }
        if let Some(unknown) = sdk_out_of_reach(exchange, frame) {
            return unknown;
        }
        fail(
            "the installation page never called installFinish (no setInstallFinish): Bitrix24 keeps the app not installed, and shows none of its widgets",
        )
    },
};

pub const FRAME_REFRESH_AUTH: Check = Check {
    id: "frame-refresh-auth",
    level: Grade::OfCase,
    title: "A call of the frame refused with expired_token is followed by refreshAuth and a call with the refreshed token",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/sdk/bx24-js-sdk/system-functions/bx24-refresh-auth.html",
        quote: "The BX24.refreshAuth function forcefully updates the authorization key.",
    },
    judge: |_, exchange, _| {
        let Some(frame) = &exchange.frame else { return skip("not opened in a browser") };
        // A batch's commands are judged through the batch call itself.
        let calls: Vec<_> = frame.calls.iter().filter(|c| c.batch.is_none()).collect();
        let Some(at) = calls.iter().position(|c| c.error.as_deref() == Some("expired_token")) else {
            return skip(format!("no call of the frame met expired_token ({} made)", calls.len()));
        };
        let refused = calls[at];
        let refreshed = frame.commands_named("refreshAuth").next().is_some();
        let retried = calls[at + 1..].iter().any(|c| c.token == TokenRole::Refreshed && c.succeeded());
        match (refreshed, retried) {
            (true, true) => pass(format!(
                "{} met expired_token; the frame sent refreshAuth and called again with the refreshed token",
                refused.method
            )),
            (false, _) => fail(format!(
                "{} met expired_token and the frame never sent refreshAuth: the page is built on a failed call",
                refused.method
            )),
            (true, false) => fail(format!(
                "{} met expired_token; the frame sent refreshAuth but no later call succeeded with the refreshed token",
                refused.method
            )),
        }
    },
};

/// The origins of the handler's pages: the URL the case was sent to, and where its redirects on
/// that origin led.
pub(super) fn handler_origins(exchange: &Exchange) -> Vec<String> {
    let followed = exchange.redirects.iter().filter(|r| r.followed).map(|r| r.to.as_str());
    std::iter::once(exchange.request.url.as_str()).chain(followed).filter_map(origin).collect()
}

/// `scheme://host:port` of a URL.
pub(super) fn origin(url: &str) -> Option<String> {
    Url::parse(url).ok().map(|u| u.origin().ascii_serialization())
}

/// The request that loaded a Bitrix24 frame SDK: @bitrix24/b24jssdk from anywhere, or BX24.js
/// from api.bitrix24.com (`<script src="//api.bitrix24.com/api/v1/">`).
fn sdk(frame: &FrameRecord) -> Option<&BrowserRequest> {
    frame.requests.iter().find(|r| {
        let Ok(url) = Url::parse(&r.url) else { return false };
        url.path().to_ascii_lowercase().contains("b24jssdk")
            || (url.host_str().is_some_and(|h| h.starts_with("api.bitrix24.")) && url.path().starts_with("/api/v1"))
    })
}

/// "Not exercised", when the frame SDK lives on another host, which the browser here cannot
/// reach: what the frame would do with it is not known.
fn sdk_out_of_reach(exchange: &Exchange, frame: &FrameRecord) -> Option<Finding> {
    let own = handler_origins(exchange);
    let sdk = sdk(frame)
        .filter(|r| r.status.is_none() && r.failed.is_some() && !origin(&r.url).is_some_and(|o| own.contains(&o)))?;
    Some(not_exercised(format!(
        "the frame SDK {} could not be loaded ({}): the browser reaches no host but loopback",
        sdk.url,
        why(sdk)
    )))
}

/// Why a request did not give what it asked for, in the browser's words.
fn why(request: &BrowserRequest) -> String {
    match (&request.failed, request.status) {
        (Some(failed), _) => failed.clone(),
        (None, Some(status)) => format!("answered {status}"),
        (None, None) => "no answer".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Context, Finding};
    use crate::install::{self, InstallForm};
    use crate::payload::Family;
    use crate::record::fixture::{call, exchange};
    use crate::record::{FrameCommand, Outcome};
    use crate::suite::Case;

    const HANDLER: &str = "http://127.0.0.1:7/landing-settings";

    fn command(name: &str) -> FrameCommand {
        FrameCommand {
            command: name.to_owned(),
            params: String::new(),
            callback: "cb1".to_owned(),
            app_sid: "sid".to_owned(),
            origin: "http://127.0.0.1:7".to_owned(),
            answered: true,
        }
    }

    fn request(url: &str, status: Option<u16>, failed: Option<&str>) -> BrowserRequest {
        BrowserRequest {
            method: "GET".to_owned(),
            url: url.to_owned(),
            body: None,
            authorization: None,
            status,
            failed: failed.map(str::to_owned),
        }
    }

    /// A frame that loaded the harness's b24jssdk from the handler, initialised and resized.
    fn good() -> FrameRecord {
        FrameRecord {
            page: "http://127.0.0.1:5/b24-conform/frame/0".to_owned(),
            commands: vec![command("getInitData"), command("resizeWindow")],
            initialised_after_ms: Some(210),
            requests: vec![
                BrowserRequest { method: "POST".to_owned(), ..request(HANDLER, Some(200), None) },
                request("http://127.0.0.1:7/assets/b24jssdk-2.1.0.umd.min.js", Some(200), None),
            ],
            screenshot: png(&[[255, 255, 255], [0, 0, 0]]),
            ..FrameRecord::default()
        }
    }

    /// A 2×2 RGB PNG whose top row is `colours[0]` and bottom row `colours[1]`.
    fn png(colours: &[[u8; 3]; 2]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, 2, 2);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("a header");
        let data: Vec<u8> = colours.iter().flat_map(|c| c.iter().chain(c.iter()).copied()).collect();
        writer.write_image_data(&data).expect("the pixels");
        writer.finish().expect("the end");
        out
    }

    fn judge(check: &Check, case: &Case, frame: Option<FrameRecord>) -> Finding {
        let mut exchange = exchange(HANDLER, 200, "<h1>Settings</h1>", Vec::new());
        exchange.frame = frame;
        (check.judge)(case, &exchange, &Context::default())
    }

    fn placement() -> Case {
        Case { kind: crate::suite::CaseKind::Placement, ..install::case(InstallForm::Frame, Family::Settings) }
    }

    fn outcome(check: &Check, frame: FrameRecord) -> Outcome {
        judge(check, &placement(), Some(frame)).outcome
    }

    #[test]
    fn frame_initialises_passes_an_sdk_that_asks_and_a_server_rendered_page_fails_a_silent_sdk() {
        assert_eq!(outcome(&FRAME_INITIALISES, good()), Outcome::Pass);
        let silent = FrameRecord { commands: Vec::new(), initialised_after_ms: None, ..good() };
        let finding = judge(&FRAME_INITIALISES, &placement(), Some(silent));
        assert_eq!(finding.outcome, Outcome::Fail, "{}", finding.message);
        assert!(finding.message.contains("b24jssdk-2.1.0.umd.min.js"), "{}", finding.message);
        // Commands without getInitData: the protocol, spoken wrong.
        let no_init = FrameRecord { commands: vec![command("resizeWindow")], initialised_after_ms: None, ..good() };
        assert_eq!(outcome(&FRAME_INITIALISES, no_init), Outcome::Fail);
        // No SDK, no command: a server-rendered page.
        let server = FrameRecord { commands: Vec::new(), initialised_after_ms: None, requests: Vec::new(), ..good() };
        let finding = judge(&FRAME_INITIALISES, &placement(), Some(server));
        assert_eq!(
            (finding.outcome, finding.message.as_str()),
            (Outcome::Pass, "loaded no frame SDK and sent no command: a page rendered by its server")
        );
        // BX24.js from api.bitrix24.com, which the browser cannot reach here: not known.
        let bx24 = FrameRecord {
            commands: Vec::new(),
            initialised_after_ms: None,
            requests: vec![request("https://api.bitrix24.com/api/v1/", None, Some("net::ERR_PROXY_CONNECTION_FAILED"))],
            ..good()
        };
        assert_eq!(outcome(&FRAME_INITIALISES, bx24), Outcome::NotExercised);
    }

    #[test]
    fn frame_no_errors_fails_an_exception_and_a_broken_own_resource() {
        let clean = FrameRecord { console_errors: vec!["a warning logged as an error".to_owned()], ..good() };
        assert_eq!(outcome(&FRAME_NO_ERRORS, clean), Outcome::Pass);
        let throws = FrameRecord { exceptions: vec!["TypeError: x is null".to_owned()], ..good() };
        let finding = judge(&FRAME_NO_ERRORS, &placement(), Some(throws));
        assert_eq!(
            (finding.outcome, finding.message.as_str()),
            (Outcome::Fail, "1 uncaught exception(s) in the frame; the first: TypeError: x is null")
        );
        let mut missing = good();
        missing.requests.push(request("http://127.0.0.1:7/app.js", Some(404), None));
        assert_eq!(outcome(&FRAME_NO_ERRORS, missing), Outcome::Fail);
        // Another origin's failure, or a cancelled request, is not the frame's own.
        let mut elsewhere = good();
        elsewhere.requests.push(request("http://127.0.0.1:5/rest/user.current.json", Some(401), None));
        elsewhere.requests.push(request("http://127.0.0.1:7/poll", None, Some("net::ERR_ABORTED")));
        assert_eq!(outcome(&FRAME_NO_ERRORS, elsewhere), Outcome::Pass);
    }

    #[test]
    fn frame_visible_fails_a_single_colour() {
        assert_eq!(outcome(&FRAME_VISIBLE, good()), Outcome::Pass);
        let blank = FrameRecord { screenshot: png(&[[255, 255, 255], [255, 255, 255]]), ..good() };
        let finding = judge(&FRAME_VISIBLE, &placement(), Some(blank));
        assert_eq!(
            (finding.outcome, finding.message.as_str()),
            (Outcome::Fail, "the frame shows nothing: every pixel of its 2×2 screenshot is ffffff")
        );
        let garbled = FrameRecord { screenshot: b"\x89PNG not really".to_vec(), ..good() };
        assert_eq!(outcome(&FRAME_VISIBLE, garbled), Outcome::Skip);
    }

    #[test]
    fn frame_install_finish_judges_the_installation_only() {
        let install = install::case(InstallForm::Frame, Family::Settings);
        let mut finished = good();
        finished.commands.push(command("setInstallFinish"));
        assert_eq!(judge(&FRAME_INSTALL_FINISH, &install, Some(finished)).outcome, Outcome::Pass);
        assert_eq!(judge(&FRAME_INSTALL_FINISH, &install, Some(good())).outcome, Outcome::Fail);
        assert_eq!(judge(&FRAME_INSTALL_FINISH, &placement(), Some(good())).outcome, Outcome::Skip);
    }

    #[test]
    fn frame_refresh_auth_needs_refresh_auth_and_a_refreshed_call() {
        let refused = call(401, Some("expired_token"));
        let retried = crate::record::PortalCall { token: TokenRole::Refreshed, ..call(200, None) };
        let frame = |commands: &[&str], calls: Vec<crate::record::PortalCall>| FrameRecord {
            commands: commands.iter().map(|c| command(c)).collect(),
            calls,
            ..good()
        };
        let with = |f| outcome(&FRAME_REFRESH_AUTH, f);
        assert_eq!(with(frame(&["getInitData", "refreshAuth"], vec![refused.clone(), retried.clone()])), Outcome::Pass);
        assert_eq!(with(frame(&["getInitData"], vec![refused.clone()])), Outcome::Fail);
        assert_eq!(with(frame(&["getInitData", "refreshAuth"], vec![refused.clone()])), Outcome::Fail);
        assert_eq!(with(frame(&["getInitData"], vec![call(200, None)])), Outcome::Skip);
    }

    /// Without a frame record no frame check is judged at all: the run gives them no verdict.
    #[test]
    fn no_frame_no_verdict() {
        let exchange = exchange(HANDLER, 200, "<h1>Settings</h1>", Vec::new());
        let verdicts = crate::checks::check(&placement(), &exchange, &Context::default());
        assert!(verdicts.iter().all(|v| !IDS.contains(&v.id)), "{verdicts:?}");
        let mut opened = exchange.clone();
        opened.frame = Some(good());
        let verdicts = crate::checks::check(&placement(), &opened, &Context::default());
        assert_eq!(verdicts.iter().filter(|v| IDS.contains(&v.id)).count(), IDS.len());
    }
}
