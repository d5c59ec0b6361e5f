//! Redirects, followed as the frame's browser follows them. A handler that stores what it was
//! posted and answers `303 See Other` to its page (POST-redirect-GET) works in the portal's frame,
//! because the browser fetches that page; so the harness follows a redirect that stays on the
//! handler's origin and judges the page at its end. A redirect to another origin is not followed
//! (the harness talks to nothing but the handler and its portals): the browser would take the
//! frame there, and that redirect is the answer judged.

use std::time::Instant;

use url::Url;

use super::{Limits, fire_by};
use crate::record::{Body, FireError, HttpRequest, HttpResponse, Redirect};

/// Redirects followed at most before the case errors. Chrome gives up after 20; a settings page
/// that needs more than a few is broken already.
pub const MAX_REDIRECTS: usize = 10;

impl std::fmt::Display for Redirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.followed { "followed" } else { "another origin: not followed" };
        write!(f, "{} to {} ({what})", self.status, shorten(&self.to))
    }
}

/// What one request led to: the redirects on the way, and the last answer.
#[derive(Debug)]
pub struct Navigation {
    pub redirects: Vec<Redirect>,
    pub response: Result<HttpResponse, FireError>,
}

/// Sends `request` and follows its redirects as a browser navigating a frame does: 301 and 302
/// after a POST, and 303, become a GET without a body; 307 and 308 repeat the method and the
/// body. The whole navigation is bounded by `limits`, its redirects included; cookies the hops set are sent on the next ones, as a
/// browser keeps them within a navigation. The answer's `elapsed_ms` is the whole navigation's.
pub async fn navigate(client: &reqwest::Client, request: &HttpRequest, limits: Limits) -> Navigation {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + limits.timeout;
    let home = Url::parse(&request.url).ok().map(|url| url.origin());
    let mut redirects: Vec<Redirect> = Vec::new();
    let mut current = request.clone();
    let mut cookies = Cookies::default();
    // Cookies count: a page may send the browser away to set one and back (a login round trip).
    let mut seen = vec![(current.method.clone(), current.url.clone(), String::new())];
    let response = loop {
        let mut response = match fire_by(client, &current, limits, deadline).await {
            Ok(response) => response,
            Err(error) => break Err(error),
        };
        let Some((location, to)) = target(&response, &current.url) else {
            response.elapsed_ms = started.elapsed().as_millis() as u64;
            break Ok(response);
        };
        let followed = home.as_ref() == Some(&to.origin());
        redirects.push(Redirect { status: response.status, location, to: to.to_string(), followed });
        if !followed {
            response.elapsed_ms = started.elapsed().as_millis() as u64;
            break Ok(response);
        }
        if redirects.len() > MAX_REDIRECTS {
            break Err(FireError::TooManyRedirects(MAX_REDIRECTS));
        }
        cookies.keep(&response);
        current = next(&current, response.status, to, &cookies.header());
        let visit = (current.method.clone(), current.url.clone(), cookies.header());
        if seen.contains(&visit) {
            break Err(FireError::RedirectLoop { url: shorten(&current.url), hops: redirects.len() });
        }
        seen.push(visit);
    };
    Navigation { redirects, response }
}

/// The Location of a redirect a browser follows, as written and resolved against `url`.
fn target(response: &HttpResponse, url: &str) -> Option<(String, Url)> {
    if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.header("location")?;
    let mut to = Url::parse(url).ok()?.join(location).ok()?;
    // A browser keeps the fragment to itself.
    to.set_fragment(None);
    Some((location.to_owned(), to))
}

/// The request a browser sends for a redirect answered with `status` (the Fetch standard's
/// HTTP-redirect fetch): the same headers, but a method that becomes GET loses its body, the
/// headers that describe it, and Origin, which a GET navigation does not carry.
fn next(current: &HttpRequest, status: u16, to: Url, cookies: &str) -> HttpRequest {
    let method = current.method.as_str();
    let to_get =
        (matches!(status, 301 | 302) && method == "POST") || (status == 303 && !matches!(method, "GET" | "HEAD"));
    let body_headers: &[&str] = &["origin", "content-type", "content-encoding", "content-language", "content-location"];
    let dropped = |name: &str| {
        (to_get && body_headers.iter().any(|h| name.eq_ignore_ascii_case(h)))
            || (!cookies.is_empty() && name.eq_ignore_ascii_case("cookie"))
    };
    let mut headers: Vec<(String, String)> =
        current.headers.iter().filter(|(name, _)| !dropped(name)).cloned().collect();
    if !cookies.is_empty() {
        headers.push(("cookie".to_owned(), cookies.to_owned()));
    }
    HttpRequest {
        method: if to_get { "GET".to_owned() } else { current.method.clone() },
        url: to.to_string(),
        headers,
        body: if to_get { Body::default() } else { current.body.clone() },
    }
}

/// The cookies set during one navigation, by name. Path, Domain and the SameSite rules a
/// cross-site frame is subject to are not modelled: every hop is on the handler's origin.
#[derive(Default)]
struct Cookies(Vec<(String, String)>);

impl Cookies {
    fn keep(&mut self, response: &HttpResponse) {
        let set = response.headers.iter().filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"));
        for (_, line) in set {
            let mut parts = line.split(';');
            let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else { continue };
            let name = name.trim();
            // Max-Age of zero or less is how a cookie is deleted.
            let deleted = parts.any(|attribute| {
                let (key, age) = attribute.split_once('=').unwrap_or((attribute, ""));
                key.trim().eq_ignore_ascii_case("max-age") && age.trim().parse::<i64>().is_ok_and(|age| age <= 0)
            });
            self.0.retain(|(kept, _)| kept != name);
            if !deleted {
                self.0.push((name.to_owned(), value.trim().to_owned()));
            }
        }
    }

    /// The Cookie header's value, empty when there is none.
    fn header(&self) -> String {
        self.0.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }
}

/// A URL the handler chose, cut short enough for a message.
fn shorten(url: &str) -> String {
    const KEEP: usize = 200;
    match url.char_indices().nth(KEEP) {
        Some((at, _)) => format!("{}…", &url[..at]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixture;

    fn answer(status: u16, headers: &[(&str, &str)]) -> HttpResponse {
        fixture::answer(status, headers, "")
    }

    fn post() -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: "http://127.0.0.1:1/app?x=1".into(),
            headers: vec![
                ("content-type".into(), "application/x-www-form-urlencoded".into()),
                ("origin".into(), "http://127.0.0.1:2".into()),
                ("referer".into(), "http://127.0.0.1:2/".into()),
            ],
            body: b"a=1".to_vec().into(),
        }
    }

    #[test]
    fn see_other_becomes_a_get_without_the_body_and_307_keeps_both() {
        let to = Url::parse("http://127.0.0.1:1/page").unwrap();
        let get = next(&post(), 303, to.clone(), "sid=1");
        assert_eq!((get.method.as_str(), get.body.bytes.is_empty()), ("GET", true));
        assert_eq!(get.headers, [("referer".into(), "http://127.0.0.1:2/".into()), ("cookie".into(), "sid=1".into())]);
        let again = next(&post(), 307, to, "");
        assert_eq!((again.method.as_str(), again.body.bytes.as_slice()), ("POST", b"a=1".as_slice()));
        assert_eq!(again.headers, post().headers);
    }

    #[test]
    fn a_relative_location_resolves_against_the_answering_url_without_its_fragment() {
        let (location, to) = target(&answer(302, &[("location", "page#top")]), "http://127.0.0.1:1/app/?x=1").unwrap();
        assert_eq!((location.as_str(), to.as_str()), ("page#top", "http://127.0.0.1:1/app/page"));
        assert!(target(&answer(304, &[("location", "/")]), "http://127.0.0.1:1/").is_none());
        assert!(target(&answer(302, &[]), "http://127.0.0.1:1/").is_none());
    }

    #[test]
    fn cookies_are_kept_by_name_and_deleted_by_max_age() {
        let mut cookies = Cookies::default();
        cookies.keep(&answer(303, &[("set-cookie", "sid=1; Path=/; HttpOnly"), ("set-cookie", "theme=dark")]));
        cookies.keep(&answer(303, &[("set-cookie", "sid=2"), ("set-cookie", "theme=; Max-Age=0")]));
        assert_eq!(cookies.header(), "sid=2");
    }
}
