//! The installation, as Bitrix24 performs it (settings/oauth/simple-way.md), in either of its two
//! forms: an app with a page in the interface gets its installation page opened in a frame, with
//! "the same data in the POST request as in the usual case" (CRest reads it as PLACEMENT=DEFAULT,
//! PROTOCOL.md 5.2); an app that uses only the API gets the `ONAPPINSTALL` event at its "callback
//! link for the installation event", a urlencoded form with PHP-bracketed `data[…]` and `auth[…]`.
//! Either carries the installing user's token pair and the portal's `member_id`; with it the app
//! binds its handler for the run's placement (`landing.repo.bind`, PROTOCOL.md 4): LANDING_SETTINGS,
//! or a LANDING_BLOCK_ code for the block suite.

use url::Url;

use crate::payload::{Binding, Family, Field, Payload, Wire};
use crate::record::HttpRequest;
use crate::suite::{Case, CaseKind, Evidence, EvidenceKind, Expectation, Level, TokenState, catalog_payload};

/// How Bitrix24 installs the app.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum InstallForm {
    /// `ONAPPINSTALL` posted to the installation-event callback (apps that use only the API).
    #[default]
    Event,
    /// The installation page opened in a frame with the usual POST, PLACEMENT=DEFAULT (apps with
    /// a page in the interface).
    Frame,
}

impl InstallForm {
    /// The id under which the installation is reported.
    pub fn case_id(self) -> &'static str {
        match self {
            InstallForm::Event => "install/onappinstall",
            InstallForm::Frame => "install/frame",
        }
    }
}

/// The installation of an app with a `family` placement as a case: its own token pair, accepted
/// by a right app, which binds its handler for that placement. An app that cannot be installed
/// offers nothing at all: the case is a `must`.
pub fn case(form: InstallForm, family: Family) -> Case {
    let (title, url, quote, note) = match form {
        InstallForm::Event => (
            "Bitrix24 installs the app (ONAPPINSTALL); the app binds its {code} handler",
            "https://apidocs.bitrix24.com/api-reference/common/events/on-app-install.html",
            "The ONAPPINSTALL event is triggered immediately after the successful installation of an application on Bitrix24.",
            "The fields follow this page's example plus what the events overview lists for every event (event_handler_id) and what b24pysdk and b24phpsdk parse (auth[expires]): see docs/protocol.md §4 and §7.",
        ),
        InstallForm::Frame => (
            "Bitrix24 opens the installation page in a frame; the app binds its {code} handler",
            "https://apidocs.bitrix24.com/settings/oauth/simple-way.html",
            "It is shown to the user in a frame once, at the moment of installation, and receives the same data as a regular application page",
            "Until the app calls installFinish (browser JavaScript), its widgets are not shown: settings/app-installation/installation-finish.html.",
        ),
    };
    let id = form.case_id();
    let payload = catalog_payload(id, &family.example());
    Case {
        id: id.to_owned(),
        title: title.replace("{code}", family.code()),
        level: Level::Must,
        evidence: Evidence {
            key: "install".to_owned(),
            kind: EvidenceKind::Documentation,
            url: url.to_owned(),
            quote: quote.to_owned(),
            note: Some(note.to_owned()),
        },
        expect: Expectation::Accept,
        token: TokenState::Valid,
        payload,
        mutations: Vec::new(),
        origin: None,
        kind: CaseKind::Install(form),
    }
}

/// The installation request for `case`'s tokens from the portal of `binding`, sent to `url`.
pub fn request(case: &Case, form: InstallForm, binding: &Binding, url: &Url) -> HttpRequest {
    match form {
        InstallForm::Event => event(case, binding, url),
        // The app's own page, not a placement: PLACEMENT=DEFAULT and no options, whichever case
        // (the run's installation or a journey's re-installation) carries the tokens.
        InstallForm::Frame => {
            let page = Payload { placement: "DEFAULT".to_owned(), placement_options: None, ..case.payload.clone() };
            Wire::Split.placement(url, &page.bind(binding).to_fields(), binding)
        }
    }
}

/// The scheme PROTOCOL stands for (0 http, 1 https).
fn scheme(protocol: u8) -> &'static str {
    if protocol == 1 { "https" } else { "http" }
}

/// The id of the event handler Bitrix24 registered for the app's installation callback.
const EVENT_HANDLER_ID: &str = "1";

/// The user who installs the app (the mock portal's user 1).
const INSTALLER: &str = "1";

/// The `ONAPPINSTALL` event for `case`'s tokens from the portal of `binding`, posted to `url`:
/// every field on-app-install.md documents, and those the official SDKs' event parsers require
/// besides (b24pysdk `OAuthEventData.from_dict` needs `event_handler_id` and `auth[expires]`;
/// b24phpsdk's fixtures and b24jssdk's `HandlerAuthParams` carry `auth[expires]` and
/// `auth[user_id]`), in the order of b24phpsdk's fixture with `refresh_token` before
/// `application_token`. `ts` is when the event is sent (snapshots redact times).
fn event(case: &Case, binding: &Binding, url: &Url) -> HttpRequest {
    let payload = case.payload.bind(binding);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let expires_in = payload.auth_expires.max(0).unsigned_abs();
    let values = [
        ("event", "ONAPPINSTALL".to_owned()),
        ("event_handler_id", EVENT_HANDLER_ID.to_owned()),
        ("data[VERSION]", "1".to_owned()),
        ("data[ACTIVE]", "Y".to_owned()),
        ("data[INSTALLED]", "Y".to_owned()),
        ("data[LANGUAGE_ID]", payload.lang.clone()),
        ("ts", now.to_string()),
        ("auth[access_token]", payload.auth_id.clone()),
        ("auth[expires]", now.saturating_add(expires_in).to_string()),
        ("auth[expires_in]", expires_in.to_string()),
        ("auth[scope]", payload.application_scope.clone().unwrap_or_else(|| "landing".to_owned())),
        ("auth[domain]", payload.domain.clone()),
        ("auth[server_endpoint]", binding.server_endpoint.clone()),
        ("auth[status]", payload.status.clone()),
        ("auth[client_endpoint]", format!("{}://{}/rest/", scheme(binding.protocol), payload.domain)),
        ("auth[member_id]", payload.member_id.clone()),
        ("auth[user_id]", INSTALLER.to_owned()),
        ("auth[refresh_token]", payload.refresh_id.clone()),
        ("auth[application_token]", payload.application_token.clone().unwrap_or_default()),
    ];
    let fields: Vec<Field> = values.into_iter().map(|(name, value)| Field::new(name, value)).collect();
    Wire::Form.encode(url, &fields)
}
