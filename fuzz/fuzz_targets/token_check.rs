//! The resource server's token checks: any string is refused or accepted, never a panic; and
//! nothing but a token signed with the key passes.
#![no_main]

use std::sync::OnceLock;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;
use reged_emulator::resource_server::{StaticKeys, TokenChecks, check_token};

fn keys() -> &'static StaticKeys {
    static KEYS: OnceLock<StaticKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let encoding = EncodingKey::from_ec_pem(key_pair.serialize_pem().as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some("k".into());
        StaticKeys::from_jwks(&JwkSet { keys: vec![jwk] }).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let checks = TokenChecks {
        issuer: "https://issuer/".into(),
        audience: "https://api".into(),
        algorithms: vec![Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA],
        leeway: 60,
        require_binding: false,
    };

    let result = check_token(&checks, keys(), token, Some("thumb"), 1_800_000_000);
    assert!(result.is_err(), "a token no one signed passed: {token:?}");
});
