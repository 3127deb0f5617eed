use std::time::Duration;

/// How long before a token's expiry the cache stops handing it out, by default.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(300);

/// The lifetime assumed when a response has no `expires_in`: RegEd's shortest (UAT), so a token
/// is never kept longer than any RegEd environment issues it for.
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(900);

/// The longest lifetime a token response may announce: ten years. No token endpoint issues
/// tokens for longer, so a larger `expires_in` is a broken server; and times this far ahead stay
/// well inside what every clock type can add without overflowing.
pub const MAX_EXPIRES_IN: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// How long a token may be cached, given the lifetime the token endpoint announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LifetimePolicy {
    /// Taken off `expires_in`, shrunk for short-lived tokens.
    pub margin: Duration,
    /// Used when the response has no `expires_in`.
    pub default_expires_in: Duration,
}

impl Default for LifetimePolicy {
    fn default() -> Self {
        Self {
            margin: DEFAULT_MARGIN,
            default_expires_in: DEFAULT_EXPIRES_IN,
        }
    }
}

impl LifetimePolicy {
    /// The time a token that lives `expires_in` may be served from a cache, counted from when its
    /// request was sent.
    ///
    /// The margin is at most half the lifetime, so a token is always used for at least half its
    /// life: 3600 s gives 3300 s, 900 s gives 600 s, 60 s gives 30 s. `None` means the token
    /// lives too briefly to cache at all. A lifetime beyond [`MAX_EXPIRES_IN`] counts as that
    /// long, so no caller's clock arithmetic can overflow on it.
    pub fn cached_life(&self, expires_in: Duration) -> Option<Duration> {
        let expires_in = expires_in.min(MAX_EXPIRES_IN);
        let margin = self.margin.min(expires_in / 2);
        let life = expires_in.saturating_sub(margin);
        (life >= Duration::from_millis(1)).then_some(life)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn life(seconds: u64) -> Option<Duration> {
        LifetimePolicy::default().cached_life(Duration::from_secs(seconds))
    }

    #[test]
    fn prod_token_keeps_the_full_margin() {
        assert_eq!(life(3600), Some(Duration::from_secs(3300)));
    }

    #[test]
    fn uat_token_keeps_the_full_margin_and_two_thirds_of_its_life() {
        assert_eq!(life(900), Some(Duration::from_secs(600)));
    }

    #[test]
    fn short_token_is_used_for_half_its_life() {
        assert_eq!(life(60), Some(Duration::from_secs(30)));
        assert_eq!(life(1), Some(Duration::from_millis(500)));
    }

    #[test]
    fn zero_lifetime_is_never_cached() {
        assert_eq!(life(0), None);
        let policy = LifetimePolicy::default();
        assert_eq!(policy.cached_life(Duration::from_nanos(1)), None);
    }

    #[test]
    fn huge_lifetime_is_cached_no_longer_than_the_maximum() {
        let policy = LifetimePolicy::default();

        for expires_in in [
            MAX_EXPIRES_IN,
            Duration::from_secs(1 << 32),
            Duration::from_secs(u64::MAX),
            Duration::MAX,
        ] {
            let life = policy.cached_life(expires_in).unwrap();
            assert_eq!(life, MAX_EXPIRES_IN - DEFAULT_MARGIN, "{expires_in:?}");
        }
    }

    #[test]
    fn margin_can_be_configured() {
        let policy = LifetimePolicy {
            margin: Duration::from_secs(60),
            ..LifetimePolicy::default()
        };

        assert_eq!(
            policy.cached_life(Duration::from_secs(900)),
            Some(Duration::from_secs(840))
        );
    }
}
