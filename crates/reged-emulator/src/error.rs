//! The error type of the emulator's setup: certificates, keys, files and sockets.
//!
//! Errors that the emulator sends to its clients over HTTP are not here: they are OAuth 2.0
//! error responses, built in `oauth_error` and `api`.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the emulator could not be set up or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// rcgen could not generate a development certificate or key.
    #[error("could not generate the {what}")]
    Certificate {
        /// Which certificate or key, e.g. "development CA".
        what: &'static str,
        /// What rcgen reported.
        #[source]
        source: rcgen::Error,
    },

    /// The client identity could not be written as a PKCS#12 file.
    #[error("could not write the client identity as PKCS#12")]
    Pkcs12(#[source] p12_keystore::error::Error),

    /// The token signing key could not be generated or loaded.
    #[error("could not set up the token signing key")]
    SigningKey(#[source] Box<dyn StdError + Send + Sync>),

    /// A certificate or key given to the emulator is not usable.
    #[error("the {what} is not usable")]
    InvalidPem {
        /// Which certificate or key.
        what: String,
        /// What was wrong with it.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },

    /// rustls refused the server certificate, its key or the protocol versions.
    #[error("could not build the TLS server configuration")]
    Tls(#[source] rustls::Error),

    /// rustls refused the client CA as a trust anchor for client certificates.
    #[error("could not build the client certificate verifier from the development CA")]
    ClientVerifier(#[source] rustls::server::VerifierBuilderError),

    /// The listening socket could not be opened.
    #[error("could not listen on {addr}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },

    /// The system's secure random generator failed.
    #[error("the system's random number generator failed")]
    Random,

    /// The admin endpoint was asked to listen beyond loopback.
    #[error("the admin endpoint listens on loopback only, not {0}: use 127.0.0.1 or ::1")]
    AdminNotLoopback(SocketAddr),

    /// A file of the state directory could not be read.
    #[error("could not read {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },

    /// A file of the state directory could not be written.
    #[error("could not write {}", path.display())]
    WriteFile {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },

    /// A clients file is not usable.
    #[error("{}: {problem}", path.display())]
    ClientsFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the client and the field.
        problem: String,
    },

    /// A file of the state directory exists but its content is not usable.
    #[error(
        "{} is not usable: {problem}; fix it, or delete the state directory to generate new files",
        path.display()
    )]
    StateFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, in a few words.
        problem: String,
        /// The parser's error, when there is one.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
}

impl EmulatorError {
    pub(crate) fn certificate(what: &'static str) -> impl FnOnce(rcgen::Error) -> EmulatorError {
        move |source| EmulatorError::Certificate { what, source }
    }

    pub(crate) fn invalid_pem<E>(what: impl Into<String>) -> impl FnOnce(E) -> EmulatorError
    where
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        let what = what.into();
        move |source| EmulatorError::InvalidPem {
            what,
            source: source.into(),
        }
    }
}
