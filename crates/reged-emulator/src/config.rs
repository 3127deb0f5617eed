//! What the emulator is configured with: the profile it imitates and the clients it knows.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use rustls::pki_types::CertificateDer;

use crate::admin::AdminSettings;
use crate::certs::DevCerts;
use crate::client_registration::ClientRegistration;
use crate::faults::FaultSettings;
use crate::subject::SubjectName;

/// The longest lifetime a token may be given: ten years, far beyond any real token, and small
/// enough that no expiry computed from it overflows.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The client id of the development client, whose certificate is [`DevCerts::client`].
pub const DEV_CLIENT_ID: &str = "reged-dev-client";

/// The client id of the second client, whose certificate is [`DevCerts::other_client`].
pub const OTHER_CLIENT_ID: &str = "reged-other-client";

/// The scopes both development clients may ask for.
pub const DEV_SCOPES: [&str; 2] = ["read", "write"];

/// Which RegEd environment the emulator imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// The user acceptance test environment: tokens live 900 seconds.
    Uat,
    /// Production: tokens live 3600 seconds.
    Prod,
}

impl Profile {
    /// Both profiles.
    pub const ALL: [Profile; 2] = [Profile::Uat, Profile::Prod];

    /// The profile's name on the command line and in files: `uat` or `prod`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Uat => "uat",
            Profile::Prod => "prod",
        }
    }

    /// The `iss` of the access tokens, shaped like RegEd's authorization server.
    pub fn issuer(self) -> &'static str {
        match self {
            Profile::Uat => "https://mtls.auth-uat.reged.com/",
            Profile::Prod => "https://mtls.auth.reged.com/",
        }
    }

    /// The audience of RegEd's API in this environment, which the emulator's API accepts.
    pub fn api_audience(self) -> &'static str {
        match self {
            Profile::Uat => "https://uatapi.reged.com",
            Profile::Prod => "https://api.reged.com",
        }
    }

    /// How long an access token lives (the `expires_in` of the token response).
    pub fn token_lifetime(self) -> Duration {
        match self {
            Profile::Uat => Duration::from_secs(900),
            Profile::Prod => Duration::from_secs(3600),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(name: &str) -> Result<Profile, UnknownProfile> {
        Profile::ALL
            .into_iter()
            .find(|profile| profile.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownProfile(name.to_owned()))
    }
}

/// A profile name that is neither `uat` nor `prod`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile {0:?}: expected uat or prod")]
pub struct UnknownProfile(String);

/// The emulator's configuration: a profile and the registered clients.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    profile: Profile,
    clients: Vec<ClientRegistration>,
    token_lifetime: Duration,
    trusted_cas: Vec<CertificateDer<'static>>,
    trusted_proxies: Vec<IpNet>,
    faults: FaultSettings,
    admin: Option<AdminSettings>,
    issuer: Option<String>,
}

impl EmulatorConfig {
    /// A configuration with no client registered and the profile's token lifetime.
    pub fn new(profile: Profile) -> EmulatorConfig {
        EmulatorConfig {
            profile,
            clients: Vec::new(),
            token_lifetime: profile.token_lifetime(),
            trusted_cas: Vec::new(),
            trusted_proxies: Vec::new(),
            faults: FaultSettings::default(),
            admin: None,
            issuer: None,
        }
    }

    /// Registers [`DEV_CLIENT_ID`] for [`DevCerts::client`] and [`OTHER_CLIENT_ID`] for
    /// [`DevCerts::other_client`], both with the scopes `read` and `write` and the profile's
    /// API audience.
    pub fn for_dev_certs(certs: &DevCerts, profile: Profile) -> EmulatorConfig {
        let register = |client_id: &str, subject: &SubjectName| {
            ClientRegistration::new(client_id, subject.clone())
                .with_scopes(DEV_SCOPES)
                .with_audiences([profile.api_audience()])
        };

        EmulatorConfig::new(profile)
            .with_client(register(DEV_CLIENT_ID, certs.client().subject()))
            .with_client(register(OTHER_CLIENT_ID, certs.other_client().subject()))
    }

    /// Adds a client, replacing any registered under the same client id.
    pub fn with_client(mut self, client: ClientRegistration) -> EmulatorConfig {
        self.clients
            .retain(|known| known.client_id() != client.client_id());
        self.clients.push(client);
        self
    }

    /// Sets how long access tokens live, instead of the profile's lifetime; whole seconds,
    /// one at least and [`MAX_TOKEN_LIFETIME`] at most.
    pub fn with_token_lifetime(mut self, lifetime: Duration) -> EmulatorConfig {
        self.token_lifetime = lifetime.clamp(Duration::from_secs(1), MAX_TOKEN_LIFETIME);
        self
    }

    /// Trusts `ca` for client certificates too, beside the development CA.
    pub fn with_trusted_ca(mut self, ca: CertificateDer<'static>) -> EmulatorConfig {
        self.trusted_cas.push(ca);
        self
    }

    /// The CAs trusted for client certificates beside the development CA.
    pub fn trusted_cas(&self) -> &[CertificateDer<'static>] {
        &self.trusted_cas
    }

    /// Takes the client certificate from the `Client-Cert` (RFC 9440) or `X-SSL-Client-Cert`
    /// (nginx) header of requests that come from `proxy` and carry one; from anyone else those
    /// headers are dropped. See [`proxy_header`](crate::proxy_header).
    pub fn with_trusted_proxy(mut self, proxies: impl Into<IpNet>) -> EmulatorConfig {
        self.trusted_proxies.push(proxies.into());
        self
    }

    /// The proxies allowed to forward client certificates.
    pub fn trusted_proxies(&self) -> &[IpNet] {
        &self.trusted_proxies
    }

    /// Starts with these faults in force; see [`FaultSettings`].
    pub fn with_faults(mut self, faults: FaultSettings) -> EmulatorConfig {
        self.faults = faults;
        self
    }

    /// Serves the admin endpoint (see [`admin`](crate::admin)) on a loopback address.
    pub fn with_admin(mut self, admin: AdminSettings) -> EmulatorConfig {
        self.admin = Some(admin);
        self
    }

    /// The admin endpoint's settings, when it is asked for.
    pub fn admin(&self) -> Option<&AdminSettings> {
        self.admin.as_ref()
    }

    /// The faults in force at start.
    pub fn faults(&self) -> &FaultSettings {
        &self.faults
    }

    /// Sets the `iss` of the tokens and of the metadata, instead of the profile's RegEd-shaped
    /// one: a client that checks RFC 8414's rule (the issuer is the URL the metadata was
    /// fetched under, less its well-known suffix) wants the emulator's own base URL here.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> EmulatorConfig {
        self.issuer = Some(issuer.into());
        self
    }

    /// The `iss` of the tokens: the one set, or the profile's.
    pub fn issuer(&self) -> &str {
        self.issuer.as_deref().unwrap_or(self.profile.issuer())
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The registered clients.
    pub fn clients(&self) -> &[ClientRegistration] {
        &self.clients
    }

    /// The client registered under `client_id`, if any.
    pub fn client(&self, client_id: &str) -> Option<&ClientRegistration> {
        self.clients
            .iter()
            .find(|client| client.client_id() == client_id)
    }

    /// How long access tokens live.
    pub fn token_lifetime(&self) -> Duration {
        self.token_lifetime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_from_their_names() {
        assert_eq!("uat".parse(), Ok(Profile::Uat));
        assert_eq!("PROD".parse(), Ok(Profile::Prod));
        assert_eq!(
            "dev".parse::<Profile>().unwrap_err().to_string(),
            "unknown profile \"dev\": expected uat or prod"
        );
    }

    #[test]
    fn profiles_carry_regeds_lifetimes_and_audiences() {
        assert_eq!(Profile::Uat.token_lifetime(), Duration::from_secs(900));
        assert_eq!(Profile::Prod.token_lifetime(), Duration::from_secs(3600));
        assert_eq!(Profile::Uat.api_audience(), "https://uatapi.reged.com");
        assert_eq!(Profile::Prod.issuer(), "https://mtls.auth.reged.com/");
    }

    #[test]
    fn dev_config_registers_both_clients_for_the_profile_audience() {
        let certs = DevCerts::generate().unwrap();

        let config = EmulatorConfig::for_dev_certs(&certs, Profile::Prod);

        let client = config.client(DEV_CLIENT_ID).unwrap();
        assert_eq!(client.scopes(), ["read", "write"]);
        assert_eq!(client.audiences(), ["https://api.reged.com"]);
        assert_eq!(client.subject(), Some(certs.client().subject()));
        let other = config.client(OTHER_CLIENT_ID).unwrap();
        assert_eq!(other.subject(), Some(certs.other_client().subject()));
    }
}
