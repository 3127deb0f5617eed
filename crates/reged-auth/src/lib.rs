//! Mutual TLS and OAuth 2.0 client credentials for RegEd's API.
//!
//! The crate loads a client identity (PEM files or a PKCS#12 file), fetches access tokens from
//! the token endpoint over mutual TLS (RFC 6749 section 4.4, RFC 8705), caches them for their
//! lifetime, and calls the API with a certificate-bound bearer token.
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
pub mod secret;
pub mod token;

pub use environment::Environment;
pub use error::Error;
pub use http::Client;
pub use identity::Identity;
