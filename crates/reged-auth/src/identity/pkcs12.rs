//! PKCS#12 (PFX) input, read with p12-keystore: current files (PBES2, AES-256, SHA-256 MAC)
//! and legacy ones (RC2-40 or 3DES, SHA-1 MAC).

use p12_keystore::Pkcs12Archive;
use p12_keystore::error::Error as Pkcs12Error;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::algorithm::{self, Algorithm, PKCS12_SUPPORTED};
use super::assemble::{FoundKey, Material};
use super::certificate::Certificate;
use super::error::IdentityError;

/// Finds the certificates and private keys in the PKCS#12 file `der`.
///
/// Bags are read raw, without p12-keystore's linking by local key id: the leaf is found later by
/// matching the key, wherever the certificate sits in the file.
pub(super) fn parse(
    der: &[u8],
    origin: &str,
    password: &SecretString,
) -> Result<Material, IdentityError> {
    if is_pem_text(der) {
        return Err(IdentityError::PemNotPkcs12 {
            origin: origin.to_owned(),
        });
    }
    let password = password.expose_secret();
    // PKCS#12 passwords are BMPString, which p12-keystore cannot fill with surrogate pairs.
    if password
        .chars()
        .any(|character| u32::from(character) > 0xFFFF)
    {
        return Err(IdentityError::PasswordNotEncodable {
            origin: origin.to_owned(),
        });
    }

    let archive =
        Pkcs12Archive::from_pkcs12(der, password).map_err(|error| classify(der, origin, error))?;

    let mut material = Material::default();
    for (index, bag) in archive.certs.iter().enumerate() {
        let der = CertificateDer::from(bag.cert.as_der().to_vec());
        material
            .certificates
            .push(Certificate::parse(der, origin, index + 1)?);
    }
    for bag in &archive.keys {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(bag.key.as_der().to_vec()));
        material.keys.push(FoundKey {
            origin: origin.to_owned(),
            key: Zeroizing::new(key),
        });
    }
    Ok(material)
}

/// PEM text (`-----BEGIN ...`), perhaps after a byte order mark or blank lines: a PKCS#12
/// file is binary DER, so a file like this was given in place of one by mistake.
fn is_pem_text(contents: &[u8]) -> bool {
    let contents = contents
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(contents);
    contents.trim_ascii_start().starts_with(b"-----BEGIN ")
}

/// Tells a wrong password from an unsupported algorithm from a damaged file.
fn classify(der: &[u8], origin: &str, error: Pkcs12Error) -> IdentityError {
    if matches!(error, Pkcs12Error::MacError(_)) {
        return IdentityError::WrongPassword {
            origin: origin.to_owned(),
            source: Box::new(error),
        };
    }

    let survey = algorithm::survey_pkcs12(der);
    let declared = survey
        .as_ref()
        .map(|survey| survey.algorithms.as_slice())
        .unwrap_or_default();
    let reported = match &error {
        Pkcs12Error::DerError(asn1) => match asn1.kind() {
            der::ErrorKind::OidUnknown { oid } => Some(Algorithm::from_oid(&oid.to_string())),
            _ => None,
        },
        _ => None,
    };
    if let Some(algorithm) = algorithm::first_unsupported(declared, PKCS12_SUPPORTED).or(reported) {
        return IdentityError::UnsupportedPkcs12Algorithm {
            origin: origin.to_owned(),
            algorithm,
            source: Box::new(error),
        };
    }

    // Without a MAC, nothing checks the password before decryption, which then fails.
    let without_mac = survey.is_some_and(|survey| !survey.has_mac);
    let decryption_failed = matches!(
        error,
        Pkcs12Error::Pkcs5Error(_)
            | Pkcs12Error::UnpadError
            | Pkcs12Error::DerError(_)
            | Pkcs12Error::InvalidPrivateKey
    );
    if without_mac && decryption_failed {
        return IdentityError::WrongPassword {
            origin: origin.to_owned(),
            source: Box::new(error),
        };
    }

    IdentityError::InvalidPkcs12 {
        origin: origin.to_owned(),
        source: Box::new(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODERN: &[u8] = include_bytes!("../../tests/fixtures/identity/rsa-modern.p12");

    fn password() -> SecretString {
        SecretString::from("fixture-password")
    }

    #[test]
    fn all_bags_are_read_whatever_their_order() {
        let material = parse(MODERN, "modern.p12", &password()).expect("parses");

        assert_eq!(material.certificates.len(), 3);
        assert_eq!(material.keys.len(), 1);
    }

    #[test]
    fn garbage_is_not_pkcs12() {
        for input in [
            &b""[..],
            b"garbage",
            b"\x30\x00",
            b"\x30\x82\xff\xff\x02\x01\x03",
        ] {
            let result = parse(input, "garbage.p12", &password());

            assert!(
                matches!(result, Err(IdentityError::InvalidPkcs12 { .. })),
                "{result:?}"
            );
        }
    }

    #[test]
    fn pem_given_as_pkcs12_is_named_as_pem() {
        for input in [
            &b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"[..],
            b"\xef\xbb\xbf\r\n-----BEGIN PRIVATE KEY-----\n",
        ] {
            let error = parse(input, "client.pem", &password()).expect_err("PEM");

            assert!(
                matches!(error, IdentityError::PemNotPkcs12 { .. }),
                "{error:?}"
            );
            assert!(
                error.to_string().contains("client.pem is PEM text"),
                "{error}"
            );
        }
    }

    #[test]
    fn truncated_and_damaged_files_never_panic() {
        for end in (0..MODERN.len()).step_by(97) {
            let error = parse(&MODERN[..end], "cut.p12", &password()).expect_err("cut short");
            assert!(error.to_string().contains("cut.p12"), "{error}");
        }
        for position in (0..MODERN.len()).step_by(211) {
            let mut damaged = MODERN.to_vec();
            damaged[position] ^= 0x5a;
            if let Err(error) = parse(&damaged, "damaged.p12", &password()) {
                assert!(error.to_string().contains("damaged.p12"), "{error}");
            }
        }
    }

    #[test]
    fn password_outside_the_basic_plane_is_refused_before_reading() {
        let emoji = SecretString::from("p\u{1F511}ss");

        let error = parse(MODERN, "modern.p12", &emoji).expect_err("not encodable");

        assert!(matches!(error, IdentityError::PasswordNotEncodable { .. }));
    }
}
