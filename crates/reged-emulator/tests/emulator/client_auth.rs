//! RFC 8705 client authentication: names in the subject or the SANs, self-signed
//! certificates, per-client CAs, and the certificates the TLS handshake refuses.

use std::error::Error as _;
use std::net::IpAddr;
use std::time::Duration;

use reged_emulator::{
    CertificateName, ClientAuthentication, ClientRegistration, DevCerts, EmulatorConfig,
    PemIdentity, Profile, RunningEmulator, SubjectName, WHOAMI_PATH, certificate_thumbprint,
};
use serde_json::Value;

use crate::support::{Leaf, TestCa, client, jwt_parts, self_signed, self_signed_leaf, start_with};

const AUDIENCE: &str = "https://uatapi.reged.com";

fn registered(client_id: &str, authentication: ClientAuthentication) -> ClientRegistration {
    ClientRegistration::with_authentication(client_id, authentication)
        .with_scopes(["read"])
        .with_audiences([AUDIENCE])
}

fn tls_client_auth(client_id: &str, name: CertificateName) -> ClientRegistration {
    registered(client_id, ClientAuthentication::TlsClientAuth(name))
}

async fn request_token(
    certs: &DevCerts,
    emulator: &RunningEmulator,
    identity: &PemIdentity,
    client_id: &str,
) -> reqwest::Result<reqwest::Response> {
    client(certs, Some(identity))
        .post(emulator.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("audience", AUDIENCE),
            ("scope", "read"),
        ])
        .send()
        .await
}

/// The status and body of a token request that got an answer.
async fn answer(
    certs: &DevCerts,
    emulator: &RunningEmulator,
    identity: &PemIdentity,
    client_id: &str,
) -> (u16, Value) {
    let response = request_token(certs, emulator, identity, client_id)
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Starts an emulator that trusts `ca` beside the development CA, with these clients.
async fn emulator_with(
    certs: &DevCerts,
    ca: &TestCa,
    clients: Vec<ClientRegistration>,
) -> RunningEmulator {
    let config = clients.into_iter().fold(
        EmulatorConfig::new(Profile::Uat).with_trusted_ca(ca.der()),
        EmulatorConfig::with_client,
    );
    start_with(config, certs).await
}

/// The whole chain of causes of a failed request, as one string.
fn causes(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(" / ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn san_dns_client_gets_a_token_and_another_dns_name_is_invalid_client() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let emulator = emulator_with(
        &certs,
        &ca,
        vec![tls_client_auth(
            "dns",
            CertificateName::SanDns("svc.example.com".into()),
        )],
    )
    .await;
    let mut good = Leaf::named("anything");
    good.sans = vec![rcgen::SanType::DnsName(
        "SVC.example.com".try_into().unwrap(),
    )];
    let mut other = Leaf::named("anything");
    other.sans = vec![rcgen::SanType::DnsName(
        "evil.example.com".try_into().unwrap(),
    )];

    let (good_status, _) = answer(&certs, &emulator, &ca.issue(good), "dns").await;
    let (other_status, body) = answer(&certs, &emulator, &ca.issue(other), "dns").await;

    assert_eq!(good_status, 200);
    assert_eq!(other_status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_description"], "client authentication failed");
}

#[tokio::test]
async fn san_uri_ip_and_email_clients_get_tokens() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    let emulator = emulator_with(
        &certs,
        &ca,
        vec![
            tls_client_auth(
                "uri",
                CertificateName::SanUri("spiffe://example/robot".into()),
            ),
            tls_client_auth("ip", CertificateName::SanIp(ip)),
            tls_client_auth(
                "email",
                CertificateName::SanEmail("robot@example.com".into()),
            ),
        ],
    )
    .await;
    let with_san = |san: rcgen::SanType| {
        let mut leaf = Leaf::named("robot");
        leaf.sans = vec![san];
        ca.issue(leaf)
    };
    let uri = with_san(rcgen::SanType::URI(
        "spiffe://example/robot".try_into().unwrap(),
    ));
    let ip_cert = with_san(rcgen::SanType::IpAddress(ip));
    let email = with_san(rcgen::SanType::Rfc822Name(
        "Robot@Example.com".try_into().unwrap(),
    ));

    assert_eq!(answer(&certs, &emulator, &uri, "uri").await.0, 200);
    assert_eq!(answer(&certs, &emulator, &ip_cert, "ip").await.0, 200);
    assert_eq!(answer(&certs, &emulator, &email, "email").await.0, 200);
    assert_eq!(answer(&certs, &emulator, &uri, "ip").await.0, 401);
}

#[tokio::test]
async fn subject_dn_in_slash_form_authenticates_the_client() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let subject = SubjectName::parse("/O=Test/CN=partner").unwrap();
    let emulator = emulator_with(
        &certs,
        &ca,
        vec![tls_client_auth(
            "partner",
            CertificateName::SubjectDn(subject),
        )],
    )
    .await;

    let (status, _) = answer(
        &certs,
        &emulator,
        &ca.issue(Leaf::named("partner")),
        "partner",
    )
    .await;
    let (other, _) = answer(
        &certs,
        &emulator,
        &ca.issue(Leaf::named("partner2")),
        "partner",
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(other, 401);
}

#[tokio::test]
async fn registered_self_signed_certificate_gets_a_token_bound_to_it() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let robot = self_signed("robot");
    let emulator = emulator_with(
        &certs,
        &ca,
        vec![registered(
            "robot",
            ClientAuthentication::SelfSignedTlsClientAuth(vec![robot.thumbprint().to_owned()]),
        )],
    )
    .await;

    let (status, body) = answer(&certs, &emulator, &robot, "robot").await;

    assert_eq!(status, 200);
    let (_, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(claims["cnf"]["x5t#S256"], robot.thumbprint());
}

#[tokio::test]
async fn unregistered_self_signed_certificate_fails_the_handshake() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let robot = self_signed("robot");
    let stranger = self_signed("robot");
    let emulator = emulator_with(
        &certs,
        &ca,
        vec![registered(
            "robot",
            ClientAuthentication::SelfSignedTlsClientAuth(vec![robot.thumbprint().to_owned()]),
        )],
    )
    .await;

    let error = request_token(&certs, &emulator, &stranger, "robot")
        .await
        .unwrap_err();

    assert!(causes(&error).contains("UnknownCA"), "{}", causes(&error));
}

#[tokio::test]
async fn registered_self_signed_certificate_past_its_validity_fails_the_handshake() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let robot = self_signed_leaf(Leaf {
        expired: true,
        ..Leaf::named("robot")
    });
    let emulator = emulator_with(
        &certs,
        &ca,
        vec![registered(
            "robot",
            ClientAuthentication::SelfSignedTlsClientAuth(vec![robot.thumbprint().to_owned()]),
        )],
    )
    .await;

    let error = request_token(&certs, &emulator, &robot, "robot")
        .await
        .unwrap_err();

    assert!(
        causes(&error).contains("CertificateExpired"),
        "{}",
        causes(&error)
    );
    assert_eq!(emulator.token_requests(), 0);
}

#[tokio::test]
async fn self_signed_certificate_of_another_client_is_invalid_client() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let robot = self_signed("robot");
    let other = self_signed("other");
    let emulator = emulator_with(
        &certs,
        &ca,
        vec![
            registered(
                "robot",
                ClientAuthentication::SelfSignedTlsClientAuth(vec![robot.thumbprint().into()]),
            ),
            registered(
                "other",
                ClientAuthentication::SelfSignedTlsClientAuth(vec![other.thumbprint().into()]),
            ),
        ],
    )
    .await;

    assert_eq!(answer(&certs, &emulator, &other, "robot").await.0, 401);
}

#[tokio::test]
async fn certificate_of_a_trusted_ca_other_than_the_clients_own_is_invalid_client() {
    let certs = DevCerts::generate().unwrap();
    let global = TestCa::new("Global CA");
    let own = TestCa::new("Partner CA");
    let client = tls_client_auth(
        "partner",
        CertificateName::SubjectDn(SubjectName::parse("CN=partner,O=Test").unwrap()),
    )
    .with_trusted_cas(vec![own.der()]);
    let emulator = emulator_with(&certs, &global, vec![client]).await;

    let (from_own, _) = answer(
        &certs,
        &emulator,
        &own.issue(Leaf::named("partner")),
        "partner",
    )
    .await;
    let (from_global, body) = answer(
        &certs,
        &emulator,
        &global.issue(Leaf::named("partner")),
        "partner",
    )
    .await;

    assert_eq!(from_own, 200);
    assert_eq!(from_global, 401);
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn certificate_from_an_untrusted_ca_fails_the_handshake() {
    let certs = DevCerts::generate().unwrap();
    let trusted = TestCa::new("Trusted CA");
    let untrusted = TestCa::new("Untrusted CA");
    let name = CertificateName::SubjectDn(SubjectName::parse("CN=partner,O=Test").unwrap());
    let emulator = emulator_with(&certs, &trusted, vec![tls_client_auth("partner", name)]).await;

    let error = request_token(
        &certs,
        &emulator,
        &untrusted.issue(Leaf::named("partner")),
        "partner",
    )
    .await
    .unwrap_err();

    assert!(causes(&error).contains("UnknownCA"), "{}", causes(&error));
}

#[tokio::test]
async fn expired_certificate_fails_the_handshake() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let name = CertificateName::SubjectDn(SubjectName::parse("CN=partner,O=Test").unwrap());
    let emulator = emulator_with(&certs, &ca, vec![tls_client_auth("partner", name)]).await;
    let mut leaf = Leaf::named("partner");
    leaf.expired = true;

    let error = request_token(&certs, &emulator, &ca.issue(leaf), "partner")
        .await
        .unwrap_err();

    assert!(
        causes(&error).contains("CertificateExpired"),
        "{}",
        causes(&error)
    );
}

#[tokio::test]
async fn certificate_without_client_auth_usage_fails_the_handshake() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let name = CertificateName::SubjectDn(SubjectName::parse("CN=partner,O=Test").unwrap());
    let emulator = emulator_with(&certs, &ca, vec![tls_client_auth("partner", name)]).await;
    let mut leaf = Leaf::named("partner");
    leaf.client_auth = false;

    let error = request_token(&certs, &emulator, &ca.issue(leaf), "partner")
        .await
        .unwrap_err();

    let causes = causes(&error);
    assert!(
        causes.contains("UnsupportedCertificate") || causes.contains("BadCertificate"),
        "{causes}"
    );
}

#[tokio::test]
async fn client_with_its_own_lifetime_gets_tokens_of_that_lifetime() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let name = CertificateName::SubjectDn(SubjectName::parse("CN=partner,O=Test").unwrap());
    let client = tls_client_auth("partner", name).with_token_lifetime(Duration::from_secs(5));
    let emulator = emulator_with(&certs, &ca, vec![client]).await;

    let (status, body) = answer(
        &certs,
        &emulator,
        &ca.issue(Leaf::named("partner")),
        "partner",
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 5);
    let (_, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        5
    );
}

#[tokio::test]
async fn unbound_client_gets_a_token_without_cnf_that_any_connection_may_use() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let name = CertificateName::SubjectDn(SubjectName::parse("CN=partner,O=Test").unwrap());
    let client = tls_client_auth("partner", name).with_certificate_bound_tokens(false);
    let emulator = emulator_with(&certs, &ca, vec![client]).await;
    let identity = ca.issue(Leaf::named("partner"));

    let (_, body) = answer(&certs, &emulator, &identity, "partner").await;
    let token = body["access_token"].as_str().unwrap();
    let (_, claims) = jwt_parts(token);
    let response = crate::support::client(&certs, Some(certs.other_client()))
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();

    assert!(claims.get("cnf").is_none(), "{claims}");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn client_without_the_client_credentials_grant_is_unauthorized_client() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let name = CertificateName::SubjectDn(SubjectName::parse("CN=partner,O=Test").unwrap());
    let client = tls_client_auth("partner", name).with_grant_types(Vec::<String>::new());
    let emulator = emulator_with(&certs, &ca, vec![client]).await;

    let (status, body) = answer(
        &certs,
        &emulator,
        &ca.issue(Leaf::named("partner")),
        "partner",
    )
    .await;

    assert_eq!(status, 400);
    assert_eq!(body["error"], "unauthorized_client");
}

#[test]
fn thumbprint_of_a_test_certificate_is_its_x5t_s256() {
    let robot = self_signed("robot");

    assert_eq!(
        robot.thumbprint(),
        certificate_thumbprint(robot.certificate_der())
    );
}

#[tokio::test]
async fn clients_from_a_toml_file_authenticate_with_its_ca_file_and_names() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Partner CA");
    let dir = crate::support::TempDir::new();
    std::fs::create_dir_all(dir.path()).unwrap();
    std::fs::write(dir.path().join("partner-ca.pem"), ca.pem()).unwrap();
    let robot = self_signed("robot");
    std::fs::write(dir.path().join("robot.pem"), robot.cert_pem()).unwrap();
    let toml = format!(
        r#"
[[clients]]
client_id = "partner"
token_endpoint_auth_method = "tls_client_auth"
tls_client_auth_subject_dn = "/O=Test/CN=partner"
ca_file = "partner-ca.pem"
scopes = ["read"]
audiences = ["{AUDIENCE}"]

[[clients]]
client_id = "robot"
token_endpoint_auth_method = "self_signed_tls_client_auth"
certificate_files = ["robot.pem"]
scopes = ["read"]
audiences = ["{AUDIENCE}"]
"#
    );
    let path = dir.path().join("clients.toml");
    std::fs::write(&path, toml).unwrap();

    let clients = reged_emulator::read_clients_file(&path).unwrap();
    let config = clients.into_iter().fold(
        EmulatorConfig::new(Profile::Uat),
        EmulatorConfig::with_client,
    );
    let emulator = start_with(config, &certs).await;
    let partner = ca.issue(Leaf::named("partner"));

    assert_eq!(answer(&certs, &emulator, &partner, "partner").await.0, 200);
    assert_eq!(answer(&certs, &emulator, &robot, "robot").await.0, 200);
    assert_eq!(answer(&certs, &emulator, &robot, "partner").await.0, 401);
}

#[test]
fn clients_file_error_names_the_file_and_the_client() {
    let dir = crate::support::TempDir::new();
    std::fs::create_dir_all(dir.path()).unwrap();
    let path = dir.path().join("clients.toml");
    std::fs::write(
        &path,
        "[[clients]]\nclient_id = \"x\"\ntoken_endpoint_auth_method = \"tls_client_auth\"\n",
    )
    .unwrap();

    let error = reged_emulator::read_clients_file(&path)
        .unwrap_err()
        .to_string();

    assert!(
        error.starts_with(&format!("{}: client x: ", path.display())),
        "{error}"
    );
}

/// Found in review: the handshake lets a registered self-signed certificate through, and the
/// token endpoint compared only the subject, so a client's self-signed certificate named like
/// a `tls_client_auth` client got that client's tokens.
#[tokio::test]
async fn self_signed_certificate_named_like_a_tls_client_auth_client_is_invalid_client() {
    let certs = DevCerts::generate().unwrap();
    let ca = TestCa::new("Test CA");
    let impostor = self_signed("partner");
    let emulator = emulator_with(
        &certs,
        &ca,
        vec![
            tls_client_auth(
                "partner",
                CertificateName::SubjectDn(SubjectName::parse("CN=partner,O=Test").unwrap()),
            ),
            registered(
                "robot",
                ClientAuthentication::SelfSignedTlsClientAuth(vec![impostor.thumbprint().into()]),
            ),
        ],
    )
    .await;

    let (as_partner, body) = answer(&certs, &emulator, &impostor, "partner").await;
    let (as_robot, _) = answer(&certs, &emulator, &impostor, "robot").await;
    let genuine = ca.issue(Leaf::named("partner"));
    let (genuine_partner, _) = answer(&certs, &emulator, &genuine, "partner").await;

    assert_eq!((as_partner, as_robot, genuine_partner), (401, 200, 200));
    assert_eq!(body["error"], "invalid_client");
}

/// Found in review: every client's own CA was trusted at the handshake, and a client without
/// one took any certificate that passed it, so partner A's CA could issue partner B's
/// certificate.
#[tokio::test]
async fn another_clients_own_ca_does_not_vouch_for_a_client_without_one() {
    let certs = DevCerts::generate().unwrap();
    let shared = TestCa::new("Shared CA");
    let partner_a_ca = TestCa::new("Partner A CA");
    let subject = |name: &str| {
        CertificateName::SubjectDn(SubjectName::parse(&format!("CN={name},O=Test")).unwrap())
    };
    let emulator = emulator_with(
        &certs,
        &shared,
        vec![
            tls_client_auth("partner-a", subject("partner-a"))
                .with_trusted_cas(vec![partner_a_ca.der()]),
            tls_client_auth("partner-b", subject("partner-b")),
        ],
    )
    .await;

    let forged = partner_a_ca.issue(Leaf::named("partner-b"));
    let (forged_b, body) = answer(&certs, &emulator, &forged, "partner-b").await;
    let genuine = shared.issue(Leaf::named("partner-b"));
    let (genuine_b, _) = answer(&certs, &emulator, &genuine, "partner-b").await;
    let own = partner_a_ca.issue(Leaf::named("partner-a"));
    let (own_a, _) = answer(&certs, &emulator, &own, "partner-a").await;

    assert_eq!((forged_b, genuine_b, own_a), (401, 200, 200));
    assert_eq!(body["error"], "invalid_client");
}
