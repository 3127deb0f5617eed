//! Mutual TLS and OAuth 2.0 client credentials for RegEd's API.
//!
//! The crate loads a client identity (PEM files or a PKCS#12 file), fetches access tokens from
//! the token endpoint over mutual TLS (RFC 6749 section 4.4, RFC 8705), caches them for their
//! lifetime, and calls the API with a certificate-bound bearer token.
//!
//! ```
//! use reged_auth::http::{ApiRequest, Method, parse_ca_bundle};
//! use reged_auth::{Client, Environment, Identity};
//! # use reged_emulator::{DevCerts, Emulator, EmulatorConfig, Profile};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let certs = DevCerts::generate()?;
//! # let emulator = Emulator::start(
//! #     EmulatorConfig::for_dev_certs(&certs, Profile::Uat), &certs, "127.0.0.1:0".parse()?,
//! # ).await?;
//! # let pem = format!("{}{}", certs.client().cert_pem(), certs.client().key_pem());
//! # let ca = parse_ca_bundle(certs.ca_pem().as_bytes(), "ca.pem")?;
//! // With RegEd's files: Identity::from_pkcs12_file(path, &password), or from_pem_files.
//! let identity = Identity::from_pem(pem.as_bytes(), "client.pem", None)?;
//!
//! let client = Client::builder()
//!     .environment(Environment::Uat)
//! #   .token_url(emulator.token_url().parse()?)
//! #   .api_base(emulator.base_url().parse()?)
//! #   .add_root_certificates(ca)
//!     .client_id("reged-dev-client")
//!     .audience("https://uatapi.reged.com")
//!     .scope("read write")
//!     .identity(identity)
//!     .build()?;
//!
//! // The token is fetched once, then served from the cache for 600 of its 900 seconds.
//! let response = client.send(&ApiRequest::new(Method::GET, "/v1/whoami")).await?;
//! assert!(response.status().is_success());
//! # Ok(())
//! # }
//! ```
//!
//! Module layout: `identity` reads certificates and keys; `token` holds the token logic that
//! needs no network (request, response, lifetime); `cache` keeps tokens, in memory and, through
//! `cache::redis`, in Redis shared by a fleet (`cache::sealed` is how a token is encrypted there);
//! `http` does the I/O.
//!
//! No token, key or password is ever logged, and every type that holds one prints `[redacted]`
//! in its Debug output.
#![forbid(unsafe_code)]

pub mod cache;
pub mod environment;
pub mod error;
pub mod http;
pub mod identity;
pub mod input_file;
pub mod secret;
pub mod token;

pub use environment::Environment;
pub use error::Error;
pub use http::Client;
pub use identity::Identity;
