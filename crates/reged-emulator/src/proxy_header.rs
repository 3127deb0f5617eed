//! The client certificate as a TLS-terminating proxy forwards it: RFC 9440's `Client-Cert`
//! (and `Client-Cert-Chain`), or nginx's URL-encoded PEM (`$ssl_client_escaped_cert`, sent
//! as `X-SSL-Client-Cert`).
//!
//! Only a configured proxy address may speak for a client: from anyone else these headers
//! are removed before any handler sees them, and the certificate of the TLS connection
//! counts. From a proxy, the header's certificate counts once it passes the same checks as
//! at the handshake; a request from the proxy's address without such a header keeps the
//! certificate of its own connection (a client connecting directly, as on loopback), and one
//! with a header that is unreadable or untrusted has none.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ipnet::IpNet;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// RFC 9440 section 2.2: the leaf, as a structured-field byte sequence.
pub const CLIENT_CERT: HeaderName = HeaderName::from_static("client-cert");

/// RFC 9440 section 2.3: the intermediates, as a list of byte sequences.
pub const CLIENT_CERT_CHAIN: HeaderName = HeaderName::from_static("client-cert-chain");

/// nginx's `$ssl_client_escaped_cert`: the leaf as URL-encoded PEM.
pub const NGINX_CLIENT_CERT: HeaderName = HeaderName::from_static("x-ssl-client-cert");

/// Headers longer than this are refused: a certificate chain is a few kilobytes.
const MAX_HEADER_LEN: usize = 64 * 1024;

/// Why a forwarded certificate could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyHeaderError {
    /// The header appears more than once.
    #[error("header {0} is repeated")]
    Repeated(&'static str),
    /// Over 64 KiB.
    #[error("header {0} is longer than 64 KiB")]
    TooLong(&'static str),
    /// Not the header's format.
    #[error("header {0} is not {1}")]
    Malformed(&'static str, &'static str),
}

/// Whether `remote` is one of the proxies allowed to forward client certificates.
pub(crate) fn is_trusted_proxy(trusted: &[IpNet], remote: IpAddr) -> bool {
    let remote = match remote {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(remote),
        v4 => v4,
    };
    trusted.iter().any(|proxies| proxies.contains(&remote))
}

/// Removes every forwarded-certificate header.
pub(crate) fn strip(headers: &mut HeaderMap) {
    for name in [CLIENT_CERT, CLIENT_CERT_CHAIN, NGINX_CLIENT_CERT] {
        headers.remove(name);
    }
}

/// The forwarded chain, leaf first; none when the proxy forwarded no certificate.
pub fn forwarded_chain(
    headers: &HeaderMap,
) -> Result<Option<Vec<CertificateDer<'static>>>, ProxyHeaderError> {
    if let Some(value) = single(headers, &CLIENT_CERT, "Client-Cert")? {
        let leaf = byte_sequence(value.trim()).ok_or(ProxyHeaderError::Malformed(
            "Client-Cert",
            "a :base64: byte sequence",
        ))?;
        let mut chain = vec![CertificateDer::from(leaf)];
        if let Some(list) = single(headers, &CLIENT_CERT_CHAIN, "Client-Cert-Chain")? {
            for member in list.split(',') {
                let der = byte_sequence(member.trim()).ok_or(ProxyHeaderError::Malformed(
                    "Client-Cert-Chain",
                    "a list of :base64: byte sequences",
                ))?;
                chain.push(CertificateDer::from(der));
            }
        }
        return Ok(Some(chain));
    }

    if let Some(value) = single(headers, &NGINX_CLIENT_CERT, "X-SSL-Client-Cert")? {
        let malformed = ProxyHeaderError::Malformed("X-SSL-Client-Cert", "URL-encoded PEM");
        let pem = percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .map_err(|_| malformed.clone())?;
        let chain = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| malformed.clone())?;
        if chain.is_empty() {
            return Err(malformed);
        }
        return Ok(Some(chain));
    }

    Ok(None)
}

fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    display: &'static str,
) -> Result<Option<&'a str>, ProxyHeaderError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ProxyHeaderError::Repeated(display));
    }
    if value.len() > MAX_HEADER_LEN {
        return Err(ProxyHeaderError::TooLong(display));
    }
    let value = value
        .to_str()
        .map_err(|_| ProxyHeaderError::Malformed(display, "ASCII"))?;
    // nginx sends an empty value (or "-" in some setups) when the client sent no certificate.
    if value.is_empty() || value == "-" {
        return Ok(None);
    }
    Ok(Some(value))
}

/// An RFC 8941 byte sequence: `:` base64 `:`.
fn byte_sequence(value: &str) -> Option<Vec<u8>> {
    let inner = value.strip_prefix(':')?.strip_suffix(':')?;
    let der = STANDARD.decode(inner).ok()?;
    (!der.is_empty()).then_some(der)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn rfc_9440_leaf_and_chain_are_read() {
        let found = forwarded_chain(&headers(&[
            (CLIENT_CERT, ":AQID:"),
            (CLIENT_CERT_CHAIN, ":BAU=:, :Bg==:"),
        ]))
        .unwrap()
        .unwrap();

        assert_eq!(found.len(), 3);
        assert_eq!(found[0].as_ref(), [1, 2, 3]);
        assert_eq!(found[2].as_ref(), [6]);
    }

    #[test]
    fn nginx_escaped_pem_is_read() {
        let pem = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n";
        let escaped: String =
            percent_encoding::utf8_percent_encode(pem, percent_encoding::NON_ALPHANUMERIC)
                .to_string();

        let found = forwarded_chain(&headers(&[(NGINX_CLIENT_CERT, &escaped)]))
            .unwrap()
            .unwrap();

        assert_eq!(found[0].as_ref(), [1, 2, 3]);
    }

    #[test]
    fn empty_nginx_header_means_no_certificate() {
        assert_eq!(
            forwarded_chain(&headers(&[(NGINX_CLIENT_CERT, "")])),
            Ok(None)
        );
    }

    #[test]
    fn bad_headers_are_errors_not_panics() {
        for value in ["AQID", ":AQID", "::", ":***:", ":AQID:x"] {
            assert!(
                forwarded_chain(&headers(&[(CLIENT_CERT, value)])).is_err(),
                "{value}"
            );
        }
        assert_eq!(
            forwarded_chain(&headers(&[
                (CLIENT_CERT, ":AQID:"),
                (CLIENT_CERT, ":AQID:")
            ])),
            Err(ProxyHeaderError::Repeated("Client-Cert"))
        );
        assert!(forwarded_chain(&headers(&[(NGINX_CLIENT_CERT, "%ZZ")])).is_err());
    }

    #[test]
    fn ipv4_mapped_address_of_a_trusted_proxy_is_trusted() {
        let trusted = [IpNet::from("127.0.0.1".parse::<IpAddr>().unwrap())];

        assert!(is_trusted_proxy(
            &trusted,
            "::ffff:127.0.0.1".parse().unwrap()
        ));
        assert!(!is_trusted_proxy(&trusted, "127.0.0.2".parse().unwrap()));
    }

    #[test]
    fn address_in_a_trusted_range_is_trusted() {
        let trusted = ["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()];

        assert!(is_trusted_proxy(&trusted, "10.20.30.40".parse().unwrap()));
        assert!(is_trusted_proxy(
            &trusted,
            "::ffff:10.0.0.1".parse().unwrap()
        ));
        assert!(is_trusted_proxy(&trusted, "fd12::1".parse().unwrap()));
        assert!(!is_trusted_proxy(&trusted, "11.0.0.1".parse().unwrap()));
    }
}
