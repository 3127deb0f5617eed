//! Forged tokens against the emulator's API over TLS: each refused with `invalid_token`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reged_emulator::{DevCerts, EmulatorConfig, JWKS_PATH, Profile, WHOAMI_PATH};
use serde_json::{Value, json};

use crate::support::{client, fetch_token, jwt_parts, start, start_with};

async fn whoami_with(
    client: &reqwest::Client,
    emulator: &reged_emulator::RunningEmulator,
    token: &str,
) -> (u16, Value) {
    let response = client
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The SubjectPublicKeyInfo PEM of a P-256 JWK: what an attacker would use as HMAC secret.
fn public_key_pem(jwk: &Value) -> String {
    const P256_SPKI_PREFIX: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let coordinate = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let mut der = P256_SPKI_PREFIX.to_vec();
    der.push(0x04);
    der.extend(coordinate("x"));
    der.extend(coordinate("y"));
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n")
}

#[tokio::test]
async fn alg_none_copy_of_a_real_token_is_refused() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let (mut header, claims) = jwt_parts(&fetch_token(&client, &emulator).await);
    header["alg"] = "none".into();

    let forged = format!("{}.{}.", encode(&header), encode(&claims));
    let (status, body) = whoami_with(&client, &emulator, &forged).await;

    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(
        body["error_description"],
        "the access token is not signed (alg none)"
    );
}

#[tokio::test]
async fn token_signed_hs256_with_the_published_public_key_is_refused() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let (header, claims) = jwt_parts(&fetch_token(&client, &emulator).await);
    let jwks: Value = client
        .get(emulator.url(JWKS_PATH))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = public_key_pem(&jwks["keys"][0]);
    let mut forged_header = Header::new(Algorithm::HS256);
    forged_header.typ = Some("at+jwt".into());
    forged_header.kid = header["kid"].as_str().map(str::to_owned);

    let forged = jsonwebtoken::encode(
        &forged_header,
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    let (status, body) = whoami_with(&client, &emulator, &forged).await;

    assert_eq!(status, 401);
    assert_eq!(
        body["error_description"],
        "the access token is signed with HS256, which this API does not accept"
    );
}

#[tokio::test]
async fn token_with_a_widened_scope_fails_its_signature() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;
    let (_, mut claims) = jwt_parts(&token);
    claims["scope"] = "read write admin".into();
    let parts: Vec<&str> = token.split('.').collect();

    let tampered = format!("{}.{}.{}", parts[0], encode(&claims), parts[2]);
    let (status, body) = whoami_with(&client, &emulator, &tampered).await;

    assert_eq!(status, 401);
    assert_eq!(
        body["error_description"],
        "the access token signature is not valid"
    );
}

#[tokio::test]
async fn token_with_its_binding_rewritten_to_another_certificate_fails_its_signature() {
    let (certs, emulator) = start(Profile::Uat).await;
    let owner = client(&certs, Some(certs.client()));
    let thief = client(&certs, Some(certs.other_client()));
    let token = fetch_token(&owner, &emulator).await;
    let (_, mut claims) = jwt_parts(&token);
    claims["cnf"] = json!({"x5t#S256": certs.other_client().thumbprint()});
    let parts: Vec<&str> = token.split('.').collect();

    let rebound = format!("{}.{}.{}", parts[0], encode(&claims), parts[2]);
    let (status, _) = whoami_with(&thief, &emulator, &rebound).await;

    assert_eq!(status, 401);
}

#[tokio::test]
async fn token_from_another_emulator_is_refused() {
    let certs = DevCerts::generate().unwrap();
    let issuer_one = start_with(EmulatorConfig::for_dev_certs(&certs, Profile::Uat), &certs).await;
    let issuer_two = start_with(EmulatorConfig::for_dev_certs(&certs, Profile::Uat), &certs).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &issuer_one).await;

    let (status, body) = whoami_with(&client, &issuer_two, &token).await;

    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn prod_token_at_the_uat_api_is_refused() {
    let certs = DevCerts::generate().unwrap();
    let prod = start_with(EmulatorConfig::for_dev_certs(&certs, Profile::Prod), &certs).await;
    let uat = start_with(EmulatorConfig::for_dev_certs(&certs, Profile::Uat), &certs).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &prod).await;

    let (status, _) = whoami_with(&client, &uat, &token).await;

    assert_eq!(status, 401);
}
