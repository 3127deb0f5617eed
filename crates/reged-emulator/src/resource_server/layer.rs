//! The tower layer that puts [`BearerAuth`] in front of a service.

use std::sync::Arc;

use tower::Layer;

use super::ResourceServer;
use super::service::BearerAuth;

/// Wraps services in [`BearerAuth`]: every request needs a good access token, and the scopes
/// this layer requires.
#[derive(Clone, Debug)]
pub struct BearerAuthLayer {
    server: ResourceServer,
    required_scopes: Arc<[String]>,
}

impl BearerAuthLayer {
    pub(crate) fn new(server: ResourceServer) -> BearerAuthLayer {
        BearerAuthLayer {
            server,
            required_scopes: Arc::new([]),
        }
    }

    /// Also requires `scope`; a token without it gets 403 `insufficient_scope`.
    pub fn require_scope(self, scope: impl Into<String>) -> BearerAuthLayer {
        let mut scopes = self.required_scopes.to_vec();
        scopes.push(scope.into());
        BearerAuthLayer {
            required_scopes: scopes.into(),
            ..self
        }
    }
}

impl<S> Layer<S> for BearerAuthLayer {
    type Service = BearerAuth<S>;

    fn layer(&self, inner: S) -> BearerAuth<S> {
        BearerAuth::new(inner, self.server.clone(), self.required_scopes.clone())
    }
}
