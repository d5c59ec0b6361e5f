//! The frame's browser: what the user's browser adds to a placement request. Bitrix24 does not
//! send the request itself; its `app.layout` template writes a `<form method="POST"
//! target="{frameName}">` into the portal's page and the user's browser submits it into the app's
//! iframe (the protocol review, 1A-5). So the request carries what a browser's form navigation
//! into a cross-site frame carries: handlers that check Origin against DOMAIN, or sit behind a
//! firewall that turns away requests without a browser's User-Agent, see here what they see live.
//! The installation event is not one of these: Bitrix24's server posts it, not a browser.

use super::Binding;

/// A current desktop Chrome on Windows, in the reduced form Chrome sends (every version part
/// after the major one is 0).
pub const USER_AGENT: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";

/// What Chrome accepts when it navigates a document.
const ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";

impl Binding {
    /// The origin of the portal's pages, `http(s)://host:port`: the portal DOMAIN names.
    pub fn origin(&self) -> String {
        format!("{}://{}", if self.protocol == 1 { "https" } else { "http" }, self.domain)
    }
}

/// The headers a browser adds when the portal's page at `portal_origin` posts its form into the
/// app's frame. No Accept-Encoding: the harness reads bodies as
/// sent, and a browser's `gzip, deflate, br, zstd` would ask for bodies it does not decode. No
/// cookies: the handler's cookies from an earlier visit are not the harness's to invent.
pub fn headers(portal_origin: &str) -> Vec<(String, String)> {
    let pairs = [
        ("origin", portal_origin.to_owned()),
        ("upgrade-insecure-requests", "1".to_owned()),
        ("user-agent", USER_AGENT.to_owned()),
        ("accept", ACCEPT.to_owned()),
        // The handler is on another site than the portal. The harness puts both on 127.0.0.1,
        // which a browser would call the same site; this is what a deployed app sees.
        ("sec-fetch-site", "cross-site".to_owned()),
        ("sec-fetch-mode", "navigate".to_owned()),
        // The user opened the settings with a click.
        ("sec-fetch-user", "?1".to_owned()),
        ("sec-fetch-dest", "iframe".to_owned()),
        // The form is on a portal page. Chrome's default referrer policy,
        // strict-origin-when-cross-origin, cuts the page's URL to its origin for a request to
        // another origin, and Bitrix24 documents no policy of its own: the origin is what arrives.
        ("referer", format!("{portal_origin}/")),
        ("accept-language", "en-US,en;q=0.9".to_owned()),
    ];
    pairs.into_iter().map(|(name, value)| (name.to_owned(), value)).collect()
}
