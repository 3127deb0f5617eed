use std::time::Duration;

use serde_json::{Map, Value};

use super::{AccessToken, MAX_EXPIRES_IN, TokenEndpointError, TokenError};

/// The longest excerpt of an unexpected body that an error shows.
const EXCERPT_CHARS: usize = 200;

/// A successful token response (RFC 6749 section 5.1).
#[derive(Clone, Debug)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: AccessToken,
    /// `Bearer`, as the server spelled it.
    pub token_type: String,
    /// The lifetime the server announced, or the default when it announced none.
    pub expires_in: Duration,
    /// True when the response had no `expires_in` and the default was used.
    pub expires_in_defaulted: bool,
    /// The scope granted, when the server said.
    pub scope: Option<String>,
}

/// Reads a token endpoint's answer.
///
/// `default_expires_in` is used when the response has no `expires_in`. Errors say what was wrong
/// and never contain the token.
pub fn parse_token_response(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    default_expires_in: Duration,
) -> Result<TokenResponse, TokenError> {
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(invalid(status, "the body is JSON but not an object")),
        Err(_) => return Err(not_json(status, content_type, body)),
    };

    if let Some(error) = object.get("error") {
        return Err(endpoint_error(status, error, &object));
    }
    if !(200..300).contains(&status) {
        return Err(invalid(status, "an error status without an `error` field"));
    }

    let access_token = match object.get("access_token") {
        Some(Value::String(token)) if is_header_safe(token) => AccessToken::new(token.clone()),
        Some(Value::String(token)) if token.is_empty() => {
            return Err(invalid(status, "`access_token` is empty"));
        }
        Some(Value::String(_)) => {
            return Err(invalid(
                status,
                "`access_token` holds a space, a control or a non-ASCII character, which cannot \
                 go in an `Authorization: Bearer` header",
            ));
        }
        Some(_) => return Err(invalid(status, "`access_token` is not a string")),
        None => return Err(invalid(status, "`access_token` is missing")),
    };
    let token_type = match object.get("token_type") {
        Some(Value::String(kind)) if kind.eq_ignore_ascii_case("bearer") => kind.clone(),
        Some(Value::String(kind)) => {
            return Err(TokenError::UnsupportedTokenType(excerpt_of_str(kind)));
        }
        Some(_) => return Err(invalid(status, "`token_type` is not a string")),
        None => return Err(invalid(status, "`token_type` is missing")),
    };
    let (expires_in, expires_in_defaulted) = match object.get("expires_in") {
        None | Some(Value::Null) => (default_expires_in, true),
        Some(value) => (expires_in_of(status, value)?, false),
    };
    let scope = match object.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(scope)) => Some(scope.clone()),
        Some(_) => return Err(invalid(status, "`scope` is not a string")),
    };

    Ok(TokenResponse {
        access_token,
        token_type,
        expires_in,
        expires_in_defaulted,
        scope,
    })
}

/// `expires_in` as a JSON number or a numeric string, in whole seconds, never negative and at
/// most [`MAX_EXPIRES_IN`]: a larger value from a broken server would otherwise live on in every
/// cache that holds the token.
fn expires_in_of(status: u16, value: &Value) -> Result<Duration, TokenError> {
    let seconds = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    let shown: String = value.to_string().chars().take(40).collect();
    let Some(seconds) = seconds.filter(|seconds| !seconds.is_nan() && *seconds >= 0.0) else {
        return Err(invalid(
            status,
            &format!("`expires_in` is {shown}, not a number of seconds"),
        ));
    };
    if seconds > MAX_EXPIRES_IN.as_secs() as f64 {
        return Err(TokenError::ExpiresInTooLong {
            status,
            expires_in: shown,
        });
    }
    Ok(Duration::from_secs(seconds as u64))
}

fn endpoint_error(status: u16, error: &Value, object: &Map<String, Value>) -> TokenError {
    // A server may quote the request, or a token, in its description.
    let text = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .map(|text| excerpt_of_str(&redact_credential_like(text)))
    };
    TokenError::Endpoint(TokenEndpointError {
        status,
        error: match error {
            Value::String(code) => excerpt_of_str(&redact_credential_like(code)),
            other => excerpt_of_str(&redact_credential_like(&other.to_string())),
        },
        error_description: text("error_description"),
        error_uri: text("error_uri"),
        retry_after: None,
    })
}

fn invalid(status: u16, reason: &str) -> TokenError {
    TokenError::InvalidResponse {
        status,
        reason: reason.to_owned(),
    }
}

fn not_json(status: u16, content_type: Option<&str>, body: &[u8]) -> TokenError {
    let text = String::from_utf8_lossy(body);
    // A form-encoded or truncated token response would put the token in the excerpt.
    let excerpt = if text.contains("access_token") || text.contains("accessToken") {
        "[body withheld: it mentions an access token]".to_owned()
    } else if (200..300).contains(&status) && !text.trim().is_empty() {
        // A success that is not JSON may be a bare opaque token sent as text.
        "[body withheld: a success answer may carry a token]".to_owned()
    } else if text.trim().is_empty() {
        "[empty body]".to_owned()
    } else {
        excerpt_of_str(&redact_credential_like(&text))
    };
    TokenError::NotJson {
        status,
        content_type: content_type.unwrap_or("no content type").to_owned(),
        excerpt,
    }
}

/// Shortest run of base64 or base64url characters taken for a credential: a JWT, an opaque
/// token or a key. Words of prose and HTML are shorter.
const CREDENTIAL_LIKE_CHARS: usize = 24;

/// Replaces each long run of base64/base64url characters (and dots, for JWTs) by `[redacted]`.
fn redact_credential_like(text: &str) -> String {
    let credential_char = |c: char| c.is_ascii_alphanumeric() || "-_.+/=".contains(c);
    let mut redacted = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if credential_char(c) {
            run.push(c);
            continue;
        }
        if run.chars().count() >= CREDENTIAL_LIKE_CHARS {
            redacted.push_str("[redacted]");
        } else {
            redacted.push_str(&run);
        }
        run.clear();
        redacted.push(c);
    }
    redacted.pop();
    redacted
}

/// At most [`EXCERPT_CHARS`] characters on one line: white space folded, control characters
/// (which could drive the terminal that shows the error) escaped.
fn excerpt_of_str(text: &str) -> String {
    let printable: String = text
        .chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' '.to_string(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect();
    let folded = printable.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut excerpt: String = folded.chars().take(EXCERPT_CHARS).collect();
    if folded.chars().count() > EXCERPT_CHARS {
        excerpt.push('…');
    }
    excerpt
}

/// Whether `token` can be sent as `Authorization: Bearer <token>`: one or more visible ASCII
/// characters (RFC 6749 appendix A.12 without the space, which would end RFC 6750's b64token).
/// A token with a line break would also break `$(reged token)` in a shell.
fn is_header_safe(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|byte| byte.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Duration = Duration::from_secs(900);

    fn parse(status: u16, body: &str) -> Result<TokenResponse, TokenError> {
        parse_token_response(status, Some("application/json"), body.as_bytes(), DEFAULT)
    }

    #[test]
    fn regeds_response_is_read() {
        let response = parse(
            200,
            r#"{"access_token":"abc","scope":"read write","expires_in":3600,"token_type":"Bearer"}"#,
        )
        .unwrap();

        assert_eq!(response.access_token.secret(), "abc");
        assert_eq!(response.expires_in, Duration::from_secs(3600));
        assert!(!response.expires_in_defaulted);
        assert_eq!(response.scope.as_deref(), Some("read write"));
    }

    #[test]
    fn token_type_is_compared_without_case() {
        for kind in ["bearer", "BEARER", "Bearer"] {
            let body = format!(r#"{{"access_token":"a","token_type":"{kind}","expires_in":1}}"#);
            assert!(parse(200, &body).is_ok(), "{kind}");
        }
    }

    #[test]
    fn other_token_type_is_refused() {
        let error = parse(
            200,
            r#"{"access_token":"a","token_type":"DPoP","expires_in":60}"#,
        )
        .unwrap_err();

        assert!(matches!(error, TokenError::UnsupportedTokenType(ref kind) if kind == "DPoP"));
        assert!(error.to_string().contains("only Bearer"), "{error}");
    }

    #[test]
    fn expires_in_as_numeric_string() {
        let response = parse(
            200,
            r#"{"access_token":"a","token_type":"Bearer","expires_in":"900"}"#,
        )
        .unwrap();

        assert_eq!(response.expires_in, Duration::from_secs(900));
    }

    #[test]
    fn expires_in_missing_uses_the_default() {
        let response = parse(200, r#"{"access_token":"a","token_type":"Bearer"}"#).unwrap();

        assert_eq!(response.expires_in, DEFAULT);
        assert!(response.expires_in_defaulted);
    }

    #[test]
    fn expires_in_not_a_number_is_an_error_naming_the_field() {
        for value in [r#""soon""#, "-5", "true", r#"{"s":1}"#] {
            let body =
                format!(r#"{{"access_token":"a","token_type":"Bearer","expires_in":{value}}}"#);
            let error = parse(200, &body).unwrap_err();
            assert!(error.to_string().contains("expires_in"), "{value}: {error}");
        }
    }

    #[test]
    fn expires_in_beyond_ten_years_is_refused_naming_the_field_and_value() {
        for (value, shown) in [
            ("4294967296", "4294967296"),
            ("18446744073709551615", "18446744073709551615"),
            ("1e300", "1e+300"),
            (r#""4294967296""#, r#""4294967296""#),
            ("315360001", "315360001"),
        ] {
            let body =
                format!(r#"{{"access_token":"a","token_type":"Bearer","expires_in":{value}}}"#);

            let error = parse(200, &body).unwrap_err();

            let TokenError::ExpiresInTooLong { status, expires_in } = &error else {
                panic!("{value}: expected ExpiresInTooLong, got {error:?}");
            };
            assert_eq!(*status, 200);
            assert_eq!(expires_in, shown);
            let message = error.to_string();
            assert!(message.contains("`expires_in`"), "{message}");
            assert!(message.contains(shown), "{message}");
            assert!(message.contains("ten years"), "{message}");
        }
    }

    #[test]
    fn expires_in_of_exactly_ten_years_is_accepted() {
        let body = format!(
            r#"{{"access_token":"a","token_type":"Bearer","expires_in":{}}}"#,
            MAX_EXPIRES_IN.as_secs()
        );

        let response = parse(200, &body).unwrap();

        assert_eq!(response.expires_in, MAX_EXPIRES_IN);
    }

    #[test]
    fn rfc6749_error_body_is_a_typed_error() {
        let error = parse(
            400,
            r#"{"error":"invalid_scope","error_description":"scope admin is not allowed"}"#,
        )
        .unwrap_err();

        assert_eq!(error.error_code(), Some("invalid_scope"));
        let shown = error.to_string();
        assert!(shown.contains("invalid_scope"), "{shown}");
        assert!(shown.contains("scope admin is not allowed"), "{shown}");
        assert!(shown.contains("HTTP 400"), "{shown}");
    }

    #[test]
    fn ok_status_with_error_field_is_an_error() {
        let error = parse(200, r#"{"error":"server_error","access_token":"leaked"}"#).unwrap_err();

        assert_eq!(error.error_code(), Some("server_error"));
        assert!(!format!("{error} {error:?}").contains("leaked"));
    }

    #[test]
    fn html_from_a_gateway_shows_status_type_and_a_short_excerpt() {
        let page = format!(
            "<html><body>502 Bad Gateway{}</body></html>",
            " upstream down".repeat(40)
        );

        let error =
            parse_token_response(502, Some("text/html"), page.as_bytes(), DEFAULT).unwrap_err();

        let TokenError::NotJson {
            status,
            content_type,
            excerpt,
        } = &error
        else {
            panic!("expected NotJson, got {error:?}");
        };
        assert_eq!(*status, 502);
        assert_eq!(content_type, "text/html");
        assert!(
            excerpt.starts_with("<html><body>502 Bad Gateway"),
            "{excerpt}"
        );
        assert_eq!(
            excerpt.chars().count(),
            201,
            "200 characters and an ellipsis"
        );
    }

    #[test]
    fn form_encoded_body_does_not_leak_its_token_into_the_error() {
        let body = b"access_token=secret-value&token_type=bearer";

        let error = parse_token_response(200, None, body, DEFAULT).unwrap_err();

        assert!(!format!("{error} {error:?}").contains("secret-value"));
    }

    #[test]
    fn jwt_in_a_non_json_body_is_redacted_from_the_error() {
        let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJjbGllbnQifQ.SIGNATURExxxxxxxxxxxxxxxx";
        for body in [
            jwt.to_owned(),
            format!("{{\"accessTok\":\"{jwt}"),
            format!("token: {jwt} ok"),
        ] {
            let error = parse_token_response(502, Some("text/plain"), body.as_bytes(), DEFAULT)
                .unwrap_err();

            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("SIGNATURE"), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
    }

    #[test]
    fn prose_in_a_gateway_page_is_kept() {
        let error = parse_token_response(
            503,
            Some("text/html"),
            b"<p>Service Unavailable</p>",
            DEFAULT,
        )
        .unwrap_err();

        assert!(
            error.to_string().contains("<p>Service Unavailable</p>"),
            "{error}"
        );
    }

    #[test]
    fn terminal_escapes_from_the_server_are_neutralised() {
        let error = parse(
            400,
            "{\"error\":\"bad\\u001b[2J\",\"error_description\":\"\\u001b]0;pwned\\u0007\"}",
        )
        .unwrap_err();

        let shown = error.to_string();
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert!(shown.contains("\\u{1b}"), "{shown:?}");
    }

    #[test]
    fn missing_or_empty_access_token_is_an_error() {
        for body in [
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token":"","token_type":"Bearer"}"#,
            r#"{"access_token":7,"token_type":"Bearer"}"#,
        ] {
            let error = parse(200, body).unwrap_err();
            assert!(
                error.to_string().contains("access_token"),
                "{body}: {error}"
            );
        }
    }

    /// Found in review: a token with a line break was printed by `reged token`, breaking
    /// `$(reged token)`, while `reged call` refused it only when building the header.
    #[test]
    fn access_token_that_cannot_go_in_a_header_is_an_error_that_does_not_show_it() {
        for token in ["abc\\ndef", "abc def", "abc\\u0000", "jéton", "tab\\tbed"] {
            let body = format!(r#"{{"access_token":"{token}","token_type":"Bearer"}}"#);

            let error = parse(200, &body).unwrap_err().to_string();

            assert!(error.contains("Authorization"), "{token:?}: {error}");
            assert!(!error.contains("abc") && !error.contains("bed"), "{error}");
        }
    }

    /// Found in review: a JWT quoted in `error_description` was shown as it came, where the
    /// other error paths redact it.
    #[test]
    fn jwt_in_an_error_description_is_redacted_from_the_error() {
        let jwt =
            "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJyZWdlZC1kZXYtY2xpZW50In0.c2lnbmF0dXJlc2lnbmF0dXJl";
        let body =
            format!(r#"{{"error":"invalid_grant","error_description":"token {jwt} was revoked"}}"#);

        let shown = parse(400, &body).unwrap_err().to_string();

        assert!(!shown.contains(jwt), "{shown}");
        assert!(shown.contains("token [redacted] was revoked"), "{shown}");
    }

    /// Found in review: a short opaque token sent as text/plain with a 200 was quoted in the
    /// error, being too short to look like a credential.
    #[test]
    fn non_json_success_body_is_withheld_from_the_error() {
        let error = parse_token_response(200, Some("text/plain"), b"SECRETTOKEN11", DEFAULT)
            .unwrap_err()
            .to_string();

        assert!(!error.contains("SECRETTOKEN11"), "{error}");
        assert!(error.contains("withheld"), "{error}");
    }

    /// Found in review: an `error` that is an object was shown unredacted, and a token type
    /// unescaped.
    #[test]
    fn object_error_and_odd_token_type_are_redacted_and_escaped() {
        let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJyZWdlZC1kZXYtY2xpZW50In0.c2lnbmF0dXJl";
        let body = format!(r#"{{"error":{{"token":"{jwt}"}}}}"#);
        let shown = parse(400, &body).unwrap_err().to_string();
        assert!(!shown.contains(jwt), "{shown}");

        let body = r#"{"access_token":"a","token_type":"Mac[2J"}"#;
        let shown = parse(200, body).unwrap_err().to_string();
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
    }

    #[test]
    fn error_status_without_error_code_is_an_error() {
        let error = parse(500, r#"{"message":"oops"}"#).unwrap_err();

        assert!(matches!(
            error,
            TokenError::InvalidResponse { status: 500, .. }
        ));
    }

    #[test]
    fn garbage_never_panics() {
        for body in [
            "",
            "[",
            "null",
            "[]",
            "\u{0}\u{1}",
            "{\"error\":7}",
            "1e999",
        ] {
            let _ = parse_token_response(200, None, body.as_bytes(), DEFAULT);
        }
    }
}
