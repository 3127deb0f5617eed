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
                "--scope (REGED_SCOPE): empty: give the scope RegEd gave you, space-separated",
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

/// Which files hold the identity. When both a PFX and PEM files (a certificate or a key) are
/// set, the one given as a flag wins over the one that came from the environment.
fn identity_files(args: &ClientArgs) -> Result<IdentityFiles<'_>, Failure> {
    let from_env = |value: &Option<std::path::PathBuf>, variable: &str| {
        value.is_some() && std::env::var_os(variable).map(Into::into) == *value
    };
    let Some(pfx) = &args.pfx else {
        return pem_files(args);
    };
    // A key alone counts as PEM too, so that a PFX beside it is not taken with the key dropped.
    if args.cert.is_none() && args.key.is_none() {
        return Ok(IdentityFiles::Pkcs12(pfx));
    }
    let pem_from_env = (args.cert.is_none() || from_env(&args.cert, "REGED_CERT"))
        && (args.key.is_none() || from_env(&args.key, "REGED_KEY"));

    match (from_env(&args.pfx, "REGED_PFX"), pem_from_env) {
        (true, false) => pem_files(args),
        (false, true) => Ok(IdentityFiles::Pkcs12(pfx)),
        _ => Err(Failure::config(
            "both a PFX (--pfx, REGED_PFX) and a PEM certificate or key (--cert, --key, \
             REGED_CERT, REGED_KEY) are set: give one of them",
        )),
    }
}

/// The PEM certificate, and the key when it is in a file of its own.
fn pem_files(args: &ClientArgs) -> Result<IdentityFiles<'_>, Failure> {
    let Some(cert) = args.cert.as_deref() else {
        return Err(match args.key {
            Some(_) => {
                Failure::config("--key (REGED_KEY) is set but no certificate: add --cert FILE")
            }
            None => Failure::config(
                "no client certificate: pass --cert FILE (and --key FILE), or --pfx FILE; \
                 or set REGED_CERT and REGED_KEY, or REGED_PFX",
            ),
        });
    };

    let mut paths = vec![cert];
    if let Some(key) = args.key.as_deref()
        && key != cert
    {
        paths.push(key);
    }
    Ok(IdentityFiles::Pem(paths))
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

/// Parses a URL setting, refusing a user name or password in it (no message shows one), a
/// fragment, or an empty host.
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
    if url.fragment().is_some() {
        return Err(Failure::config(format!(
            "{flag}: the URL has a fragment (`#...`), which an endpoint URL must not have \
             (RFC 6749 section 3.2): remove it"
        )));
    }
    if !names_a_host(value.trim()) {
        return Err(Failure::config(format!(
            "{flag}: the URL has no host after `//`: write it as https://HOST/PATH"
        )));
    }
    Ok(url)
}

/// Whether `text` has a host right after `scheme://`. The URL parser skips any slashes there,
/// as browsers do, so it reads `https:///oauth/token` as the host `oauth`.
fn names_a_host(text: &str) -> bool {
    let Some((_, rest)) = text.split_once(':') else {
        return false;
    };
    rest.strip_prefix("//")
        .is_some_and(|authority| !authority.is_empty() && !authority.starts_with(['/', '\\']))
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
        "identity" => "--cert and --key, or --pfx",
        "ca" => "--ca (REGED_CA)",
        _ => return error.into(),
    };
    Failure::config(format!("{flag}: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_authority_is_no_host_even_though_the_parser_finds_one() {
        for text in [
            "https:///oauth/token",
            "https:////oauth/token",
            "https:oauth/token",
            "https:/oauth/token",
            "https://",
        ] {
            assert!(!names_a_host(text), "{text}");
        }
        for text in [
            "https://oauth/token",
            "https://127.0.0.1:8443",
            "https://[::1]:1/x",
        ] {
            assert!(names_a_host(text), "{text}");
        }
    }

    #[test]
    fn url_with_a_fragment_even_an_empty_one_is_refused() {
        for text in ["https://localhost/oauth/token#frag", "https://localhost#"] {
            let refused = parse_url(text, "--token-url")
                .err()
                .map(|failure| failure.code);
            assert_eq!(refused, Some(crate::exit::CONFIG), "{text}");
        }
        assert!(parse_url("https://localhost/oauth/token?a=b", "--token-url").is_ok());
    }
}
