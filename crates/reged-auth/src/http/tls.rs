use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use crate::Error;
use crate::identity::Identity;

/// A rustls client configuration that presents `identity` and trusts the system's roots plus
/// `extra_roots`.
///
/// Server certificate and hostname verification are always on; there is no switch to turn
/// them off.
pub fn client_config(
    identity: &Identity,
    extra_roots: &[CertificateDer<'static>],
) -> Result<ClientConfig, Error> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    for root in extra_roots {
        roots.add(root.clone()).map_err(Error::Tls)?;
    }
    tracing::debug!(
        system_roots = added,
        extra_roots = extra_roots.len(),
        "trust anchors"
    );
    if roots.is_empty() {
        return Err(Error::Config {
            setting: "ca",
            reason: "no trusted CA certificates: install the system's CA bundle or pass one".into(),
        });
    }

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Tls)?
        .with_root_certificates(roots)
        .with_client_auth_cert(
            identity.certificate_chain().to_vec(),
            identity.private_key(),
        )
        .map_err(Error::Tls)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The certificates of a PEM CA bundle; `source` names it in errors.
pub fn parse_ca_bundle(pem: &[u8], source: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|error| Error::Config {
            setting: "ca",
            reason: format!("{source} is not a readable PEM CA bundle ({error})"),
        })?;
    if certs.is_empty() {
        return Err(Error::Config {
            setting: "ca",
            reason: format!("{source} holds no `BEGIN CERTIFICATE` block"),
        });
    }
    // Checked here, where the file is known: later, rustls would blame the TLS setup.
    for (index, cert) in certs.iter().enumerate() {
        RootCertStore::empty()
            .add(cert.clone())
            .map_err(|error| Error::Config {
                setting: "ca",
                reason: format!(
                    "certificate {} of {source} is not a usable CA certificate ({error}): \
                     check that the file is the CA bundle, not damaged",
                    index + 1
                ),
            })?;
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found in review: a damaged certificate in the CA bundle passed the PEM parse, and the
    /// TLS setup then blamed the client certificate without naming the file.
    #[test]
    fn damaged_certificate_in_a_ca_bundle_is_an_error_naming_the_file() {
        let pem =
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";

        let error = parse_ca_bundle(pem.as_bytes(), "bundle.pem")
            .unwrap_err()
            .to_string();

        assert!(error.contains("certificate 1 of bundle.pem"), "{error}");
    }
}
