//! The crate's error type.

use std::sync::Arc;

use crate::identity::IdentityError;
use crate::token::TokenError;

/// What went wrong, with the cause chained through `source()`.
///
/// No variant holds a token, a key or a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client identity could not be loaded.
    #[error(transparent)]
    Identity(#[from] IdentityError),

    /// A setting is missing or wrong.
    #[error("{setting}: {reason}")]
    Config {
        /// The setting, as the user knows it (`client_id`, `token_url`...).
        setting: &'static str,
        /// What is wrong and what to do.
        reason: String,
    },

    /// The TLS configuration could not be built.
    #[error("could not set up TLS with the client certificate")]
    Tls(#[source] rustls::Error),

    /// The HTTP client could not be built.
    #[error("could not build the HTTP client")]
    HttpClient(#[source] reqwest::Error),

    /// No token could be had from the token endpoint.
    #[error("token request to {token_url} failed")]
    Token {
        /// The token endpoint.
        token_url: String,
        /// Why; shared by every caller that waited for the same request.
        #[source]
        source: Arc<TokenError>,
    },

    /// An API request did not complete.
    #[error("request to {url} failed: {hint}")]
    Api {
        /// The URL, without query.
        url: String,
        /// What probably went wrong.
        hint: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
}

impl Error {
    /// The token endpoint's RFC 6749 error code, when that is what failed.
    pub fn token_error_code(&self) -> Option<&str> {
        match self {
            Self::Token { source, .. } => source.error_code(),
            _ => None,
        }
    }
}
