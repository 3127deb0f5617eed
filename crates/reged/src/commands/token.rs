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

fn rfc3339(at: std::time::SystemTime) -> String {
    OffsetDateTime::from(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}
