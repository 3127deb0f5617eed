use std::time::{Duration, Instant, SystemTime};

use crate::token::{AccessToken, LifetimePolicy, MAX_EXPIRES_IN, TokenResponse};

/// A token with the times that decide how long it is served.
#[derive(Clone, Debug)]
pub struct CachedToken {
    /// The access token.
    pub access_token: AccessToken,
    /// The scope the server granted, when it said.
    pub scope: Option<String>,
    /// The lifetime the server announced, at most [`MAX_EXPIRES_IN`].
    pub expires_in: Duration,
    /// When the token request was sent: the token's life is counted from here.
    pub requested_at: SystemTime,
    /// Until when the cache serves it, on the coarse monotonic clock: reading that clock costs a
    /// few nanoseconds where `Instant::now()` costs tens, and its resolution of a few
    /// milliseconds is nothing beside a margin of minutes.
    fresh_until: coarsetime::Instant,
    /// The same instant on the wall clock, for display and for other processes.
    fresh_until_wall: SystemTime,
}

impl CachedToken {
    /// A token from a response to a request sent at `sent` (monotonic and wall clock).
    ///
    /// A token too short-lived to cache is already stale: it goes to the callers that waited for
    /// it, and the next call fetches another. A lifetime beyond [`MAX_EXPIRES_IN`] counts as
    /// that long: the parser refuses such responses, and no other caller can make this panic.
    pub fn new(
        response: TokenResponse,
        sent: (Instant, SystemTime),
        policy: &LifetimePolicy,
    ) -> Self {
        let (sent_at, sent_at_wall) = sent;
        let life = policy.cached_life(response.expires_in).unwrap_or_default();
        // What is left of the life from now on: subtracting the time since the request from
        // the coarse clock instead would underflow on a machine up for less than that time.
        let left = life.saturating_sub(sent_at.elapsed());

        Self {
            access_token: response.access_token,
            scope: response.scope,
            expires_in: response.expires_in.min(MAX_EXPIRES_IN),
            requested_at: sent_at_wall,
            fresh_until: coarse_later(left),
            fresh_until_wall: wall_later(sent_at_wall, life),
        }
    }

    /// A token read back from a shared cache, served until `fresh_until` on the wall clock.
    ///
    /// The caller passes the earlier of the token's own cached life and what the shared entry
    /// has left, so this copy never outlives the shared one. Times from a shared cache are not
    /// trusted to be sane: an `expires_in` beyond [`MAX_EXPIRES_IN`] counts as that long.
    pub fn restored(
        access_token: AccessToken,
        scope: Option<String>,
        expires_in: Duration,
        requested_at: SystemTime,
        fresh_until: SystemTime,
    ) -> Self {
        let now = SystemTime::now();
        let expires_in = expires_in.min(MAX_EXPIRES_IN);
        // No copy is served longer than the token lives, whatever a shared cache says.
        let left = fresh_until
            .duration_since(now)
            .unwrap_or_default()
            .min(expires_in);

        Self {
            access_token,
            scope,
            expires_in,
            requested_at,
            fresh_until: coarse_later(left),
            fresh_until_wall: wall_later(now, left),
        }
    }

    /// True while the cache may hand the token out.
    #[inline]
    pub fn is_fresh(&self) -> bool {
        coarse_now() < self.fresh_until
    }

    /// When the token itself expires, as the server announced it.
    pub fn expires_at(&self) -> SystemTime {
        wall_later(self.requested_at, self.expires_in)
    }

    /// How long the token itself still lives, from now to [`expires_at`](Self::expires_at):
    /// less than `expires_in` once part of its life is gone, as for a token from a cache.
    pub fn remaining_life(&self) -> Duration {
        self.expires_at()
            .duration_since(SystemTime::now())
            .unwrap_or_default()
    }

    /// Until when the cache serves it.
    pub fn fresh_until(&self) -> SystemTime {
        self.fresh_until_wall
    }

    /// How long the cache still serves it.
    pub fn remaining_cached_life(&self) -> Duration {
        let now = coarse_now();
        if now >= self.fresh_until {
            return Duration::ZERO;
        }
        self.fresh_until.duration_since(now).into()
    }
}

/// The coarse clock, read without updating coarsetime's shared "recent" value, which would be a
/// write to memory that every thread shares.
#[inline]
fn coarse_now() -> coarsetime::Instant {
    coarsetime::Instant::now_without_cache_update()
}

/// The coarse clock `by` from now. Saturating: coarsetime's `+` panics on overflow, and its
/// conversion from a `Duration` of more than 2^32 s saturates to the largest value there is.
#[inline]
fn coarse_later(by: Duration) -> coarsetime::Instant {
    coarse_now().saturating_add(by.min(MAX_EXPIRES_IN).into())
}

/// `at` plus `by` on the wall clock, or `at` itself where the sum does not fit the platform's
/// time type (`SystemTime`'s `+` panics): a time that cannot be shown counts as already past,
/// which serves a token too briefly rather than too long.
fn wall_later(at: SystemTime, by: Duration) -> SystemTime {
    at.checked_add(by.min(MAX_EXPIRES_IN)).unwrap_or(at)
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
        // Sent 590 s ago, a 900 s token has 10 s of its 600 s cached life left.
        let sent = Instant::now() - Duration::from_secs(590);

        let token = CachedToken::new(
            response(900),
            (sent, SystemTime::now()),
            &LifetimePolicy::default(),
        );

        assert!(token.is_fresh());
        let remaining = token.remaining_cached_life();
        assert!(remaining <= Duration::from_secs(10), "{remaining:?}");
        assert!(remaining >= Duration::from_secs(9), "{remaining:?}");
    }

    #[test]
    fn life_is_counted_from_a_request_sent_before_the_machine_booted() {
        // An Instant further back than the monotonic clock's start: the coarse clock cannot go
        // back that far, and falling back to "sent now" once served such a token for its
        // whole cached life.
        let long_ago = Duration::from_secs(10 * 365 * 24 * 3600);
        let sent = Instant::now().checked_sub(long_ago).unwrap();

        let token = CachedToken::new(
            response(900),
            (sent, SystemTime::now()),
            &LifetimePolicy::default(),
        );

        assert!(!token.is_fresh());
        assert_eq!(token.remaining_cached_life(), Duration::ZERO);
    }

    #[test]
    fn restored_token_is_served_until_the_time_given() {
        let requested_at = SystemTime::now() - Duration::from_secs(100);

        let token = CachedToken::restored(
            AccessToken::new("t".into()),
            None,
            Duration::from_secs(3600),
            requested_at,
            SystemTime::now() + Duration::from_secs(20),
        );
        let past = CachedToken::restored(
            AccessToken::new("t".into()),
            None,
            Duration::from_secs(3600),
            requested_at,
            requested_at,
        );

        assert!(token.is_fresh());
        assert!(token.remaining_cached_life() <= Duration::from_secs(20));
        assert!(token.remaining_cached_life() >= Duration::from_secs(19));
        assert!(!past.is_fresh());
    }

    #[test]
    fn restored_token_has_only_what_is_left_of_its_life() {
        // Requested 300 s ago with a lifetime of 900 s: 600 s are left, not 900.
        let token = CachedToken::restored(
            AccessToken::new("t".into()),
            None,
            Duration::from_secs(900),
            SystemTime::now() - Duration::from_secs(300),
            SystemTime::now() + Duration::from_secs(300),
        );
        let expired = CachedToken::restored(
            AccessToken::new("t".into()),
            None,
            Duration::from_secs(900),
            SystemTime::now() - Duration::from_secs(1000),
            SystemTime::now(),
        );

        let left = token.remaining_life();
        assert!(left <= Duration::from_secs(600), "{left:?}");
        assert!(left >= Duration::from_secs(599), "{left:?}");
        assert_eq!(expired.remaining_life(), Duration::ZERO);
    }

    #[test]
    fn restored_token_is_never_served_longer_than_it_lives() {
        let far = SystemTime::now() + Duration::from_secs(400 * 365 * 24 * 3600);

        let token = CachedToken::restored(
            AccessToken::new("t".into()),
            None,
            Duration::from_secs(60),
            SystemTime::now(),
            far,
        );

        assert!(token.remaining_cached_life() <= Duration::from_secs(60));
    }

    #[test]
    fn lifetime_beyond_what_coarsetime_can_add_does_not_panic() {
        // 2^32 s made `coarse_now() + left` overflow: a token endpoint could crash every client.
        for expires_in in [Duration::from_secs(1 << 32), Duration::from_secs(u64::MAX)] {
            let mut huge = response(0);
            huge.expires_in = expires_in;

            let token = CachedToken::new(
                huge,
                (Instant::now(), SystemTime::now()),
                &LifetimePolicy::default(),
            );

            assert!(token.is_fresh());
            assert!(token.remaining_cached_life() <= MAX_EXPIRES_IN);
            assert_eq!(token.expires_in, MAX_EXPIRES_IN);
            assert!(token.expires_at() > token.fresh_until());
            assert!(token.remaining_life() <= MAX_EXPIRES_IN);
        }
    }

    #[test]
    fn duration_max_lifetime_does_not_panic() {
        let mut huge = response(0);
        huge.expires_in = Duration::MAX;

        let token = CachedToken::new(
            huge,
            (Instant::now(), SystemTime::now()),
            &LifetimePolicy::default(),
        );

        assert!(token.is_fresh());
        assert!(token.remaining_cached_life() <= MAX_EXPIRES_IN);
    }

    #[test]
    fn restored_token_with_duration_max_times_does_not_panic() {
        let far = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::MAX);

        for (expires_in, requested_at, fresh_until) in [
            (Duration::MAX, SystemTime::now(), far),
            (Duration::from_millis(u64::MAX), far, far),
            (Duration::MAX, SystemTime::UNIX_EPOCH, SystemTime::now()),
        ] {
            let token = CachedToken::restored(
                AccessToken::new("t".into()),
                None,
                expires_in,
                requested_at,
                fresh_until,
            );

            assert!(token.remaining_cached_life() <= MAX_EXPIRES_IN);
            assert!(token.expires_in <= MAX_EXPIRES_IN);
            let _ = token.remaining_life();
            let _ = token.fresh_until();
        }
    }

    #[test]
    fn zero_lifetime_token_is_born_stale() {
        let now = Instant::now();

        let token = CachedToken::new(
            response(0),
            (now, SystemTime::now()),
            &LifetimePolicy::default(),
        );

        assert!(!token.is_fresh());
        assert_eq!(token.remaining_cached_life(), Duration::ZERO);
    }
}
