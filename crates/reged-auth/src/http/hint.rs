//! Turns a transport error into words that say what to check.

use std::error::Error as _;

use rustls::{AlertDescription, CertificateError};

/// What most likely went wrong when a request to `host` failed before any answer arrived, and
/// what to do.
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
    if let Some(reason) = stream_reset_by_server(error) {
        return format!(
            "{host} reset the HTTP/2 stream ({reason:?}) before answering: the server failed \
             while answering; try again, and if it persists ask its operators"
        );
    }
    // The client always offers its certificate, so a server that refuses it ends the TLS 1.3
    // handshake after the client thinks it done: the alert is often lost with the connection.
    if closed_before_answer(error) {
        return format!(
            "{host} closed the connection before answering; the server may have refused the \
             client certificate during the TLS handshake: check that it is the certificate issued \
             by the server's CA and registered for this client"
        );
    }
    format!("the exchange with {host} failed")
}

/// What most likely went wrong when the body of an answer from `host` could not be read.
pub(crate) fn body_hint(error: &reqwest::Error, host: &str) -> String {
    if error.is_timeout() {
        return format!("no answer from {host} in time; check the network or raise the timeout");
    }
    if let Some(reason) = stream_reset_by_server(error) {
        return format!("{host} reset the HTTP/2 stream ({reason:?}) in the middle of the answer");
    }
    format!("the answer from {host} was cut short")
}

/// The reason of an HTTP/2 stream reset the server sent.
fn stream_reset_by_server(error: &reqwest::Error) -> Option<h2::Reason> {
    causes(error)
        .filter_map(|cause| cause.downcast_ref::<h2::Error>())
        .find(|h2| h2.is_reset() && h2.is_remote())
        .and_then(h2::Error::reason)
}

/// The connection ended, closed or reset, before any HTTP answer came.
fn closed_before_answer(error: &reqwest::Error) -> bool {
    use std::io::ErrorKind;

    causes(error).any(|cause| {
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            return hyper.is_closed() || hyper.is_canceled() || hyper.is_incomplete_message();
        }
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
            )
        })
    })
}

/// The causes of `error`, nearest first.
fn causes(error: &reqwest::Error) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    std::iter::successors(error.source(), |&cause| cause.source())
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
            "{host}'s certificate is not signed by a trusted CA; if it uses a private CA, add that CA as a root certificate (--ca on the command line)"
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
