//! Every identity fixture, loaded through the public API. The fixtures and what each one is are
//! listed in tests/fixtures/identity/README.md; make.sh wrote them with OpenSSL.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use reged_auth::Identity;
use reged_auth::identity::{IdentityError, IdentityWarning};
use reged_auth::secret::SecretString;
use time::OffsetDateTime;

const PASSPHRASE: &str = "fixture-passphrase";
const PASSWORD: &str = "fixture-password";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/identity")
        .join(name)
}

fn text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture is readable")
}

/// The DER of the one certificate in a PEM fixture.
fn der(name: &str) -> Vec<u8> {
    pem::parse(text(name))
        .expect("fixture is PEM")
        .into_contents()
}

fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_owned())
}

fn load_pem(names: &[&str], passphrase: Option<&str>) -> Result<Identity, IdentityError> {
    let paths: Vec<PathBuf> = names.iter().map(|name| fixture(name)).collect();
    let paths: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    Identity::from_pem_files(&paths, passphrase.map(secret).as_ref())
}

fn load_pkcs12(name: &str, password: &str) -> Result<Identity, IdentityError> {
    Identity::from_pkcs12_file(&fixture(name), &secret(password))
}

/// The identity is the `kind` client with its intermediate, as OpenSSL describes it.
fn assert_client(identity: &Identity, kind: &str) {
    let chain = identity.certificate_chain();
    assert_eq!(chain.len(), 2, "leaf and intermediate, no root");
    assert_eq!(
        chain[0].as_ref(),
        der(&format!("{kind}-client.pem")).as_slice()
    );
    assert_eq!(
        chain[1].as_ref(),
        der(&format!("{kind}-intermediate.pem")).as_slice()
    );
    assert_eq!(
        identity.thumbprint().as_str(),
        text(&format!("{kind}-client.x5t")).trim()
    );
    assert_eq!(
        identity.subject(),
        text(&format!("{kind}-client.subject")).trim()
    );
    assert!(identity.warnings().is_empty(), "{:?}", identity.warnings());

    let now = OffsetDateTime::now_utc();
    assert!(identity.not_before() <= now && now <= identity.not_after());
    assert_eq!(identity.not_before().year(), 2020);
    assert_eq!(identity.not_after().year(), 2120);
}

/// The identity can go straight into a rustls client configuration.
fn assert_usable_for_tls(identity: &Identity) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("default versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_client_auth_cert(
            identity.certificate_chain().to_vec(),
            identity.private_key(),
        );

    assert!(config.is_ok(), "{:?}", config.err());
}

/// The error's message names `file`.
fn assert_names(error: &IdentityError, file: &str) {
    let message = error.to_string();
    assert!(message.contains(file), "{message:?} does not name {file}");
    assert!(!message.ends_with('.'), "{message:?} ends with a period");
    assert!(
        message.starts_with(char::is_lowercase) || message.starts_with('/'),
        "{message:?}"
    );
}

// PEM: key shapes.

#[test]
fn pem_pkcs8_key_with_certificate_and_chain_in_separate_files() {
    let identity =
        load_pem(&["rsa-client.pem", "rsa-chain.pem", "rsa-client.key"], None).expect("loads");

    assert_client(&identity, "rsa");
    assert_usable_for_tls(&identity);
}

#[test]
fn pem_pkcs1_rsa_key() {
    let identity = load_pem(
        &["rsa-client.pem", "rsa-chain.pem", "rsa-client.pkcs1.key"],
        None,
    )
    .expect("loads");

    assert_client(&identity, "rsa");
    assert_usable_for_tls(&identity);
}

#[test]
fn pem_ec_keys_in_pkcs8_and_sec1() {
    for key in ["ec-client.key", "ec-client.sec1.key"] {
        let identity = load_pem(&["ec-client.pem", "ec-chain.pem", key], None).expect(key);

        assert_client(&identity, "ec");
        assert_usable_for_tls(&identity);
    }
}

#[test]
fn pem_encrypted_pkcs8_key_with_its_passphrase() {
    for kind in ["rsa", "ec"] {
        let files = [
            format!("{kind}-client.pem"),
            format!("{kind}-chain.pem"),
            format!("{kind}-client.encrypted.key"),
        ];
        let files: Vec<&str> = files.iter().map(String::as_str).collect();

        let identity = load_pem(&files, Some(PASSPHRASE)).expect(kind);

        assert_client(&identity, kind);
        assert_usable_for_tls(&identity);
    }
}

#[test]
fn pem_encrypted_key_without_passphrase_says_a_passphrase_is_needed() {
    let error = load_pem(&["rsa-client.pem", "rsa-client.encrypted.key"], None).expect_err("no");

    assert!(
        matches!(error, IdentityError::PassphraseRequired { .. }),
        "{error:?}"
    );
    assert_names(&error, "rsa-client.encrypted.key");
    assert!(
        error
            .to_string()
            .contains("encrypted and no passphrase was given"),
        "{error}"
    );
}

#[test]
fn pem_encrypted_key_with_wrong_passphrase() {
    let error = load_pem(
        &["rsa-client.pem", "rsa-client.encrypted.key"],
        Some("wrong passphrase"),
    )
    .expect_err("wrong");

    assert!(
        matches!(error, IdentityError::WrongPassphrase { .. }),
        "{error:?}"
    );
    assert_names(&error, "rsa-client.encrypted.key");
    assert!(
        !format!("{error:?}").contains("wrong passphrase"),
        "passphrase in Debug"
    );
}

#[test]
fn pem_key_under_pbes1_names_the_algorithm() {
    let error = load_pem(
        &["rsa-client.pem", "rsa-client.encrypted-pbes1.key"],
        Some(PASSPHRASE),
    )
    .expect_err("unsupported");

    let IdentityError::UnsupportedKeyEncryption { algorithm, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(algorithm.name(), Some("PBE-SHA1-3DES"));
    assert_eq!(algorithm.oid(), "1.2.840.113549.1.12.1.3");
    assert_names(&error, "rsa-client.encrypted-pbes1.key");
    assert!(
        error
            .to_string()
            .contains("PBE-SHA1-3DES (OID 1.2.840.113549.1.12.1.3)")
    );
}

#[test]
fn pem_key_under_pbes2_with_sha1_prf_from_older_openssl_loads() {
    let identity = load_pem(
        &["ec-client.pem", "ec-client.encrypted-sha1-prf.key"],
        Some(PASSPHRASE),
    )
    .expect("PBES2 with hmacWithSHA1, the default of OpenSSL 1.x, loads");

    assert_eq!(identity.thumbprint().as_str(), text("ec-client.x5t").trim());
}

#[test]
fn pem_key_with_legacy_openssl_encryption_is_refused_with_a_conversion_hint() {
    let error = load_pem(
        &["rsa-client.pem", "rsa-client.legacy-encrypted.key"],
        Some(PASSPHRASE),
    )
    .expect_err("legacy");

    assert!(
        matches!(error, IdentityError::LegacyEncryptedKey { .. }),
        "{error:?}"
    );
    assert_names(&error, "rsa-client.legacy-encrypted.key");
    assert!(
        error.to_string().contains("openssl pkcs8 -topk8"),
        "{error}"
    );
}

// PEM: bundles and block order.

#[test]
fn pem_combined_file_with_key_first_and_intermediate_before_leaf() {
    for kind in ["rsa", "ec"] {
        let identity = load_pem(&[&format!("{kind}-combined.pem")], None).expect(kind);

        assert_client(&identity, kind);
    }
}

#[test]
fn pem_windows_line_endings_and_byte_order_mark_do_not_matter() {
    let identity = load_pem(&["rsa-combined-crlf-bom.pem"], None).expect("loads");

    assert_client(&identity, "rsa");
}

#[test]
fn pem_from_bytes_names_the_source_in_errors() {
    let identity =
        Identity::from_pem(text("rsa-combined.pem").as_bytes(), "inline", None).expect("loads");
    assert_client(&identity, "rsa");

    let error = Identity::from_pem(text("rsa-client.pem").as_bytes(), "my bundle", None)
        .expect_err("no key");
    assert_names(&error, "my bundle");
}

#[test]
fn pem_leaf_is_the_certificate_that_matches_the_key_whatever_the_order() {
    let identity =
        load_pem(&["rsa-chain.pem", "rsa-client.key", "rsa-client.pem"], None).expect("loads");

    assert_client(&identity, "rsa");
}

#[test]
fn pem_certificate_outside_the_chain_is_left_out_with_a_warning() {
    let files = [
        "ec-client.pem",
        "rsa-chain.pem",
        "rsa-client.pem",
        "rsa-client.key",
    ];

    let identity = load_pem(&files, None).expect("loads");

    assert_eq!(identity.certificate_chain().len(), 2);
    assert_eq!(
        identity.certificate_chain()[0].as_ref(),
        der("rsa-client.pem").as_slice()
    );
    let ec_subject = text("ec-client.subject").trim().to_owned();
    assert_eq!(
        identity.warnings(),
        [IdentityWarning::UnrelatedCertificate {
            subject: ec_subject
        }]
    );
}

#[test]
fn pem_same_key_and_certificate_given_twice_count_once() {
    let identity = load_pem(
        &["rsa-combined.pem", "rsa-client.key", "rsa-client.pem"],
        None,
    )
    .expect("loads");

    assert_client(&identity, "rsa");
}

#[test]
fn pem_two_different_keys_are_refused() {
    let error = load_pem(&["rsa-combined.pem", "rsa-other.key"], None).expect_err("two keys");

    assert!(
        matches!(error, IdentityError::SeveralPrivateKeys { count: 2, .. }),
        "{error:?}"
    );
    assert_names(&error, "rsa-other.key");
}

// PEM: checks at load time.

#[test]
fn pem_key_that_does_not_match_the_certificate() {
    let error = load_pem(&["rsa-client.pem", "rsa-other.key"], None).expect_err("mismatch");

    let IdentityError::KeyMismatch { subject, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(subject, text("rsa-client.subject").trim());
    assert_names(&error, "rsa-other.key");
    assert_names(&error, "rsa-client.pem");
}

#[test]
fn pem_expired_certificate_shows_its_dates() {
    let error = load_pem(&["rsa-expired.pem", "rsa-client.key"], None).expect_err("expired");

    assert!(
        matches!(error, IdentityError::CertificateExpired { .. }),
        "{error:?}"
    );
    assert_names(&error, "rsa-expired.pem");
    let message = error.to_string();
    assert!(
        message.contains("expired on 2001-01-01 00:00:00 UTC"),
        "{message}"
    );
    assert!(
        message.contains("valid from 2000-01-01 00:00:00 UTC"),
        "{message}"
    );
}

#[test]
fn pem_certificate_not_yet_valid_shows_its_dates() {
    let error = load_pem(&["rsa-not-yet-valid.pem", "rsa-client.key"], None).expect_err("early");

    assert!(
        matches!(error, IdentityError::CertificateNotYetValid { .. }),
        "{error:?}"
    );
    assert_names(&error, "rsa-not-yet-valid.pem");
    assert!(
        error
            .to_string()
            .contains("not valid before 2100-01-01 00:00:00 UTC"),
        "{error}"
    );
}

#[test]
fn pem_certificate_without_client_auth_usage_loads_with_a_logged_warning() {
    let log = global_log();

    let identity = load_pem(
        &["rsa-server-only.pem", "rsa-chain.pem", "rsa-client.key"],
        None,
    )
    .expect("loads");

    let subject = "CN=reged-test-server-only,O=RegEd Test";
    assert_eq!(
        identity.warnings(),
        [IdentityWarning::NoClientAuthUsage {
            subject: subject.to_owned()
        }]
    );
    let logged = log.contents();
    assert!(logged.contains("WARN"), "{logged}");
    assert!(logged.contains(subject), "{logged}");
    let key_line = text("rsa-client.key")
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    assert!(!logged.contains(&key_line), "key material in the log");
}

#[test]
fn pem_certificate_without_extended_key_usage_is_unrestricted() {
    let identity =
        load_pem(&["rsa-no-extended-key-usage.pem", "rsa-client.key"], None).expect("loads");

    assert!(identity.warnings().is_empty(), "{:?}", identity.warnings());
}

#[test]
fn pem_without_key_lists_the_accepted_formats() {
    let error = load_pem(&["rsa-client.pem", "rsa-chain.pem"], None).expect_err("no key");

    assert!(
        matches!(error, IdentityError::NoPrivateKey { .. }),
        "{error:?}"
    );
    assert_names(&error, "rsa-client.pem");
    let message = error.to_string();
    for format in [
        "PKCS#8",
        "PKCS#1",
        "SEC1",
        "ENCRYPTED PRIVATE KEY",
        "PKCS#12",
    ] {
        assert!(message.contains(format), "{message}");
    }
}

#[test]
fn pem_without_certificate() {
    let error = load_pem(&["rsa-client.key"], None).expect_err("no certificate");

    assert!(
        matches!(error, IdentityError::NoCertificate { .. }),
        "{error:?}"
    );
    assert_names(&error, "rsa-client.key");
    assert!(error.to_string().contains("CERTIFICATE"), "{error}");
}

#[test]
fn pem_unreadable_file_names_the_path() {
    let error = load_pem(&["rsa-client.pem", "missing.key"], None).expect_err("missing");

    assert!(matches!(error, IdentityError::Read { .. }), "{error:?}");
    assert_names(&error, "missing.key");
    let source = std::error::Error::source(&error).expect("the io error is chained");
    assert!(source.downcast_ref::<io::Error>().is_some());
}

#[test]
fn pem_loader_given_a_pkcs12_file_says_so() {
    let error = load_pem(&["rsa-modern.p12"], None).expect_err("not pem");

    assert!(matches!(error, IdentityError::Der { .. }), "{error:?}");
    assert!(error.to_string().contains("--pfx"), "{error}");
    assert_names(&error, "rsa-modern.p12");
}

// PKCS#12.

#[test]
fn pkcs12_modern_with_the_leaf_last_in_the_file() {
    let identity = load_pkcs12("rsa-modern.p12", PASSWORD).expect("loads");

    assert_client(&identity, "rsa");
    assert_usable_for_tls(&identity);
}

#[test]
fn pkcs12_modern_in_the_usual_layout() {
    let identity = load_pkcs12("ec-modern.p12", PASSWORD).expect("loads");

    assert_client(&identity, "ec");
    assert_usable_for_tls(&identity);
}

#[test]
fn pkcs12_legacy_rc2_40_and_3des_with_sha1_mac() {
    for file in ["rsa-legacy-rc2.p12", "rsa-legacy-3des.p12"] {
        let identity = load_pkcs12(file, PASSWORD).expect(file);

        assert_client(&identity, "rsa");
    }
}

#[test]
fn pkcs12_empty_password() {
    let identity = load_pkcs12("rsa-empty-password.p12", "").expect("loads");

    assert_client(&identity, "rsa");
}

#[test]
fn pkcs12_non_ascii_password() {
    let identity = load_pkcs12("rsa-non-ascii-password.p12", "pässwörd€").expect("loads");
    assert_client(&identity, "rsa");

    let error = load_pkcs12("rsa-non-ascii-password.p12", "passwort").expect_err("wrong");
    assert!(
        matches!(error, IdentityError::WrongPassword { .. }),
        "{error:?}"
    );
}

#[test]
fn pkcs12_wrong_password_is_told_apart() {
    for file in [
        "rsa-modern.p12",
        "rsa-legacy-rc2.p12",
        "rsa-empty-password.p12",
    ] {
        let error = load_pkcs12(file, "not the password").expect_err(file);

        assert!(
            matches!(error, IdentityError::WrongPassword { .. }),
            "{error:?}"
        );
        assert_names(&error, file);
        assert!(
            !format!("{error:?}").contains("not the password"),
            "password in Debug"
        );
    }
}

#[test]
fn pkcs12_without_mac_loads_and_still_tells_a_wrong_password() {
    let identity = load_pkcs12("rsa-no-mac.p12", PASSWORD).expect("loads");
    assert_client(&identity, "rsa");

    let error = load_pkcs12("rsa-no-mac.p12", "not the password").expect_err("wrong");
    assert!(
        matches!(error, IdentityError::WrongPassword { .. }),
        "{error:?}"
    );
    assert_names(&error, "rsa-no-mac.p12");
}

#[test]
fn pkcs12_unsupported_cipher_is_named() {
    let error = load_pkcs12("rsa-unsupported-rc2-128.p12", PASSWORD).expect_err("unsupported");

    let IdentityError::UnsupportedPkcs12Algorithm { algorithm, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(algorithm.name(), Some("PBE-SHA1-RC2-128"));
    assert_eq!(algorithm.oid(), "1.2.840.113549.1.12.1.5");
    assert_names(&error, "rsa-unsupported-rc2-128.p12");
}

#[test]
fn pkcs12_unsupported_mac_is_named() {
    let error = load_pkcs12("rsa-unsupported-md5-mac.p12", PASSWORD).expect_err("unsupported");

    let IdentityError::UnsupportedPkcs12Algorithm { algorithm, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(algorithm.name(), Some("MD5"));
    assert_names(&error, "rsa-unsupported-md5-mac.p12");
}

#[test]
fn pkcs12_without_key() {
    let error = load_pkcs12("rsa-certificates-only.p12", PASSWORD).expect_err("no key");

    assert!(
        matches!(error, IdentityError::NoPrivateKey { .. }),
        "{error:?}"
    );
    assert_names(&error, "rsa-certificates-only.p12");
}

#[test]
fn pkcs12_key_that_does_not_match_the_certificate() {
    let error = load_pkcs12("rsa-mismatched.p12", PASSWORD).expect_err("mismatch");

    assert!(
        matches!(error, IdentityError::KeyMismatch { .. }),
        "{error:?}"
    );
    assert_names(&error, "rsa-mismatched.p12");
}

#[test]
fn pkcs12_unreadable_file_names_the_path() {
    let error = load_pkcs12("missing.p12", PASSWORD).expect_err("missing");

    assert!(matches!(error, IdentityError::Read { .. }), "{error:?}");
    assert_names(&error, "missing.p12");
}

#[test]
fn pkcs12_loader_given_a_pem_file() {
    let error = load_pkcs12("rsa-combined.pem", PASSWORD).expect_err("not pkcs12");

    assert!(
        matches!(error, IdentityError::PemNotPkcs12 { .. }),
        "{error:?}"
    );
    assert_names(&error, "rsa-combined.pem");
}

#[test]
fn pkcs12_from_bytes_names_the_source() {
    let bytes = std::fs::read(fixture("rsa-modern.p12")).expect("fixture is readable");

    let error = Identity::from_pkcs12(&bytes, "upload", &secret("nope")).expect_err("wrong");

    assert_names(&error, "upload");
}

#[test]
fn identity_debug_output_holds_no_key() {
    let identity = load_pem(&["rsa-combined.pem"], None).expect("loads");
    let key_line = text("rsa-client.key")
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_owned();

    let debug = format!("{identity:?}");

    assert!(debug.contains("key: [redacted]"), "{debug}");
    assert!(!debug.contains(&key_line), "{debug}");
}

/// The log of every test in this file.
///
/// A global subscriber, because tracing caches per call site whether anyone listens: with a
/// scoped one (`with_default`), a test running at the same time without it can silence it.
fn global_log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Log::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(log.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        log
    })
}

/// A log sink for the tracing subscriber.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    fn contents(&self) -> String {
        let bytes = self.0.lock().map(|bytes| bytes.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if let Ok(mut log) = self.0.lock() {
            log.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = Log;

    fn make_writer(&'a self) -> Log {
        self.clone()
    }
}
