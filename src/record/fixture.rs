//! What unit tests judge and render: small exchanges, answers and portal calls, built one way for
//! all of them.

use crate::record::{Body, Endpoint, Exchange, HttpRequest, HttpResponse, PortalCall, Role, TokenRole};

/// An answer `status` with `headers` and the whole `body`, in 1 ms.
pub fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect(),
        body: body.as_bytes().to_vec().into(),
        truncated: false,
        note: None,
        elapsed_ms: 1,
    }
}

/// A POST to `url` answered `status` with the HTML `body`, and the portal `calls` made meanwhile.
pub fn exchange(url: &str, status: u16, body: &str, calls: Vec<PortalCall>) -> Exchange {
    Exchange {
        request: HttpRequest { method: "POST".into(), url: url.into(), headers: vec![], body: Body::default() },
        redirects: Vec::new(),
        response: Ok(answer(status, &[("content-type", "text/html")], body)),
        portal_calls: calls,
        frame: None,
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
