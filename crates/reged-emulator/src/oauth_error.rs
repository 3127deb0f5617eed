//! Error responses of the token endpoint (RFC 6749 section 5.2).

use std::borrow::Cow;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The `error` codes the token endpoint answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 8707's code for a resource the client may not have a token for; RegEd's parameter
    /// is `audience` rather than `resource`, but the meaning is the same.
    InvalidTarget,
    ServerError,
}

impl ErrorCode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::ServerError => "server_error",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An error answer of the token endpoint, with what the caller is told and, apart, what only
/// the log is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub(crate) code: ErrorCode,
    pub(crate) description: Cow<'static, str>,
    pub(crate) reason: Option<String>,
}

impl OAuthError {
    pub(crate) fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError {
            code,
            description: description.into(),
            reason: None,
        }
    }

    pub(crate) fn invalid_request(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidRequest, description)
    }

    /// Client authentication failed; the caller learns no more than that, the log learns why.
    pub(crate) fn invalid_client(reason: impl Into<String>) -> OAuthError {
        OAuthError {
            reason: Some(reason.into()),
            ..OAuthError::new(ErrorCode::InvalidClient, "client authentication failed")
        }
    }

    pub(crate) fn server_error(reason: impl Into<String>) -> OAuthError {
        OAuthError {
            reason: Some(reason.into()),
            ..OAuthError::new(ErrorCode::ServerError, "the token could not be issued")
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.code.status()
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.as_str(),
            error_description: &self.description,
        };

        (self.status(), Json(body)).into_response()
    }
}

/// Makes a value the caller sent safe to quote in an `error_description`, whose characters
/// RFC 6749 limits to printable ASCII without `"` and `\`, and short.
pub(crate) fn quote_for_description(value: &str) -> String {
    const MAX_CHARS: usize = 64;

    let mut quoted: String = value
        .chars()
        .take(MAX_CHARS)
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '?',
        })
        .collect();
    if value.chars().count() > MAX_CHARS {
        quoted.push_str("...");
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_replaces_quotes_backslashes_and_control_characters() {
        assert_eq!(quote_for_description("a\"b\\c\nd é"), "a?b?c?d ?");
    }

    #[test]
    fn quoting_shortens_long_values() {
        let quoted = quote_for_description(&"x".repeat(100));

        assert_eq!(quoted.len(), 67);
        assert!(quoted.ends_with("..."));
    }

    #[test]
    fn invalid_client_hides_its_reason_from_the_caller() {
        let error = OAuthError::invalid_client("certificate subject differs");

        assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error.description, "client authentication failed");
        assert_eq!(error.reason.as_deref(), Some("certificate subject differs"));
    }
}
