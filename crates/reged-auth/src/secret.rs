//! Types that hold secrets. Their Debug output never shows the secret.

pub use secrecy::{ExposeSecret, SecretString};
