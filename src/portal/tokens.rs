//! The token table: which case each access and refresh token belongs to (its lineage), and what
//! the portal does with it. Every case has its own pair; a token minted by refreshing a case's
//! REFRESH_ID belongs to that case too (PROTOCOL.md, Observed when…: SDKs refresh first).

use std::collections::HashMap;
use std::sync::Arc;

use crate::payload::opaque_token;
use crate::record::TokenRole;
use crate::suite::TokenState;

/// Why the portal refuses a REST call's token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// `expired_token`: known, past its lifetime; the refresh token still works.
    Expired,
    /// `invalid_token`: not a token of this portal (or one it revoked).
    Invalid,
    /// `insufficient_scope`: the app was not granted the method's scope.
    InsufficientScope,
    /// `QUERY_LIMIT_EXCEEDED`: too many requests, try again later.
    RateLimited,
}

/// The portal's decision on a REST call's token.
pub(super) struct Admission {
    pub owner: Option<usize>,
    pub role: TokenRole,
    pub refusal: Option<Refusal>,
    /// The scopes the token was granted (empty when it is refused).
    pub scope: Arc<[String]>,
}

struct Access {
    owner: usize,
    role: TokenRole,
}

struct Refresh {
    owner: usize,
    used: bool,
}

/// What one case's tokens do, and how far the case has got.
struct Lineage {
    state: TokenState,
    /// The scopes the case's tokens were granted: the app's (APPLICATION_SCOPE). Shared with
    /// each call's admission rather than copied: every REST call is admitted.
    scope: Arc<[String]>,
    /// REST calls made with any of the case's access tokens so far.
    calls: u32,
    /// Every access and refresh token of the lineage, so that it can be retired whole.
    tokens: Vec<String>,
}

/// Access and refresh tokens by value, and each case's lineage.
#[derive(Default)]
pub(super) struct Tokens {
    access: HashMap<String, Access>,
    refresh: HashMap<String, Refresh>,
    lineages: HashMap<usize, Lineage>,
    minted: u64,
}

/// A fresh pair from a refresh.
pub(super) struct Minted {
    pub owner: usize,
    /// The scopes of the lineage, which the new token keeps.
    pub scope: Arc<[String]>,
    pub access_token: String,
    pub refresh_token: String,
}

impl Tokens {
    /// Issues `owner`'s pair afresh: no call counted, REFRESH_ID unspent. Granting an owner
    /// again (its frame's visit, `--browser`) keeps the tokens its lineage minted, so that
    /// retiring it forgets them all.
    pub fn grant(&mut self, owner: usize, auth_id: &str, refresh_id: &str, state: TokenState, scope: &str) {
        self.access.insert(auth_id.to_owned(), Access { owner, role: TokenRole::Given });
        self.refresh.insert(refresh_id.to_owned(), Refresh { owner, used: false });
        let scope = scope.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let mut tokens = self.lineages.remove(&owner).map(|l| l.tokens).unwrap_or_default();
        tokens.extend([auth_id.to_owned(), refresh_id.to_owned()]);
        self.lineages.insert(owner, Lineage { state, scope, calls: 0, tokens });
    }

    /// Forgets every token of `owner`'s lineage: from then on the portal takes them for tokens
    /// it never issued, and the table holds only the cases still in play.
    pub fn retire(&mut self, owner: usize) {
        let Some(lineage) = self.lineages.remove(&owner) else { return };
        // Two cases may carry the same token (a later grant takes it over): only the owner's go.
        for token in &lineage.tokens {
            if self.access.get(token).is_some_and(|a| a.owner == owner) {
                self.access.remove(token);
            }
            if self.refresh.get(token).is_some_and(|r| r.owner == owner) {
                self.refresh.remove(token);
            }
        }
    }

    /// The owner and role of `token`, without counting it as a call.
    pub fn identify(&self, token: &str) -> (Option<usize>, TokenRole) {
        match (self.access.get(token), self.refresh.get(token)) {
            (Some(a), _) => (Some(a.owner), a.role),
            // A refresh token sent as `auth` is still the case's token, and still wrong.
            (None, Some(r)) => (Some(r.owner), TokenRole::Refresh),
            (None, None) => (None, TokenRole::Foreign),
        }
    }

    /// Counts a REST call made with `token` and decides whether the portal serves it.
    pub fn admit(&mut self, token: &str) -> Admission {
        let (owner, role) = self.identify(token);
        let lineage = owner.and_then(|o| self.lineages.get_mut(&o));
        let (refusal, scope) = match (role, lineage) {
            (TokenRole::Given | TokenRole::Refreshed, Some(lineage)) => {
                // Saturating: a handler that calls four billion times must not panic the portal.
                lineage.calls = lineage.calls.saturating_add(1);
                (refusal(lineage.state, role, lineage.calls), lineage.scope.clone())
            }
            _ => (Some(Refusal::Invalid), Arc::default()),
        };
        Admission { owner, role, refusal, scope }
    }

    /// Whether the OAuth server takes `token` as a live access token (its `app.info`): the
    /// token's own state decides, without counting a call to the portal; the portal's rate
    /// limit and the scope of its methods are no concern of the OAuth server.
    pub fn verify(&self, token: &str) -> Admission {
        let (owner, role) = self.identify(token);
        let lineage = owner.and_then(|o| self.lineages.get(&o));
        let (refusal, scope) = match (role, lineage) {
            (TokenRole::Given | TokenRole::Refreshed, Some(lineage)) => {
                let refusal = refusal(lineage.state, role, lineage.calls.max(1))
                    .filter(|r| matches!(r, Refusal::Expired | Refusal::Invalid));
                (refusal, lineage.scope.clone())
            }
            _ => (Some(Refusal::Invalid), Arc::default()),
        };
        Admission { owner, role, refusal, scope }
    }

    /// The owner of a refresh token, whether or not it is still good.
    pub fn refresh_owner(&self, refresh_token: &str) -> Option<usize> {
        self.refresh.get(refresh_token).map(|r| r.owner)
    }

    /// A new pair for `owner`'s lineage, as a refresh mints it, without spending a refresh
    /// token: the portal's page hands it to a frame that asks to `refreshAuth`.
    pub fn issue_refreshed(&mut self, owner: usize) -> Option<(String, String)> {
        let lineage = self.lineages.get_mut(&owner)?;
        self.minted += 1;
        let seed = format!("{owner}/frame/{}", self.minted);
        let (access_token, refresh_token) =
            (opaque_token(&format!("{seed}/access"), 70), opaque_token(&format!("{seed}/refresh"), 70));
        lineage.tokens.extend([access_token.clone(), refresh_token.clone()]);
        self.access.insert(access_token.clone(), Access { owner, role: TokenRole::Refreshed });
        self.refresh.insert(refresh_token.clone(), Refresh { owner, used: false });
        Some((access_token, refresh_token))
    }

    /// Spends `refresh_token` and mints a new pair for its owner. Refresh tokens rotate and are
    /// single-use: a spent, unknown or revoked one gives `None` (the OAuth server's `invalid_grant`).
    pub fn refresh(&mut self, refresh_token: &str) -> Option<Minted> {
        let entry = self.refresh.get_mut(refresh_token).filter(|r| !r.used)?;
        let owner = entry.owner;
        let lineage = self.lineages.get(&owner)?;
        if lineage.state == TokenState::Revoked {
            return None;
        }
        let scope = lineage.scope.clone();
        entry.used = true;
        self.minted += 1;
        let access_token = opaque_token(&format!("{refresh_token}/access/{}", self.minted), 70);
        let refresh_token = opaque_token(&format!("{refresh_token}/refresh/{}", self.minted), 70);
        if let Some(lineage) = self.lineages.get_mut(&owner) {
            lineage.tokens.extend([access_token.clone(), refresh_token.clone()]);
        }
        self.access.insert(access_token.clone(), Access { owner, role: TokenRole::Refreshed });
        self.refresh.insert(refresh_token.clone(), Refresh { owner, used: false });
        Some(Minted { owner, scope, access_token, refresh_token })
    }
}

/// What the portal does with the `call`-th REST call (from 1) of a case in `state`, made with a
/// token in `role`.
fn refusal(state: TokenState, role: TokenRole, call: u32) -> Option<Refusal> {
    let given = role == TokenRole::Given;
    match state {
        TokenState::Valid => None,
        TokenState::Expired if given => Some(Refusal::Expired),
        // Good for the first call, expired by the next: the hour ran out mid-request.
        TokenState::Expiring if given && call > 1 => Some(Refusal::Expired),
        TokenState::Invalid | TokenState::Revoked if given => Some(Refusal::Invalid),
        // The scope is the app's: a refreshed token has the same one.
        TokenState::InsufficientScope => Some(Refusal::InsufficientScope),
        TokenState::RateLimited if call == 1 => Some(Refusal::RateLimited),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_refuses_as_documented() {
        use TokenRole::{Given, Refreshed};
        let cases = [
            (TokenState::Valid, Given, 1, None),
            (TokenState::Expired, Given, 1, Some(Refusal::Expired)),
            (TokenState::Expired, Refreshed, 2, None),
            (TokenState::Expiring, Given, 1, None),
            (TokenState::Expiring, Given, 2, Some(Refusal::Expired)),
            (TokenState::Invalid, Given, 1, Some(Refusal::Invalid)),
            (TokenState::Revoked, Given, 1, Some(Refusal::Invalid)),
            (TokenState::InsufficientScope, Refreshed, 2, Some(Refusal::InsufficientScope)),
            (TokenState::RateLimited, Given, 1, Some(Refusal::RateLimited)),
            (TokenState::RateLimited, Given, 2, None),
        ];
        for (state, role, call, expected) in cases {
            assert_eq!(refusal(state, role, call), expected, "{state:?} {role:?} call {call}");
        }
    }

    #[test]
    fn the_call_count_saturates() {
        let mut tokens = Tokens::default();
        tokens.grant(0, "a", "r", TokenState::RateLimited, "landing");
        tokens.lineages.get_mut(&0).expect("granted").calls = u32::MAX;
        assert_eq!(tokens.admit("a").refusal, None);
    }

    #[test]
    fn a_revoked_case_cannot_refresh() {
        let mut tokens = Tokens::default();
        tokens.grant(0, "a", "r", TokenState::Revoked, "landing");
        assert!(tokens.refresh("r").is_none());
        tokens.grant(1, "b", "s", TokenState::Expired, "landing");
        assert!(tokens.refresh("s").is_some());
        assert!(tokens.refresh("s").is_none(), "single-use");
    }

    #[test]
    fn a_retired_lineage_is_forgotten_whole() {
        let mut tokens = Tokens::default();
        tokens.grant(3, "a", "r", TokenState::Valid, "landing");
        let minted = tokens.refresh("r").expect("a refresh");
        tokens.retire(3);
        for token in ["a", "r", &minted.access_token, &minted.refresh_token] {
            assert_eq!(tokens.identify(token), (None, TokenRole::Foreign), "{token}");
        }
        assert!(tokens.lineages.is_empty());
    }
}
