//! Faults: single realistic defects the reference handler can switch on, at least one per
//! check, so every check is seen to fail — and each family of the catalog is seen to catch one.

use serde::Serialize;

use crate::payload::Family;
use crate::suite::Level;

/// One defect of the reference handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    OptionsJson500,
    AcceptsMissingMemberId,
    AnyMemberId,
    AnyDomain,
    ProtocolUnchecked,
    IgnoresPlacement,
    GetServesPage,
    RequiresAppToken,
    LangAllowlist,
    StatusAllowlist,
    AuthExpires500,
    AppSid500,
    ScopeAssert500,
    Duplicate500,
    PhpArray500,
    BodyLimit500,
    InvalidUtf8500,
    LangMarkup500,
    JsonPage,
    NoRefresh,
    ReflectsLang,
    LangInScript,
    OptionsUnescaped,
    TrustsUri,
    LeaksStackTrace,
    ForbidsFraming,
    SlowPage,
    NoBind,
    InstallerToken,
    TrustsDomain,
    RedirectTokenElsewhere,
    UninstallIgnoresAppToken,
    ServesAfterUninstall,
    /// One character of the page's heading is wrong: nothing a semantic check sees, what a
    /// reviewed snapshot is for.
    PageTypo,
    /// Passes the portal's overload on instead of pausing and calling again.
    RateLimit502,
    /// Calls a method the mock portal does not model: its cases are not modelled, not failed.
    CallsUnknownMethod,
    /// The block item never asks the portal whether the user may see the block.
    IgnoresBlockRights,
    /// The block item shows the block's CODE unescaped.
    BlockCodeUnescaped,
    /// The frame faults (`--browser`): each changes the pages' script and nothing else.
    FrameNeverInits,
    FrameThrows,
    FrameBlank,
    FrameTokenElsewhere,
    FrameNoInstallFinish,
    FrameIgnoresRefresh,
}

/// What a fault is: its name in `builtin:reference?fault=NAME`, the placement whose suite shows
/// it, whether only a run with `--browser` does, the check it trips (and the only one), the level
/// its defect deserves (that of the verdicts it fails), and the defect in a sentence.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Spec {
    pub name: &'static str,
    pub placement: &'static str,
    pub browser: bool,
    pub check: &'static str,
    pub level: Level,
    pub defect: &'static str,
}

impl Fault {
    pub const ALL: &[Fault] = &[
        Fault::OptionsJson500,
        Fault::AcceptsMissingMemberId,
        Fault::AnyMemberId,
        Fault::AnyDomain,
        Fault::ProtocolUnchecked,
        Fault::IgnoresPlacement,
        Fault::GetServesPage,
        Fault::RequiresAppToken,
        Fault::LangAllowlist,
        Fault::StatusAllowlist,
        Fault::AuthExpires500,
        Fault::AppSid500,
        Fault::ScopeAssert500,
        Fault::Duplicate500,
        Fault::PhpArray500,
        Fault::BodyLimit500,
        Fault::InvalidUtf8500,
        Fault::LangMarkup500,
        Fault::JsonPage,
        Fault::NoRefresh,
        Fault::ReflectsLang,
        Fault::LangInScript,
        Fault::OptionsUnescaped,
        Fault::TrustsUri,
        Fault::LeaksStackTrace,
        Fault::ForbidsFraming,
        Fault::SlowPage,
        Fault::NoBind,
        Fault::InstallerToken,
        Fault::TrustsDomain,
        Fault::RedirectTokenElsewhere,
        Fault::UninstallIgnoresAppToken,
        Fault::ServesAfterUninstall,
        Fault::PageTypo,
        Fault::RateLimit502,
        Fault::CallsUnknownMethod,
        Fault::IgnoresBlockRights,
        Fault::BlockCodeUnescaped,
        Fault::FrameNeverInits,
        Fault::FrameThrows,
        Fault::FrameBlank,
        Fault::FrameTokenElsewhere,
        Fault::FrameNoInstallFinish,
        Fault::FrameIgnoresRefresh,
    ];

    /// What the fault is.
    pub fn spec(self) -> Spec {
        let (name, check, defect) = self.parts();
        let level = match self {
            // Good practice, each (the checks' grades say why).
            Fault::SlowPage | Fault::InstallerToken | Fault::RateLimit502 => Level::Should,
            // Each trips only cases the catalog grades should: requests Bitrix24 never sends,
            // which a handler need not refuse, or values it may not know.
            Fault::AcceptsMissingMemberId
            | Fault::AnyMemberId
            | Fault::AnyDomain
            | Fault::ProtocolUnchecked
            | Fault::IgnoresPlacement
            | Fault::GetServesPage
            | Fault::RequiresAppToken
            | Fault::LangAllowlist
            | Fault::StatusAllowlist => Level::Should,
            // The docs do not tell a block item to check rights; the portal still refuses its
            // writes with the user's token (the block suite grades the case should).
            Fault::IgnoresBlockRights => Level::Should,
            // Serving a placement after the removal is judged at the after-removal step's level.
            Fault::ServesAfterUninstall => Level::Should,
            // The frame's checks of good practice (their grades say why).
            Fault::FrameNeverInits | Fault::FrameThrows | Fault::FrameBlank | Fault::FrameNoInstallFinish => {
                Level::Should
            }
            _ => Level::Must,
        };
        Spec { name, placement: self.family().code(), browser: self.in_frame(), check, level, defect }
    }

    fn parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Fault::OptionsJson500 => (
                "options-json-500",
                "no-server-error",
                "json_decode without a guard: PLACEMENT_OPTIONS that is not a JSON object with SITE_ID crashes the handler (500)",
            ),
            Fault::AcceptsMissingMemberId => (
                "accepts-missing-member-id",
                "rejects-invalid",
                "member_id is compared only when present: a request without it gets the page",
            ),
            Fault::AnyMemberId => (
                "any-member-id",
                "rejects-invalid",
                "member_id must be present but is never compared with the installation's",
            ),
            Fault::AnyDomain => (
                "any-domain",
                "rejects-invalid",
                "DOMAIN is never compared with the installation's: any portal's request gets the page (calls still go home)",
            ),
            Fault::ProtocolUnchecked => {
                ("protocol-unchecked", "rejects-invalid", "PROTOCOL is never read: any value, or none, is served")
            }
            Fault::IgnoresPlacement => (
                "ignores-placement",
                "rejects-invalid",
                "PLACEMENT is never read: the settings page is served for any placement",
            ),
            Fault::GetServesPage => {
                ("get-serves-page", "rejects-invalid", "a GET with the fields in the query string gets the page")
            }
            Fault::RequiresAppToken => (
                "requires-app-token",
                "accepts-valid",
                "APPLICATION_TOKEN is required, so portals that don't send it get 400",
            ),
            Fault::LangAllowlist => (
                "lang-allowlist",
                "accepts-valid",
                "LANG outside the cloud's languages is refused (400) instead of falling back",
            ),
            Fault::StatusAllowlist => (
                "status-allowlist",
                "accepts-valid",
                "status S (subscription), missing from the docs' list, is refused (400)",
            ),
            Fault::AuthExpires500 => (
                "auth-expires-500",
                "no-server-error",
                "AUTH_EXPIRES is parsed as an integer without a guard: anything else crashes the handler (500)",
            ),
            Fault::AppSid500 => (
                "app-sid-500",
                "no-server-error",
                "APP_SID is decoded as 32 hex digits without a guard: any other value crashes the handler (500)",
            ),
            Fault::ScopeAssert500 => (
                "scope-assert-500",
                "no-server-error",
                "an assertion that APPLICATION_SCOPE includes landing crashes the handler (500) when it does not",
            ),
            Fault::Duplicate500 => (
                "duplicate-500",
                "no-server-error",
                "a field sent twice becomes a list where a string is expected: 500",
            ),
            Fault::PhpArray500 => (
                "php-array-500",
                "no-server-error",
                "a field sent in PHP array syntax (F[]=, F[KEY]=) becomes an array where a string is expected: 500",
            ),
            Fault::BodyLimit500 => {
                ("body-limit-500", "no-server-error", "a body over 64 KiB overflows a fixed buffer: 500 instead of 413")
            }
            Fault::InvalidUtf8500 => (
                "invalid-utf8-500",
                "no-server-error",
                "the request is decoded as strict UTF-8: invalid bytes crash the handler (500)",
            ),
            Fault::LangMarkup500 => {
                ("lang-markup-500", "no-server-error", "a template engine chokes on LANG containing '<': 500")
            }
            Fault::JsonPage => ("json-page", "html-response", "the page is sent as application/json instead of HTML"),
            Fault::NoRefresh => (
                "no-refresh",
                "refreshes-expired-token",
                "an expired_token answer is ignored; the page is rendered without the user",
            ),
            Fault::ReflectsLang => (
                "reflects-lang",
                "no-reflected-injection",
                "LANG goes unescaped into <html lang=\"…\">: a double quote breaks out of the attribute",
            ),
            Fault::LangInScript => (
                "lang-in-script",
                "no-reflected-injection",
                "LANG goes unescaped into a single-quoted JavaScript string",
            ),
            Fault::OptionsUnescaped => (
                "options-unescaped",
                "no-reflected-injection",
                "PLACEMENT_OPTIONS.SITE_ID is shown in the page text unescaped",
            ),
            Fault::TrustsUri => (
                "trusts-uri",
                "no-reflected-injection",
                "PLACEMENT_OPTIONS.URI becomes a link escaped for HTML but never checked to be a path: javascript: runs",
            ),
            Fault::LeaksStackTrace => (
                "leaks-stack-trace",
                "no-error-leak",
                "a bad PLACEMENT_OPTIONS is refused (400) with the Python traceback in the page",
            ),
            Fault::ForbidsFraming => (
                "forbids-framing",
                "iframe-embeddable",
                "the page is sent with X-Frame-Options: SAMEORIGIN, so the portal's frame stays blank",
            ),
            Fault::SlowPage => {
                ("slow-page", "latency-budget", "every page waits 3.2 s on an upstream it does not need")
            }
            Fault::NoBind => (
                "no-bind",
                "binds-landing-settings",
                "the installation handler keeps the portal's details but never calls landing.repo.bind",
            ),
            // Plain CRest's design (PROTOCOL.md 5.2): auth kept in global state, not the request's.
            Fault::InstallerToken => (
                "installer-token",
                "uses-given-token",
                "every REST call uses the token saved at installation, not the request's AUTH_ID",
            ),
            Fault::TrustsDomain => (
                "trusts-domain",
                "token-stays-home",
                "REST calls go to http://{DOMAIN}/rest/ for whatever DOMAIN the request names, with its token",
            ),
            Fault::RedirectTokenElsewhere => (
                "redirect-token-elsewhere",
                "token-stays-home",
                "the page hands the user over to the app's front end on another origin with a 303 whose URL carries AUTH_ID: the browser takes the token there",
            ),
            Fault::UninstallIgnoresAppToken => (
                "uninstall-ignores-app-token",
                "accepts-valid",
                "ONAPPUNINSTALL naming the installation's member_id deletes it, whatever its application_token: anyone can remove the app from a portal",
            ),
            Fault::ServesAfterUninstall => (
                "serves-after-uninstall",
                "rejects-invalid",
                "ONAPPUNINSTALL is acknowledged but the installation is kept, and the page is shown even when the portal answers APPLICATION_NOT_FOUND",
            ),
            Fault::PageTypo => (
                "page-typo",
                crate::snapshot::CHECK_ID,
                "the settings page's heading reads \"Settinqs\": one character changed, which only a reviewed snapshot sees",
            ),
            Fault::RateLimit502 => (
                "rate-limit-502",
                "no-server-error",
                "QUERY_LIMIT_EXCEEDED is passed on as 502 instead of pausing and calling again",
            ),
            Fault::CallsUnknownMethod => (
                "calls-unknown-method",
                "no-server-error",
                "every page also calls no.such.method, which the mock portal does not model, and crashes (500) on its error",
            ),
            Fault::IgnoresBlockRights => (
                "ignores-block-rights",
                "rejects-invalid",
                "the block item (--placement LANDING_BLOCK) never reads the block with the user's token (landing.block.getbyid): whoever opens the editor gets it for any block id",
            ),
            Fault::BlockCodeUnescaped => (
                "block-code-unescaped",
                "no-reflected-injection",
                "the block item (--placement LANDING_BLOCK) shows PLACEMENT_OPTIONS.CODE in its heading unescaped",
            ),
            Fault::FrameNeverInits => (
                "frame-never-inits",
                "frame-initialises",
                "the page loads b24jssdk but starts it on a DOMContentLoaded listener added after the page loaded: it never asks for its init data",
            ),
            Fault::FrameThrows => (
                "frame-throws",
                "frame-no-errors",
                "the page's script writes to an element the page does not have: an uncaught TypeError on load",
            ),
            Fault::FrameBlank => (
                "frame-blank",
                "frame-visible",
                "the page's script hides the page while the SDK starts and never shows it again: the frame stays blank",
            ),
            Fault::FrameTokenElsewhere => (
                "frame-token-elsewhere",
                "token-stays-home",
                "the page's script sends the user's AUTH_ID to http://telemetry.example/collect from the browser",
            ),
            Fault::FrameNoInstallFinish => (
                "frame-no-install-finish",
                "frame-install-finish",
                "the installation page starts the SDK but never calls installFinish: Bitrix24 keeps the app not installed",
            ),
            Fault::FrameIgnoresRefresh => (
                "frame-ignores-refresh",
                "frame-refresh-auth",
                "the page's script calls REST itself with the token of its init data and never refreshes it on expired_token",
            ),
        }
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The check this fault exists to trip, and the only one it trips.
    pub fn check(self) -> &'static str {
        self.spec().check
    }

    /// The level of the verdicts it fails.
    pub fn level(self) -> Level {
        self.spec().level
    }

    /// The defect, in a sentence.
    pub fn defect(self) -> &'static str {
        self.spec().defect
    }

    /// Whether the defect is in the pages' script, which only a browser runs (`--browser`): a
    /// run without one sees nothing of it.
    pub fn in_frame(self) -> bool {
        matches!(
            self,
            Fault::FrameNeverInits
                | Fault::FrameThrows
                | Fault::FrameBlank
                | Fault::FrameTokenElsewhere
                | Fault::FrameNoInstallFinish
                | Fault::FrameIgnoresRefresh
        )
    }

    /// The placement family whose pages have the defect: its suite shows it.
    pub fn family(self) -> Family {
        match self {
            Fault::IgnoresBlockRights | Fault::BlockCodeUnescaped => Family::Block,
            _ => Family::Settings,
        }
    }

    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::ALL.iter().copied().find(|f| f.name() == name)
    }
}
