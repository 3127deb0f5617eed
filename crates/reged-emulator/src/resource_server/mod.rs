//! A resource server for certificate-bound access tokens (RFC 8705 section 3, RFC 9068, RFC
//! 6750), as a tower layer for any axum or hyper service.
//!
//! ```
//! use axum::{Extension, Router, routing::get};
//! use jsonwebtoken::jwk::JwkSet;
//! use reged_emulator::resource_server::{AccessToken, ResourceServer, StaticKeys};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let jwks: JwkSet = serde_json::from_str(r#"{"keys": []}"#)?;
//! let server = ResourceServer::new(
//!     "https://mtls.auth-uat.reged.com/",
//!     "https://uatapi.reged.com",
//!     StaticKeys::from_jwks(&jwks)?,
//! )
//! .with_realm("my-api");
//!
//! let app: Router = Router::new()
//!     .route("/v1/records", get(|Extension(token): Extension<AccessToken>| async move {
//!         format!("hello {}", token.client_id)
//!     }))
//!     .layer(server.layer().require_scope("read"));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! The connection's client certificate must be in each request's extensions as a
//! [`PeerCertificate`]; the server that terminates TLS puts it there (the emulator's does).
//!
//! A token passes when: it is a JWT whose `alg` is in the allow-list (ES256 by default;
//! `none` and HMAC are never accepted, whatever the list, and a key accepts only the
//! algorithms of its own type, so a public key can never serve as an HMAC secret); its `typ`
//! is `at+jwt`; its `kid` names a key of the [`KeySource`] and the signature verifies; `iss` is
//! the issuer; one `aud` is the audience; `exp` has not passed and `nbf` has, with the leeway;
//! `sub` and `client_id` are present; its `cnf.x5t#S256` is the thumbprint of the connection's
//! certificate (a token without `cnf` is refused unless unbound tokens are allowed); and it
//! carries every scope the layer requires.

mod certificate;
pub(crate) mod check;
mod error;
mod future;
mod keys;
mod layer;
mod service;
mod token;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, header};
pub use jsonwebtoken::Algorithm;

pub use certificate::PeerCertificate;
pub use check::{TokenChecks, check_token};
pub use error::{BearerError, TokenRejection};
pub use future::ResponseFuture;
pub use keys::{KeyError, KeySource, StaticKeys, VerificationKey};
pub use layer::BearerAuthLayer;
pub use service::BearerAuth;
pub use token::AccessToken;

/// The default realm of `WWW-Authenticate` challenges.
pub const DEFAULT_REALM: &str = "api";

/// A clock giving Unix seconds.
type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// What a protected API trusts: the issuer, its own audience, the issuer's keys, the
/// algorithms, the leeway, and whether tokens must be certificate-bound. Cheap to clone.
#[derive(Clone)]
pub struct ResourceServer {
    inner: Arc<Inner>,
}

struct Inner {
    checks: TokenChecks,
    keys: Arc<dyn KeySource>,
    realm: String,
    clock: Clock,
}

/// An algorithm that may not be in the allow-list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("algorithm {0:?} is symmetric: a resource server verifies with public keys only")]
pub struct SymmetricAlgorithm(pub Algorithm);

impl ResourceServer {
    /// Trusts tokens of `issuer` for `audience`, signed ES256 with a key of `keys`, bound to a
    /// certificate, with no leeway, against the system clock.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        keys: impl KeySource,
    ) -> ResourceServer {
        ResourceServer {
            inner: Arc::new(Inner {
                checks: TokenChecks {
                    issuer: issuer.into(),
                    audience: audience.into(),
                    algorithms: vec![Algorithm::ES256],
                    leeway: 0,
                    require_binding: true,
                },
                keys: Arc::new(keys),
                realm: DEFAULT_REALM.to_owned(),
                clock: Arc::new(system_time),
            }),
        }
    }

    fn modify(self, change: impl FnOnce(&mut Inner)) -> ResourceServer {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            checks: shared.checks.clone(),
            keys: shared.keys.clone(),
            realm: shared.realm.clone(),
            clock: shared.clock.clone(),
        });
        change(&mut inner);
        ResourceServer {
            inner: Arc::new(inner),
        }
    }

    /// Sets the realm of the challenges.
    pub fn with_realm(self, realm: impl Into<String>) -> ResourceServer {
        let realm = realm.into();
        self.modify(|inner| inner.realm = realm)
    }

    /// Sets the accepted signature algorithms; HMAC algorithms are refused.
    pub fn with_algorithms(
        self,
        algorithms: &[Algorithm],
    ) -> Result<ResourceServer, SymmetricAlgorithm> {
        if let Some(symmetric) = algorithms
            .iter()
            .find(|alg| matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            return Err(SymmetricAlgorithm(*symmetric));
        }
        let algorithms = algorithms.to_vec();
        Ok(self.modify(|inner| inner.checks.algorithms = algorithms))
    }

    /// Tolerates this much clock difference on `exp` and `nbf` (whole seconds).
    pub fn with_leeway(self, leeway: Duration) -> ResourceServer {
        self.modify(|inner| inner.checks.leeway = leeway.as_secs())
    }

    /// Accepts tokens with no `cnf` claim; bound tokens are still checked against the
    /// connection's certificate.
    pub fn allow_unbound_tokens(self) -> ResourceServer {
        self.modify(|inner| inner.checks.require_binding = false)
    }

    /// Uses `clock` (Unix seconds) instead of the system clock, e.g. to rehearse skew.
    pub fn with_clock(self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> ResourceServer {
        self.modify(|inner| inner.clock = Arc::new(clock))
    }

    /// A layer that requires a good token, and no scope yet.
    pub fn layer(&self) -> BearerAuthLayer {
        BearerAuthLayer::new(self.clone())
    }

    /// The realm of the challenges.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// The checks tokens must pass.
    pub fn checks(&self) -> &TokenChecks {
        &self.inner.checks
    }

    /// Checks the `Authorization` header of a request that came with `certificate`, and that
    /// the token carries every scope of `required_scopes`.
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        certificate: Option<&PeerCertificate>,
        required_scopes: &[String],
    ) -> Result<AccessToken, BearerError> {
        let token = bearer_token(headers)?;
        let now = (self.inner.clock)();

        let verified = check_token(
            &self.inner.checks,
            &*self.inner.keys,
            token,
            certificate.map(PeerCertificate::thumbprint),
            now,
        )?;
        if let Some(missing) = required_scopes
            .iter()
            .find(|scope| !verified.has_scope(scope))
        {
            return Err(BearerError::InsufficientScope(missing.clone()));
        }
        Ok(verified)
    }
}

impl fmt::Debug for ResourceServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceServer")
            .field("checks", &self.inner.checks)
            .field("realm", &self.inner.realm)
            .finish_non_exhaustive()
    }
}

/// The token of the one `Authorization: Bearer` header (RFC 6750 section 2.1).
fn bearer_token(headers: &HeaderMap) -> Result<&str, BearerError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(BearerError::Missing);
    };
    if values.next().is_some() {
        return Err(BearerError::InvalidRequest(
            "the request has more than one Authorization header",
        ));
    }
    let Ok(value) = value.to_str() else {
        return Err(BearerError::InvalidRequest(
            "the Authorization header is not ASCII",
        ));
    };

    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return Err(BearerError::Missing);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return Err(BearerError::InvalidRequest(
            "the Authorization header must be Bearer followed by one token",
        ));
    }
    Ok(token)
}

/// Unix seconds of the system clock.
pub(crate) fn system_time() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}
