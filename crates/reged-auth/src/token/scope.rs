use std::fmt;

/// A scope as RFC 6749 section 3.3 defines it: space-separated, case-sensitive scope tokens
/// whose order does not matter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    // In the order given, without duplicates, so the request says what the user wrote.
    tokens: Vec<String>,
}

impl Scope {
    /// Parses a space-separated scope; any run of white space separates tokens.
    pub fn parse(value: &str) -> Self {
        let mut tokens: Vec<String> = Vec::new();
        for token in value.split_whitespace() {
            if !tokens.iter().any(|seen| seen == token) {
                tokens.push(token.to_owned());
            }
        }
        Self { tokens }
    }

    /// True when no scope token was given.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The scope tokens in the order given.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The scope tokens sorted, so that `read write` and `write read` compare equal.
    pub fn canonical(&self) -> Vec<&str> {
        let mut sorted: Vec<&str> = self.tokens.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tokens.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_repeats_do_not_change_the_canonical_form() {
        let a = Scope::parse("read  write\tread");
        let b = Scope::parse("write read");

        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(a.to_string(), "read write");
    }

    #[test]
    fn blank_scope_is_empty() {
        assert!(Scope::parse("  \t ").is_empty());
    }
}
