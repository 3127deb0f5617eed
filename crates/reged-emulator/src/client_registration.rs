//! What the authorization server knows of a client: how its certificate identifies it
//! (RFC 8705 section 2), what it may ask for, and how its tokens are made.

use std::net::IpAddr;
use std::time::Duration;

use rustls::pki_types::CertificateDer;

use crate::client_certificate::ClientCertificate;
use crate::config::MAX_TOKEN_LIFETIME;
use crate::subject::SubjectName;

/// The grant a client may use by default, and the only one the emulator serves.
pub(crate) const CLIENT_CREDENTIALS: &str = "client_credentials";

/// How a client's certificate authenticates it at the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthentication {
    /// `tls_client_auth` (RFC 8705 section 2.1): a certificate that a trusted CA issued, which
    /// carries the registered name.
    TlsClientAuth(CertificateName),
    /// `self_signed_tls_client_auth` (RFC 8705 section 2.2): one of the registered
    /// certificates, named by their `x5t#S256` thumbprints.
    SelfSignedTlsClientAuth(Vec<String>),
}

impl ClientAuthentication {
    /// The RFC 8705 name of the method.
    pub fn method(&self) -> &'static str {
        match self {
            ClientAuthentication::TlsClientAuth(_) => "tls_client_auth",
            ClientAuthentication::SelfSignedTlsClientAuth(_) => "self_signed_tls_client_auth",
        }
    }
}

/// The one value that identifies a `tls_client_auth` client's certificate (RFC 8705
/// section 2.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateName {
    /// `tls_client_auth_subject_dn`: the subject, compared RDN by RDN.
    SubjectDn(SubjectName),
    /// `tls_client_auth_san_dns`: a dNSName of the subject alternative names (any case).
    SanDns(String),
    /// `tls_client_auth_san_uri`: a uniformResourceIdentifier, exactly.
    SanUri(String),
    /// `tls_client_auth_san_ip`: an iPAddress.
    SanIp(IpAddr),
    /// `tls_client_auth_san_email`: an rfc822Name (any case).
    SanEmail(String),
}

impl std::fmt::Display for CertificateName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertificateName::SubjectDn(name) => write!(f, "subject {name}"),
            CertificateName::SanDns(name) => write!(f, "SAN DNS {name}"),
            CertificateName::SanUri(uri) => write!(f, "SAN URI {uri}"),
            CertificateName::SanIp(ip) => write!(f, "SAN IP {ip}"),
            CertificateName::SanEmail(email) => write!(f, "SAN email {email}"),
        }
    }
}

/// A client the token endpoint knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRegistration {
    client_id: String,
    authentication: ClientAuthentication,
    scopes: Vec<String>,
    audiences: Vec<String>,
    grant_types: Vec<String>,
    certificate_bound: bool,
    token_lifetime: Option<Duration>,
    trusted_cas: Vec<CertificateDer<'static>>,
    introspects_any_token: bool,
}

impl ClientRegistration {
    /// Registers `client_id` for `tls_client_auth` certificates whose subject is `subject`,
    /// with no scopes and no audiences yet.
    pub fn new(client_id: impl Into<String>, subject: SubjectName) -> ClientRegistration {
        ClientRegistration::with_authentication(
            client_id,
            ClientAuthentication::TlsClientAuth(CertificateName::SubjectDn(subject)),
        )
    }

    /// Registers `client_id`, authenticated as `authentication` says, with no scopes and no
    /// audiences yet; its tokens are certificate-bound and live the configured lifetime.
    pub fn with_authentication(
        client_id: impl Into<String>,
        authentication: ClientAuthentication,
    ) -> ClientRegistration {
        ClientRegistration {
            client_id: client_id.into(),
            authentication,
            scopes: Vec::new(),
            audiences: Vec::new(),
            grant_types: vec![CLIENT_CREDENTIALS.to_owned()],
            certificate_bound: true,
            token_lifetime: None,
            trusted_cas: Vec::new(),
            introspects_any_token: false,
        }
    }

    /// Sets the scopes the client may ask for.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> ClientRegistration
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the audiences the client may ask tokens for.
    pub fn with_audiences<I, S>(mut self, audiences: I) -> ClientRegistration
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the grants the client may use (`client_credentials` by default); a client
    /// without `client_credentials` gets `unauthorized_client`.
    pub fn with_grant_types<I, S>(mut self, grant_types: I) -> ClientRegistration
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.grant_types = grant_types.into_iter().map(Into::into).collect();
        self
    }

    /// Whether the client's tokens carry `cnf.x5t#S256` (true by default).
    pub fn with_certificate_bound_tokens(mut self, bound: bool) -> ClientRegistration {
        self.certificate_bound = bound;
        self
    }

    /// The lifetime of this client's tokens, instead of the emulator's; one second at least,
    /// [`MAX_TOKEN_LIFETIME`] at most.
    pub fn with_token_lifetime(mut self, lifetime: Duration) -> ClientRegistration {
        self.token_lifetime = Some(lifetime.clamp(Duration::from_secs(1), MAX_TOKEN_LIFETIME));
        self
    }

    /// Requires the client's certificate to chain to one of these CAs, narrowing the CAs
    /// the server trusts for every client. Each is also trusted for the TLS handshake.
    pub fn with_trusted_cas(mut self, cas: Vec<CertificateDer<'static>>) -> ClientRegistration {
        self.trusted_cas = cas;
        self
    }

    /// Lets the client introspect the tokens of every client, as a resource server does; by
    /// default a client sees only its own tokens as active (RFC 7662 section 4 asks the
    /// server to decide who may introspect, so that tokens cannot be scanned).
    pub fn with_introspection_of_any_token(mut self, allowed: bool) -> ClientRegistration {
        self.introspects_any_token = allowed;
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// How the client authenticates.
    pub fn authentication(&self) -> &ClientAuthentication {
        &self.authentication
    }

    /// The subject the client's certificate must carry, when that is how it authenticates.
    pub fn subject(&self) -> Option<&SubjectName> {
        match &self.authentication {
            ClientAuthentication::TlsClientAuth(CertificateName::SubjectDn(subject)) => {
                Some(subject)
            }
            _ => None,
        }
    }

    /// The scopes the client may ask for.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The audiences the client may ask tokens for.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The grants the client may use.
    pub fn grant_types(&self) -> &[String] {
        &self.grant_types
    }

    /// Whether the client's tokens are certificate-bound.
    pub fn certificate_bound(&self) -> bool {
        self.certificate_bound
    }

    /// The client's own token lifetime, if it has one.
    pub fn token_lifetime(&self) -> Option<Duration> {
        self.token_lifetime
    }

    /// Whether the client may introspect the tokens of other clients.
    pub fn introspects_any_token(&self) -> bool {
        self.introspects_any_token
    }

    /// The CAs the client's certificate must chain to; empty when any trusted CA will do.
    pub fn trusted_cas(&self) -> &[CertificateDer<'static>] {
        &self.trusted_cas
    }

    /// Checks that `certificate`, the one the connection presented, is this client's. The
    /// error says why not, for the log only.
    pub(crate) fn check_certificate(&self, certificate: &ClientCertificate) -> Result<(), String> {
        match &self.authentication {
            ClientAuthentication::SelfSignedTlsClientAuth(thumbprints) => {
                let thumbprint = certificate.thumbprint();
                if thumbprints
                    .iter()
                    .any(|registered| registered == thumbprint)
                {
                    Ok(())
                } else {
                    Err(format!(
                        "the certificate {} is not one registered for the client",
                        &thumbprint[..thumbprint.len().min(8)]
                    ))
                }
            }
            ClientAuthentication::TlsClientAuth(name) => {
                let Some(subject) = certificate.subject() else {
                    return Err("the certificate does not parse".to_owned());
                };
                if certificate.carries(name) {
                    Ok(())
                } else {
                    Err(format!(
                        "the certificate does not carry the registered {name} (its subject is \
                         {subject})"
                    ))
                }
            }
        }
    }
}
