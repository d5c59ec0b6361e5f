//! Faults: single realistic defects the reference handler can switch on, one per check, so
//! every check is seen to fail.

use serde::Serialize;

/// One defect of the reference handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// `json_decode` without a guard: unparsable PLACEMENT_OPTIONS become an uncaught exception.
    OptionsJson500,
    /// member_id is never looked at, so a request without it is served.
    AcceptsMissingMemberId,
    /// APPLICATION_TOKEN is demanded, though older portals never send it.
    RequiresAppToken,
    /// The settings page is sent as JSON, which the portal's frame shows as text.
    JsonPage,
    /// An `expired_token` answer is ignored and the page is rendered without the user.
    NoRefresh,
    /// The installation handler keeps the portal's details but never binds the settings page.
    NoBind,
    /// Every REST call uses the token saved at installation, as plain CRest does: auth kept in
    /// global state instead of the request's AUTH_ID.
    InstallerToken,
    /// REST calls go to `http://{DOMAIN}/rest/`, whatever portal DOMAIN names.
    TrustsDomain,
}

impl Fault {
    pub const ALL: &[Fault] = &[
        Fault::OptionsJson500,
        Fault::AcceptsMissingMemberId,
        Fault::RequiresAppToken,
        Fault::JsonPage,
        Fault::NoRefresh,
        Fault::NoBind,
        Fault::InstallerToken,
        Fault::TrustsDomain,
    ];

    /// The name used in `builtin:reference?fault=NAME`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::OptionsJson500 => "options-json-500",
            Fault::AcceptsMissingMemberId => "accepts-missing-member-id",
            Fault::RequiresAppToken => "requires-app-token",
            Fault::JsonPage => "json-page",
            Fault::NoRefresh => "no-refresh",
            Fault::NoBind => "no-bind",
            Fault::InstallerToken => "installer-token",
            Fault::TrustsDomain => "trusts-domain",
        }
    }

    /// The check this fault exists to trip, and the only one it trips.
    pub fn check(self) -> &'static str {
        match self {
            Fault::OptionsJson500 => "no-server-error",
            Fault::AcceptsMissingMemberId => "rejects-invalid",
            Fault::RequiresAppToken => "accepts-valid",
            Fault::JsonPage => "html-response",
            Fault::NoRefresh => "refreshes-expired-token",
            Fault::NoBind => "binds-landing-settings",
            Fault::InstallerToken => "uses-given-token",
            Fault::TrustsDomain => "token-stays-home",
        }
    }

    /// The defect, in a sentence.
    pub fn defect(self) -> &'static str {
        match self {
            Fault::OptionsJson500 => "PLACEMENT_OPTIONS that is not JSON crashes the handler: 500",
            Fault::AcceptsMissingMemberId => "member_id is never checked: a request without it gets the page",
            Fault::RequiresAppToken => "APPLICATION_TOKEN is required, so portals that don't send it get 400",
            Fault::JsonPage => "the page is sent as application/json instead of HTML",
            Fault::NoRefresh => "an expired_token answer is ignored; the page is rendered without the user",
            Fault::NoBind => "the installation handler never calls landing.repo.bind",
            Fault::InstallerToken => "every REST call uses the token saved at installation, not the request's AUTH_ID",
            Fault::TrustsDomain => "REST calls go to whatever DOMAIN the request names, with the request's token",
        }
    }

    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::ALL.iter().copied().find(|f| f.name() == name)
    }
}
