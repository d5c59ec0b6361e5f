//! The requests the intercepting proxy (`--intercept`) refused, for hosts that are neither a
//! portal nor its OAuth server: recorded as calls to [`Role::Elsewhere`], each attributed to the
//! case whose token it carried, found with the portal's token table.

use std::sync::{Arc, Mutex};

use super::{Endpoint, PortalCall, Role, State, TokenRole, lock};

/// What the intercepting proxy keeps of a request it refused: enough to attribute it to the case
/// whose token it carried, and to name where it was going.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub http_method: String,
    /// The URL the handler asked for, e.g. `https://collector.example/hook?x=1`.
    pub url: String,
    /// The start of the request as it arrived: the URL, the headers and the body, together at
    /// most a few KiB, where the run's tokens are looked for.
    pub text: String,
}

/// At most this many refused requests are kept with a case.
const REFUSED_KEPT_PER_CASE: usize = 8;

/// Records the requests the intercepting proxy refused as calls of the portal's, attributed by
/// its token table; shared with the proxy's connections.
#[derive(Clone)]
pub struct Recorder {
    pub(super) state: Arc<Mutex<State>>,
}

impl Recorder {
    /// Records a request the intercepting proxy refused as a call to [`Role::Elsewhere`],
    /// attributed to the case whose token (access or refresh, given or refreshed) appears in its
    /// text. Whether one did: a refused request that carries no token of the run is recorded
    /// only while `keep_unowned` holds, so that a handler that keeps calling some other host
    /// cannot fill the run's memory.
    pub fn record_refused(&self, refused: &Refused, keep_unowned: bool) -> bool {
        let mut state = lock(&self.state);
        // The run's tokens are hex (`opaque_token`); shorter words could match by chance.
        let (owner, token) = refused
            .text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|word| word.len() >= 16)
            .map(|word| state.tokens.identify(word))
            .find(|(owner, _)| owner.is_some())
            .unwrap_or((None, TokenRole::None));
        if owner.is_none() && !keep_unowned {
            return false;
        }
        // One is enough to fail the case; a few show a pattern; more would only cost memory.
        let pending = state.calls.iter().filter(|c| c.portal == Role::Elsewhere && c.owner == owner).count();
        if owner.is_some() && pending >= REFUSED_KEPT_PER_CASE {
            return true;
        }
        let late = owner.is_some_and(|o| state.answered.contains(&o));
        state.calls.push(PortalCall {
            owner,
            portal: Role::Elsewhere,
            endpoint: Endpoint::Other,
            method: refused.url.clone(),
            http_method: refused.http_method.clone(),
            token,
            status: 403,
            error: None,
            late,
            modelled: true,
            binding: None,
            batch: None,
        });
        owner.is_some()
    }
}
