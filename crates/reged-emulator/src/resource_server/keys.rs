//! The public keys tokens are verified with: a JWKS (RFC 7517), as published by the
//! authorization server.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Where the resource server finds the key a token names in its `kid`.
///
/// [`StaticKeys`] holds a JWKS read once; the emulator's own signing keys are another source,
/// which follows key rotation.
pub trait KeySource: Send + Sync + 'static {
    /// The published key with this id, if any.
    fn key(&self, kid: &str) -> Option<Arc<VerificationKey>>;
}

/// A public key from a JWKS, ready to verify signatures.
pub struct VerificationKey {
    kid: String,
    algorithm: Option<Algorithm>,
    family: KeyFamily,
    decoding: DecodingKey,
}

/// The kind of a public key, which decides the algorithms it may verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyFamily {
    Rsa,
    /// With the only algorithm its curve allows.
    Ec(Algorithm),
    Ed,
}

/// Why a JWK cannot be used to verify tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key has no `kid`, so no token could name it.
    #[error("the key has no kid")]
    MissingKid,
    /// A symmetric (`oct`) key: a resource server never holds the issuer's secret.
    #[error("key {kid} is symmetric (kty oct); only public keys verify access tokens")]
    Symmetric {
        /// The key's id.
        kid: String,
    },
    /// The key's `alg` or curve is not one this library verifies.
    #[error("key {kid} has an unsupported algorithm or curve")]
    Unsupported {
        /// The key's id.
        kid: String,
    },
    /// The document is not a JWKS.
    #[error("the document is not a JWKS: {0}")]
    NotJwks(String),
    /// The key's parameters do not decode.
    #[error("key {kid} does not decode: {reason}")]
    Invalid {
        /// The key's id.
        kid: String,
        /// What the JWT library reported.
        reason: String,
    },
}

impl VerificationKey {
    /// Takes a public key from a JWK; symmetric keys are refused.
    pub fn from_jwk(jwk: &Jwk) -> Result<VerificationKey, KeyError> {
        let kid = jwk.common.key_id.clone().ok_or(KeyError::MissingKid)?;
        let unsupported = || KeyError::Unsupported { kid: kid.clone() };

        let family = match &jwk.algorithm {
            AlgorithmParameters::OctetKey(_) => return Err(KeyError::Symmetric { kid }),
            AlgorithmParameters::RSA(_) => KeyFamily::Rsa,
            AlgorithmParameters::OctetKeyPair(_) => KeyFamily::Ed,
            AlgorithmParameters::EllipticCurve(params) => match params.curve {
                EllipticCurve::P256 => KeyFamily::Ec(Algorithm::ES256),
                EllipticCurve::P384 => KeyFamily::Ec(Algorithm::ES384),
                _ => return Err(unsupported()),
            },
        };
        let algorithm = match jwk.common.key_algorithm {
            Some(alg) => Some(
                alg.to_string()
                    .parse::<Algorithm>()
                    .map_err(|_| unsupported())?,
            ),
            None => None,
        };
        let decoding = DecodingKey::from_jwk(jwk).map_err(|error| KeyError::Invalid {
            kid: kid.clone(),
            reason: error.to_string(),
        })?;

        let unsupported = unsupported();
        let key = VerificationKey {
            kid,
            algorithm,
            family,
            decoding,
        };
        if let Some(algorithm) = algorithm
            && !key.family_allows(algorithm)
        {
            return Err(unsupported);
        }
        Ok(key)
    }

    pub(crate) fn from_parts(kid: String, algorithm: Algorithm, decoding: DecodingKey) -> Self {
        let family = match algorithm {
            Algorithm::ES256 | Algorithm::ES384 => KeyFamily::Ec(algorithm),
            Algorithm::EdDSA => KeyFamily::Ed,
            _ => KeyFamily::Rsa,
        };
        VerificationKey {
            kid,
            algorithm: Some(algorithm),
            family,
            decoding,
        }
    }

    /// The key's id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Whether a token signed with `algorithm` may be verified with this key: the algorithm
    /// is of the key's family (never HMAC) and is the key's `alg` when it has one.
    pub fn allows(&self, algorithm: Algorithm) -> bool {
        self.family_allows(algorithm) && self.algorithm.is_none_or(|alg| alg == algorithm)
    }

    fn family_allows(&self, algorithm: Algorithm) -> bool {
        use Algorithm::*;
        match self.family {
            KeyFamily::Rsa => matches!(algorithm, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            KeyFamily::Ec(curve_algorithm) => algorithm == curve_algorithm,
            KeyFamily::Ed => algorithm == EdDSA,
        }
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

/// The keys of a JWKS read once.
#[derive(Debug, Clone)]
pub struct StaticKeys {
    keys: Vec<Arc<VerificationKey>>,
}

impl StaticKeys {
    /// Takes every key of `jwks`; one that is unusable (symmetric, without `kid`, of an
    /// unsupported curve) makes the whole set an error, so a mistake is not silently skipped.
    pub fn from_jwks(jwks: &JwkSet) -> Result<StaticKeys, KeyError> {
        let keys = jwks
            .keys
            .iter()
            .map(|jwk| VerificationKey::from_jwk(jwk).map(Arc::new))
            .collect::<Result<_, _>>()?;
        Ok(StaticKeys { keys })
    }
}

impl StaticKeys {
    /// Reads a JWKS document (as served at a `jwks_uri`) and takes every key of it.
    pub fn from_jwks_json(json: &[u8]) -> Result<StaticKeys, KeyError> {
        let jwks: JwkSet =
            serde_json::from_slice(json).map_err(|error| KeyError::NotJwks(error.to_string()))?;
        StaticKeys::from_jwks(&jwks)
    }
}

impl KeySource for StaticKeys {
    fn key(&self, kid: &str) -> Option<Arc<VerificationKey>> {
        self.keys.iter().find(|key| key.kid == kid).cloned()
    }
}

impl<K: KeySource + ?Sized> KeySource for Arc<K> {
    fn key(&self, kid: &str) -> Option<Arc<VerificationKey>> {
        (**self).key(kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(json: serde_json::Value) -> Jwk {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn symmetric_key_is_refused() {
        let key = jwk(serde_json::json!({"kty": "oct", "kid": "k", "k": "c2VjcmV0"}));

        assert_eq!(
            VerificationKey::from_jwk(&key).unwrap_err(),
            KeyError::Symmetric { kid: "k".into() }
        );
    }

    #[test]
    fn key_without_kid_is_refused() {
        let key = jwk(serde_json::json!({"kty": "oct", "k": "c2VjcmV0"}));

        assert_eq!(
            VerificationKey::from_jwk(&key).unwrap_err(),
            KeyError::MissingKid
        );
    }
}
