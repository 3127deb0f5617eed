use std::fmt;
use std::time::Duration;

/// Why a token request failed. It never holds a token or a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token endpoint answered with an RFC 6749 section 5.2 error.
    #[error("{0}")]
    Endpoint(TokenEndpointError),

    /// The answer was not JSON: a gateway's HTML page, say.
    #[error(
        "the token endpoint answered HTTP {status} with {content_type}, not a JSON token response: {excerpt}"
    )]
    NotJson {
        /// The HTTP status.
        status: u16,
        /// The Content-Type header, or `no content type`.
        content_type: String,
        /// At most 200 characters of the body.
        excerpt: String,
    },

    /// The answer was JSON but not a usable token response.
    #[error("the token endpoint answered HTTP {status} with an invalid token response: {reason}")]
    InvalidResponse {
        /// The HTTP status.
        status: u16,
        /// What was wrong, naming the field.
        reason: String,
    },

    /// The answer announced a lifetime longer than [`MAX_EXPIRES_IN`](super::MAX_EXPIRES_IN):
    /// a broken server, whose token is not used.
    #[error(
        "the token endpoint answered HTTP {status} with `expires_in` {expires_in}, more than the {max_seconds} seconds (ten years) a token may live; ask the server's operators to fix its token lifetime",
        max_seconds = super::MAX_EXPIRES_IN.as_secs()
    )]
    ExpiresInTooLong {
        /// The HTTP status.
        status: u16,
        /// The value as the server wrote it, at most 40 characters.
        expires_in: String,
    },

    /// A token type other than Bearer.
    #[error("the token endpoint issued a token of type `{0}`; only Bearer tokens are supported")]
    UnsupportedTokenType(String),

    /// The request did not complete: DNS, TCP, TLS or a time-out.
    #[error("{hint}")]
    Transport {
        /// What probably went wrong and what to do, in words.
        hint: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
}

impl TokenError {
    /// The RFC 6749 error code when the endpoint gave one (`invalid_client`, `invalid_scope`...).
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Endpoint(error) => Some(&error.error),
            _ => None,
        }
    }

    /// True when the request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Transport { source, .. } if source.is_timeout())
    }
}

/// An RFC 6749 error response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenEndpointError {
    /// The HTTP status.
    pub status: u16,
    /// The `error` code.
    pub error: String,
    /// The `error_description`, if any.
    pub error_description: Option<String>,
    /// The `error_uri`, if any.
    pub error_uri: Option<String>,
    /// How long the endpoint asked to wait before trying again (`Retry-After`), if it did.
    pub retry_after: Option<Duration>,
}

impl TokenEndpointError {
    /// Whether the failure is the endpoint's own and may pass (a 5xx or a 429): trying again
    /// later can succeed, where a refusal of the request itself cannot.
    pub fn is_temporary(&self) -> bool {
        self.status == 429 || self.status >= 500
    }
}

impl fmt::Display for TokenEndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the token endpoint refused the request with `{}`",
            self.error
        )?;
        if let Some(description) = &self.error_description {
            write!(f, ": {description}")?;
        }
        write!(f, " (HTTP {})", self.status)?;
        if self.is_temporary() {
            match self.retry_after {
                Some(wait) => write!(
                    f,
                    "; the failure is on the endpoint's side and may pass: it asks to retry \
                     after {} s",
                    wait.as_secs()
                )?,
                None => write!(
                    f,
                    "; the failure is on the endpoint's side and may pass: try again later"
                )?,
            }
        } else if let Some(hint) = hint_for(&self.error) {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

fn hint_for(error: &str) -> Option<&'static str> {
    Some(match error {
        "invalid_client" => {
            "check the client id and that the certificate is the one registered for it"
        }
        "invalid_scope" => "ask only for the scopes RegEd granted this client",
        "unauthorized_client" => "this client may not use the client credentials grant",
        "invalid_request" => "check the client id, audience and scope settings",
        _ => return None,
    })
}
