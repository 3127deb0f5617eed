//! The checks an access token must pass, with no I/O: header, signature, claims, lifetime and
//! certificate binding. The layer runs them on each request; the fuzz target runs them on
//! anything.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::error::TokenRejection;
use super::keys::KeySource;
use super::token::{AccessToken, RawClaims};

/// Tokens longer than this are refused before any parsing.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What a token must satisfy.
#[derive(Clone, Debug)]
pub struct TokenChecks {
    /// The only `iss` accepted.
    pub issuer: String,
    /// One of the token's `aud` must be this.
    pub audience: String,
    /// The signature algorithms accepted; never `none`, never HMAC.
    pub algorithms: Vec<Algorithm>,
    /// Tolerated clock difference for `exp` and `nbf`, in seconds.
    pub leeway: u64,
    /// Whether a token without `cnf.x5t#S256` is refused.
    pub require_binding: bool,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: Option<String>,
    typ: Option<String>,
    kid: Option<String>,
}

/// Checks `token` at time `now` (Unix seconds) for a request that came with the certificate
/// of thumbprint `presented`, if any.
pub fn check_token(
    checks: &TokenChecks,
    keys: &dyn KeySource,
    token: &str,
    presented: Option<&str>,
    now: u64,
) -> Result<AccessToken, TokenRejection> {
    check(checks, keys, token, Caller::Holder(presented), now)
}

/// Who presents the token: its holder, over a connection whose certificate must be the one
/// it is bound to, or the issuer's introspection endpoint, which takes any of its audiences
/// and leaves the binding to the resource server (RFC 7662 returns `cnf` for that).
#[derive(Clone, Copy)]
pub(crate) enum Caller<'a> {
    Holder(Option<&'a str>),
    Introspection,
}

pub(crate) fn check(
    checks: &TokenChecks,
    keys: &dyn KeySource,
    token: &str,
    caller: Caller<'_>,
    now: u64,
) -> Result<AccessToken, TokenRejection> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenRejection::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRejection::Malformed);
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenRejection::Malformed)?;
    let header: RawHeader =
        serde_json::from_slice(&header).map_err(|_| TokenRejection::Malformed)?;

    let alg = header.alg.unwrap_or_default();
    if alg.is_empty() || alg.eq_ignore_ascii_case("none") {
        return Err(TokenRejection::Unsigned);
    }
    let algorithm: Algorithm = alg
        .parse()
        .map_err(|_| TokenRejection::WrongAlgorithm(alg.clone()))?;
    if !checks.algorithms.contains(&algorithm) {
        return Err(TokenRejection::WrongAlgorithm(alg));
    }
    let typ = header.typ.unwrap_or_default();
    if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
        return Err(TokenRejection::WrongType);
    }
    let kid = header.kid.ok_or(TokenRejection::UnknownKey)?;
    let key = keys.key(&kid).ok_or(TokenRejection::UnknownKey)?;
    if !key.allows(algorithm) {
        return Err(TokenRejection::WrongAlgorithm(alg));
    }

    let claims = verify_signature(token, algorithm, key.decoding())?;
    check_claims(checks, claims, caller, now)
}

fn verify_signature(
    token: &str,
    algorithm: Algorithm,
    key: &jsonwebtoken::DecodingKey,
) -> Result<RawClaims, TokenRejection> {
    use jsonwebtoken::errors::ErrorKind;

    // Lifetime, issuer and audience are checked below, against an injectable clock and with
    // error messages of our own; jsonwebtoken checks the signature and decodes the claims.
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();

    jsonwebtoken::decode::<RawClaims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|error| match error.kind() {
            ErrorKind::InvalidSignature => TokenRejection::BadSignature,
            ErrorKind::InvalidAlgorithm => TokenRejection::WrongAlgorithm(format!("{algorithm:?}")),
            ErrorKind::Json(_) => TokenRejection::BadClaims("a claim has the wrong type"),
            _ => TokenRejection::Malformed,
        })
}

fn check_claims(
    checks: &TokenChecks,
    claims: RawClaims,
    caller: Caller<'_>,
    now: u64,
) -> Result<AccessToken, TokenRejection> {
    if claims.iss.as_deref() != Some(checks.issuer.as_str()) {
        return Err(TokenRejection::WrongIssuer);
    }
    let audiences = claims.aud.into_vec();
    if matches!(caller, Caller::Holder(_)) && !audiences.contains(&checks.audience) {
        return Err(TokenRejection::WrongAudience(checks.audience.clone()));
    }
    let expires_at = claims
        .exp
        .ok_or(TokenRejection::BadClaims("exp is missing"))?;
    if now >= expires_at.saturating_add(checks.leeway) {
        return Err(TokenRejection::Expired);
    }
    if let Some(not_before) = claims.nbf
        && now.saturating_add(checks.leeway) < not_before
    {
        return Err(TokenRejection::NotYetValid);
    }
    let subject = claims
        .sub
        .ok_or(TokenRejection::BadClaims("sub is missing"))?;
    let client_id = claims
        .client_id
        .ok_or(TokenRejection::BadClaims("client_id is missing"))?;

    let token = AccessToken {
        issuer: checks.issuer.clone(),
        subject,
        client_id,
        audiences,
        scopes: claims
            .scope
            .unwrap_or_default()
            .split(' ')
            .filter(|scope| !scope.is_empty())
            .map(str::to_owned)
            .collect(),
        expires_at,
        issued_at: claims.iat,
        jwt_id: claims.jti,
        certificate_thumbprint: claims.cnf.and_then(|cnf| cnf.x5t_s256),
    };

    let Caller::Holder(presented) = caller else {
        return Ok(token);
    };
    match (token.certificate_thumbprint.as_deref(), presented) {
        (None, _) if checks.require_binding => Err(TokenRejection::NotBound),
        (Some(_), None) => Err(TokenRejection::NoCertificate),
        (Some(bound), Some(presented)) if bound != presented => {
            Err(TokenRejection::WrongCertificate)
        }
        _ => Ok(token),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::jwk::{Jwk, JwkSet};
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{Value, json};

    use super::*;
    use crate::resource_server::StaticKeys;

    const ISSUER: &str = "https://issuer/";
    const AUDIENCE: &str = "https://api";
    const KID: &str = "key-1";
    const THUMBPRINT: &str = "thumb";
    const NOW: u64 = 1_800_000_000;

    struct Signer {
        encoding: EncodingKey,
        public_pem: String,
        keys: StaticKeys,
    }

    fn signer() -> Signer {
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let encoding = EncodingKey::from_ec_pem(key_pair.serialize_pem().as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some(KID.into());
        let keys = StaticKeys::from_jwks(&JwkSet { keys: vec![jwk] }).unwrap();

        Signer {
            encoding,
            public_pem: key_pair.public_key_pem(),
            keys,
        }
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "sub": "c", "aud": AUDIENCE, "exp": NOW + 60, "iat": NOW,
            "jti": "j", "client_id": "c", "scope": "read write",
            "cnf": {"x5t#S256": THUMBPRINT},
        })
    }

    fn header(alg: Algorithm) -> Header {
        let mut header = Header::new(alg);
        header.typ = Some("at+jwt".into());
        header.kid = Some(KID.into());
        header
    }

    fn sign(signer: &Signer, claims: &Value) -> String {
        jsonwebtoken::encode(&header(Algorithm::ES256), claims, &signer.encoding).unwrap()
    }

    fn checks() -> TokenChecks {
        TokenChecks {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            algorithms: vec![Algorithm::ES256],
            leeway: 0,
            require_binding: true,
        }
    }

    fn check(signer: &Signer, token: &str) -> Result<AccessToken, TokenRejection> {
        check_token(&checks(), &signer.keys, token, Some(THUMBPRINT), NOW)
    }

    fn encode_part(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn good_token_passes_with_its_claims() {
        let signer = signer();

        let token = check(&signer, &sign(&signer, &claims())).unwrap();

        assert_eq!(token.client_id, "c");
        assert_eq!(token.scopes, ["read", "write"]);
        assert_eq!(token.certificate_thumbprint.as_deref(), Some(THUMBPRINT));
    }

    #[test]
    fn alg_none_is_refused_as_unsigned() {
        let signer = signer();
        let header = json!({"alg": "none", "typ": "at+jwt", "kid": KID});
        let token = format!("{}.{}.", encode_part(&header), encode_part(&claims()));

        assert_eq!(check(&signer, &token), Err(TokenRejection::Unsigned));
    }

    #[test]
    fn alg_none_in_other_case_is_refused_as_unsigned() {
        let signer = signer();
        let header = json!({"alg": "NoNe", "typ": "at+jwt", "kid": KID});
        let token = format!("{}.{}.", encode_part(&header), encode_part(&claims()));

        assert_eq!(check(&signer, &token), Err(TokenRejection::Unsigned));
    }

    #[test]
    fn public_key_used_as_hmac_secret_is_refused() {
        let signer = signer();
        let secret = EncodingKey::from_secret(signer.public_pem.as_bytes());
        let token = jsonwebtoken::encode(&header(Algorithm::HS256), &claims(), &secret).unwrap();

        assert_eq!(
            check(&signer, &token),
            Err(TokenRejection::WrongAlgorithm("HS256".into()))
        );
    }

    #[test]
    fn public_key_used_as_hmac_secret_is_refused_even_with_hs256_allowed() {
        let signer = signer();
        let secret = EncodingKey::from_secret(signer.public_pem.as_bytes());
        let token = jsonwebtoken::encode(&header(Algorithm::HS256), &claims(), &secret).unwrap();
        let mut checks = checks();
        checks.algorithms.push(Algorithm::HS256);

        let result = check_token(&checks, &signer.keys, &token, Some(THUMBPRINT), NOW);

        assert_eq!(result, Err(TokenRejection::WrongAlgorithm("HS256".into())));
    }

    #[test]
    fn tampered_claims_fail_the_signature() {
        let signer = signer();
        let token = sign(&signer, &claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut tampered = claims();
        tampered["scope"] = "read write admin".into();
        let payload = encode_part(&tampered);
        parts[1] = &payload;

        assert_eq!(
            check(&signer, &parts.join(".")),
            Err(TokenRejection::BadSignature)
        );
    }

    #[test]
    fn signature_of_another_key_fails() {
        let signer = signer();
        let other = self::signer();
        let token = sign(&other, &claims());

        assert_eq!(check(&signer, &token), Err(TokenRejection::BadSignature));
    }

    #[test]
    fn token_from_another_issuer_is_refused() {
        let signer = signer();
        let mut claims = claims();
        claims["iss"] = "https://elsewhere/".into();

        assert_eq!(
            check(&signer, &sign(&signer, &claims)),
            Err(TokenRejection::WrongIssuer)
        );
    }

    #[test]
    fn token_for_another_audience_is_refused() {
        let signer = signer();
        let mut claims = claims();
        claims["aud"] = "https://other-api".into();

        assert_eq!(
            check(&signer, &sign(&signer, &claims)),
            Err(TokenRejection::WrongAudience(AUDIENCE.into()))
        );
    }

    #[test]
    fn audience_array_holding_ours_passes() {
        let signer = signer();
        let mut claims = claims();
        claims["aud"] = json!(["https://other-api", AUDIENCE]);

        assert!(check(&signer, &sign(&signer, &claims)).is_ok());
    }

    #[test]
    fn token_at_its_exp_is_expired_and_leeway_stretches_it() {
        let signer = signer();
        let mut claims = claims();
        claims["exp"] = NOW.into();
        let token = sign(&signer, &claims);
        let mut lenient = checks();
        lenient.leeway = 5;

        assert_eq!(check(&signer, &token), Err(TokenRejection::Expired));
        assert!(check_token(&lenient, &signer.keys, &token, Some(THUMBPRINT), NOW).is_ok());
    }

    #[test]
    fn token_before_its_nbf_is_not_valid_yet() {
        let signer = signer();
        let mut claims = claims();
        claims["nbf"] = (NOW + 30).into();

        assert_eq!(
            check(&signer, &sign(&signer, &claims)),
            Err(TokenRejection::NotYetValid)
        );
    }

    #[test]
    fn token_of_type_jwt_is_refused() {
        let signer = signer();
        let mut header = header(Algorithm::ES256);
        header.typ = Some("JWT".into());
        let token = jsonwebtoken::encode(&header, &claims(), &signer.encoding).unwrap();

        assert_eq!(check(&signer, &token), Err(TokenRejection::WrongType));
    }

    #[test]
    fn token_of_unknown_kid_is_refused() {
        let signer = signer();
        let mut header = header(Algorithm::ES256);
        header.kid = Some("retired".into());
        let token = jsonwebtoken::encode(&header, &claims(), &signer.encoding).unwrap();

        assert_eq!(check(&signer, &token), Err(TokenRejection::UnknownKey));
    }

    #[test]
    fn token_with_another_certificate_is_refused() {
        let signer = signer();
        let token = sign(&signer, &claims());

        let result = check_token(&checks(), &signer.keys, &token, Some("other"), NOW);

        assert_eq!(result, Err(TokenRejection::WrongCertificate));
    }

    #[test]
    fn bound_token_without_a_certificate_is_refused() {
        let signer = signer();
        let token = sign(&signer, &claims());

        let result = check_token(&checks(), &signer.keys, &token, None, NOW);

        assert_eq!(result, Err(TokenRejection::NoCertificate));
    }

    #[test]
    fn unbound_token_is_refused_unless_allowed() {
        let signer = signer();
        let mut claims = claims();
        claims.as_object_mut().unwrap().remove("cnf");
        let token = sign(&signer, &claims);
        let mut lenient = checks();
        lenient.require_binding = false;

        assert_eq!(check(&signer, &token), Err(TokenRejection::NotBound));
        assert!(check_token(&lenient, &signer.keys, &token, None, NOW).is_ok());
    }

    #[test]
    fn token_without_client_id_is_refused() {
        let signer = signer();
        let mut claims = claims();
        claims.as_object_mut().unwrap().remove("client_id");

        assert_eq!(
            check(&signer, &sign(&signer, &claims)),
            Err(TokenRejection::BadClaims("client_id is missing"))
        );
    }

    #[test]
    fn garbage_never_panics() {
        let signer = signer();
        let good = sign(&signer, &claims());

        for input in ["", ".", "..", "...", "a.b.c", "e30.e30.", "e30.e30.e30"] {
            assert!(check(&signer, input).is_err(), "{input}");
        }
        for end in 0..good.len() {
            assert!(check(&signer, &good[..end]).is_err());
        }
        assert_eq!(
            check(&signer, &"a".repeat(MAX_TOKEN_LEN + 1)),
            Err(TokenRejection::Malformed)
        );
    }
}
