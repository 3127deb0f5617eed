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
    check_claims(checks, claims, presented, now)
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
    presented: Option<&str>,
    now: u64,
) -> Result<AccessToken, TokenRejection> {
    if claims.iss.as_deref() != Some(checks.issuer.as_str()) {
        return Err(TokenRejection::WrongIssuer);
    }
    let audiences = claims.aud.into_vec();
    if !audiences
        .iter()
        .any(|audience| *audience == checks.audience)
    {
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

    let thumbprint = claims.cnf.and_then(|cnf| cnf.x5t_s256);
    match (&thumbprint, presented) {
        (None, _) if checks.require_binding => return Err(TokenRejection::NotBound),
        (None, _) => {}
        (Some(_), None) => return Err(TokenRejection::NoCertificate),
        (Some(bound), Some(presented)) if bound != presented => {
            return Err(TokenRejection::WrongCertificate);
        }
        (Some(_), Some(_)) => {}
    }

    Ok(AccessToken {
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
        certificate_thumbprint: thumbprint,
    })
}
