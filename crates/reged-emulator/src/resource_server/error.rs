//! Why a request did not get through, and the RFC 6750 answer that says so.

use axum::http::{HeaderValue, Response, StatusCode, header};

use crate::oauth_error::quote_for_description;

/// Why an access token was refused; the text goes to the caller as `error_description`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenRejection {
    /// Not three base64url parts with a JSON header.
    #[error("the access token is not a JWT")]
    Malformed,
    /// `alg: none` or no `alg`.
    #[error("the access token is not signed (alg none)")]
    Unsigned,
    /// An algorithm outside the allow-list, or one the key may not verify.
    #[error("the access token is signed with {0}, which this API does not accept")]
    WrongAlgorithm(String),
    /// `typ` is not `at+jwt` (RFC 9068 section 2.1).
    #[error("the access token is not of type at+jwt")]
    WrongType,
    /// No published key has the token's `kid`.
    #[error("the access token was signed with a key this server no longer uses; get a new one")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the access token signature is not valid")]
    BadSignature,
    /// `exp` has passed, leeway included.
    #[error("the access token has expired; get a new one")]
    Expired,
    /// `nbf` is still to come, leeway included.
    #[error("the access token is not valid yet")]
    NotYetValid,
    /// No `aud` is this API's.
    #[error("the access token is not meant for this API (audience {0})")]
    WrongAudience(String),
    /// `iss` is not the trusted authorization server.
    #[error("the access token was not issued by this server")]
    WrongIssuer,
    /// A required claim is missing or of the wrong type.
    #[error("the access token's claims are not usable: {0}")]
    BadClaims(&'static str),
    /// The API wants certificate-bound tokens and this one has no `cnf.x5t#S256`.
    #[error("the access token is not bound to a client certificate")]
    NotBound,
    /// The token is bound and the connection presented no certificate.
    #[error("the access token is bound to a client certificate and the request presented none")]
    NoCertificate,
    /// The token is bound to another certificate than the connection's.
    #[error("the access token is bound to another client certificate than the one presented")]
    WrongCertificate,
}

/// A refusal in RFC 6750's terms.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError {
    /// No bearer credentials at all: 401 with a challenge that carries no error code.
    #[error("this API needs an access token: send Authorization: Bearer <token>")]
    Missing,
    /// A malformed `Authorization` header: 400 `invalid_request`.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// A bad, expired or wrongly bound token: 401 `invalid_token`.
    #[error(transparent)]
    InvalidToken(#[from] TokenRejection),
    /// A good token without a scope the endpoint needs: 403 `insufficient_scope`.
    #[error("this call needs scope {0}")]
    InsufficientScope(String),
}

impl BearerError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            BearerError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            BearerError::Missing | BearerError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            BearerError::InsufficientScope(_) => StatusCode::FORBIDDEN,
        }
    }

    /// The RFC 6750 error code; none when no credentials came.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            BearerError::Missing => None,
            BearerError::InvalidRequest(_) => Some("invalid_request"),
            BearerError::InvalidToken(_) => Some("invalid_token"),
            BearerError::InsufficientScope(_) => Some("insufficient_scope"),
        }
    }

    /// The `WWW-Authenticate` challenge for `realm`.
    pub fn challenge(&self, realm: &str) -> String {
        let realm = quote_for_description(realm);
        let Some(code) = self.code() else {
            return format!("Bearer realm=\"{realm}\"");
        };

        let mut challenge = format!(
            "Bearer realm=\"{realm}\", error=\"{code}\", error_description=\"{}\"",
            quote_for_description(&self.to_string())
        );
        if let BearerError::InsufficientScope(scope) = self {
            challenge.push_str(&format!(", scope=\"{}\"", quote_for_description(scope)));
        }
        challenge
    }

    /// The whole answer: status, challenge, and a JSON body with the same error.
    pub fn to_response<B: From<String>>(&self, realm: &str) -> Response<B> {
        let mut body = serde_json::Map::new();
        if let Some(code) = self.code() {
            body.insert("error".into(), code.into());
        }
        body.insert("error_description".into(), self.to_string().into());
        if let BearerError::InsufficientScope(scope) = self {
            body.insert("scope".into(), scope.as_str().into());
        }

        let mut response = Response::new(B::from(serde_json::Value::Object(body).to_string()));
        *response.status_mut() = self.status();
        let challenge = HeaderValue::from_str(&self.challenge(realm))
            .unwrap_or(HeaderValue::from_static("Bearer"));
        let headers = response.headers_mut();
        headers.insert(header::WWW_AUTHENTICATE, challenge);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.extensions_mut().insert(self.clone());
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_token_challenge_has_no_error_code() {
        assert_eq!(BearerError::Missing.challenge("r"), "Bearer realm=\"r\"");
    }

    #[test]
    fn invalid_token_challenge_names_the_error_and_why() {
        let error = BearerError::InvalidToken(TokenRejection::Expired);

        assert_eq!(
            error.challenge("r"),
            "Bearer realm=\"r\", error=\"invalid_token\", \
             error_description=\"the access token has expired; get a new one\""
        );
    }

    #[test]
    fn insufficient_scope_is_403_and_names_the_scope() {
        let error = BearerError::InsufficientScope("write".into());

        assert_eq!(error.status(), StatusCode::FORBIDDEN);
        assert!(
            error
                .challenge("r")
                .ends_with("error_description=\"this call needs scope write\", scope=\"write\"")
        );
    }
}
