//! How a token is written into a shared cache: the non-secret facts in clear text, the token
//! encrypted, and both authenticated together with the name of the entry.
//!
//! Layout, integers big endian: `RGT1`; when the token was requested, its lifetime and until when
//! it may be served (three u64 of milliseconds); the scope the server granted (u32 length, or
//! `u32::MAX` for none, then UTF-8); whose token it is (u32 length, then JSON with the token URL,
//! client id, audience and scopes); a 96-bit nonce; the AES-256-GCM ciphertext of the access
//! token with its tag. The associated data is everything before the nonce followed by the
//! entry's name, so a value moved under another name, or a label edited by hand, fails to open.
//! A reader serving the token parses the fixed fields only; the JSON is for listings.

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
/// No label part is near this; a larger length field is garbage, not a reason to allocate.
const MAX_PART_LEN: usize = 1024 * 1024;
/// The length field of an absent granted scope.
const NO_SCOPE: u32 = u32::MAX;

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
        unix_time(self.fresh_until_ms)
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

/// What a reader needs of a label to serve the token: the times and the granted scope, all in
/// the fixed-layout part.
#[derive(Clone, Debug, PartialEq, Eq)]
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
        unix_time(self.fresh_until_ms)
    }
}

/// Whose token it is: the JSON part of the label.
#[derive(Serialize, Deserialize)]
struct Owner {
    token_url: String,
    client_id: String,
    audience: String,
    scopes: Vec<String>,
}

/// The clear-text part of a value, before the nonce.
struct Header<'a> {
    times: TokenTimes,
    owner_json: &'a [u8],
    len: usize,
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
        let (header, token) = open_with(&self.cipher, name, value)?;
        Ok((label_of(&header)?, token))
    }

    /// Opens the value of the entry called `name` for serving: its times and its token.
    pub fn open_times(
        &self,
        name: &str,
        value: &[u8],
    ) -> Result<(TokenTimes, AccessToken), UnreadableValue> {
        let (header, token) = open_with(&self.cipher, name, value)?;
        Ok((header.times, token))
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
    let owner = Owner {
        token_url: key.token_url().to_owned(),
        client_id: key.client_id().to_owned(),
        audience: key.audience().to_owned(),
        scopes: key.scopes().to_vec(),
    };
    let owner = serde_json::to_vec(&owner).expect("a label always serializes");
    let scope = token.scope.as_deref().map(str::as_bytes);

    let mut value = Vec::with_capacity(64 + owner.len() + NONCE_LEN + 1024);
    value.extend_from_slice(MAGIC);
    value.extend_from_slice(&unix_ms(token.requested_at).to_be_bytes());
    value.extend_from_slice(&(token.expires_in.as_millis() as u64).to_be_bytes());
    value.extend_from_slice(&unix_ms(token.fresh_until()).to_be_bytes());
    match scope {
        Some(scope) => {
            value.extend_from_slice(&(scope.len() as u32).to_be_bytes());
            value.extend_from_slice(scope);
        }
        None => value.extend_from_slice(&NO_SCOPE.to_be_bytes()),
    }
    value.extend_from_slice(&(owner.len() as u32).to_be_bytes());
    value.extend_from_slice(&owner);
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

fn open_with<'a>(
    cipher: &Aes256Gcm,
    name: &str,
    value: &'a [u8],
) -> Result<(Header<'a>, AccessToken), UnreadableValue> {
    let header = parse_header(value)?;
    let header_len = header.len;
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
    Ok((header, AccessToken::new(token)))
}

/// The clear-text label of a value, without the key. It is not authenticated: use it for
/// display only.
pub fn read_label(value: &[u8]) -> Result<TokenLabel, UnreadableValue> {
    label_of(&parse_header(value)?)
}

/// True when `value` has the layout of a sealed token: the clear-text label, a nonce and room
/// for a tag. Whether it opens depends on the key; this tells a value this crate wrote from one
/// another application stored under the same name.
pub fn has_sealed_layout(value: &[u8]) -> bool {
    parse_header(value).is_ok_and(|header| {
        value.len() - header.len >= NONCE_LEN + TAG_LEN && label_of(&header).is_ok()
    })
}

fn label_of(header: &Header<'_>) -> Result<TokenLabel, UnreadableValue> {
    let owner: Owner =
        serde_json::from_slice(header.owner_json).map_err(|_| UnreadableValue::Malformed)?;
    let times = header.times.clone();
    Ok(TokenLabel {
        token_url: owner.token_url,
        client_id: owner.client_id,
        audience: owner.audience,
        scopes: owner.scopes,
        granted_scope: times.granted_scope,
        requested_at_ms: times.requested_at_ms,
        expires_in_ms: times.expires_in_ms,
        fresh_until_ms: times.fresh_until_ms,
    })
}

fn parse_header(value: &[u8]) -> Result<Header<'_>, UnreadableValue> {
    let mut reader = Reader { value, at: 0 };
    if reader.take(4)? != MAGIC {
        return Err(UnreadableValue::Malformed);
    }
    let requested_at_ms = reader.u64()?;
    let expires_in_ms = reader.u64()?;
    let fresh_until_ms = reader.u64()?;
    let granted_scope = match reader.u32()? {
        NO_SCOPE => None,
        length => {
            let bytes = reader.part(length)?;
            let scope = std::str::from_utf8(bytes).map_err(|_| UnreadableValue::Malformed)?;
            Some(scope.to_owned())
        }
    };
    let owner_length = reader.u32()?;
    let owner_json = reader.part(owner_length)?;

    Ok(Header {
        times: TokenTimes {
            granted_scope,
            requested_at_ms,
            expires_in_ms,
            fresh_until_ms,
        },
        owner_json,
        len: reader.at,
    })
}

/// Reads the fixed-layout fields, refusing to run past the end.
struct Reader<'a> {
    value: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Result<&'a [u8], UnreadableValue> {
        let end = self
            .at
            .checked_add(length)
            .ok_or(UnreadableValue::Malformed)?;
        let bytes = self
            .value
            .get(self.at..end)
            .ok_or(UnreadableValue::Malformed)?;
        self.at = end;
        Ok(bytes)
    }

    fn part(&mut self, length: u32) -> Result<&'a [u8], UnreadableValue> {
        let length = length as usize;
        if length > MAX_PART_LEN {
            return Err(UnreadableValue::Malformed);
        }
        self.take(length)
    }

    fn u32(&mut self) -> Result<u32, UnreadableValue> {
        let bytes = self.take(4)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn u64(&mut self) -> Result<u64, UnreadableValue> {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(bytes))
    }
}

fn associated_data(header: &[u8], name: &str) -> Vec<u8> {
    let mut associated = Vec::with_capacity(header.len() + name.len());
    associated.extend_from_slice(header);
    associated.extend_from_slice(name.as_bytes());
    associated
}

/// `ms` after the Unix epoch, or the epoch itself (long past, so never fresh) where the
/// platform's time type cannot hold it: the label is anyone's to write, and `+` would panic.
fn unix_time(ms: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .unwrap_or(UNIX_EPOCH)
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
        assert_eq!(label.granted_scope.as_deref(), Some("r w"));
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
    fn a_sealed_value_has_the_sealed_layout_and_other_values_not() {
        let sealed = seal(&encryption_key(1), "n", &key(), &token());

        assert!(has_sealed_layout(&sealed));
        // Too short for a nonce and a tag after the label.
        assert!(!has_sealed_layout(
            &sealed[..sealed.len() - SECRET.len() - 1]
        ));
        assert!(!has_sealed_layout(b"user data"));
        assert!(!has_sealed_layout(b"RGT1"));
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
        // The length of the granted scope, after the magic and three u64.
        huge_length[28..32].copy_from_slice(&(u32::MAX - 1).to_be_bytes());

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
