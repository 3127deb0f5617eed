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
    let response = json!({
        "access_token": token.access_token.secret(),
        "token_type": "Bearer",
        "expires_in": token.expires_in.as_secs(),
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
