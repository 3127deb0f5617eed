//! The names this cache gives its entries in Redis, and how to tell them from other keys that
//! share the prefix. No I/O here.
//!
//! A token's entry is the prefix, then the [`CacheKey`](crate::cache::CacheKey) digest as 64
//! lower-case hex digits in a hash tag: `reged:token:{<hex>}`. Its lease is the same name plus
//! `:lease`, and holds 32 lower-case hex digits. A key under the prefix of any other shape was not
//! written by this crate, and `reged cache clear` leaves it alone.

/// The suffix of a lease's name after its token's name.
const LEASE_SUFFIX: &str = ":lease";
/// The hex digits of a cache key digest (SHA-256).
const DIGEST_HEX_LEN: usize = 64;
/// The hex digits of a lease's random value (16 bytes).
pub(super) const LEASE_VALUE_HEX_LEN: usize = 32;

/// What a name under the prefix is, when it has the shape of one this crate writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OwnName {
    /// A token's entry.
    Token,
    /// The lease on a token request.
    Lease,
}

/// The name of the entry whose cache key digest is `digest_hex`.
pub(super) fn entry_name(prefix: &str, digest_hex: &str) -> String {
    format!("{prefix}{{{digest_hex}}}")
}

/// The name of the lease beside the entry called `entry_name`.
pub(super) fn lease_name(entry_name: &str) -> String {
    format!("{entry_name}{LEASE_SUFFIX}")
}

/// Whether `name` has the shape of a token entry or a lease under `prefix`; `None` for any other
/// key, such as `user:1` under the prefix `user`.
pub(super) fn own_name(prefix: &str, name: &str) -> Option<OwnName> {
    let tagged = name.strip_prefix(prefix)?.strip_prefix('{')?;
    let digest = tagged.get(..DIGEST_HEX_LEN)?;
    if !is_lower_hex(digest.as_bytes()) {
        return None;
    }
    match tagged[DIGEST_HEX_LEN..].strip_prefix('}')? {
        "" => Some(OwnName::Token),
        LEASE_SUFFIX => Some(OwnName::Lease),
        _ => None,
    }
}

/// True when `value` has the shape of a lease's value.
pub(super) fn is_lease_value(value: &[u8]) -> bool {
    value.len() == LEASE_VALUE_HEX_LEN && is_lower_hex(value)
}

fn is_lower_hex(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

/// `prefix` as a literal in a Redis glob pattern.
pub(super) fn glob_escape(prefix: &str) -> String {
    let mut escaped = String::with_capacity(prefix.len());
    for character in prefix.chars() {
        if matches!(character, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::redis::DEFAULT_PREFIX;

    const DIGEST: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn glob_characters_in_the_prefix_are_literal() {
        assert_eq!(glob_escape("app[1]:*"), "app\\[1\\]:\\*");
        assert_eq!(glob_escape(DEFAULT_PREFIX), DEFAULT_PREFIX);
    }

    #[test]
    fn the_names_written_are_recognised() {
        let entry = entry_name(DEFAULT_PREFIX, DIGEST);

        assert_eq!(entry, format!("reged:token:{{{DIGEST}}}"));
        assert_eq!(own_name(DEFAULT_PREFIX, &entry), Some(OwnName::Token));
        assert_eq!(
            own_name(DEFAULT_PREFIX, &lease_name(&entry)),
            Some(OwnName::Lease)
        );
    }

    #[test]
    fn other_keys_under_the_prefix_are_not_ours() {
        let upper = DIGEST.to_uppercase();
        for name in [
            "user:1".to_owned(),
            "user".to_owned(),
            format!("user{{{}}}", &DIGEST[1..]),
            format!("user{{{DIGEST}0}}"),
            format!("user{{{upper}}}"),
            format!("user{{{DIGEST}}}:other"),
            format!("user{{{DIGEST}}}:lease:x"),
            format!("user:{{{DIGEST}}}"),
            format!("other{{{DIGEST}}}"),
        ] {
            assert_eq!(own_name("user", &name), None, "{name}");
        }
    }

    #[test]
    fn a_lease_value_is_32_lower_case_hex_digits() {
        assert!(is_lease_value(&b"0123456789abcdef".repeat(2)));
        assert!(!is_lease_value(b"0123456789abcdef"));
        assert!(!is_lease_value(&b"0123456789ABCDEF".repeat(2)));
        assert!(!is_lease_value(b"a value of another application!!"));
    }
}
