//! Where a PFX password or key passphrase comes from: an environment variable, a file, or a
//! prompt when a terminal is attached. Never a command-line argument, which other users of the
//! machine can read.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use reged_auth::secret::SecretString;

use crate::failure::Failure;
use crate::input_file::{SECRET_FILE_LIMIT, Unread, read_at_most, size_of_limit};

/// The environment variable read when no other source is named.
pub const PASSWORD_VARIABLE: &str = "REGED_PASSWORD";

/// The password sources the user named.
pub struct PasswordSource {
    pub variable: Option<String>,
    pub file: Option<PathBuf>,
}

/// A password and where it came from, to name in errors.
pub struct Password {
    pub secret: SecretString,
    pub origin: String,
    /// An empty password is often a variable or file left blank by mistake: errors say so.
    pub is_empty: bool,
}

impl Password {
    fn new(value: String, origin: String) -> Self {
        Self {
            is_empty: value.is_empty(),
            secret: SecretString::from(value),
            origin,
        }
    }
}

impl PasswordSource {
    /// The password from the named source, else from `REGED_PASSWORD`; `None` when no source is
    /// set.
    pub fn read(&self) -> Result<Option<Password>, Failure> {
        if let Some(file) = &self.file {
            return read_file(file).map(Some);
        }
        let variable = self.variable.as_deref().unwrap_or(PASSWORD_VARIABLE);
        match std::env::var(variable) {
            Ok(value) => Ok(Some(Password::new(
                value,
                format!("the environment variable {variable}"),
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(Failure::config(format!(
                "the environment variable {variable} is not valid UTF-8"
            ))),
            Err(std::env::VarError::NotPresent) if self.variable.is_some() => {
                Err(Failure::config(format!(
                    "--password-env names {variable}, which is not set: export it or use --password-file"
                )))
            }
            Err(std::env::VarError::NotPresent) => Ok(None),
        }
    }
}

/// Asks on the terminal, when there is one.
pub fn prompt(what: &str) -> Result<Option<Password>, Failure> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(None);
    }
    rpassword::prompt_password(format!("{what}: "))
        .map(|value| Some(Password::new(value, "the prompt".into())))
        .map_err(|error| {
            Failure::config(format!(
                "could not read the password from the terminal: {error}"
            ))
        })
}

fn read_file(path: &Path) -> Result<Password, Failure> {
    let bytes = read_at_most(path, SECRET_FILE_LIMIT).map_err(|unread| match unread {
        Unread::Io(error) => Failure::config(format!(
            "could not read the password file {}: {error}",
            path.display()
        )),
        Unread::TooLarge => Failure::config(format!(
            "the password file {} is larger than {}: is it the right file? the password is its \
             first line",
            path.display(),
            size_of_limit(SECRET_FILE_LIMIT)
        )),
    })?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(Failure::config(format!(
            "the password file {} is not UTF-8 text: save it as UTF-8",
            path.display()
        )));
    };
    // The first line, without its line ending (editors add one) and without the byte order
    // mark that Windows editors put first.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line = text.lines().next().unwrap_or_default();
    Ok(Password::new(
        first_line.to_owned(),
        format!("the first line of {}", path.display()),
    ))
}

#[cfg(test)]
mod tests {
    use reged_auth::secret::ExposeSecret as _;

    use super::*;

    #[test]
    fn password_file_in_latin_1_is_refused_as_not_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, b"caf\xe9\n").unwrap();

        let Err(failure) = read_file(&file) else {
            panic!("a Latin-1 password file was read");
        };

        assert!(
            failure.report().contains("is not UTF-8 text"),
            "{}",
            failure.report()
        );
    }

    #[test]
    fn password_file_gives_its_first_line_without_a_byte_order_mark() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "\u{feff}s3cret\r\nsecond line\n").unwrap();

        let password = read_file(&file).ok().unwrap();

        assert_eq!(password.secret.expose_secret(), "s3cret");
    }
}
