//! Access tokens: JWTs (RFC 9068 shape) signed ES256, bound to the client certificate by the
//! `cnf.x5t#S256` confirmation claim (RFC 8705 section 3).

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::certs::certificate_thumbprint;
use crate::error::EmulatorError;
use crate::resource_server::{KeySource, VerificationKey};

const TOKEN_TYPE: &str = "at+jwt";

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccessTokenClaims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) aud: String,
    pub(crate) exp: u64,
    pub(crate) iat: u64,
    pub(crate) jti: String,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cnf: Option<Confirmation>,
}

/// The certificate the token is bound to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Confirmation {
    #[serde(rename = "x5t#S256")]
    pub(crate) x5t_s256: String,
}

impl AccessTokenClaims {
    /// Claims for a token issued at `now` (Unix seconds) to `client_id`, bound to the
    /// certificate whose thumbprint is given, if any.
    pub(crate) fn new(
        issuer: &str,
        audience: &str,
        client_id: &str,
        scope: String,
        thumbprint: Option<&str>,
        lifetime: Duration,
        now: u64,
    ) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: issuer.to_owned(),
            sub: client_id.to_owned(),
            aud: audience.to_owned(),
            exp: now.saturating_add(lifetime.as_secs()),
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: client_id.to_owned(),
            scope,
            cnf: thumbprint.map(|thumbprint| Confirmation {
                x5t_s256: thumbprint.to_owned(),
            }),
        }
    }
}

/// The keys tokens are signed with: the current one, and those rotated out but still
/// published until their overlap ends, so that tokens they signed stay valid meanwhile.
pub(crate) struct SigningKeys {
    ring: RwLock<KeyRing>,
}

struct KeyRing {
    current: Arc<SigningKey>,
    /// Earlier keys with the instant they stop being published.
    retiring: Vec<(Arc<SigningKey>, Instant)>,
}

struct SigningKey {
    kid: String,
    /// Parsed once: `jsonwebtoken::encode` parses (and so validates, at the cost of a scalar
    /// multiplication) its key on every call, which was a third of the CPU of a token.
    key_pair: EcdsaKeyPair,
    /// The JWS header of every token this key signs, base64url, with the `.` after it.
    encoded_header: String,
    verification: Arc<VerificationKey>,
    jwk: Jwk,
}

impl SigningKeys {
    pub(crate) fn generate() -> Result<SigningKeys, EmulatorError> {
        Ok(SigningKeys {
            ring: RwLock::new(KeyRing {
                current: Arc::new(SigningKey::generate()?),
                retiring: Vec::new(),
            }),
        })
    }

    /// Signs with a new key from now on; the previous one stays published (in the JWKS, and
    /// for verification) for `overlap`, then goes. A zero overlap drops it at once.
    pub(crate) fn rotate(&self, overlap: Duration) -> Result<(), EmulatorError> {
        let key = Arc::new(SigningKey::generate()?);
        let mut ring = self
            .ring
            .write()
            .unwrap_or_else(|poison| poison.into_inner());

        let previous = std::mem::replace(&mut ring.current, key);
        if !overlap.is_zero() {
            // An overlap too long for the clock is as good as forever.
            let until = Instant::now()
                .checked_add(overlap)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600));
            ring.retiring.push((previous, until));
        }
        Ok(())
    }

    /// The key id of the current key.
    pub(crate) fn current_kid(&self) -> String {
        self.current().kid.clone()
    }

    fn current(&self) -> Arc<SigningKey> {
        self.ring
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .current
            .clone()
    }

    /// The published keys: the current one, then those still in their overlap.
    fn published(&self) -> Vec<Arc<SigningKey>> {
        let now = Instant::now();
        let ring = self
            .ring
            .read()
            .unwrap_or_else(|poison| poison.into_inner());

        std::iter::once(ring.current.clone())
            .chain(
                ring.retiring
                    .iter()
                    .filter(|(_, until)| *until > now)
                    .map(|(key, _)| key.clone()),
            )
            .collect()
    }

    /// The JWKS (RFC 7517) of the published keys.
    pub(crate) fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.published().iter().map(|key| key.jwk.clone()).collect(),
        }
    }

    /// The token: the JWS compact serialization (RFC 7515 section 7.1) of the claims, signed
    /// ES256 (RFC 7518 section 3.4: the fixed-width `r || s` signature).
    pub(crate) fn issue(&self, claims: &AccessTokenClaims) -> Result<String, EmulatorError> {
        let key = self.current();
        let claims = serde_json::to_vec(claims)
            .map_err(|error| EmulatorError::SigningKey(Box::new(error)))?;

        let mut token = key.encoded_header.clone();
        URL_SAFE_NO_PAD.encode_string(claims, &mut token);
        let signature = key
            .key_pair
            .sign(&SystemRandom::new(), token.as_bytes())
            .map_err(|_| EmulatorError::SigningKey("ECDSA signing failed".into()))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
        Ok(token)
    }
}

impl KeySource for SigningKeys {
    fn key(&self, kid: &str) -> Option<Arc<VerificationKey>> {
        let now = Instant::now();
        let ring = self
            .ring
            .read()
            .unwrap_or_else(|poison| poison.into_inner());

        if ring.current.kid == kid {
            return Some(ring.current.verification.clone());
        }
        ring.retiring
            .iter()
            .find(|(key, until)| key.kid == kid && *until > now)
            .map(|(key, _)| key.verification.clone())
    }
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kid", &self.current().kid)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    /// A new P-256 key pair; its id is the start of its public key's SHA-256 thumbprint.
    fn generate() -> Result<SigningKey, EmulatorError> {
        let boxed = |error: jsonwebtoken::errors::Error| EmulatorError::SigningKey(Box::new(error));
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|error| EmulatorError::SigningKey(Box::new(error)))?;

        let mut private_pem = key_pair.serialize_pem();
        let encoding = EncodingKey::from_ec_pem(private_pem.as_bytes());
        private_pem.zeroize();
        let encoding = encoding.map_err(boxed)?;
        let mut private_der = key_pair.serialize_der();
        let signing = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &private_der);
        private_der.zeroize();
        let key_pair_for_signing =
            signing.map_err(|error| EmulatorError::SigningKey(error.to_string().into()))?;
        let decoding =
            DecodingKey::from_ec_pem(key_pair.public_key_pem().as_bytes()).map_err(boxed)?;
        let mut kid =
            certificate_thumbprint(&rcgen::PublicKeyData::subject_public_key_info(&key_pair));
        kid.truncate(16);

        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).map_err(boxed)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let verification = Arc::new(VerificationKey::from_parts(
            kid.clone(),
            Algorithm::ES256,
            decoding,
        ));

        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(kid.clone());
        let header = serde_json::to_vec(&header)
            .map_err(|error| EmulatorError::SigningKey(Box::new(error)))?;
        let mut encoded_header = URL_SAFE_NO_PAD.encode(header);
        encoded_header.push('.');

        Ok(SigningKey {
            kid,
            key_pair: key_pair_for_signing,
            encoded_header,
            verification,
            jwk,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims::new(
            "i",
            "a",
            "c",
            "read".into(),
            Some("thumb"),
            Duration::from_secs(60),
            0,
        )
    }

    #[test]
    fn jwks_publishes_the_previous_key_during_the_overlap_only() {
        let keys = SigningKeys::generate().unwrap();
        let first = keys.current_kid();

        keys.rotate(Duration::from_secs(60)).unwrap();
        let during: Vec<_> = keys
            .jwks()
            .keys
            .into_iter()
            .map(|k| k.common.key_id)
            .collect();
        keys.rotate(Duration::ZERO).unwrap();
        let after: Vec<_> = keys
            .jwks()
            .keys
            .into_iter()
            .map(|k| k.common.key_id)
            .collect();

        assert_eq!(during.len(), 2);
        assert!(during.contains(&Some(first.clone())));
        assert!(
            keys.key(&first).is_some(),
            "first key is still in its overlap"
        );
        assert_eq!(
            after.len(),
            2,
            "the second key is dropped at once, the first is not"
        );
    }

    #[test]
    fn rotation_without_overlap_forgets_the_key() {
        let keys = SigningKeys::generate().unwrap();
        let first = keys.current_kid();

        keys.rotate(Duration::ZERO).unwrap();

        assert!(keys.key(&first).is_none());
        assert_eq!(keys.jwks().keys.len(), 1);
    }

    #[test]
    fn jwks_holds_public_keys_only() {
        let keys = SigningKeys::generate().unwrap();
        keys.issue(&claims()).unwrap();

        let json = serde_json::to_value(keys.jwks()).unwrap();

        let key = &json["keys"][0];
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["crv"], "P-256");
        assert_eq!(key["alg"], "ES256");
        assert_eq!(key["use"], "sig");
        assert!(key.get("d").is_none(), "no private part: {key}");
    }

    #[test]
    fn issued_token_verifies_with_jsonwebtoken_and_has_the_rfc_9068_header() {
        let keys = SigningKeys::generate().unwrap();
        let claims = claims();
        let token = keys.issue(&claims).unwrap();
        let jwk = keys.jwks().keys.remove(0);

        let header = jsonwebtoken::decode_header(&token).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.validate_exp = false;
        validation.set_audience(&["a"]);
        let decoded = jsonwebtoken::decode::<AccessTokenClaims>(
            &token,
            &DecodingKey::from_jwk(&jwk).unwrap(),
            &validation,
        )
        .unwrap();

        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid, Some(keys.current_kid()));
        assert_eq!(decoded.claims, claims);
    }

    #[test]
    fn claims_of_an_endless_lifetime_do_not_overflow() {
        let claims = AccessTokenClaims::new(
            "i",
            "a",
            "c",
            "read".into(),
            None,
            Duration::MAX,
            u64::MAX - 1,
        );

        assert_eq!(claims.exp, u64::MAX);
    }

    #[test]
    fn debug_output_holds_no_key() {
        let keys = SigningKeys::generate().unwrap();

        assert!(format!("{keys:?}").contains("[redacted]"));
    }
}
