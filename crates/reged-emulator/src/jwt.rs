//! Access tokens: JWTs (RFC 9068 shape) signed ES256, bound to the client certificate by the
//! `cnf.x5t#S256` confirmation claim (RFC 8705 section 3).

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::certs::certificate_thumbprint;
use crate::error::EmulatorError;

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
    pub(crate) cnf: Confirmation,
}

/// The certificate the token is bound to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Confirmation {
    #[serde(rename = "x5t#S256")]
    pub(crate) x5t_s256: String,
}

impl AccessTokenClaims {
    /// Claims for a token issued now to `client_id`, bound to the certificate whose
    /// thumbprint is given.
    pub(crate) fn new(
        issuer: &str,
        audience: &str,
        client_id: &str,
        scope: String,
        thumbprint: &str,
        lifetime: Duration,
    ) -> AccessTokenClaims {
        let now = unix_time();

        AccessTokenClaims {
            iss: issuer.to_owned(),
            sub: client_id.to_owned(),
            aud: audience.to_owned(),
            exp: now + lifetime.as_secs(),
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: client_id.to_owned(),
            scope,
            cnf: Confirmation {
                x5t_s256: thumbprint.to_owned(),
            },
        }
    }
}

/// Why an access token is refused; the text goes to the caller as `error_description`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenRejection {
    #[error("the access token is not a JWT")]
    Malformed,
    #[error("the access token is not of type at+jwt")]
    WrongType,
    #[error("the access token is not signed with ES256")]
    WrongAlgorithm,
    #[error("the access token was signed with a key this server no longer uses; get a new one")]
    UnknownKey,
    #[error("the access token signature is not valid")]
    BadSignature,
    #[error("the access token has expired; get a new one")]
    Expired,
    #[error("the access token is not meant for this API (audience {0})")]
    WrongAudience(String),
    #[error("the access token was not issued by this server")]
    WrongIssuer,
    #[error("the access token lacks a claim this API needs or has one of the wrong type")]
    BadClaims,
    #[error("the access token is bound to a client certificate and the request presented none")]
    NoCertificate,
    #[error("the access token is bound to another client certificate than the one presented")]
    WrongCertificate,
}

/// The key tokens are signed with now; rotating it makes every earlier token invalid.
pub(crate) struct SigningKeys {
    current: RwLock<Arc<SigningKey>>,
}

struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SigningKeys {
    pub(crate) fn generate() -> Result<SigningKeys, EmulatorError> {
        Ok(SigningKeys {
            current: RwLock::new(Arc::new(SigningKey::generate()?)),
        })
    }

    /// Replaces the signing key with a new one.
    pub(crate) fn rotate(&self) -> Result<(), EmulatorError> {
        let key = Arc::new(SigningKey::generate()?);
        *self
            .current
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = key;
        Ok(())
    }

    /// The key id of the current key.
    pub(crate) fn current_kid(&self) -> String {
        self.current().kid.clone()
    }

    fn current(&self) -> Arc<SigningKey> {
        self.current
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    pub(crate) fn issue(&self, claims: &AccessTokenClaims) -> Result<String, EmulatorError> {
        let key = self.current();
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(key.kid.clone());

        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|error| EmulatorError::SigningKey(Box::new(error)))
    }

    /// Checks the type, algorithm, key, signature, expiry, issuer and audience of a token.
    /// The certificate binding is checked apart, by [`check_binding`].
    pub(crate) fn verify(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<AccessTokenClaims, TokenRejection> {
        let key = self.current();
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Malformed)?;
        let typ = header.typ.as_deref().unwrap_or_default();
        if !typ.eq_ignore_ascii_case(TOKEN_TYPE) && !typ.eq_ignore_ascii_case("application/at+jwt")
        {
            return Err(TokenRejection::WrongType);
        }
        if header.alg != Algorithm::ES256 {
            return Err(TokenRejection::WrongAlgorithm);
        }
        if header.kid.as_deref() != Some(key.kid.as_str()) {
            return Err(TokenRejection::UnknownKey);
        }

        let mut validation = Validation::new(Algorithm::ES256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);

        let data = jsonwebtoken::decode::<AccessTokenClaims>(token, &key.decoding, &validation)
            .map_err(|error| match error.kind() {
                ErrorKind::InvalidSignature => TokenRejection::BadSignature,
                ErrorKind::InvalidAlgorithm => TokenRejection::WrongAlgorithm,
                ErrorKind::ExpiredSignature => TokenRejection::Expired,
                ErrorKind::InvalidAudience => TokenRejection::WrongAudience(audience.to_owned()),
                ErrorKind::InvalidIssuer => TokenRejection::WrongIssuer,
                ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => {
                    TokenRejection::BadClaims
                }
                _ => TokenRejection::Malformed,
            })?;

        Ok(data.claims)
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
        let decoding =
            DecodingKey::from_ec_pem(key_pair.public_key_pem().as_bytes()).map_err(boxed)?;
        let mut kid =
            certificate_thumbprint(&rcgen::PublicKeyData::subject_public_key_info(&key_pair));
        kid.truncate(16);

        Ok(SigningKey {
            kid,
            encoding,
            decoding,
        })
    }
}

/// The token is bound to the certificate presented on this connection.
pub(crate) fn check_binding(
    claims: &AccessTokenClaims,
    presented_thumbprint: Option<&str>,
) -> Result<(), TokenRejection> {
    match presented_thumbprint {
        None => Err(TokenRejection::NoCertificate),
        Some(thumbprint) if thumbprint == claims.cnf.x5t_s256 => Ok(()),
        Some(_) => Err(TokenRejection::WrongCertificate),
    }
}

fn unix_time() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://issuer/";
    const AUDIENCE: &str = "https://api";

    fn claims(lifetime: Duration) -> AccessTokenClaims {
        AccessTokenClaims::new(ISSUER, AUDIENCE, "c", "read".into(), "thumb", lifetime)
    }

    fn header_of(token: &str) -> serde_json::Value {
        use base64::Engine;
        let encoded = token.split('.').next().unwrap();
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .unwrap();
        serde_json::from_slice(&decoded).unwrap()
    }

    #[test]
    fn issued_token_verifies_and_has_the_rfc_9068_header() {
        let keys = SigningKeys::generate().unwrap();
        let token = keys.issue(&claims(Duration::from_secs(60))).unwrap();

        let verified = keys.verify(&token, ISSUER, AUDIENCE).unwrap();

        assert_eq!(verified.cnf.x5t_s256, "thumb");
        let header = header_of(&token);
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], keys.current_kid().as_str());
    }

    #[test]
    fn token_from_before_a_rotation_is_refused() {
        let keys = SigningKeys::generate().unwrap();
        let token = keys.issue(&claims(Duration::from_secs(60))).unwrap();

        keys.rotate().unwrap();

        assert_eq!(
            keys.verify(&token, ISSUER, AUDIENCE),
            Err(TokenRejection::UnknownKey)
        );
    }

    #[test]
    fn expired_token_is_refused() {
        let keys = SigningKeys::generate().unwrap();
        let mut expired = claims(Duration::from_secs(60));
        expired.exp = expired.iat - 1;
        let token = keys.issue(&expired).unwrap();

        assert_eq!(
            keys.verify(&token, ISSUER, AUDIENCE),
            Err(TokenRejection::Expired)
        );
    }

    #[test]
    fn token_for_another_audience_is_refused() {
        let keys = SigningKeys::generate().unwrap();
        let token = keys.issue(&claims(Duration::from_secs(60))).unwrap();

        assert_eq!(
            keys.verify(&token, ISSUER, "https://other"),
            Err(TokenRejection::WrongAudience("https://other".into()))
        );
    }

    #[test]
    fn token_with_a_forged_signature_is_refused() {
        let keys = SigningKeys::generate().unwrap();
        let other = SigningKeys::generate().unwrap();
        let token = keys.issue(&claims(Duration::from_secs(60))).unwrap();
        let forged = other.issue(&claims(Duration::from_secs(60))).unwrap();
        let (head, _) = token.rsplit_once('.').unwrap();
        let (_, forged_signature) = forged.rsplit_once('.').unwrap();

        assert_eq!(
            keys.verify(&format!("{head}.{forged_signature}"), ISSUER, AUDIENCE),
            Err(TokenRejection::BadSignature)
        );
    }

    #[test]
    fn hs256_token_is_refused() {
        let keys = SigningKeys::generate().unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TOKEN_TYPE.into());
        header.kid = Some(keys.current_kid());
        let token = jsonwebtoken::encode(
            &header,
            &claims(Duration::from_secs(60)),
            &EncodingKey::from_secret(b"guess"),
        )
        .unwrap();

        assert_eq!(
            keys.verify(&token, ISSUER, AUDIENCE),
            Err(TokenRejection::WrongAlgorithm)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let keys = SigningKeys::generate().unwrap();

        assert_eq!(
            keys.verify("not.a.token", ISSUER, AUDIENCE),
            Err(TokenRejection::Malformed)
        );
    }

    #[test]
    fn binding_needs_the_same_thumbprint() {
        let claims = claims(Duration::from_secs(60));

        assert_eq!(check_binding(&claims, Some("thumb")), Ok(()));
        assert_eq!(
            check_binding(&claims, Some("other")),
            Err(TokenRejection::WrongCertificate)
        );
        assert_eq!(
            check_binding(&claims, None),
            Err(TokenRejection::NoCertificate)
        );
    }

    #[test]
    fn debug_output_holds_no_key() {
        let keys = SigningKeys::generate().unwrap();

        assert!(format!("{keys:?}").contains("[redacted]"));
    }
}
