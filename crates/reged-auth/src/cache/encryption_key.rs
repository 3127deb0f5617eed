use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::key_material::key_material;

/// The HKDF `info` of the key derived from a client's private key: it names the purpose, so the
/// same private key never yields this key for anything else.
const DERIVATION_INFO: &[u8] = b"reged-auth shared token cache, AES-256-GCM value key, v2";

/// The AES-256-GCM key that seals tokens in a shared cache.
///
/// Every instance that holds the same client private key derives the same key, so a fleet needs
/// no extra setting; someone who can read the cache but not the private key cannot read a token.
/// Debug prints `[redacted]`, and the bytes are wiped on drop.
#[derive(Clone)]
pub struct CacheEncryptionKey(Zeroizing<[u8; 32]>);

/// Why a configured key was refused. It never holds the key's text.
#[derive(Debug, thiserror::Error)]
#[error(
    "the cache encryption key must be 32 bytes written as 64 hex digits or in base64; \
     this one is {found}"
)]
pub struct InvalidEncryptionKey {
    found: String,
}

impl CacheEncryptionKey {
    /// Derives the key with HKDF-SHA256 from a private key in DER (PKCS#8, PKCS#1 or SEC1): from
    /// the key, not its encoding, so the same key in any of these formats gives the same cache
    /// key.
    pub fn derive_from_private_key(private_key_der: &[u8]) -> Self {
        let material = key_material(private_key_der);
        let hkdf = Hkdf::<Sha256>::new(None, &material);
        let mut key = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit of 8160, so `expand` cannot fail.
        hkdf.expand(DERIVATION_INFO, key.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Self(key)
    }

    /// A key given as 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Parses a key written as 64 hex digits or as base64 of 32 bytes; surrounding white space
    /// (a file's final newline) is ignored.
    pub fn parse(text: &str) -> Result<Self, InvalidEncryptionKey> {
        let text = text.trim();
        if text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            let mut key = Zeroizing::new([0u8; 32]);
            for (index, slot) in key.iter_mut().enumerate() {
                let pair = &text[2 * index..2 * index + 2];
                *slot = u8::from_str_radix(pair, 16).map_err(|_| invalid("not hex"))?;
            }
            return Ok(Self(key));
        }

        let decoded = Zeroizing::new(
            STANDARD
                .decode(text)
                .map_err(|_| invalid("neither 64 hex digits nor base64"))?,
        );
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| invalid(&format!("base64 of {} bytes", decoded.len())))?;
        Ok(Self::from_bytes(bytes))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

fn invalid(found: &str) -> InvalidEncryptionKey {
    InvalidEncryptionKey {
        found: found.to_owned(),
    }
}

impl fmt::Debug for CacheEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CacheEncryptionKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_private_key_gives_the_same_cache_key() {
        let a = CacheEncryptionKey::derive_from_private_key(b"private key der");
        let b = CacheEncryptionKey::derive_from_private_key(b"private key der");
        let other = CacheEncryptionKey::derive_from_private_key(b"another key der");

        assert_eq!(a.bytes(), b.bytes());
        assert_ne!(a.bytes(), other.bytes());
    }

    #[test]
    fn hex_and_base64_give_the_same_key() {
        let hex = "00".repeat(31) + "ff";
        let mut raw = [0u8; 32];
        raw[31] = 0xff;
        let base64 = STANDARD.encode(raw);

        let from_hex = CacheEncryptionKey::parse(&format!("{hex}\n")).unwrap();
        let from_base64 = CacheEncryptionKey::parse(&base64).unwrap();

        assert_eq!(from_hex.bytes(), &raw);
        assert_eq!(from_base64.bytes(), &raw);
    }

    #[test]
    fn wrong_length_is_refused_without_echoing_the_key() {
        let error = CacheEncryptionKey::parse("c2VjcmV0LWJ1dC1zaG9ydA==").unwrap_err();

        let shown = error.to_string();
        assert!(shown.contains("base64 of 16 bytes"), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
    }

    #[test]
    fn debug_output_hides_the_key() {
        let key = CacheEncryptionKey::from_bytes([0xab; 32]);

        let shown = format!("{key:?}");

        assert_eq!(shown, "CacheEncryptionKey([redacted])");
    }
}
