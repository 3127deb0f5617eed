//! Where tokens are kept between requests.
//!
//! [`MemoryCache`] serves a token for its cached life (see
//! [`LifetimePolicy`](crate::token::LifetimePolicy)) and makes sure that concurrent callers on a
//! cold key cause one token request between them.

mod entry;
mod key;
mod memory;

pub use entry::CachedToken;
pub use key::CacheKey;
pub use memory::{CacheEntry, MemoryCache, TokenHandle};
