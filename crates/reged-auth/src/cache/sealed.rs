//! How a token is written into a shared cache: the non-secret facts in clear text, the token
//! encrypted, and both authenticated together with the name of the entry.
//!
//! Layout: `RGT1`, the length of the label (u32, big endian), the label (JSON), a 96-bit nonce,
//! then the AES-256-GCM ciphertext of the access token with its tag. The associated data is
//! everything before the nonce followed by the entry's name, so a value moved under another
//! name, or a label edited by hand, fails to open.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{CacheEncryptionKey, CacheKey, CachedToken};
use crate::token::AccessToken;

const MAGIC: &[u8; 4] = b"RGT1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// No label is near this; a larger length field is garbage, not a reason to allocate.
const MAX_LABEL_LEN: usize = 64 * 1024;

/// The facts about a stored token that anyone who can read the cache may see: whose it is, what
/// it is for, and how long it lives. Never the token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenLabel {
    /// The token endpoint.
    pub token_url: String,
    /// The client identifier.
    pub client_id: String,
    /// The audience.
    pub audience: String,
    /// The scopes asked for, sorted.
    pub scopes: Vec<String>,
    /// The scope the server granted, when it said.
    pub granted_scope: Option<String>,
    /// When the token request was sent, in milliseconds since the Unix epoch.
    pub requested_at_ms: u64,
    /// The lifetime the server announced, in milliseconds.
    pub expires_in_ms: u64,
    /// Until when caches may serve the token, in milliseconds since the Unix epoch.
    pub fresh_until_ms: u64,
}

impl TokenLabel {
    /// Until when caches may serve the token.
    pub fn fresh_until(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.fresh_until_ms)
    }
}

/// Why a stored value could not be used. Either way it counts as a miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnreadableValue {
    /// The bytes are not a value this crate wrote.
    #[error("the value is not a sealed token")]
    Malformed,
    /// The value does not authenticate: another key sealed it, or it was altered.
    #[error("the value does not decrypt with this key, or was altered")]
    NotAuthentic,
}

/// What a reader needs of a label to serve the token: the times and the granted scope. Parsing
/// only these skips the strings a hit does not use.
#[derive(Debug, Deserialize)]
pub struct TokenTimes {
    /// The scope the server granted, when it said.
    pub granted_scope: Option<String>,
    /// When the token request was sent, in milliseconds since the Unix epoch.
    pub requested_at_ms: u64,
    /// The lifetime the server announced, in milliseconds.
    pub expires_in_ms: u64,
    /// Until when caches may serve the token, in milliseconds since the Unix epoch.
    pub fresh_until_ms: u64,
}

impl TokenTimes {
    /// Until when caches may serve the token.
    pub fn fresh_until(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.fresh_until_ms)
    }
}

/// AES-256-GCM with one key, its key schedule computed once. Debug shows no key material.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl Sealer {
    /// A sealer with `encryption_key`.
    pub fn new(encryption_key: &CacheEncryptionKey) -> Self {
        Self {
            cipher: Aes256Gcm::new(encryption_key.bytes().into()),
        }
    }

    /// Seals `token` for the entry called `name`.
    pub fn seal(&self, name: &str, key: &CacheKey, token: &CachedToken) -> Vec<u8> {
        seal_with(&self.cipher, name, key, token)
    }

    /// Opens the value of the entry called `name`: its label and its token.
    pub fn open(
        &self,
        name: &str,
        value: &[u8],
    ) -> Result<(TokenLabel, AccessToken), UnreadableValue> {
        open_with(&self.cipher, name, value)
    }

    /// Opens the value of the entry called `name` for serving: its times and its token.
    pub fn open_times(
        &self,
        name: &str,
        value: &[u8],
    ) -> Result<(TokenTimes, AccessToken), UnreadableValue> {
        open_with(&self.cipher, name, value)
    }
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

/// Seals `token` for the entry called `name`.
pub fn seal(
    encryption_key: &CacheEncryptionKey,
    name: &str,
    key: &CacheKey,
    token: &CachedToken,
) -> Vec<u8> {
    Sealer::new(encryption_key).seal(name, key, token)
}

/// Opens the value of the entry called `name`: its label and its token.
pub fn open(
    encryption_key: &CacheEncryptionKey,
    name: &str,
    value: &[u8],
) -> Result<(TokenLabel, AccessToken), UnreadableValue> {
    Sealer::new(encryption_key).open(name, value)
}

fn seal_with(cipher: &Aes256Gcm, name: &str, key: &CacheKey, token: &CachedToken) -> Vec<u8> {
    let label = TokenLabel {
        token_url: key.token_url().to_owned(),
        client_id: key.client_id().to_owned(),
        audience: key.audience().to_owned(),
        scopes: key.scopes().to_vec(),
        granted_scope: token.scope.clone(),
        requested_at_ms: unix_ms(token.requested_at),
        expires_in_ms: token.expires_in.as_millis() as u64,
        fresh_until_ms: unix_ms(token.fresh_until()),
    };
    let label = serde_json::to_vec(&label).expect("a label always serializes");

    let mut value = Vec::with_capacity(8 + label.len() + NONCE_LEN + 1024);
    value.extend_from_slice(MAGIC);
    value.extend_from_slice(&(label.len() as u32).to_be_bytes());
    value.extend_from_slice(&label);
    let associated = associated_data(&value, name);

    let nonce = Nonce::generate();
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: token.access_token.secret().as_bytes(),
                aad: &associated,
            },
        )
        .expect("AES-GCM encrypts any message shorter than 64 GiB");
    value.extend_from_slice(&nonce);
    value.extend_from_slice(&sealed);
    value
}

fn open_with<L: for<'de> Deserialize<'de>>(
    cipher: &Aes256Gcm,
    name: &str,
    value: &[u8],
) -> Result<(L, AccessToken), UnreadableValue> {
    let (label, header_len) = split_label(value)?;
    let rest = &value[header_len..];
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(UnreadableValue::Malformed);
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_from(nonce).map_err(|_| UnreadableValue::Malformed)?;

    let associated = associated_data(&value[..header_len], name);
    let opened = cipher
        .decrypt(
            &nonce,
            Payload {
                msg: sealed,
                aad: &associated,
            },
        )
        .map_err(|_| UnreadableValue::NotAuthentic)?;
    // The bytes become the token's own String, wiped on drop; or are wiped here.
    let token = String::from_utf8(opened).map_err(|error| {
        drop(Zeroizing::new(error.into_bytes()));
        UnreadableValue::Malformed
    })?;
    Ok((label, AccessToken::new(token)))
}

/// The clear-text label of a value, without the key. It is not authenticated: use it for
/// display only.
pub fn read_label(value: &[u8]) -> Result<TokenLabel, UnreadableValue> {
    split_label(value).map(|(label, _)| label)
}

fn split_label<L: for<'de> Deserialize<'de>>(value: &[u8]) -> Result<(L, usize), UnreadableValue> {
    let malformed = UnreadableValue::Malformed;
    let header = value.get(..8).ok_or(malformed)?;
    if &header[..4] != MAGIC {
        return Err(malformed);
    }
    let label_len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if label_len > MAX_LABEL_LEN {
        return Err(malformed);
    }
    let label_bytes = value.get(8..8 + label_len).ok_or(malformed)?;
    let label = serde_json::from_slice(label_bytes).map_err(|_| malformed)?;
    Ok((label, 8 + label_len))
}

fn associated_data(header: &[u8], name: &str) -> Vec<u8> {
    let mut associated = Vec::with_capacity(header.len() + name.len());
    associated.extend_from_slice(header);
    associated.extend_from_slice(name.as_bytes());
    associated
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::token::{LifetimePolicy, Scope, TokenResponse};

    const SECRET: &str = "eyJhbGciOiJFUzI1NiJ9.the-secret-part.sig";

    fn key() -> CacheKey {
        CacheKey::new(
            "https://t/oauth/token",
            "c",
            "a",
            &Scope::parse("w r"),
            "tp",
        )
    }

    fn token() -> CachedToken {
        let response = TokenResponse {
            access_token: AccessToken::new(SECRET.into()),
            token_type: "Bearer".into(),
            expires_in: Duration::from_secs(3600),
            expires_in_defaulted: false,
            scope: Some("r w".into()),
        };
        CachedToken::new(
            response,
            (Instant::now(), SystemTime::now()),
            &LifetimePolicy::default(),
        )
    }

    fn encryption_key(byte: u8) -> CacheEncryptionKey {
        CacheEncryptionKey::from_bytes([byte; 32])
    }

    #[test]
    fn sealed_token_opens_with_its_label() {
        let sealed = seal(&encryption_key(1), "n", &key(), &token());

        let (label, access_token) = open(&encryption_key(1), "n", &sealed).unwrap();

        assert_eq!(access_token.secret(), SECRET);
        assert_eq!(label.client_id, "c");
        assert_eq!(label.scopes, ["r", "w"]);
        assert_eq!(label.expires_in_ms, 3_600_000);
        assert_eq!(label.fresh_until_ms - label.requested_at_ms, 3_300_000);
        assert_eq!(read_label(&sealed).unwrap(), label);
    }

    #[test]
    fn the_token_is_not_in_the_clear() {
        let sealed = seal(&encryption_key(1), "n", &key(), &token());

        let shown = String::from_utf8_lossy(&sealed);
        assert!(!shown.contains("the-secret-part"), "{shown}");
    }

    #[test]
    fn another_key_or_another_name_does_not_open_it() {
        let sealed = seal(&encryption_key(1), "n", &key(), &token());

        assert_eq!(
            open(&encryption_key(2), "n", &sealed).unwrap_err(),
            UnreadableValue::NotAuthentic
        );
        assert_eq!(
            open(&encryption_key(1), "other", &sealed).unwrap_err(),
            UnreadableValue::NotAuthentic
        );
    }

    #[test]
    fn an_edited_label_does_not_open() {
        let sealed = seal(&encryption_key(1), "n", &key(), &token());
        let field = b"\"client_id\":\"c\"";
        let at = sealed
            .windows(field.len())
            .position(|window| window == field)
            .unwrap()
            + field.len()
            - 2;
        let mut edited = sealed.clone();
        edited[at] = b'd';

        assert_eq!(read_label(&edited).unwrap().client_id, "d");
        assert_eq!(
            open(&encryption_key(1), "n", &edited).unwrap_err(),
            UnreadableValue::NotAuthentic
        );
    }

    #[test]
    fn every_changed_byte_is_refused() {
        let sealed = seal(&encryption_key(1), "n", &key(), &token());

        for at in 0..sealed.len() {
            let mut changed = sealed.clone();
            changed[at] ^= 0x01;
            assert!(
                open(&encryption_key(1), "n", &changed).is_err(),
                "byte {at}"
            );
        }
    }

    #[test]
    fn random_bytes_are_refused_not_a_panic() {
        for length in [0, 7, 8, 12, 40, 300, 2000] {
            for _ in 0..50 {
                let mut bytes: Vec<u8> = (0..length).map(|_| rand::random()).collect();
                if bytes.len() >= 8 && rand::random::<bool>() {
                    bytes[..4].copy_from_slice(MAGIC);
                }
                assert!(open(&encryption_key(1), "n", &bytes).is_err());
                let _ = read_label(&bytes);
            }
        }
    }

    #[test]
    fn garbage_of_any_length_is_malformed_not_a_panic() {
        let sealed = seal(&encryption_key(1), "n", &key(), &token());
        for cut in 0..sealed.len() {
            assert!(
                open(&encryption_key(1), "n", &sealed[..cut]).is_err(),
                "{cut}"
            );
        }
        let mut huge_length = sealed.clone();
        huge_length[4..8].copy_from_slice(&u32::MAX.to_be_bytes());

        assert_eq!(
            open(&encryption_key(1), "n", &huge_length).unwrap_err(),
            UnreadableValue::Malformed
        );
        assert_eq!(
            open(&encryption_key(1), "n", b"plain text").unwrap_err(),
            UnreadableValue::Malformed
        );
    }
}
