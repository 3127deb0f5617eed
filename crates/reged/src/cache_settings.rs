//! Turns the cache flags into a Redis cache: the URL, cluster or not, the prefix and the
//! encryption key. The key comes from a file or an environment variable, never from an argument,
//! which other users of the machine can read.

use std::path::Path;
use std::sync::Arc;

use reged_auth::cache::CacheEncryptionKey;
use reged_auth::cache::redis::{RedisCache, RedisConfig};
use zeroize::Zeroizing;

use crate::cli::CacheArgs;
use crate::failure::Failure;
use crate::input_file::{CA_BUNDLE_LIMIT, SECRET_FILE_LIMIT, Unread, read_at_most, size_of_limit};

/// The environment variable read for the key when no other source is named.
pub const KEY_VARIABLE: &str = "REGED_CACHE_KEY";

/// The shared cache the flags ask for; `None` without `--cache`.
pub fn open_cache(args: &CacheArgs) -> Result<Option<Arc<RedisCache>>, Failure> {
    let Some(url) = args.url.as_deref().filter(|url| !url.trim().is_empty()) else {
        return Ok(None);
    };
    let nodes: Vec<&str> = url.split(',').map(str::trim).collect();
    let config = if args.cache_cluster {
        RedisConfig::cluster(nodes)
    } else if nodes.len() > 1 {
        return Err(Failure::config(
            "--cache (REGED_CACHE_URL) lists several servers: add --cache-cluster \
             (REGED_CACHE_CLUSTER=true) if they are the nodes of a Redis Cluster",
        ));
    } else {
        RedisConfig::new(nodes[0])
    };
    let mut config =
        config.map_err(|error| Failure::config(format!("--cache (REGED_CACHE_URL): {error}")))?;

    if let Some(ca) = &args.cache_ca {
        let pem = read_at_most(ca, CA_BUNDLE_LIMIT).map_err(|unread| match unread {
            Unread::Io(error) => Failure::config(format!(
                "--cache-ca (REGED_CACHE_CA): could not read {}: {error}",
                ca.display()
            )),
            Unread::TooLarge => Failure::config(format!(
                "--cache-ca (REGED_CACHE_CA): {} is larger than {}: is it the right file? give \
                 the PEM bundle of the CA certificates that sign the Redis servers",
                ca.display(),
                size_of_limit(CA_BUNDLE_LIMIT)
            )),
        })?;
        config = config.tls_root_certificates(pem.to_vec());
    }
    if let Some(prefix) = &args.cache_prefix {
        config = config.prefix(prefix).map_err(|error| {
            Failure::config(format!("--cache-prefix (REGED_CACHE_PREFIX): {error}"))
        })?;
    }
    if let Some(key) = read_key(args)? {
        config = config.encryption_key(key);
    }
    let cache = RedisCache::new(config)
        .map_err(|error| Failure::config(format!("--cache (REGED_CACHE_URL): {error}")))?;
    Ok(Some(cache))
}

fn read_key(args: &CacheArgs) -> Result<Option<CacheEncryptionKey>, Failure> {
    if let Some(file) = &args.cache_key_file {
        return read_key_file(file).map(Some);
    }
    let variable = args.cache_key_env.as_deref().unwrap_or(KEY_VARIABLE);
    let text = match std::env::var(variable) {
        Ok(text) => Zeroizing::new(text),
        Err(std::env::VarError::NotPresent) if args.cache_key_env.is_some() => {
            return Err(Failure::config(format!(
                "--cache-key-env names {variable}, which is not set: export it or use \
                 --cache-key-file"
            )));
        }
        Err(std::env::VarError::NotPresent) => return Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(Failure::config(format!(
                "the environment variable {variable} is not valid UTF-8"
            )));
        }
    };
    CacheEncryptionKey::parse(&text)
        .map(Some)
        .map_err(|error| Failure::config(format!("{variable}: {error}")))
}

fn read_key_file(path: &Path) -> Result<CacheEncryptionKey, Failure> {
    let bytes = read_at_most(path, SECRET_FILE_LIMIT).map_err(|unread| match unread {
        Unread::Io(error) => Failure::config(format!(
            "--cache-key-file: could not read {}: {error}",
            path.display()
        )),
        Unread::TooLarge => Failure::config(format!(
            "--cache-key-file {}: the file is larger than {}: is it the right file? the key is \
             32 bytes written as 64 hex digits or in base64",
            path.display(),
            size_of_limit(SECRET_FILE_LIMIT)
        )),
    })?;
    // The key is text so that it can be pasted into a variable; raw bytes are refused rather
    // than guessed at, since a text key of 32 characters would read as raw bytes too.
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(Failure::config(format!(
            "--cache-key-file {}: the file is binary, not text; the key must be 32 bytes written \
             as 64 hex digits or in base64 (`base64 < FILE` converts raw bytes, `openssl rand \
             -hex 32` makes a new key)",
            path.display()
        )));
    };
    CacheEncryptionKey::parse(text)
        .map_err(|error| Failure::config(format!("--cache-key-file {}: {error}", path.display())))
}
