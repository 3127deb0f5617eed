use std::fmt;

use zeroize::Zeroizing;

/// An access token as the token endpoint issued it.
///
/// It is a bearer credential: Debug and Display never show it, and its memory is wiped on drop.
/// Call [`AccessToken::secret`] at the one place that must send it.
#[derive(Clone)]
pub struct AccessToken(Zeroizing<String>);

impl AccessToken {
    /// Wraps a token value.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The token itself, for an `Authorization` header. Never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_token() {
        let token = AccessToken::new("eyJhbGciOiJFUzI1NiJ9.secret-part".into());

        let shown = format!("{token:?} {:?}", Some(&token));

        assert!(!shown.contains("secret-part"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
