//! PEM input: certificates and private keys, in any order, in one file or several.

use pkcs8::der::ErrorKind;
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::algorithm::{self, Algorithm, ENCRYPTED_KEY_SUPPORTED};
use super::assemble::{FoundKey, Material};
use super::certificate::Certificate;
use super::error::IdentityError;

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";
const BEGIN: &[u8] = b"-----BEGIN ";

/// One decoded PEM block, its contents wiped when dropped.
struct Block {
    label: String,
    legacy_encrypted: bool,
    contents: Zeroizing<Vec<u8>>,
}

impl From<::pem::Pem> for Block {
    fn from(pem: ::pem::Pem) -> Block {
        let legacy_encrypted = pem
            .headers()
            .get("Proc-Type")
            .is_some_and(|value| value.contains("ENCRYPTED"));
        Block {
            label: pem.tag().to_owned(),
            legacy_encrypted,
            contents: Zeroizing::new(pem.into_contents()),
        }
    }
}

/// Finds the certificates and private keys in `input`, decrypting an encrypted PKCS#8 key with
/// `passphrase`. Blocks of other kinds (certificate requests, EC parameters) are skipped.
pub(super) fn parse(
    input: &[u8],
    origin: &str,
    passphrase: Option<&SecretString>,
) -> Result<Material, IdentityError> {
    let input = input.strip_prefix(BYTE_ORDER_MARK).unwrap_or(input);
    let begin_lines = input
        .windows(BEGIN.len())
        .filter(|window| *window == BEGIN)
        .count();
    if begin_lines == 0 {
        let origin = origin.to_owned();
        return Err(
            match input.iter().find(|byte| !byte.is_ascii_whitespace()) {
                None => IdentityError::Empty { origin },
                // Every DER certificate, key and PKCS#12 file is a SEQUENCE.
                Some(0x30) => IdentityError::Der { origin },
                Some(_) => IdentityError::NotPem { origin },
            },
        );
    }

    let damaged = |problem: &str| IdentityError::InvalidPem {
        origin: origin.to_owned(),
        problem: problem.to_owned(),
    };
    let blocks: Vec<Block> = ::pem::parse_many(input)
        .map_err(|error| damaged(&describe(&error)))?
        .into_iter()
        .map(Block::from)
        .collect();
    // The pem crate stops quietly at a block that never ends, as in a truncated file.
    if blocks.len() < begin_lines {
        return Err(damaged(
            "a BEGIN line has no END line; the file may be cut short",
        ));
    }

    let mut material = Material::default();
    for mut block in blocks {
        let key = match block.label.as_str() {
            "CERTIFICATE" | "X509 CERTIFICATE" => {
                let position = material.certificates.len() + 1;
                let der = CertificateDer::from(block.contents.to_vec());
                material
                    .certificates
                    .push(Certificate::parse(der, origin, position)?);
                continue;
            }
            "PRIVATE KEY" => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(take(&mut block))),
            "RSA PRIVATE KEY" | "EC PRIVATE KEY" if block.legacy_encrypted => {
                return Err(IdentityError::LegacyEncryptedKey {
                    origin: origin.to_owned(),
                });
            }
            "RSA PRIVATE KEY" => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(take(&mut block))),
            "EC PRIVATE KEY" => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(take(&mut block))),
            "ENCRYPTED PRIVATE KEY" => decrypt(&block.contents, origin, passphrase)?,
            other => {
                tracing::debug!(
                    origin,
                    label = other,
                    "skipping a PEM block that is neither a certificate nor a key"
                );
                continue;
            }
        };
        material.keys.push(FoundKey {
            origin: origin.to_owned(),
            key: Zeroizing::new(key),
        });
    }
    Ok(material)
}

/// Moves the contents out of `block`, leaving it empty.
fn take(block: &mut Block) -> Vec<u8> {
    std::mem::take(&mut *block.contents)
}

/// Decrypts an encrypted PKCS#8 key (PBES2).
fn decrypt(
    der: &[u8],
    origin: &str,
    passphrase: Option<&SecretString>,
) -> Result<PrivateKeyDer<'static>, IdentityError> {
    let Some(passphrase) = passphrase else {
        return Err(IdentityError::PassphraseRequired {
            origin: origin.to_owned(),
        });
    };
    let wrong_passphrase = || IdentityError::WrongPassphrase {
        origin: origin.to_owned(),
    };

    let encrypted = pkcs8::EncryptedPrivateKeyInfo::try_from(der)
        .map_err(|error| unsupported_or_invalid(der, origin, error))?;
    let decrypted = match encrypted.decrypt(passphrase.expose_secret().as_bytes()) {
        Ok(decrypted) => decrypted,
        // pkcs5 0.7 reports bad padding after decryption as `EncryptFailed`.
        Err(pkcs8::Error::EncryptedPrivateKey(
            pkcs8::pkcs5::Error::DecryptFailed | pkcs8::pkcs5::Error::EncryptFailed,
        )) => {
            return Err(wrong_passphrase());
        }
        Err(error) => return Err(unsupported_or_invalid(der, origin, error)),
    };

    // A wrong passphrase gets past the padding check about once in 256 tries, and yields noise.
    if pkcs8::PrivateKeyInfo::try_from(decrypted.as_bytes()).is_err() {
        return Err(wrong_passphrase());
    }
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        decrypted.as_bytes().to_vec(),
    )))
}

/// Names the algorithm that stopped decryption, or reports the key as damaged.
fn unsupported_or_invalid(der: &[u8], origin: &str, error: pkcs8::Error) -> IdentityError {
    let declared = algorithm::encrypted_key_algorithms(der);
    let reported = match &error {
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm { oid }) => {
            Some(Algorithm::from_oid(&oid.to_string()))
        }
        pkcs8::Error::Asn1(asn1) => match asn1.kind() {
            ErrorKind::OidUnknown { oid } => Some(Algorithm::from_oid(&oid.to_string())),
            _ => None,
        },
        _ => None,
    };

    match algorithm::first_unsupported(&declared, ENCRYPTED_KEY_SUPPORTED).or(reported) {
        Some(algorithm) => IdentityError::UnsupportedKeyEncryption {
            origin: origin.to_owned(),
            algorithm,
        },
        None => IdentityError::InvalidPrivateKey {
            origin: origin.to_owned(),
            source: Box::new(error),
        },
    }
}

/// What is wrong with a PEM block, without quoting any of it: a header line may be base64 key
/// data when a blank line splits a block.
fn describe(error: &::pem::PemError) -> String {
    use ::pem::PemError;

    match error {
        PemError::MismatchedTags(begin, end) => {
            format!("BEGIN {} does not match END {}", label(begin), label(end))
        }
        PemError::MalformedFraming => "malformed BEGIN or END line".to_owned(),
        PemError::MissingBeginTag => "a BEGIN line has no label".to_owned(),
        PemError::MissingEndTag => "an END line has no label".to_owned(),
        PemError::MissingData => "a block is empty".to_owned(),
        PemError::InvalidData(_) => "a block is not valid base64".to_owned(),
        PemError::InvalidHeader(_) => "a block has an invalid header line".to_owned(),
        PemError::NotUtf8(_) => "a block is not text".to_owned(),
    }
}

/// A label as found in a BEGIN or END line, cut short in case the line is not one.
fn label(text: &str) -> String {
    const LONGEST: usize = 40;
    match text.char_indices().nth(LONGEST) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMBINED: &str = include_str!("../../tests/fixtures/identity/rsa-combined.pem");
    const KEY: &str = include_str!("../../tests/fixtures/identity/rsa-client.key");
    const ENCRYPTED: &str = include_str!("../../tests/fixtures/identity/rsa-client.encrypted.key");

    #[test]
    fn blocks_are_sorted_into_certificates_and_keys() {
        let material = parse(COMBINED.as_bytes(), "combined.pem", None).expect("parses");

        assert_eq!(material.certificates.len(), 2);
        assert_eq!(material.keys.len(), 1);
    }

    #[test]
    fn garbage_is_not_pem() {
        let result = parse(b"garbage", "garbage.pem", None);

        assert!(
            matches!(result, Err(IdentityError::NotPem { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn empty_input_says_it_is_empty() {
        for input in [&b""[..], b"\xEF\xBB\xBF", b" \r\n"] {
            let result = parse(input, "empty.pem", None);

            assert!(
                matches!(result, Err(IdentityError::Empty { .. })),
                "{result:?}"
            );
        }
    }

    #[test]
    fn der_input_is_told_apart_from_garbage() {
        let result = parse(&[0x30, 0x82, 0x01, 0x00], "client.der", None);

        let error = result.unwrap_err();
        assert!(matches!(error, IdentityError::Der { .. }), "{error:?}");
        assert!(error.to_string().contains("PKCS#12"), "{error}");
    }

    #[test]
    fn truncated_input_never_panics_and_never_loses_a_block_quietly() {
        let bytes = COMBINED.as_bytes();
        for end in (0..bytes.len()).step_by(23) {
            let input = &bytes[..end];
            let complete_blocks = COMBINED[..end].matches("-----END ").count();

            match parse(input, "cut.pem", None) {
                Ok(material) => {
                    let found = material.certificates.len() + material.keys.len();
                    assert_eq!(found, complete_blocks, "cut at {end}");
                }
                Err(error) => assert!(error.to_string().contains("cut.pem"), "{error}"),
            }
        }
    }

    #[test]
    fn damaged_block_error_does_not_quote_key_data() {
        // A blank line inside the base64 makes the pem crate read key data as header lines.
        let mut lines: Vec<&str> = KEY.lines().collect();
        lines.insert(5, "");
        let damaged = lines.join("\n");
        let quoted = lines[3];

        let error = parse(damaged.as_bytes(), "damaged.key", None).expect_err("damaged");

        assert!(
            matches!(error, IdentityError::InvalidPem { .. }),
            "{error:?}"
        );
        assert!(!error.to_string().contains(quoted), "{error}");
        assert!(!format!("{error:?}").contains(quoted), "{error:?}");
    }

    #[test]
    fn encrypted_key_without_passphrase_asks_for_one() {
        let error = parse(ENCRYPTED.as_bytes(), "encrypted.key", None).expect_err("needs one");

        assert!(
            matches!(error, IdentityError::PassphraseRequired { .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("no passphrase was given"),
            "{error}"
        );
    }

    #[test]
    fn garbage_encrypted_key_is_an_error() {
        let passphrase = SecretString::from("fixture-passphrase");
        for der in [&b""[..], b"\x30\x00", b"\x30\x03\x02\x01\x00", b"garbage"] {
            let result = decrypt(der, "garbage.key", Some(&passphrase));

            assert!(result.is_err());
        }
    }
}
