//! [`Peers`]: mocks that run side by side, as a scenario's servers do, each known by a name.
//!
//! A peer's URLs are what `{servers.NAME.…}` placeholders stand for, and a protected resource
//! whose metadata names a peer's authorization server accepts that server's tokens, as a
//! resource trusts the authorization server it advertises.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};

use crate::authorization::AuthorizationServer;
use crate::placeholder::ServerUrls;

/// A set of mocks that know each other by name. Cloning shares the set.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use mock_server::{MockServer, Peers};
///
/// let peers = Peers::new();
/// let other = MockServer::builder().peer_of(&peers, "other").start().await;
/// let knobs: toml::Table =
///     toml::from_str("[resource_metadata]\nauthorization_servers = [\"{servers.other.issuer}\"]").unwrap();
/// let main = MockServer::builder().peer_of(&peers, "main").start().await;
/// main.apply(&knobs).unwrap();
/// let prm: serde_json::Value = reqwest::get(format!("{}/.well-known/oauth-protected-resource/mcp", main.resource_origin()))
///     .await.unwrap().json().await.unwrap();
/// assert_eq!(prm["authorization_servers"][0], other.issuer());
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Peers(Arc<RwLock<BTreeMap<String, Peer>>>);

#[derive(Debug, Clone)]
struct Peer {
    urls: ServerUrls,
    /// Weak: a server's own resource holds its peers, so a strong link would keep every
    /// authorization server of the set alive after its mock is dropped.
    authorization_server: Weak<AuthorizationServer>,
}

impl Peers {
    pub fn new() -> Self {
        Self::default()
    }

    /// The names of the peers, in order.
    pub fn names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    pub(crate) fn join(&self, name: &str, urls: ServerUrls, authorization_server: &Arc<AuthorizationServer>) {
        let peer = Peer { urls, authorization_server: Arc::downgrade(authorization_server) };
        self.0.write().unwrap_or_else(PoisonError::into_inner).insert(name.to_owned(), peer);
    }

    /// The URLs of the peer called `name`.
    pub fn urls(&self, name: &str) -> Option<ServerUrls> {
        self.read().get(name).map(|peer| peer.urls.clone())
    }

    /// The running authorization server whose issuer is `issuer`.
    pub(crate) fn authorization_server(&self, issuer: &str) -> Option<Arc<AuthorizationServer>> {
        self.read()
            .values()
            .filter(|peer| peer.urls.issuer == issuer)
            .find_map(|peer| peer.authorization_server.upgrade())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Peer>> {
        // Joining is one insert, so a poisoned lock still holds a whole map.
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }
}
