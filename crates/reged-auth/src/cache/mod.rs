//! Where tokens are kept between requests.
//!
//! [`MemoryCache`] serves a token for its cached life (see
//! [`LifetimePolicy`](crate::token::LifetimePolicy)) and makes sure that concurrent callers on a
//! cold key cause one token request between them. [`RedisCache`](redis::RedisCache) is a second
//! tier behind it, shared by every process of a fleet: a miss in memory reads Redis, and a miss
//! in both leads one process of the fleet to fetch the token for all.

mod encryption_key;
mod entry;
mod key;
mod key_material;
mod memory;
pub mod redis;
pub mod sealed;

pub use encryption_key::{CacheEncryptionKey, InvalidEncryptionKey};
pub use entry::CachedToken;
pub use key::CacheKey;
pub use memory::{CacheEntry, MemoryCache, TokenHandle};
