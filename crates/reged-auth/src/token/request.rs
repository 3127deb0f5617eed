use super::Scope;

/// The client credentials grant request of RFC 6749 section 4.4.2, with RegEd's `audience`.
///
/// The client authenticates with its TLS certificate (RFC 8705 section 2), so the body carries
/// `client_id` and no secret, and the request has no Authorization header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    /// The client identifier RegEd assigned.
    pub client_id: String,
    /// The API the token is for.
    pub audience: String,
    /// The scopes asked for.
    pub scope: Scope,
}

impl TokenRequest {
    /// The `application/x-www-form-urlencoded` body.
    pub fn form_body(&self) -> String {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        body.append_pair("client_id", &self.client_id)
            .append_pair("grant_type", "client_credentials")
            .append_pair("audience", &self.audience);
        if !self.scope.is_empty() {
            body.append_pair("scope", &self.scope.to_string());
        }
        body.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_form_encoded_with_space_separated_scope() {
        let request = TokenRequest {
            client_id: "client a&b".into(),
            audience: "https://uatapi.reged.com".into(),
            scope: Scope::parse("read write"),
        };

        let body = request.form_body();
        let fields: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();

        assert_eq!(
            fields,
            [
                ("client_id".into(), "client a&b".into()),
                ("grant_type".into(), "client_credentials".into()),
                ("audience".into(), "https://uatapi.reged.com".into()),
                ("scope".into(), "read write".into()),
            ]
        );
        assert!(body.contains("scope=read+write"), "{body}");
        assert!(body.contains("client_id=client+a%26b"), "{body}");
    }

    #[test]
    fn empty_scope_is_left_out() {
        let request = TokenRequest {
            client_id: "c".into(),
            audience: "a".into(),
            scope: Scope::default(),
        };

        assert!(!request.form_body().contains("scope"));
    }
}
