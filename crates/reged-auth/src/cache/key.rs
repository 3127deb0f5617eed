use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::token::Scope;

/// What makes two token requests interchangeable: the same token endpoint, client, audience,
/// set of scopes and certificate (RFC 8705 binds the token to the certificate).
///
/// Keys compare by a SHA-256 digest of their parts, computed once, so a cache lookup hashes
/// 32 bytes whatever the length of the URL or the scope.
#[derive(Clone)]
pub struct CacheKey {
    parts: Arc<KeyParts>,
    digest: [u8; 32],
}

#[derive(Debug)]
struct KeyParts {
    token_url: String,
    client_id: String,
    audience: String,
    scopes: Vec<String>,
    thumbprint: String,
}

impl CacheKey {
    /// The key for tokens from `token_url` for this client, audience, scope and certificate
    /// thumbprint (`x5t#S256`).
    pub fn new(
        token_url: &str,
        client_id: &str,
        audience: &str,
        scope: &Scope,
        thumbprint: &str,
    ) -> Self {
        let scopes: Vec<String> = scope.canonical().into_iter().map(str::to_owned).collect();

        // Each part is length-prefixed so that no two different keys share a digest input.
        let mut hasher = Sha256::new();
        let mut add = |part: &str| {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        };
        add(token_url);
        add(client_id);
        add(audience);
        add(&scopes.join(" "));
        add(thumbprint);

        Self {
            digest: hasher.finalize().into(),
            parts: Arc::new(KeyParts {
                token_url: token_url.to_owned(),
                client_id: client_id.to_owned(),
                audience: audience.to_owned(),
                scopes,
                thumbprint: thumbprint.to_owned(),
            }),
        }
    }

    /// The digest in lower-case hex: a stable name for the key outside this process.
    pub fn digest_hex(&self) -> String {
        self.digest
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &str {
        &self.parts.token_url
    }

    /// The client identifier.
    pub fn client_id(&self) -> &str {
        &self.parts.client_id
    }

    /// The audience.
    pub fn audience(&self) -> &str {
        &self.parts.audience
    }

    /// The scopes, sorted.
    pub fn scopes(&self) -> &[String] {
        &self.parts.scopes
    }

    /// The certificate thumbprint.
    pub fn thumbprint(&self) -> &str {
        &self.parts.thumbprint
    }
}

impl PartialEq for CacheKey {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest
    }
}

impl Eq for CacheKey {}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.digest[..8]);
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheKey")
            .field("token_url", &self.parts.token_url)
            .field("client_id", &self.parts.client_id)
            .field("audience", &self.parts.audience)
            .field("scopes", &self.parts.scopes)
            .field("thumbprint", &self.parts.thumbprint)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(url: &str, client: &str, audience: &str, scope: &str, thumbprint: &str) -> CacheKey {
        CacheKey::new(url, client, audience, &Scope::parse(scope), thumbprint)
    }

    #[test]
    fn scope_order_does_not_matter() {
        let a = key("https://t/oauth/token", "c", "aud", "read write", "tp");
        let b = key("https://t/oauth/token", "c", "aud", "write read", "tp");

        assert_eq!(a, b);
        assert_eq!(a.digest_hex(), b.digest_hex());
    }

    #[test]
    fn every_part_counts() {
        let base = key("u", "c", "a", "s", "t");

        for other in [
            key("u2", "c", "a", "s", "t"),
            key("u", "c2", "a", "s", "t"),
            key("u", "c", "a2", "s", "t"),
            key("u", "c", "a", "s s2", "t"),
            key("u", "c", "a", "s", "t2"),
        ] {
            assert_ne!(base, other, "{other:?}");
        }
    }

    #[test]
    fn parts_cannot_shift_into_each_other() {
        assert_ne!(key("ab", "c", "a", "s", "t"), key("a", "bc", "a", "s", "t"));
    }
}
