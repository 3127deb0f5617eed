//! Turns the command-line settings into a client: the identity, the URLs, the trust anchors.

use std::path::Path;

use reged_auth::http::parse_ca_bundle;
use reged_auth::identity::IdentityError;
use reged_auth::secret::SecretString;
use reged_auth::{Client, Environment, Error, Identity};
use url::Url;

use crate::cache_settings::open_cache;
use crate::cli::ClientArgs;
use crate::failure::Failure;
use crate::password::{self, PasswordSource};

/// A client built from the flags and environment variables.
pub fn build_client(args: &ClientArgs) -> Result<Client, Failure> {
    let mut builder = Client::builder();
    if let Some(name) = &args.environment {
        let environment: Environment = name
            .parse()
            .map_err(|error| Failure::config(format!("--env (REGED_ENV): {error}")))?;
        builder = builder.environment(environment);
    }
    if let Some(url) = &args.token_url {
        builder = builder.token_url(parse_url(url, "--token-url (REGED_TOKEN_URL)")?);
    }
    if let Some(url) = &args.api_base {
        builder = builder.api_base(parse_url(url, "--api-base (REGED_API_BASE)")?);
    }
    if let Some(client_id) = &args.client_id {
        builder = builder.client_id(client_id);
    }
    if let Some(audience) = &args.audience {
        builder = builder.audience(audience);
    }
    if let Some(scope) = &args.scope {
        builder = builder.scope(scope);
    }
    if let Some(ca) = &args.ca {
        let pem = std::fs::read(ca).map_err(|error| {
            Failure::config(format!(
                "--ca (REGED_CA): could not read {}: {error}",
                ca.display()
            ))
        })?;
        builder = builder.add_root_certificates(parse_ca_bundle(&pem, &ca.display().to_string())?);
    }
    builder = builder.identity(load_identity(args)?);
    if let Some(cache) = open_cache(&args.cache)? {
        builder = builder.shared_cache(cache);
    }

    builder.build().map_err(name_the_flag)
}

/// The client identity from `--pfx`, or from `--cert` and `--key`.
pub fn load_identity(args: &ClientArgs) -> Result<Identity, Failure> {
    let source = PasswordSource {
        variable: args.password_env.clone(),
        file: args.password_file.clone(),
    };
    if let Some(pfx) = &args.pfx {
        return load_pkcs12(pfx, &source);
    }
    let Some(cert) = &args.cert else {
        return Err(Failure::config(
            "no client certificate: pass --cert FILE (and --key FILE), or --pfx FILE; \
             or set REGED_CERT and REGED_KEY, or REGED_PFX",
        ));
    };
    let mut paths: Vec<&Path> = vec![cert];
    if let Some(key) = &args.key
        && key != cert
    {
        paths.push(key);
    }
    load_pem(&paths, &source)
}

fn load_pkcs12(path: &Path, source: &PasswordSource) -> Result<Identity, Failure> {
    if let Some(password) = source.read()? {
        return Ok(Identity::from_pkcs12_file(path, &password)?);
    }
    // Many exported files have an empty password; try it before asking.
    match Identity::from_pkcs12_file(path, &SecretString::from(String::new())) {
        Err(error) if is_wrong_password(&error) => {
            let prompt = format!("password for {}", path.display());
            match password::prompt(&prompt)? {
                Some(password) => Ok(Identity::from_pkcs12_file(path, &password)?),
                None => Err(Failure::config(format!(
                    "{} needs a password: pass --password-env VAR or --password-file FILE, \
                     or set REGED_PASSWORD",
                    path.display()
                ))),
            }
        }
        other => Ok(other?),
    }
}

fn load_pem(paths: &[&Path], source: &PasswordSource) -> Result<Identity, Failure> {
    let passphrase = source.read()?;
    match Identity::from_pem_files(paths, passphrase.as_ref()) {
        Err(error) if passphrase.is_none() && is_passphrase_missing(&error) => {
            let prompt = format!(
                "passphrase for the key in {}",
                paths[paths.len() - 1].display()
            );
            match password::prompt(&prompt)? {
                Some(passphrase) => Ok(Identity::from_pem_files(paths, Some(&passphrase))?),
                None => Err(error.into()),
            }
        }
        other => Ok(other?),
    }
}

fn is_wrong_password(error: &IdentityError) -> bool {
    matches!(error, IdentityError::WrongPassword { .. })
}

fn is_passphrase_missing(error: &IdentityError) -> bool {
    matches!(error, IdentityError::PassphraseRequired { .. })
}

fn parse_url(value: &str, flag: &str) -> Result<Url, Failure> {
    Url::parse(value.trim())
        .map_err(|error| Failure::config(format!("{flag}: `{value}` is not a URL: {error}")))
}

/// Says which flag and variable a library setting error is about.
fn name_the_flag(error: Error) -> Failure {
    let Error::Config { setting, reason } = &error else {
        return error.into();
    };
    let flag = match *setting {
        "token_url" => "--token-url (REGED_TOKEN_URL) or --env (REGED_ENV)",
        "api_base" => "--api-base (REGED_API_BASE) or --env (REGED_ENV)",
        "client_id" => "--client-id (REGED_CLIENT_ID)",
        "audience" => "--audience (REGED_AUDIENCE)",
        "scope" => "--scope (REGED_SCOPE)",
        "certificate" => "--cert and --key, or --pfx",
        "ca" => "--ca (REGED_CA)",
        _ => return error.into(),
    };
    Failure::config(format!("{flag}: {reason}"))
}
