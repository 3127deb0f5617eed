//! An error on its way to stderr, with the exit code it ends the process with.

use std::error::Error;
use std::fmt;

use crate::exit;

/// A failed command.
pub struct Failure {
    pub code: u8,
    pub error: Box<dyn Error + Send + Sync>,
}

#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Message {}

#[derive(Debug)]
struct WithCause {
    message: String,
    cause: Box<dyn Error + Send + Sync>,
}

impl fmt::Display for WithCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for WithCause {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.cause)
    }
}

impl Failure {
    /// A failure with a message of its own.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            error: Box::new(Message(message.into())),
        }
    }

    /// A failure that says what to do, with the error that caused it.
    pub fn with_cause(
        code: u8,
        message: impl Into<String>,
        cause: impl Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            code,
            error: Box::new(WithCause {
                message: message.into(),
                cause: Box::new(cause),
            }),
        }
    }

    /// Bad settings.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(exit::CONFIG, message)
    }

    /// Writes `reged: error` and its causes, one a line.
    pub fn report(&self) -> String {
        let mut text = format!("reged: {}", self.error);
        let mut shown = self.error.to_string();
        let mut cause = self.error.source();
        while let Some(current) = cause {
            // Some libraries repeat their source in their own message: say it once.
            let message = current.to_string();
            if message != shown {
                text.push_str(&format!("\n  caused by: {message}"));
            }
            shown = message;
            cause = current.source();
        }
        text
    }
}

impl From<reged_auth::Error> for Failure {
    fn from(error: reged_auth::Error) -> Self {
        Self {
            code: exit::code_of(&error),
            error: Box::new(error),
        }
    }
}

impl From<reged_auth::identity::IdentityError> for Failure {
    fn from(error: reged_auth::identity::IdentityError) -> Self {
        reged_auth::Error::from(error).into()
    }
}

impl From<reged_emulator::EmulatorError> for Failure {
    /// The emulator fails on what it was given: a directory, an address.
    fn from(error: reged_emulator::EmulatorError) -> Self {
        Self {
            code: exit::CONFIG,
            error: Box::new(error),
        }
    }
}
