//! Where RegEd's token endpoints and APIs are.

use std::fmt;
use std::str::FromStr;

use url::Url;

/// A RegEd environment: its token endpoint and API base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    /// User acceptance testing; tokens live 900 s.
    Uat,
    /// Production; tokens live 3600 s.
    Prod,
}

impl Environment {
    /// The mTLS token endpoint.
    pub fn token_url(self) -> Url {
        parse_preset(match self {
            Self::Uat => "https://mtls.auth-uat.reged.com/oauth/token",
            Self::Prod => "https://mtls.auth.reged.com/oauth/token",
        })
    }

    /// The API base URL.
    pub fn api_base(self) -> Url {
        parse_preset(match self {
            Self::Uat => "https://uatapi.reged.com",
            Self::Prod => "https://api.reged.com",
        })
    }

    /// The name used in settings: `uat` or `prod`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uat => "uat",
            Self::Prod => "prod",
        }
    }
}

fn parse_preset(url: &str) -> Url {
    Url::parse(url).expect("preset URLs are valid")
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for an environment name that is neither `uat` nor `prod`.
#[derive(Debug, thiserror::Error)]
#[error("unknown environment `{0}`: use `uat` or `prod`, or give a token URL and an API base")]
pub struct UnknownEnvironment(String);

impl FromStr for Environment {
    type Err = UnknownEnvironment;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "uat" => Ok(Self::Uat),
            "prod" | "production" => Ok(Self::Prod),
            _ => Err(UnknownEnvironment(name.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_match_regeds_published_endpoints() {
        assert_eq!(
            Environment::Uat.token_url().as_str(),
            "https://mtls.auth-uat.reged.com/oauth/token"
        );
        assert_eq!(
            Environment::Prod.token_url().as_str(),
            "https://mtls.auth.reged.com/oauth/token"
        );
        assert_eq!(
            Environment::Uat.api_base().as_str(),
            "https://uatapi.reged.com/"
        );
        assert_eq!(
            Environment::Prod.api_base().as_str(),
            "https://api.reged.com/"
        );
    }

    #[test]
    fn names_parse_without_case() {
        assert_eq!("UAT".parse::<Environment>().unwrap(), Environment::Uat);
        assert_eq!("prod".parse::<Environment>().unwrap(), Environment::Prod);
        assert!("staging".parse::<Environment>().is_err());
    }
}
