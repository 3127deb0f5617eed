//! `reged cache list` and `reged cache clear`: the shared token cache, never a token.

use std::time::Duration;

use serde_json::json;

use crate::cache_settings::open_cache;
use crate::cli::{CacheAction, CacheArgs};
use crate::exit;
use crate::failure::Failure;
use crate::output::print_line;

pub async fn run(action: &CacheAction) -> Result<(), Failure> {
    match action {
        CacheAction::List { json, cache } => list(cache, *json).await,
        CacheAction::Clear { cache } => clear(cache).await,
    }
}

async fn list(args: &CacheArgs, as_json: bool) -> Result<(), Failure> {
    let cache = require_cache(args)?;
    let listed = cache.list().await.map_err(failed)?;

    if as_json {
        for entry in &listed {
            let label = entry.label.as_ref();
            let line = json!({
                "entry": entry.name,
                "client_id": label.map(|label| &label.client_id),
                "audience": label.map(|label| &label.audience),
                "scopes": label.map(|label| &label.scopes),
                "token_url": label.map(|label| &label.token_url),
                "remaining_ms": entry.remaining.map(|left| left.as_millis() as u64),
            });
            print_line(&line.to_string())?;
        }
        return Ok(());
    }

    if listed.is_empty() {
        return print_line("no cached tokens");
    }
    for entry in &listed {
        let remaining = entry
            .remaining
            .map(human)
            .unwrap_or_else(|| "no expiry".into());
        let line = match &entry.label {
            Some(label) => format!(
                "{}  client_id={}  audience={}  scopes={}  remaining={remaining}",
                entry.name,
                label.client_id,
                label.audience,
                label.scopes.join(" "),
            ),
            None => format!(
                "{}  (not a sealed token)  remaining={remaining}",
                entry.name
            ),
        };
        print_line(&line)?;
    }
    Ok(())
}

async fn clear(args: &CacheArgs) -> Result<(), Failure> {
    let cache = require_cache(args)?;
    let cleared = cache.clear().await.map_err(failed)?;
    print_line(&format!(
        "deleted {}",
        counted(cleared.deleted, "entry", "entries")
    ))?;
    if cleared.kept > 0 {
        print_line(&format!(
            "left {} under the prefix: reged did not write {}",
            counted(cleared.kept, "other key", "other keys"),
            if cleared.kept == 1 { "it" } else { "them" },
        ))?;
    }
    Ok(())
}

/// `1 entry`, `2 entries`.
fn counted(count: usize, one: &str, several: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { several })
}

fn require_cache(
    args: &CacheArgs,
) -> Result<std::sync::Arc<reged_auth::cache::redis::RedisCache>, Failure> {
    open_cache(args)?.ok_or_else(|| {
        Failure::config("no cache: pass --cache URL or set REGED_CACHE_URL (redis://host:port)")
    })
}

/// The cache did not answer, refused the credentials or answered with an error: its message
/// says which.
fn failed(error: reged_auth::cache::redis::RedisCacheError) -> Failure {
    Failure {
        code: exit::CACHE,
        error: Box::new(error),
    }
}

fn human(left: Duration) -> String {
    let seconds = left.as_secs();
    if seconds >= 60 {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{}.{:03}s", seconds, left.subsec_millis())
    }
}
