//! The token table: which case each access and refresh token belongs to, and its state.

use std::collections::HashMap;

use serde::Serialize;

use crate::payload::opaque_token;
use crate::suite::TokenState;

/// What a presented token was to the case that owns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenRole {
    /// The AUTH_ID the case's request carried.
    Given,
    /// An access token minted by refreshing the case's REFRESH_ID.
    Refreshed,
    /// A refresh token of the case (its REFRESH_ID or one minted from it).
    Refresh,
    /// A token this run never issued.
    Unknown,
    /// No token at all.
    None,
}

struct Access {
    owner: usize,
    role: TokenRole,
    state: TokenState,
}

struct Refresh {
    owner: usize,
    used: bool,
}

/// Access and refresh tokens by value.
#[derive(Default)]
pub(super) struct Tokens {
    access: HashMap<String, Access>,
    refresh: HashMap<String, Refresh>,
    minted: u64,
}

/// What a REST call's token is good for.
pub(super) enum Lookup {
    Valid { owner: usize, role: TokenRole },
    Expired { owner: usize, role: TokenRole },
    Invalid { owner: Option<usize>, role: TokenRole },
}

/// A fresh pair from a refresh.
pub(super) struct Minted {
    pub owner: usize,
    pub access_token: String,
    pub refresh_token: String,
}

impl Tokens {
    pub fn grant(&mut self, owner: usize, auth_id: &str, refresh_id: &str, state: TokenState) {
        self.access.insert(auth_id.to_owned(), Access { owner, role: TokenRole::Given, state });
        self.refresh.insert(refresh_id.to_owned(), Refresh { owner, used: false });
    }

    pub fn lookup(&self, token: &str) -> Lookup {
        match self.access.get(token) {
            Some(a) if a.state == TokenState::Valid => Lookup::Valid { owner: a.owner, role: a.role },
            Some(a) if a.state == TokenState::Expired => Lookup::Expired { owner: a.owner, role: a.role },
            Some(a) => Lookup::Invalid { owner: Some(a.owner), role: a.role },
            None => match self.refresh.get(token) {
                // A refresh token sent as `auth` is still the case's token, and still wrong.
                Some(r) => Lookup::Invalid { owner: Some(r.owner), role: TokenRole::Refresh },
                None => Lookup::Invalid { owner: None, role: TokenRole::Unknown },
            },
        }
    }

    /// The owner of a refresh token, whether or not it is still good.
    pub fn refresh_owner(&self, refresh_token: &str) -> Option<usize> {
        self.refresh.get(refresh_token).map(|r| r.owner)
    }

    /// Spends `refresh_token` and mints a new pair for its owner. Refresh tokens rotate and are
    /// single-use: a spent or unknown one gives `None` (the OAuth server's `invalid_grant`).
    pub fn refresh(&mut self, refresh_token: &str) -> Option<Minted> {
        let entry = self.refresh.get_mut(refresh_token).filter(|r| !r.used)?;
        entry.used = true;
        let owner = entry.owner;
        self.minted += 1;
        let access_token = opaque_token(&format!("{refresh_token}/access/{}", self.minted), 70);
        let refresh_token = opaque_token(&format!("{refresh_token}/refresh/{}", self.minted), 70);
        self.access
            .insert(access_token.clone(), Access { owner, role: TokenRole::Refreshed, state: TokenState::Valid });
        self.refresh.insert(refresh_token.clone(), Refresh { owner, used: false });
        Some(Minted { owner, access_token, refresh_token })
    }
}
