//! Turns a transport error into words that say what to check.

use std::error::Error as _;

use rustls::{AlertDescription, CertificateError};

/// What most likely went wrong when a request to `host` failed, and what to do.
pub(crate) fn transport_hint(error: &reqwest::Error, host: &str) -> String {
    if error.is_timeout() {
        return format!("no answer from {host} in time; check the network or raise the timeout");
    }
    if let Some(tls) = rustls_cause(error) {
        return tls_hint(tls, host);
    }
    if let Some(alert) = alert_in_text(error) {
        return alert_hint(&alert, host);
    }
    if error.is_connect() {
        return format!("could not connect to {host}; check the URL and that the server is up");
    }
    format!("the exchange with {host} failed")
}

fn rustls_cause(error: &reqwest::Error) -> Option<&rustls::Error> {
    let mut cause = error.source();
    while let Some(current) = cause {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(tls) = current
            .downcast_ref::<std::io::Error>()
            .and_then(rustls_in_io)
        {
            return Some(tls);
        }
        cause = current.source();
    }
    None
}

/// The connector wraps the TLS error in one `io::Error`, or in one inside another.
fn rustls_in_io(mut io: &std::io::Error) -> Option<&rustls::Error> {
    loop {
        let inner = io.get_ref()?;
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        io = inner.downcast_ref::<std::io::Error>()?;
    }
}

/// An alert that arrives after the handshake, when the server has read the client certificate,
/// reaches us only as text: tokio-rustls turns the rustls error into a string `io::Error`.
fn alert_in_text(error: &reqwest::Error) -> Option<String> {
    let mut cause = error.source();
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            let text = io.to_string();
            if let Some(alert) = text.strip_prefix("received fatal alert: ") {
                return Some(alert.to_owned());
            }
        }
        cause = current.source();
    }
    None
}

fn alert_hint(alert: &str, host: &str) -> String {
    let refused = [
        AlertDescription::CertificateRequired,
        AlertDescription::BadCertificate,
        AlertDescription::UnknownCA,
        AlertDescription::CertificateUnknown,
        AlertDescription::AccessDenied,
        AlertDescription::DecryptError,
        AlertDescription::UnsupportedCertificate,
    ];
    if refused.iter().any(|known| format!("{known:?}") == alert) {
        return refused_client_certificate(host);
    }
    format!("TLS with {host} failed: the server sent the alert {alert}")
}

fn refused_client_certificate(host: &str) -> String {
    format!(
        "{host} refused the client certificate; check that it is the one registered for this client and that its chain is complete"
    )
}

fn tls_hint(error: &rustls::Error, host: &str) -> String {
    match error {
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => format!(
            "{host}'s certificate is not signed by a trusted CA; if it uses a private CA, pass it with --ca"
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!("{host}'s certificate is not valid for that name; check the URL"),
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => {
            format!("{host}'s certificate has expired")
        }
        rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::AccessDenied
            // What a server answers when the client certificate's signature does not verify.
            | AlertDescription::DecryptError
            | AlertDescription::UnsupportedCertificate,
        ) => refused_client_certificate(host),
        other => format!("TLS with {host} failed: {other}"),
    }
}
