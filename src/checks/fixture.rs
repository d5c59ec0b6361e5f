//! What the checks' unit tests judge: a small exchange, built one way for all of them.

use crate::record::{Body, Endpoint, Exchange, HttpRequest, HttpResponse, PortalCall, Role, TokenRole};

/// A POST to `url` answered `status` with the HTML `body`, and the portal `calls` made meanwhile.
pub fn exchange(url: &str, status: u16, body: &str, calls: Vec<PortalCall>) -> Exchange {
    Exchange {
        request: HttpRequest { method: "POST".into(), url: url.into(), headers: vec![], body: Body::default() },
        redirects: Vec::new(),
        response: Ok(HttpResponse {
            status,
            headers: vec![("content-type".into(), "text/html".into())],
            body: body.as_bytes().to_vec().into(),
            truncated: false,
            note: None,
            elapsed_ms: 1,
        }),
        portal_calls: calls,
    }
}

/// The handler's `user.current` with the case's given token, answered `status` and `error`.
pub fn call(status: u16, error: Option<&str>) -> PortalCall {
    PortalCall {
        owner: Some(0),
        portal: Role::Home,
        endpoint: Endpoint::Rest,
        method: "user.current".into(),
        http_method: "POST".into(),
        token: TokenRole::Given,
        status,
        error: error.map(str::to_owned),
        late: false,
        modelled: true,
        binding: None,
        batch: None,
    }
}
