//! The I/O: TLS with the client certificate, the token endpoint, and the API.

mod client;
mod hint;
mod tls;
mod token_endpoint;

pub use client::{ApiRequest, Client, ClientBuilder, HEADERS_SET_BY_THE_CLIENT};
pub use reqwest::{Method, Response, StatusCode};
pub use tls::{client_config, parse_ca_bundle};
pub use token_endpoint::request_token;
