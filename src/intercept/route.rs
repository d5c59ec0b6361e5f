//! Which hosts the intercepting proxy serves, and from which mock: the portal's DOMAIN, the
//! OAuth hosts the official SDKs hard-code, and the foreign portal's name. Every other host is
//! refused.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::portal::{Names, Portal};

/// DOMAIN of the portal the app is installed on, behind the proxy: a name shaped as a cloud
/// portal's (`*.bitrix24.*`), in `.test`, which RFC 6761 reserves so that it resolves nowhere.
pub const PORTAL_HOST: &str = "portal-1.bitrix24.test";
/// The foreign portal's name (DOMAIN of the cases that send the request from elsewhere).
pub const FOREIGN_HOST: &str = "portal-2.bitrix24.test";
/// The OAuth servers' hosts, both played by the mock OAuth server: oauth.bitrix.info, which
/// CRest and b24phpsdk hard-code (`https://oauth.bitrix.info/oauth/token/`), and
/// oauth.bitrix24.tech, b24pysdk's (`https://oauth.bitrix24.tech/oauth/token/`). The first is
/// the one the portal names (SERVER_ENDPOINT).
pub const OAUTH_HOSTS: [&str; 2] = ["oauth.bitrix.info", "oauth.bitrix24.tech"];

/// The names the home portal goes by behind the proxy.
pub fn home_names() -> Names {
    Names { portal: PORTAL_HOST.to_owned(), oauth: OAUTH_HOSTS[0].to_owned() }
}

/// The names the foreign portal goes by: its own host serves as its OAuth server, as without
/// the proxy.
pub fn foreign_names() -> Names {
    Names { portal: FOREIGN_HOST.to_owned(), oauth: FOREIGN_HOST.to_owned() }
}

/// Host (any port) → the plain mock server that answers for it.
#[derive(Clone, Debug, Default)]
pub struct Routes {
    backends: HashMap<String, SocketAddr>,
}

impl Routes {
    /// The routes to `home` (DOMAIN and the OAuth hosts) and `foreign`.
    pub fn to(home: &Portal, foreign: &Portal) -> Routes {
        let (portal, oauth) = home.backends();
        let (foreign, _) = foreign.backends();
        let mut backends = HashMap::from([(PORTAL_HOST.to_owned(), portal), (FOREIGN_HOST.to_owned(), foreign)]);
        for host in OAUTH_HOSTS {
            // A home portal always has its OAuth server; without one, its own server answers.
            backends.insert(host.to_owned(), oauth.unwrap_or(portal));
        }
        Routes { backends }
    }

    /// Where a request for `host` goes; `None`: refused. Names compare as DNS does: case aside,
    /// and with or without the root's trailing dot.
    pub fn backend(&self, host: &str) -> Option<SocketAddr> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.backends.get(&host).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_as_dns_names_do() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        let routes = Routes { backends: HashMap::from([(PORTAL_HOST.to_owned(), addr)]) };
        assert_eq!(routes.backend("Portal-1.Bitrix24.TEST."), Some(addr));
        assert_eq!(routes.backend("portal-1.bitrix24.test.evil.example"), None);
        assert_eq!(routes.backend("127.0.0.1"), None);
    }
}
