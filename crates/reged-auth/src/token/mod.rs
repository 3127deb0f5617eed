//! The token logic that needs no network: the request body, the response, and how long a token
//! may be cached.

mod access_token;
mod error;
mod lifetime;
mod request;
mod response;
mod scope;

pub use access_token::AccessToken;
pub use error::{TokenEndpointError, TokenError};
pub use lifetime::{DEFAULT_EXPIRES_IN, DEFAULT_MARGIN, LifetimePolicy, MAX_EXPIRES_IN};
pub use request::TokenRequest;
pub use response::{TokenResponse, parse_token_response};
pub use scope::Scope;
