//! `reged token`: print an access token.

use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::ClientArgs;
use crate::failure::Failure;
use crate::output::print_line;
use crate::settings::build_client;

pub async fn run(args: &ClientArgs, as_json: bool) -> Result<(), Failure> {
    let client = build_client(args)?;

    let token = client.token().await?;

    if !as_json {
        return print_line(token.access_token.secret());
    }
    // `expires_in` is what the token has left now, not the lifetime the server announced: a
    // token from a cache has lived part of it, and a script counting from now would overrun.
    // Rounded to the nearest second so that a token just issued shows the server's figure.
    let expires_in = token.remaining_life().as_secs_f64().round() as u64;
    let response = json!({
        "access_token": token.access_token.secret(),
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": token.scope,
        "expires_at": rfc3339(token.expires_at()),
        "cached_until": rfc3339(token.fresh_until()),
    });
    print_line(&serde_json::to_string_pretty(&response).unwrap_or_default())
}

/// `at` in RFC 3339, or an empty string for a time RFC 3339 cannot write (after year 9999 or
/// before 1970): a time read from a shared cache is anyone's to write, and
/// `OffsetDateTime::from` panics on such a time.
fn rfc3339(at: std::time::SystemTime) -> String {
    let Ok(since_epoch) = at.duration_since(std::time::UNIX_EPOCH) else {
        return String::new();
    };
    i128::try_from(since_epoch.as_nanos())
        .ok()
        .and_then(|nanos| OffsetDateTime::from_unix_timestamp_nanos(nanos).ok())
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn rfc3339_of_a_time_beyond_year_9999_is_empty_not_a_panic() {
        let far = UNIX_EPOCH + Duration::from_millis(u64::MAX);

        assert_eq!(rfc3339(far), "");
        assert_eq!(rfc3339(UNIX_EPOCH - Duration::from_secs(1)), "");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}
