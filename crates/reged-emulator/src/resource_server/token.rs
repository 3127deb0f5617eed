//! A verified access token, as the layer hands it to the handlers.

use serde::Deserialize;

/// The claims of an access token that passed every check, in the request's extensions for
/// the handlers behind [`BearerAuth`](super::BearerAuth) (`Extension<AccessToken>` in axum).
///
/// It holds no copy of the token itself, so it can be logged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessToken {
    /// `iss`: the authorization server.
    pub issuer: String,
    /// `sub`: for the client credentials grant, the client.
    pub subject: String,
    /// `client_id`: the client the token was issued to.
    pub client_id: String,
    /// `aud`, one or more audiences.
    pub audiences: Vec<String>,
    /// `scope`, split at spaces.
    pub scopes: Vec<String>,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: u64,
    /// `iat`, seconds since the Unix epoch.
    pub issued_at: Option<u64>,
    /// `jti`.
    pub jwt_id: Option<String>,
    /// `cnf.x5t#S256`: the thumbprint of the certificate the token is bound to.
    pub certificate_thumbprint: Option<String>,
}

impl AccessToken {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }

    /// The scopes of the token, space-separated, as in its `scope` claim.
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }
}

/// The claims as they come in the JWT; what is required is decided by the checks.
#[derive(Deserialize)]
pub(crate) struct RawClaims {
    pub(crate) iss: Option<String>,
    pub(crate) sub: Option<String>,
    pub(crate) client_id: Option<String>,
    #[serde(default)]
    pub(crate) aud: Audiences,
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
    pub(crate) jti: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) cnf: Option<RawConfirmation>,
}

#[derive(Deserialize)]
pub(crate) struct RawConfirmation {
    #[serde(rename = "x5t#S256")]
    pub(crate) x5t_s256: Option<String>,
}

/// `aud` is a string or an array of strings (RFC 7519 section 4.1.3).
#[derive(Deserialize, Default)]
#[serde(untagged)]
pub(crate) enum Audiences {
    One(String),
    Many(Vec<String>),
    #[default]
    None,
}

impl Audiences {
    pub(crate) fn into_vec(self) -> Vec<String> {
        match self {
            Audiences::One(audience) => vec![audience],
            Audiences::Many(audiences) => audiences,
            Audiences::None => Vec::new(),
        }
    }
}
