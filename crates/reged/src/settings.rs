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
use crate::input_file::{CA_BUNDLE_LIMIT, Unread, read_at_most, size_of_limit};
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
        // The token endpoint would refuse a request without scope; say so before sending it.
        if scope.trim().is_empty() {
            return Err(Failure::config(
                "--scope (REGED_SCOPE): empty: give the scope RegEd gave you, space-separated, \
                 or leave the flag out",
            ));
        }
        builder = builder.scope(scope);
    }
    if let Some(ca) = &args.ca {
        let pem = read_at_most(ca, CA_BUNDLE_LIMIT).map_err(|unread| match unread {
            Unread::Io(error) => Failure::config(format!(
                "--ca (REGED_CA): could not read {}: {error}",
                ca.display()
            )),
            Unread::TooLarge => Failure::config(format!(
                "--ca (REGED_CA): {} is larger than {}: is it the right file? give the PEM \
                 bundle of the CA certificates that sign the servers",
                ca.display(),
                size_of_limit(CA_BUNDLE_LIMIT)
            )),
        })?;
        let roots = parse_ca_bundle(&pem, &ca.display().to_string()).map_err(name_the_flag)?;
        builder = builder.add_root_certificates(roots);
    }
    let timeout = std::time::Duration::from_secs(args.timeout);
    builder = builder
        .identity(load_identity(args)?)
        .request_timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(10)));
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
    match identity_files(args)? {
        IdentityFiles::Pkcs12(pfx) => load_pkcs12(pfx, &source),
        IdentityFiles::Pem(paths) => load_pem(&paths, &source),
    }
}

enum IdentityFiles<'a> {
    Pkcs12(&'a Path),
    Pem(Vec<&'a Path>),
}

/// Which files hold the identity. When both a PFX and a PEM certificate are set, the one given
/// as a flag wins over the one that came from the environment.
fn identity_files(args: &ClientArgs) -> Result<IdentityFiles<'_>, Failure> {
    let from_env = |value: &Option<std::path::PathBuf>, variable: &str| {
        value.is_some() && std::env::var_os(variable).map(Into::into) == *value
    };
    let pem = || {
        let cert = args.cert.as_deref()?;
        let mut paths = vec![cert];
        if let Some(key) = args.key.as_deref()
            && key != cert
        {
            paths.push(key);
        }
        Some(paths)
    };

    match (&args.pfx, pem()) {
        (Some(pfx), None) => Ok(IdentityFiles::Pkcs12(pfx)),
        (None, Some(paths)) => Ok(IdentityFiles::Pem(paths)),
        (Some(pfx), Some(paths)) => {
            let pfx_from_env = from_env(&args.pfx, "REGED_PFX");
            let cert_from_env = from_env(&args.cert, "REGED_CERT");
            match (pfx_from_env, cert_from_env) {
                (true, false) => Ok(IdentityFiles::Pem(paths)),
                (false, true) => Ok(IdentityFiles::Pkcs12(pfx)),
                _ => Err(Failure::config(
                    "both a PFX (--pfx, REGED_PFX) and a PEM certificate (--cert, REGED_CERT) \
                     are set: give one of them",
                )),
            }
        }
        (None, None) if args.key.is_some() => Err(Failure::config(
            "--key (REGED_KEY) is set but no certificate: add --cert FILE",
        )),
        (None, None) => Err(Failure::config(
            "no client certificate: pass --cert FILE (and --key FILE), or --pfx FILE; \
             or set REGED_CERT and REGED_KEY, or REGED_PFX",
        )),
    }
}

const PASSWORD_NEXT_STEP: &str =
    "give the right one with --password-file FILE, --password-env VAR or REGED_PASSWORD";

fn load_pkcs12(path: &Path, source: &PasswordSource) -> Result<Identity, Failure> {
    let password = match source.read()? {
        Some(password) => password,
        None => {
            // Many exported files have an empty password; try it before asking.
            match Identity::from_pkcs12_file(path, &SecretString::from(String::new())) {
                Err(error) if is_wrong_password(&error) => {}
                other => return other.map_err(name_the_pem_flags),
            }
            let prompt = format!("password for {}", path.display());
            password::prompt(&prompt)?.ok_or_else(|| {
                Failure::config(format!(
                    "{} needs a password: pass --password-file FILE or --password-env VAR, \
                     or set REGED_PASSWORD",
                    path.display()
                ))
            })?
        }
    };
    Identity::from_pkcs12_file(path, &password.secret)
        .map_err(|error| name_the_password(error, &password))
}

/// A PEM file given as `--pfx` says which flags take it.
fn name_the_pem_flags(error: IdentityError) -> Failure {
    if matches!(error, IdentityError::PemNotPkcs12 { .. }) {
        return Failure::with_cause(
            crate::exit::CONFIG,
            "--pfx (REGED_PFX) takes a PKCS#12 file: pass a PEM certificate with --cert FILE \
             (REGED_CERT), and its key, if in a file of its own, with --key FILE (REGED_KEY)",
            error,
        );
    }
    error.into()
}

fn load_pem(paths: &[&Path], source: &PasswordSource) -> Result<Identity, Failure> {
    let passphrase = match source.read()? {
        Some(passphrase) => passphrase,
        None => match Identity::from_pem_files(paths, None) {
            Err(error) if is_passphrase_missing(&error) => {
                let key = paths[paths.len() - 1].display();
                match password::prompt(&format!("passphrase for the key in {key}"))? {
                    Some(passphrase) => passphrase,
                    None => {
                        return Err(Failure::with_cause(
                            crate::exit::CONFIG,
                            "pass the passphrase with --password-file FILE or --password-env VAR, \
                             or set REGED_PASSWORD",
                            error,
                        ));
                    }
                }
            }
            other => return Ok(other?),
        },
    };
    Identity::from_pem_files(paths, Some(&passphrase.secret))
        .map_err(|error| name_the_password(error, &passphrase))
}

/// A wrong password says where the password came from.
fn name_the_password(error: IdentityError, password: &password::Password) -> Failure {
    if is_wrong_password(&error) {
        let verdict = if password.is_empty {
            "is empty, and that is not the password"
        } else {
            "is wrong"
        };
        return Failure::with_cause(
            crate::exit::CONFIG,
            format!(
                "the password from {} {verdict}; {PASSWORD_NEXT_STEP}",
                password.origin
            ),
            error,
        );
    }
    name_the_pem_flags(error)
}

fn is_wrong_password(error: &IdentityError) -> bool {
    matches!(
        error,
        IdentityError::WrongPassword { .. } | IdentityError::WrongPassphrase { .. }
    )
}

fn is_passphrase_missing(error: &IdentityError) -> bool {
    matches!(error, IdentityError::PassphraseRequired { .. })
}

/// Parses a URL setting, refusing a user name or password in it; no message shows one.
fn parse_url(value: &str, flag: &str) -> Result<Url, Failure> {
    let url = Url::parse(value.trim()).map_err(|error| {
        // An `@` may follow a password: name the flag alone.
        if value.contains('@') {
            Failure::config(format!("{flag}: the value is not a URL: {error}"))
        } else {
            Failure::config(format!("{flag}: `{value}` is not a URL: {error}"))
        }
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Failure::config(format!(
            "{flag}: the URL holds a user name or password, and credentials do not belong in \
             the URL: reged authenticates with the client certificate; remove the \
             `user:password@` part"
        )));
    }
    Ok(url)
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
