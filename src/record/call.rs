//! The calls a handler made to the mock portals, as the portals saw and answered them.

use serde::{Deserialize, Serialize};

/// Which endpoint a call reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Endpoint {
    /// A REST method at the portal.
    Rest,
    /// The OAuth server's token endpoint.
    Oauth,
    /// A REST method at the OAuth server (its `app.info`).
    OauthRest,
    /// The portal's own `/oauth/token/`, which cloud Bitrix24 passes on to the OAuth server
    /// (cloud-and-on-premise/on-premise/index.md: 'The Cloud simply "proxies" the request').
    PortalOauth,
    /// Neither: a path Bitrix24 does not serve.
    Other,
}

/// One call the handler made to the portal, as the portal saw and answered it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalCall {
    /// The case the call's token belongs to; `None` when it carried no token the run issued.
    #[serde(skip)]
    pub owner: Option<usize>,
    /// Which Bitrix24 got the call: the one the app is installed on (its OAuth server included),
    /// or a foreign one.
    pub portal: Role,
    pub endpoint: Endpoint,
    /// The REST method (lower-cased, as Bitrix24 reads it), the grant type, or the path.
    pub method: String,
    pub http_method: String,
    /// What the presented token was to the case.
    pub token: TokenRole,
    pub status: u16,
    /// The error code of the answer, if it was an error.
    pub error: Option<String>,
    /// The call came after the handler had answered the request its token belongs to: another
    /// request (or a background task) made it with this case's token.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    /// False when the portal does not model the REST method (it answered ERROR_METHOD_NOT_FOUND):
    /// what the handler did next is no fault of its own.
    pub modelled: bool,
    /// What a `landing.repo.bind` call asked the portal to bind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<RepoBinding>,
    /// The command's name when the call was made inside a `batch`: recorded after the batch
    /// itself, with the status and error the method answered inside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
}

impl PortalCall {
    /// A REST call that the portal answered with a result.
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status) && self.error.is_none()
    }
}

impl std::fmt::Display for PortalCall {
    /// `home: POST user.current, given token → 401 expired_token`, as plain text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = match (self.portal, self.endpoint) {
            (Role::Home, Endpoint::Oauth | Endpoint::OauthRest) => "oauth",
            (portal, _) => portal.label(),
        };
        write!(f, "{host}: {} {}, {} token → {}", self.http_method, self.method, self.token.label(), self.status)?;
        if let Some(error) = &self.error {
            write!(f, " {error}")?;
        }
        if let Some(name) = &self.batch {
            write!(f, " (in batch, as {name})")?;
        }
        if self.late {
            write!(f, " (after the answer)")?;
        }
        Ok(())
    }
}

/// The part a portal plays in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The Bitrix24 the app is installed on: it answers as Bitrix24 does.
    Home,
    /// A Bitrix24 the app is not installed on. It knows the run's tokens only to attribute a
    /// leaked one to its case, and refuses every call as an unknown token.
    Foreign,
    /// No Bitrix24 at all: a host the intercepting proxy (`--intercept`) refused and answered
    /// itself. The call's `method` is the URL the handler asked for.
    Elsewhere,
}

/// What a presented token was to the case that owns the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenRole {
    /// The AUTH_ID the case's request carried.
    Given,
    /// An access token minted by refreshing the case's REFRESH_ID (or a refresh token minted
    /// from it).
    Refreshed,
    /// A refresh token of the case (its REFRESH_ID or one minted from it), sent to the OAuth server.
    Refresh,
    /// A token this run never issued.
    Foreign,
    /// No token at all.
    None,
}

impl TokenRole {
    /// The name reports use.
    pub fn label(self) -> &'static str {
        match self {
            TokenRole::Given => "given",
            TokenRole::Refreshed => "refreshed",
            TokenRole::Refresh => "refresh",
            TokenRole::Foreign => "foreign",
            TokenRole::None => "no",
        }
    }
}

/// A placement an app bound with `landing.repo.bind`, as the portal read its fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoBinding {
    /// Trimmed and upper-cased, as Bitrix24 stores it.
    pub placement: String,
    pub handler: String,
    pub title: String,
}
