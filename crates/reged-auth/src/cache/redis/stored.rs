//! What one key holds, read from the replies to `GET` and `PTTL` sent together. No I/O here.
//!
//! Redis may hold anything at a name under the prefix: another application's hash, a list, a
//! string without expiry. A reply that is not what a read of a token expects says something about
//! that value, not about Redis: it is [`Stored::Unusable`], and only other error replies (`NOPERM`,
//! `LOADING`…) fail the read.

use std::time::Duration;

use redis::{RedisError, Value};

/// What `GET` and `PTTL` of one name answered.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Stored {
    /// No such key, or it expired between the two commands.
    Absent,
    /// A string, and how long Redis keeps it; `None` when it has no expiry.
    Bytes {
        value: Vec<u8>,
        remaining: Option<Duration>,
    },
    /// A hash, a list, a set or a reply of another shape: nothing this crate can read.
    Unusable {
        reason: String,
        remaining: Option<Duration>,
    },
}

/// The error code of Redis for a command against a key of another type.
const WRONG_TYPE: &str = "WRONGTYPE";

impl Stored {
    /// Reads the replies to `GET name` and `PTTL name`, sent in one pipeline that keeps errors
    /// as replies. An error reply other than WRONGTYPE is returned as the error.
    pub(super) fn from_replies(get: Value, pttl: Value) -> Result<Self, RedisError> {
        let remaining = match pttl {
            // -2: no such key.
            Value::Int(-2) => return Ok(Self::Absent),
            // -1: no expiry.
            Value::Int(ms) => u64::try_from(ms).ok().map(Duration::from_millis),
            Value::ServerError(error) => return Err(error.into()),
            _ => None,
        };

        match get {
            Value::Nil => Ok(Self::Absent),
            Value::BulkString(value) => Ok(Self::Bytes { value, remaining }),
            Value::ServerError(error) if error.code() == WRONG_TYPE => Ok(Self::Unusable {
                reason: "the key holds a hash, a list or a set, not a string".into(),
                remaining,
            }),
            Value::ServerError(error) => Err(error.into()),
            other => Ok(Self::Unusable {
                reason: format!("GET answered {}, not a string", shape(&other)),
                remaining,
            }),
        }
    }
}

/// The kind of a reply, never its content: a value may hold another application's secret.
fn shape(value: &Value) -> &'static str {
    match value {
        Value::Int(_) => "an integer",
        Value::Array(_) | Value::Set(_) => "an array",
        Value::Map(_) => "a map",
        Value::SimpleString(_) | Value::VerbatimString { .. } => "a status",
        _ => "another kind of reply",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_reply(line: &[u8]) -> Value {
        redis::parse_redis_value(line).unwrap()
    }

    #[test]
    fn a_string_with_an_expiry_is_read_with_its_life() {
        let stored = Stored::from_replies(Value::BulkString(b"v".to_vec()), Value::Int(1500));

        assert_eq!(
            stored.unwrap(),
            Stored::Bytes {
                value: b"v".to_vec(),
                remaining: Some(Duration::from_millis(1500)),
            }
        );
    }

    #[test]
    fn a_missing_key_is_absent_and_a_string_without_expiry_has_no_life() {
        assert_eq!(
            Stored::from_replies(Value::Nil, Value::Int(-2)).unwrap(),
            Stored::Absent
        );
        assert_eq!(
            Stored::from_replies(Value::BulkString(b"v".to_vec()), Value::Int(-1)).unwrap(),
            Stored::Bytes {
                value: b"v".to_vec(),
                remaining: None,
            }
        );
    }

    #[test]
    fn a_hash_at_the_name_is_unusable_not_a_failure() {
        let wrong_type =
            error_reply(b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");

        let stored = Stored::from_replies(wrong_type, Value::Int(-1)).unwrap();

        assert!(
            matches!(
                stored,
                Stored::Unusable {
                    remaining: None,
                    ..
                }
            ),
            "{stored:?}"
        );
    }

    #[test]
    fn a_reply_of_another_shape_is_unusable_and_its_content_is_not_shown() {
        let stored = Stored::from_replies(
            Value::Array(vec![Value::BulkString(b"hunter2".to_vec())]),
            Value::Int(10),
        )
        .unwrap();

        let Stored::Unusable { reason, remaining } = stored else {
            panic!("{stored:?}");
        };
        assert!(!reason.contains("hunter2"), "{reason}");
        assert_eq!(remaining, Some(Duration::from_millis(10)));
    }

    #[test]
    fn other_error_replies_fail_the_read() {
        let no_permission = error_reply(b"-NOPERM this user has no permissions to run 'get'\r\n");

        let error = Stored::from_replies(no_permission, Value::Int(10)).unwrap_err();

        assert_eq!(error.code(), Some("NOPERM"));
    }
}
