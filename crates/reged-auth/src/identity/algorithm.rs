//! Names of the encryption and MAC algorithms found in encrypted keys and PKCS#12 files, so that
//! an unsupported one can be named in an error.
//!
//! The PKCS#12 and PKCS#8 libraries report an unsupported algorithm without saying which, so on
//! failure the file is walked here, without a password, for the algorithm identifiers it
//! declares. The walk only names; whether a file loads is always decided by the libraries.

use std::fmt;

use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use cms::content_info::ContentInfo;
use cms::encrypted_data::EncryptedData;
use der::asn1::{ContextSpecific, OctetString};
use der::{Any, Decode, Encode, Sequence};
use pkcs12::pbe_params::{EncryptedPrivateKeyInfo, Pbes2Params};
use pkcs12::safe_bag::SafeContents;

/// An algorithm named by its object identifier, with a friendly name when one is known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Algorithm {
    oid: String,
    name: Option<&'static str>,
}

impl Algorithm {
    /// The algorithm with this dotted object identifier.
    pub fn from_oid(oid: &str) -> Algorithm {
        let name = NAMES
            .iter()
            .find(|(known, _)| *known == oid)
            .map(|(_, name)| *name);
        Algorithm {
            oid: oid.to_owned(),
            name,
        }
    }

    /// The dotted object identifier, e.g. `1.2.840.113549.1.12.1.5`.
    pub fn oid(&self) -> &str {
        &self.oid
    }

    /// The usual name, e.g. `PBE-SHA1-RC2-128`, when known.
    pub fn name(&self) -> Option<&str> {
        self.name
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => write!(f, "{name} (OID {})", self.oid),
            None => write!(f, "the algorithm with OID {}", self.oid),
        }
    }
}

const SHA1: &str = "1.3.14.3.2.26";
const SHA224: &str = "2.16.840.1.101.3.4.2.4";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const SHA512: &str = "2.16.840.1.101.3.4.2.3";
const SHA512_224: &str = "2.16.840.1.101.3.4.2.5";
const SHA512_256: &str = "2.16.840.1.101.3.4.2.6";
const PBE_SHA1_3DES: &str = "1.2.840.113549.1.12.1.3";
const PBE_SHA1_RC2_40: &str = "1.2.840.113549.1.12.1.6";
const PBES2: &str = "1.2.840.113549.1.5.13";
const PBKDF2: &str = "1.2.840.113549.1.5.12";
const SCRYPT: &str = "1.3.6.1.4.1.11591.4.11";
const HMAC_SHA1: &str = "1.2.840.113549.2.7";
const HMAC_SHA224: &str = "1.2.840.113549.2.8";
const HMAC_SHA256: &str = "1.2.840.113549.2.9";
const HMAC_SHA384: &str = "1.2.840.113549.2.10";
const HMAC_SHA512: &str = "1.2.840.113549.2.11";
const AES_128_CBC: &str = "2.16.840.1.101.3.4.1.2";
const AES_192_CBC: &str = "2.16.840.1.101.3.4.1.22";
const AES_256_CBC: &str = "2.16.840.1.101.3.4.1.42";
const AES_128_GCM: &str = "2.16.840.1.101.3.4.1.6";
const AES_256_GCM: &str = "2.16.840.1.101.3.4.1.46";
const DES_EDE3_CBC: &str = "1.2.840.113549.3.7";

/// What p12-keystore 0.4 reads: its MAC digests, its encryption schemes, and the PBES2 parts
/// that pkcs5 0.8 decrypts with the features p12-keystore turns on (no SHA-1 PRF, no DES).
pub(super) const PKCS12_SUPPORTED: &[&str] = &[
    SHA1,
    SHA224,
    SHA256,
    SHA384,
    SHA512,
    SHA512_224,
    SHA512_256,
    PBE_SHA1_3DES,
    PBE_SHA1_RC2_40,
    PBES2,
    PBKDF2,
    SCRYPT,
    HMAC_SHA224,
    HMAC_SHA256,
    HMAC_SHA384,
    HMAC_SHA512,
    AES_128_CBC,
    AES_192_CBC,
    AES_256_CBC,
    AES_128_GCM,
    AES_256_GCM,
];

/// What pkcs8 0.10 decrypts with the `encryption` and `3des` features: PBES2 only.
pub(super) const ENCRYPTED_KEY_SUPPORTED: &[&str] = &[
    PBES2,
    PBKDF2,
    SCRYPT,
    HMAC_SHA224,
    HMAC_SHA256,
    HMAC_SHA384,
    HMAC_SHA512,
    AES_128_CBC,
    AES_192_CBC,
    AES_256_CBC,
    DES_EDE3_CBC,
];

/// Friendly names, in OpenSSL's spelling where it has one.
const NAMES: &[(&str, &str)] = &[
    ("1.2.840.113549.2.2", "MD2"),
    ("1.2.840.113549.2.5", "MD5"),
    (SHA1, "SHA-1"),
    (SHA224, "SHA-224"),
    (SHA256, "SHA-256"),
    (SHA384, "SHA-384"),
    (SHA512, "SHA-512"),
    (SHA512_224, "SHA-512/224"),
    (SHA512_256, "SHA-512/256"),
    ("2.16.840.1.101.3.4.2.8", "SHA3-256"),
    ("2.16.840.1.101.3.4.2.9", "SHA3-384"),
    ("2.16.840.1.101.3.4.2.10", "SHA3-512"),
    ("1.2.643.7.1.1.2.2", "GOST R 34.11-2012 (256 bit)"),
    ("1.2.643.7.1.1.2.3", "GOST R 34.11-2012 (512 bit)"),
    ("1.2.840.113549.1.12.1.1", "PBE-SHA1-RC4-128"),
    ("1.2.840.113549.1.12.1.2", "PBE-SHA1-RC4-40"),
    (PBE_SHA1_3DES, "PBE-SHA1-3DES"),
    ("1.2.840.113549.1.12.1.4", "PBE-SHA1-2DES"),
    ("1.2.840.113549.1.12.1.5", "PBE-SHA1-RC2-128"),
    (PBE_SHA1_RC2_40, "PBE-SHA1-RC2-40"),
    ("1.2.840.113549.1.5.1", "PBE-MD2-DES"),
    ("1.2.840.113549.1.5.3", "PBE-MD5-DES"),
    ("1.2.840.113549.1.5.4", "PBE-MD2-RC2-64"),
    ("1.2.840.113549.1.5.6", "PBE-MD5-RC2-64"),
    ("1.2.840.113549.1.5.10", "PBE-SHA1-DES"),
    ("1.2.840.113549.1.5.11", "PBE-SHA1-RC2-64"),
    (PBES2, "PBES2"),
    ("1.2.840.113549.1.5.14", "PBMAC1"),
    (PBKDF2, "PBKDF2"),
    (SCRYPT, "scrypt"),
    (HMAC_SHA1, "hmacWithSHA1"),
    (HMAC_SHA224, "hmacWithSHA224"),
    (HMAC_SHA256, "hmacWithSHA256"),
    (HMAC_SHA384, "hmacWithSHA384"),
    (HMAC_SHA512, "hmacWithSHA512"),
    ("1.2.840.113549.2.12", "hmacWithSHA512-224"),
    ("1.2.840.113549.2.13", "hmacWithSHA512-256"),
    (AES_128_CBC, "AES-128-CBC"),
    (AES_192_CBC, "AES-192-CBC"),
    (AES_256_CBC, "AES-256-CBC"),
    (AES_128_GCM, "AES-128-GCM"),
    (AES_256_GCM, "AES-256-GCM"),
    ("1.3.14.3.2.7", "DES-CBC"),
    (DES_EDE3_CBC, "DES-EDE3-CBC"),
    ("1.2.840.113549.3.2", "RC2-CBC"),
    ("1.2.840.113549.3.4", "RC4"),
    ("1.3.6.1.4.1.3029.1.1.2", "Blowfish-CBC"),
    ("1.2.392.200011.61.1.1.1.2", "Camellia-128-CBC"),
    ("1.2.392.200011.61.1.1.1.3", "Camellia-192-CBC"),
    ("1.2.392.200011.61.1.1.1.4", "Camellia-256-CBC"),
    ("1.2.410.200004.1.4", "SEED-CBC"),
];

/// The first algorithm in `declared` that is not in `supported`.
pub(super) fn first_unsupported(declared: &[String], supported: &[&str]) -> Option<Algorithm> {
    declared
        .iter()
        .find(|oid| !supported.contains(&oid.as_str()))
        .map(|oid| Algorithm::from_oid(oid))
}

/// What the outer, unencrypted layers of a PKCS#12 file declare.
#[derive(Debug, Default)]
pub(super) struct Pkcs12Survey {
    /// Whether the file has an integrity check (MAC) at all.
    pub has_mac: bool,
    /// The dotted OIDs of the MAC digest and of every encryption found, outermost first.
    pub algorithms: Vec<String>,
}

const DATA: &str = "1.2.840.113549.1.7.1";
const ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";

/// Walks a PKCS#12 file for the algorithms it declares; `None` when its outer structure does
/// not even decode.
pub(super) fn survey_pkcs12(der: &[u8]) -> Option<Pkcs12Survey> {
    let pfx = pkcs12::pfx::Pfx::from_der(der).ok()?;
    let mut survey = Pkcs12Survey {
        has_mac: pfx.mac_data.is_some(),
        ..Pkcs12Survey::default()
    };
    if let Some(mac) = &pfx.mac_data {
        survey.algorithms.push(mac.mac.algorithm.oid.to_string());
    }

    let Some(safes) = data_content(&pfx.auth_safe)
        .and_then(|content| pkcs12::AuthenticatedSafe::from_der(&content).ok())
    else {
        return Some(survey);
    };
    for safe in &safes {
        match safe.content_type.to_string().as_str() {
            ENCRYPTED_DATA => survey.algorithms.extend(encrypted_data_algorithms(safe)),
            DATA => survey.algorithms.extend(shrouded_key_algorithms(safe)),
            _ => {}
        }
    }
    Some(survey)
}

/// The algorithms an encrypted PKCS#8 key (`ENCRYPTED PRIVATE KEY`) declares, outermost first.
pub(super) fn encrypted_key_algorithms(der: &[u8]) -> Vec<String> {
    EncryptedPrivateKeyInfo::from_der(der)
        .map(|key| encryption_algorithms(&key.encryption_algorithm))
        .unwrap_or_default()
}

/// The encryption of an `encryptedData` safe, which holds the certificates in most files.
fn encrypted_data_algorithms(safe: &ContentInfo) -> Vec<String> {
    safe.content
        .to_der()
        .ok()
        .and_then(|der| EncryptedData::from_der(&der).ok())
        .map(|encrypted| encryption_algorithms(&encrypted.enc_content_info.content_enc_alg))
        .unwrap_or_default()
}

/// The encryption of each shrouded key bag in a plain `data` safe.
fn shrouded_key_algorithms(safe: &ContentInfo) -> Vec<String> {
    let bags = data_content(safe)
        .and_then(|content| SafeContents::from_der(&content).ok())
        .unwrap_or_default();
    bags.iter()
        .filter(|bag| bag.bag_id.to_string() == SHROUDED_KEY_BAG)
        .filter_map(|bag| ContextSpecific::<EncryptedPrivateKeyInfo>::from_der(&bag.bag_value).ok())
        .flat_map(|key| encryption_algorithms(&key.value.encryption_algorithm))
        .collect()
}

/// The bytes inside a `data` content info.
fn data_content(info: &ContentInfo) -> Option<Vec<u8>> {
    if info.content_type.to_string() != DATA {
        return None;
    }
    let der = info.content.to_der().ok()?;
    OctetString::from_der(&der)
        .ok()
        .map(|octets| octets.into_bytes().into_vec())
}

/// PBKDF2-params (RFC 8018 appendix A.2), with the PRF optional as the RFC has it.
#[derive(Sequence)]
struct Pbkdf2Parameters {
    salt: Any,
    iteration_count: Any,
    key_length: Option<u32>,
    prf: Option<AlgorithmIdentifierOwned>,
}

/// The scheme, and for PBES2 its key derivation, PRF and cipher.
fn encryption_algorithms(scheme: &AlgorithmIdentifierOwned) -> Vec<String> {
    let mut found = vec![scheme.oid.to_string()];
    if found[0] != PBES2 {
        return found;
    }

    let Some(parameters) = parameters_of::<Pbes2Params>(scheme) else {
        return found;
    };
    found.push(parameters.kdf.oid.to_string());
    if parameters.kdf.oid.to_string() == PBKDF2
        && let Some(pbkdf2) = parameters_of::<Pbkdf2Parameters>(&parameters.kdf)
    {
        let prf = pbkdf2.prf.map(|prf| prf.oid);
        // An absent PRF means HMAC-SHA1 (RFC 8018 appendix A.2).
        found.push(prf.map_or_else(|| HMAC_SHA1.to_owned(), |oid| oid.to_string()));
    }
    found.push(parameters.encryption.oid.to_string());
    found
}

fn parameters_of<T: for<'a> Decode<'a>>(algorithm: &AlgorithmIdentifierOwned) -> Option<T> {
    let der = algorithm.parameters.as_ref()?.to_der().ok()?;
    T::from_der(&der).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_algorithms_are_named_with_their_oid() {
        let rc2 = Algorithm::from_oid("1.2.840.113549.1.12.1.5");

        assert_eq!(rc2.name(), Some("PBE-SHA1-RC2-128"));
        assert_eq!(
            rc2.to_string(),
            "PBE-SHA1-RC2-128 (OID 1.2.840.113549.1.12.1.5)"
        );
    }

    #[test]
    fn unknown_algorithms_are_named_by_oid() {
        let unknown = Algorithm::from_oid("1.2.3.4");

        assert_eq!(unknown.name(), None);
        assert_eq!(unknown.to_string(), "the algorithm with OID 1.2.3.4");
    }

    #[test]
    fn first_unsupported_skips_supported_ones() {
        let declared = vec![
            SHA256.to_owned(),
            PBES2.to_owned(),
            "1.2.840.113549.3.7".to_owned(),
        ];

        let found = first_unsupported(&declared, PKCS12_SUPPORTED);

        assert_eq!(
            found.map(|algorithm| algorithm.oid),
            Some("1.2.840.113549.3.7".to_owned())
        );
    }

    #[test]
    fn garbage_and_truncated_input_yield_nothing() {
        for input in [
            &b""[..],
            b"\x30",
            b"\x30\x82\xff\xff",
            b"not der at all",
            &[0u8; 64],
        ] {
            assert!(survey_pkcs12(input).is_none());
            assert!(encrypted_key_algorithms(input).is_empty());
        }
    }
}
