use std::time::{Duration, Instant, SystemTime};

use crate::token::{AccessToken, LifetimePolicy, TokenResponse};

/// A token with the times that decide how long it is served.
#[derive(Clone, Debug)]
pub struct CachedToken {
    /// The access token.
    pub access_token: AccessToken,
    /// The scope the server granted, when it said.
    pub scope: Option<String>,
    /// The lifetime the server announced.
    pub expires_in: Duration,
    /// When the token request was sent: the token's life is counted from here.
    pub requested_at: SystemTime,
    /// Until when the cache serves it (monotonic clock).
    fresh_until: Instant,
    /// The same instant on the wall clock, for display and for other processes.
    fresh_until_wall: SystemTime,
}

impl CachedToken {
    /// A token from a response to a request sent at `sent` (monotonic and wall clock).
    ///
    /// A token too short-lived to cache is already stale: it goes to the callers that waited for
    /// it, and the next call fetches another.
    pub fn new(
        response: TokenResponse,
        sent: (Instant, SystemTime),
        policy: &LifetimePolicy,
    ) -> Self {
        let (sent_at, sent_at_wall) = sent;
        let life = policy.cached_life(response.expires_in).unwrap_or_default();

        Self {
            access_token: response.access_token,
            scope: response.scope,
            expires_in: response.expires_in,
            requested_at: sent_at_wall,
            fresh_until: sent_at + life,
            fresh_until_wall: sent_at_wall + life,
        }
    }

    /// True while the cache may hand the token out.
    pub fn is_fresh(&self, now: Instant) -> bool {
        now < self.fresh_until
    }

    /// When the token itself expires, as the server announced it.
    pub fn expires_at(&self) -> SystemTime {
        self.requested_at + self.expires_in
    }

    /// Until when the cache serves it.
    pub fn fresh_until(&self) -> SystemTime {
        self.fresh_until_wall
    }

    /// How long the cache still serves it.
    pub fn remaining_cached_life(&self, now: Instant) -> Duration {
        self.fresh_until.saturating_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(expires_in: u64) -> TokenResponse {
        TokenResponse {
            access_token: AccessToken::new("t".into()),
            token_type: "Bearer".into(),
            expires_in: Duration::from_secs(expires_in),
            expires_in_defaulted: false,
            scope: None,
        }
    }

    #[test]
    fn life_is_counted_from_when_the_request_was_sent() {
        let sent = Instant::now() - Duration::from_secs(590);

        let token = CachedToken::new(
            response(900),
            (sent, SystemTime::now()),
            &LifetimePolicy::default(),
        );

        assert!(token.is_fresh(Instant::now()));
        assert!(token.remaining_cached_life(Instant::now()) <= Duration::from_secs(10));
        assert!(!token.is_fresh(sent + Duration::from_secs(600)));
    }

    #[test]
    fn zero_lifetime_token_is_born_stale() {
        let now = Instant::now();

        let token = CachedToken::new(
            response(0),
            (now, SystemTime::now()),
            &LifetimePolicy::default(),
        );

        assert!(!token.is_fresh(now));
    }
}
