//! A local emulator of RegEd's authorization server and protected API, to develop and test
//! clients of mutual TLS plus OAuth 2.0 client credentials with certificate-bound access
//! tokens (RFC 8705) without reaching RegEd.
//!
//! ```
//! use reged_emulator::{DevCerts, Emulator, EmulatorConfig, Profile};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let certs = DevCerts::generate()?;
//! let config = EmulatorConfig::for_dev_certs(&certs, Profile::Uat);
//! let emulator = Emulator::start(config, &certs, "127.0.0.1:0".parse()?).await?;
//!
//! assert!(emulator.token_url().ends_with("/oauth/token"));
//! assert_eq!(emulator.token_requests(), 0);
//!
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # What it serves
//!
//! Over HTTPS (HTTP/1.1 or HTTP/2 by ALPN), with a server certificate for `localhost`,
//! `127.0.0.1` and `::1` issued by a development CA that also issues the client certificates:
//!
//! - `POST /oauth/token`, RegEd's token endpoint: a form with `grant_type=client_credentials`,
//!   `client_id`, `audience` and `scope` (all four required), no `Authorization` header, the
//!   client authenticated by its TLS certificate ([`ClientAuthentication`]: `tls_client_auth`
//!   by subject DN or one SAN, or `self_signed_tls_client_auth`). The answer is
//!   `{"access_token","scope","expires_in","token_type":"Bearer"}`, or an RFC 6749 error:
//!   `invalid_request` (wrong content type, missing, empty or repeated parameter, an
//!   `Authorization` header or a `client_secret`), `unsupported_grant_type`, 401
//!   `invalid_client` (unknown client, no certificate, or a certificate that does not match
//!   the registration; the log tells which), `unauthorized_client` (a client without the
//!   grant), `invalid_scope`, and 400 `invalid_target` (RFC 8707's code) for an audience the
//!   client may not have. Every answer carries `Cache-Control: no-store` and
//!   `Pragma: no-cache`.
//! - `GET /oauth/jwks` ([`JWKS_PATH`]), `POST /oauth/introspect` ([`INTROSPECTION_PATH`], RFC
//!   7662, mTLS client authentication) and `GET /.well-known/oauth-authorization-server`
//!   ([`METADATA_PATH`], RFC 8414 with RFC 8705's `mtls_endpoint_aliases`).
//! - The API, behind the [`resource_server`] layer: [`WHOAMI_PATH`], [`RECORDS_PATH`] (`GET`
//!   needs scope `read`, `POST` scope `write`), [`ECHO_PATH`], [`STREAM_PATH`] and
//!   [`SLOW_PATH`]. Errors follow RFC 6750 with `realm="reged-emulator"`.
//!
//! Access tokens are JWTs per RFC 9068, signed ES256 (`typ: at+jwt`, a `kid`), with claims
//! `iss`, `sub`, `aud`, `exp`, `iat`, `jti`, `client_id`, `scope` and, for certificate-bound
//! clients, `cnf: {"x5t#S256"}`. Keys rotate with an overlap during which the JWKS publishes
//! both ([`RunningEmulator::roll_signing_key`]).
//!
//! Clients come from [`EmulatorConfig::with_client`], a state directory ([`StateDir`]) or a
//! TOML file ([`read_config_file`]). A TLS-terminating proxy at a configured address may
//! forward the client certificate ([`proxy_header`]). [`faults`] rehearse failures, set in the
//! configuration or at run time through the [`admin`] endpoint.
//!
//! # Logging
//!
//! One `tracing` event at info per token request and per API call, with the client id, the
//! first characters of the certificate thumbprint, the status and the duration. No token, key
//! or password is ever logged.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
mod api;
mod app;
mod certs;
mod client_certificate;
mod client_registration;
mod clients_file;
mod config;
mod error;
pub mod faults;
mod introspection;
mod jwt;
mod metadata;
mod oauth_error;
pub mod proxy_header;
pub mod resource_server;
mod server;
mod state_dir;
mod subject;
mod tls;
mod token_endpoint;
mod token_request;

pub use api::{
    ECHO_PATH, READ_SCOPE, REALM, RECORDS_PATH, SLOW_PATH, STREAM_PATH, WHOAMI_PATH, WRITE_SCOPE,
};
pub use app::{INTROSPECTION_PATH, JWKS_PATH, TOKEN_PATH};
pub use certs::{DevCerts, PemIdentity, certificate_thumbprint};
pub use client_registration::{CertificateName, ClientAuthentication, ClientRegistration};
pub use clients_file::{ConfigFile, read_clients_file, read_config_file};
pub use config::{
    DEV_CLIENT_ID, DEV_SCOPES, EmulatorConfig, MAX_TOKEN_LIFETIME, OTHER_CLIENT_ID, Profile,
    UnknownProfile,
};
pub use error::EmulatorError;
pub use faults::{FaultSettings, FaultTarget};
pub use metadata::METADATA_PATH;
pub use server::{Emulator, RunningEmulator};
pub use state_dir::StateDir;
pub use subject::{DnParseError, SubjectName};

/// Entry points for the fuzz targets in `fuzz/`, for parsers that are not public otherwise.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses a token request as the token endpoint does; any input must give an answer,
    /// never a panic.
    pub fn token_request(content_type: &[u8], has_authorization: bool, body: &[u8]) -> bool {
        crate::token_request::parse_token_request(Some(content_type), has_authorization, body)
            .is_ok()
    }
}
