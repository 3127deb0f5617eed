//! Why a client identity could not be loaded.

use std::path::PathBuf;

use time::OffsetDateTime;

use super::algorithm::Algorithm;

/// A cause from a parsing library, kept behind a box so that its type stays out of this API.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a client identity could not be loaded.
///
/// Every message names the file (or the `source` given to the `from_*` functions) and, where it
/// helps, the next step. No variant holds key bytes, a password or a passphrase.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A file could not be read.
    #[error("could not read {}; check the path and its permissions", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A file is larger than any certificate, key or PKCS#12 file: `/dev/zero`, a log or a disk
    /// image given by mistake, refused before it fills memory.
    #[error(
        "{} is larger than {} MiB: is it the right file? a client certificate, key or PKCS#12 \
         file is a few kilobytes",
        path.display(),
        limit / (1024 * 1024)
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The largest size read, in bytes: [`MAX_FILE_LEN`](super::MAX_FILE_LEN).
        limit: usize,
    },

    /// No file was given.
    #[error("no certificate or key file given; give the PEM files of the client identity")]
    NoInput,

    /// The input is empty.
    #[error("{origin} is empty; give the PEM file of the certificate or key")]
    Empty {
        /// The file or source.
        origin: String,
    },

    /// The input is binary DER, not PEM.
    #[error(
        "{origin} is binary (DER), not PEM; if it is a PKCS#12 file (.p12, .pfx) load it as \
         PKCS#12 (reged: --pfx), else convert it with `openssl x509 -inform DER` (a \
         certificate) or `openssl pkcs8 -inform DER` (a key)"
    )]
    Der {
        /// The file or source.
        origin: String,
    },

    /// The input has no PEM block at all.
    #[error(
        "{origin} is not a PEM file (it has no -----BEGIN line); give the PEM certificate and \
         key RegEd issued"
    )]
    NotPem {
        /// The file or source.
        origin: String,
    },

    /// A PEM block is damaged: broken framing, bad base64, mismatched BEGIN and END lines.
    #[error("{origin} has a damaged PEM block ({problem}); export the file again")]
    InvalidPem {
        /// The file or source.
        origin: String,
        /// What is wrong, without any of the block's content.
        problem: String,
    },

    /// No certificate was found.
    #[error(
        "no certificate found in {origin}; expected a PEM `CERTIFICATE` block, \
         or a PKCS#12 file that holds the client certificate"
    )]
    NoCertificate {
        /// The files or source.
        origin: String,
    },

    /// No private key was found.
    #[error(
        "no private key found in {origin}; expected a PEM block `PRIVATE KEY` (PKCS#8), \
         `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY` (SEC1) or `ENCRYPTED PRIVATE KEY` \
         (encrypted PKCS#8), or a PKCS#12 file that holds the key"
    )]
    NoPrivateKey {
        /// The files or source.
        origin: String,
    },

    /// More than one distinct private key was found.
    #[error(
        "found {count} different private keys in {origin}; give only the client certificate's key"
    )]
    SeveralPrivateKeys {
        /// The files or source.
        origin: String,
        /// How many different keys.
        count: usize,
    },

    /// A certificate could not be parsed.
    #[error("certificate {position} in {origin} is not a valid X.509 certificate; export it again")]
    InvalidCertificate {
        /// The file or source.
        origin: String,
        /// Its position among the certificates of that file, from 1.
        position: usize,
        /// What the X.509 parser said.
        #[source]
        source: Cause,
    },

    /// The private key could not be read, or is of a type TLS cannot use.
    #[error(
        "the private key in {origin} could not be loaded; \
         it must be an RSA, ECDSA (P-256, P-384, P-521) or Ed25519 key"
    )]
    InvalidPrivateKey {
        /// The file or source.
        origin: String,
        /// What the parser said; never the key itself.
        #[source]
        source: Cause,
    },

    /// The private key is encrypted and no passphrase was given.
    #[error("the private key in {origin} is encrypted and no passphrase was given")]
    PassphraseRequired {
        /// The file or source.
        origin: String,
    },

    /// The passphrase does not decrypt the private key.
    #[error("wrong passphrase for the private key in {origin}")]
    WrongPassphrase {
        /// The file or source.
        origin: String,
    },

    /// The private key is encrypted with an algorithm that is not supported.
    #[error(
        "the private key in {origin} is encrypted with {algorithm}, which is not supported; \
         re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
    )]
    UnsupportedKeyEncryption {
        /// The file or source.
        origin: String,
        /// The first algorithm that is not supported.
        algorithm: Algorithm,
    },

    /// The private key uses OpenSSL's legacy PEM encryption (`Proc-Type` and `DEK-Info` headers).
    #[error(
        "the private key in {origin} uses the legacy OpenSSL PEM encryption (DEK-Info), \
         which is not supported; convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
    )]
    LegacyEncryptedKey {
        /// The file or source.
        origin: String,
    },

    /// The private key belongs to none of the certificates.
    #[error(
        "{}; give the key that belongs to this certificate",
        mismatch(.key_origin, .certificate_origin, .subject)
    )]
    KeyMismatch {
        /// Where the key came from.
        key_origin: String,
        /// Where the certificate came from.
        certificate_origin: String,
        /// The subject of the certificate that looks like the client certificate.
        subject: String,
    },

    /// rustls cannot use the certificate that the key would go with.
    #[error("the certificate \"{subject}\" in {origin} cannot be used for TLS; export it again")]
    UnusableCertificate {
        /// The file or source.
        origin: String,
        /// The certificate's subject.
        subject: String,
        /// What rustls said.
        #[source]
        source: rustls::Error,
    },

    /// The client certificate has expired.
    #[error(
        "the certificate \"{subject}\" in {origin} expired on {}; it was valid from {} \
         (now {}); renew the certificate",
        show(.not_after), show(.not_before), show(.now)
    )]
    CertificateExpired {
        /// The file or source.
        origin: String,
        /// The certificate's subject.
        subject: String,
        /// Start of validity.
        not_before: OffsetDateTime,
        /// End of validity.
        not_after: OffsetDateTime,
        /// The time of the check.
        now: OffsetDateTime,
    },

    /// The client certificate is not valid yet.
    #[error(
        "the certificate \"{subject}\" in {origin} is not valid before {} (valid until {}, \
         now {}); check the system clock or use a current certificate",
        show(.not_before), show(.not_after), show(.now)
    )]
    CertificateNotYetValid {
        /// The file or source.
        origin: String,
        /// The certificate's subject.
        subject: String,
        /// Start of validity.
        not_before: OffsetDateTime,
        /// End of validity.
        not_after: OffsetDateTime,
        /// The time of the check.
        now: OffsetDateTime,
    },

    /// The PKCS#12 password is wrong: the integrity check (MAC) failed, or, in a file without
    /// one, decryption failed.
    #[error("wrong password for {origin}")]
    WrongPassword {
        /// The file or source.
        origin: String,
        /// What the PKCS#12 reader said.
        #[source]
        source: Cause,
    },

    /// The password has characters that the PKCS#12 reader cannot encode.
    #[error(
        "the password for {origin} has characters outside the Basic Multilingual Plane (such as \
         emoji), which cannot be used here; re-export the file with another password"
    )]
    PasswordNotEncodable {
        /// The file or source.
        origin: String,
    },

    /// The PKCS#12 file uses an algorithm that is not supported.
    #[error(
        "{origin} uses {algorithm}, which is not supported; re-export it with current settings \
         (`openssl pkcs12 -export` writes AES-256 with a SHA-256 MAC)"
    )]
    UnsupportedPkcs12Algorithm {
        /// The file or source.
        origin: String,
        /// The first algorithm that is not supported.
        algorithm: Algorithm,
        /// What the PKCS#12 reader said.
        #[source]
        source: Cause,
    },

    /// The file given as PKCS#12 is PEM text: a certificate or key to load as PEM instead.
    #[error(
        "{origin} is PEM text, not a PKCS#12 (PFX) file; load it as PEM: the certificate, and the \
         key if it is in a file of its own"
    )]
    PemNotPkcs12 {
        /// The file or source.
        origin: String,
    },

    /// The file is not a PKCS#12 file, or it is damaged.
    #[error("{origin} is not a valid PKCS#12 file; export it again")]
    InvalidPkcs12 {
        /// The file or source.
        origin: String,
        /// What the PKCS#12 reader said.
        #[source]
        source: Cause,
    },
}

/// Which key does not match which certificate, naming the file once when both share it.
fn mismatch(key_origin: &str, certificate_origin: &str, subject: &str) -> String {
    if key_origin == certificate_origin {
        format!("in {key_origin}, the private key does not match the certificate \"{subject}\"")
    } else {
        format!(
            "the private key in {key_origin} does not match the certificate \"{subject}\" \
             in {certificate_origin}"
        )
    }
}

const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");

/// A date as people read it, in UTC.
fn show(at: &OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(DATE).unwrap_or_else(|_| utc.to_string())
}
