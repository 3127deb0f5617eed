//! What the shared cache's key is derived from: the private key itself, whatever file format
//! carried it. The same key saved as PKCS#8, as SEC1 or PKCS#1, or inside a PFX gives the same
//! material, so every instance of a fleet derives the same cache key. No I/O here.

use x509_parser::der_parser::ber::{BerObject, Tag};
use x509_parser::der_parser::parse_der;
use zeroize::Zeroizing;

/// The key material of a private key in DER: for an EC key its private scalar, for an RSA key
/// its PKCS#1 `RSAPrivateKey`, for other keys the key inside the PKCS#8 wrapper. DER that none
/// of these shapes fit is used as it is.
pub(super) fn key_material(private_key_der: &[u8]) -> Zeroizing<Vec<u8>> {
    let inner = pkcs8_private_key(private_key_der).unwrap_or(private_key_der);
    let mut material = Zeroizing::new(Vec::with_capacity(inner.len() + 3));
    match sec1_private_scalar(inner) {
        Some(scalar) => {
            material.extend_from_slice(b"ec:");
            // SEC1 pads the scalar to the curve's size; some encoders do not.
            let first = scalar
                .iter()
                .position(|byte| *byte != 0)
                .unwrap_or(scalar.len());
            material.extend_from_slice(&scalar[first..]);
        }
        None => {
            material.extend_from_slice(b"der:");
            material.extend_from_slice(inner);
        }
    }
    material
}

/// The `privateKey` of a PKCS#8 `PrivateKeyInfo` (RFC 5208): `SEQUENCE { version INTEGER,
/// algorithm SEQUENCE, privateKey OCTET STRING, ... }`.
fn pkcs8_private_key(der: &[u8]) -> Option<&[u8]> {
    let fields = sequence(der)?;
    let [version, algorithm, private_key, ..] = fields.as_slice() else {
        return None;
    };
    version.as_u32().ok()?;
    algorithm.as_sequence().ok()?;
    octet_string(private_key)
}

/// The `privateKey` of a SEC1 `ECPrivateKey` (RFC 5915): `SEQUENCE { version INTEGER (1),
/// privateKey OCTET STRING, [0] parameters, [1] publicKey }`. The optional fields differ from
/// one tool to the next.
fn sec1_private_scalar(der: &[u8]) -> Option<&[u8]> {
    let fields = sequence(der)?;
    let [version, private_key, ..] = fields.as_slice() else {
        return None;
    };
    (version.as_u32().ok()? == 1).then_some(())?;
    octet_string(private_key)
}

/// The content of an OCTET STRING, and of nothing else: `as_slice` would also give an INTEGER's
/// bytes, and a multi-prime RSA key (`SEQUENCE { INTEGER 1, INTEGER n, ... }`) would then pass
/// for SEC1 with its public modulus as the "scalar".
fn octet_string<'a>(object: &BerObject<'a>) -> Option<&'a [u8]> {
    (object.header.tag() == Tag::OctetString).then_some(())?;
    object.as_slice().ok()
}

fn sequence(der: &[u8]) -> Option<Vec<BerObject<'_>>> {
    let (rest, object) = parse_der(der).ok()?;
    if !rest.is_empty() {
        return None;
    }
    object.as_sequence().ok().cloned()
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;

    use super::*;

    fn material_of(pem: &str) -> Zeroizing<Vec<u8>> {
        let key = PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap();
        key_material(key.secret_der())
    }

    const FIXTURES: &str = "tests/fixtures/identity";

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/{FIXTURES}/{name}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    }

    /// Found in review: the cache key was derived from the file's DER, so a fleet holding the
    /// same key as PKCS#8 on some instances and SEC1 or PKCS#1 on others could not read each
    /// other's entries.
    #[test]
    fn same_key_in_pkcs8_and_sec1_or_pkcs1_gives_the_same_material() {
        let ec_pkcs8 = material_of(&fixture("ec-client.key"));
        let ec_sec1 = material_of(&fixture("ec-client.sec1.key"));
        let rsa_pkcs8 = material_of(&fixture("rsa-client.key"));
        let rsa_pkcs1 = material_of(&fixture("rsa-client.pkcs1.key"));

        assert!(ec_pkcs8.starts_with(b"ec:"));
        assert_eq!(ec_pkcs8, ec_sec1);
        assert!(rsa_pkcs8.starts_with(b"der:"));
        assert_eq!(rsa_pkcs8, rsa_pkcs1);
        assert_ne!(rsa_pkcs8, material_of(&fixture("rsa-other.key")));
    }

    /// Found in review: a multi-prime RSA key's second INTEGER passed for a SEC1 scalar.
    #[test]
    fn sequence_of_a_one_and_an_integer_is_not_taken_for_sec1() {
        // SEQUENCE { INTEGER 1, INTEGER 0x0102 }
        let der = [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x01, 0x02];

        let material = key_material(&der);

        assert!(material.starts_with(b"der:"), "{:?}", material.as_slice());
    }

    #[test]
    fn der_of_no_known_shape_is_used_as_it_is() {
        assert_eq!(key_material(b"not der").as_slice(), b"der:not der");
    }
}
