//! The client registrations of a TOML file, named with the client metadata of RFC 7591 and
//! RFC 8705 where one exists.
//!
//! ```toml
//! [[clients]]
//! client_id = "partner-a"
//! token_endpoint_auth_method = "tls_client_auth"
//! tls_client_auth_subject_dn = "CN=partner-a,O=Partner A,C=US"  # or /C=US/O=Partner A/CN=partner-a
//! scopes = ["read", "write"]
//! audiences = ["https://uatapi.reged.com"]
//! ca_file = "partner-a-ca.pem"            # optional: narrows the trusted CAs for this client
//! access_token_lifetime = 300             # optional, seconds
//! tls_client_certificate_bound_access_tokens = true   # the default
//! introspect_any_token = false            # the default: introspection shows its own tokens
//!
//! [[clients]]
//! client_id = "robot"
//! token_endpoint_auth_method = "self_signed_tls_client_auth"
//! certificate_files = ["robot.pem"]
//! certificate_thumbprints = ["x5t#S256 of another certificate"]
//! scopes = ["read"]
//! audiences = ["https://uatapi.reged.com"]
//! ```
//!
//! A `tls_client_auth` client has exactly one of `tls_client_auth_subject_dn`,
//! `tls_client_auth_san_dns`, `tls_client_auth_san_uri`, `tls_client_auth_san_ip` and
//! `tls_client_auth_san_email`. Files are relative to the TOML file's directory.

use std::collections::HashSet;
use std::io::Read as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;

use crate::certs::certificate_thumbprint;
use crate::client_registration::{CertificateName, ClientAuthentication, ClientRegistration};
use crate::config::{EmulatorConfig, MAX_TOKEN_LIFETIME};
use crate::error::EmulatorError;
use crate::faults::FaultSettings;
use crate::subject::SubjectName;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientsFile {
    #[serde(default)]
    clients: Vec<ClientEntry>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    faults: Option<FaultSettings>,
}

/// What a configuration file holds: clients, proxies allowed to forward client
/// certificates, and the faults in force at start.
#[derive(Debug)]
pub struct ConfigFile {
    /// The `[[clients]]`.
    pub clients: Vec<ClientRegistration>,
    /// `trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]`: addresses and CIDR ranges.
    pub trusted_proxies: Vec<IpNet>,
    /// The `[faults]` table, see [`FaultSettings`].
    pub faults: Option<FaultSettings>,
}

impl ConfigFile {
    /// Adds what the file holds to `config`.
    pub fn apply(self, config: EmulatorConfig) -> EmulatorConfig {
        let mut config = self.clients.into_iter().fold(config, |config, client| {
            if config.client(client.client_id()).is_some() {
                tracing::warn!(
                    client_id = client.client_id(),
                    "the configuration file's client replaces the one registered before it \
                     (a development client of the state directory)"
                );
            }
            config.with_client(client)
        });
        for proxy in self.trusted_proxies {
            config = config.with_trusted_proxy(proxy);
        }
        match self.faults {
            Some(faults) => config.with_faults(faults),
            None => config,
        }
    }
}

/// Reads a configuration file: `[[clients]]` as in [`read_clients_file`], plus
/// `trusted_proxies` and a `[faults]` table.
pub fn read_config_file(path: impl AsRef<Path>) -> Result<ConfigFile, EmulatorError> {
    let path = path.as_ref();
    let text = read_text(path).map_err(|source| EmulatorError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));

    parse_config(&text, dir).map_err(|problem| EmulatorError::ClientsFile {
        path: path.to_path_buf(),
        problem,
    })
}

/// Reads a configuration from TOML text; files are relative to `dir`.
fn parse_config(text: &str, dir: &Path) -> Result<ConfigFile, String> {
    let file: ClientsFile = toml::from_str(text).map_err(|error| error.to_string())?;
    if let Some(faults) = &file.faults {
        faults
            .validate()
            .map_err(|invalid| format!("[faults]: {invalid}"))?;
    }
    let trusted_proxies = file
        .trusted_proxies
        .iter()
        .map(|proxies| proxy_range(proxies))
        .collect::<Result<_, _>>()?;
    let clients = registrations(file.clients, dir)?;

    Ok(ConfigFile {
        clients,
        trusted_proxies,
        faults: file.faults,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    client_id: String,
    token_endpoint_auth_method: String,
    tls_client_auth_subject_dn: Option<String>,
    tls_client_auth_san_dns: Option<String>,
    tls_client_auth_san_uri: Option<String>,
    tls_client_auth_san_ip: Option<String>,
    tls_client_auth_san_email: Option<String>,
    #[serde(default)]
    certificate_files: Vec<PathBuf>,
    #[serde(default)]
    certificate_thumbprints: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    audiences: Vec<String>,
    grant_types: Option<Vec<String>>,
    tls_client_certificate_bound_access_tokens: Option<bool>,
    access_token_lifetime: Option<u64>,
    ca_file: Option<PathBuf>,
    #[serde(default)]
    introspect_any_token: bool,
}

/// Reads the registrations of the TOML file at `path`.
pub fn read_clients_file(path: impl AsRef<Path>) -> Result<Vec<ClientRegistration>, EmulatorError> {
    let path = path.as_ref();
    let text = read_text(path).map_err(|source| EmulatorError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));

    parse_clients(&text, dir).map_err(|problem| EmulatorError::ClientsFile {
        path: path.to_path_buf(),
        problem,
    })
}

/// Reads registrations from TOML text; files are relative to `dir`.
pub(crate) fn parse_clients(text: &str, dir: &Path) -> Result<Vec<ClientRegistration>, String> {
    let file: ClientsFile = toml::from_str(text).map_err(|error| error.to_string())?;
    registrations(file.clients, dir)
}

/// An address (`10.1.2.3`, `::1`) or a CIDR range (`10.0.0.0/8`).
fn proxy_range(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(address) = text.parse::<IpAddr>() {
        return Ok(IpNet::from(address));
    }
    text.parse::<IpNet>().map_err(|_| {
        format!(
            "trusted_proxies: {text:?} is neither an IP address nor a CIDR range \
             such as 10.0.0.0/8"
        )
    })
}

fn registrations(entries: Vec<ClientEntry>, dir: &Path) -> Result<Vec<ClientRegistration>, String> {
    let mut seen = HashSet::new();
    let mut clients = Vec::new();
    for entry in entries {
        if !seen.insert(entry.client_id.clone()) {
            return Err(format!("client {} is registered twice", entry.client_id));
        }
        let client_id = entry.client_id.clone();
        clients.push(
            registration(entry, dir).map_err(|problem| format!("client {client_id}: {problem}"))?,
        );
    }
    Ok(clients)
}

/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`: what a client could ever ask for.
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && byte != b'"' && byte != b'\\')
}

fn registration(entry: ClientEntry, dir: &Path) -> Result<ClientRegistration, String> {
    if entry.client_id.is_empty() {
        return Err("client_id is empty".to_owned());
    }
    let authentication = authentication(&entry, dir)?;
    // A client without them could never get a token: a mistake in the file, not a choice.
    if entry.scopes.is_empty() {
        return Err("scopes is empty: list the scopes the client may ask for".to_owned());
    }
    if entry.audiences.is_empty() {
        return Err("audiences is empty: list the audiences the client may ask for".to_owned());
    }
    if let Some(scope) = entry.scopes.iter().find(|scope| !is_scope_token(scope)) {
        return Err(format!(
            "scope {scope:?} is not a scope token (RFC 6749 section 3.3: no spaces, quotes or \
             backslashes): list each scope on its own"
        ));
    }
    if entry
        .audiences
        .iter()
        .any(|audience| audience.trim().is_empty())
    {
        return Err("an audience is empty: give each its URI".to_owned());
    }

    let mut client = ClientRegistration::with_authentication(entry.client_id, authentication)
        .with_scopes(entry.scopes)
        .with_audiences(entry.audiences);
    if let Some(grant_types) = entry.grant_types {
        client = client.with_grant_types(grant_types);
    }
    if let Some(bound) = entry.tls_client_certificate_bound_access_tokens {
        client = client.with_certificate_bound_tokens(bound);
    }
    if let Some(seconds) = entry.access_token_lifetime {
        if seconds == 0 || seconds > MAX_TOKEN_LIFETIME.as_secs() {
            return Err(format!(
                "access_token_lifetime must be between 1 and {} seconds (ten years), not {seconds}",
                MAX_TOKEN_LIFETIME.as_secs()
            ));
        }
        client = client.with_token_lifetime(Duration::from_secs(seconds));
    }
    client = client.with_introspection_of_any_token(entry.introspect_any_token);
    if let Some(ca_file) = entry.ca_file {
        client = client.with_trusted_cas(read_certificates(&dir.join(ca_file))?);
    }
    Ok(client)
}

fn authentication(entry: &ClientEntry, dir: &Path) -> Result<ClientAuthentication, String> {
    let names = [
        (
            "tls_client_auth_subject_dn",
            &entry.tls_client_auth_subject_dn,
        ),
        ("tls_client_auth_san_dns", &entry.tls_client_auth_san_dns),
        ("tls_client_auth_san_uri", &entry.tls_client_auth_san_uri),
        ("tls_client_auth_san_ip", &entry.tls_client_auth_san_ip),
        (
            "tls_client_auth_san_email",
            &entry.tls_client_auth_san_email,
        ),
    ];
    let given: Vec<(&str, &String)> = names
        .iter()
        .filter_map(|(field, value)| value.as_ref().map(|value| (*field, value)))
        .collect();
    let has_certificates =
        !entry.certificate_files.is_empty() || !entry.certificate_thumbprints.is_empty();

    match entry.token_endpoint_auth_method.as_str() {
        "tls_client_auth" => {
            if has_certificates {
                return Err("certificate_files and certificate_thumbprints are for \
                            self_signed_tls_client_auth; tls_client_auth names the certificate \
                            by one tls_client_auth_* field"
                    .to_owned());
            }
            let [(field, value)] = given.as_slice() else {
                return Err(format!(
                    "tls_client_auth needs exactly one of {}, and has {}",
                    names.map(|(field, _)| field).join(", "),
                    if given.is_empty() {
                        "none".to_owned()
                    } else {
                        given
                            .iter()
                            .map(|(field, _)| *field)
                            .collect::<Vec<_>>()
                            .join(" and ")
                    }
                ));
            };
            Ok(ClientAuthentication::TlsClientAuth(certificate_name(
                field, value,
            )?))
        }
        "self_signed_tls_client_auth" => {
            if let Some((field, _)) = given.first() {
                return Err(format!(
                    "{field} is for tls_client_auth; self_signed_tls_client_auth names its \
                     certificates by certificate_files or certificate_thumbprints"
                ));
            }
            let mut thumbprints = entry.certificate_thumbprints.clone();
            for file in &entry.certificate_files {
                for certificate in read_certificates(&dir.join(file))? {
                    thumbprints.push(certificate_thumbprint(&certificate));
                }
            }
            if thumbprints.is_empty() {
                return Err("self_signed_tls_client_auth needs certificate_files or \
                            certificate_thumbprints"
                    .to_owned());
            }
            if let Some(bad) = thumbprints
                .iter()
                .find(|thumbprint| !is_thumbprint(thumbprint))
            {
                return Err(format!(
                    "{bad:?} is not an x5t#S256 thumbprint (43 base64url characters)"
                ));
            }
            Ok(ClientAuthentication::SelfSignedTlsClientAuth(thumbprints))
        }
        other => Err(format!(
            "token_endpoint_auth_method {other:?} is not supported: use tls_client_auth or \
             self_signed_tls_client_auth"
        )),
    }
}

fn certificate_name(field: &str, value: &str) -> Result<CertificateName, String> {
    let empty = || format!("{field} is empty");
    if value.trim().is_empty() {
        return Err(empty());
    }
    match field {
        "tls_client_auth_subject_dn" => SubjectName::parse(value)
            .map(CertificateName::SubjectDn)
            .map_err(|error| format!("{field}: {error}")),
        "tls_client_auth_san_dns" => Ok(CertificateName::SanDns(value.to_owned())),
        "tls_client_auth_san_uri" => Ok(CertificateName::SanUri(value.to_owned())),
        "tls_client_auth_san_email" => Ok(CertificateName::SanEmail(value.to_owned())),
        _ => value
            .parse::<IpAddr>()
            .map(CertificateName::SanIp)
            .map_err(|_| format!("{field}: {value:?} is not an IPv4 or IPv6 address")),
    }
}

fn is_thumbprint(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The largest configuration, clients or certificate file read: 1 MiB, as for the CLI's files.
const MAX_FILE_LEN: u64 = 1024 * 1024;

/// The bytes of `path`, at most [`MAX_FILE_LEN`]: `/dev/zero` given by mistake fails at once
/// instead of filling memory.
fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            "larger than 1 MiB, too large for a configuration or certificate file",
        ));
    }
    Ok(bytes)
}

fn read_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_capped(path)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem =
        read_capped(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("{} is not PEM: {error}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<ClientRegistration>, String> {
        parse_clients(text, Path::new("."))
    }

    const HEAD: &str =
        "[[clients]]\nclient_id = \"a\"\nscopes = [\"read\"]\naudiences = [\"https://api\"]\n";

    #[test]
    fn subject_dn_client_reads_with_its_settings() {
        let text = format!(
            "{HEAD}token_endpoint_auth_method = \"tls_client_auth\"\n\
             tls_client_auth_subject_dn = \"/C=US/O=Acme/CN=a\"\n\
             access_token_lifetime = 5\n\
             tls_client_certificate_bound_access_tokens = false\n\
             introspect_any_token = true\n"
        );

        let clients = parse(&text).unwrap();

        let client = &clients[0];
        assert!(client.introspects_any_token());
        assert_eq!(
            client.subject(),
            Some(&SubjectName::parse("CN=a,O=Acme,C=US").unwrap())
        );
        assert_eq!(client.token_lifetime(), Some(Duration::from_secs(5)));
        assert!(!client.certificate_bound());
        assert_eq!(client.scopes(), ["read"]);
    }

    #[test]
    fn san_ip_client_reads() {
        let text = format!(
            "{HEAD}token_endpoint_auth_method = \"tls_client_auth\"\n\
             tls_client_auth_san_ip = \"::1\"\n"
        );

        let clients = parse(&text).unwrap();

        assert_eq!(
            clients[0].authentication(),
            &ClientAuthentication::TlsClientAuth(CertificateName::SanIp("::1".parse().unwrap()))
        );
    }

    #[test]
    fn tls_client_auth_with_two_names_is_refused_naming_both() {
        let text = format!(
            "{HEAD}token_endpoint_auth_method = \"tls_client_auth\"\n\
             tls_client_auth_subject_dn = \"CN=a\"\ntls_client_auth_san_dns = \"a.example\"\n"
        );

        let error = parse(&text).unwrap_err();

        assert!(
            error.starts_with("client a: tls_client_auth needs exactly one of"),
            "{error}"
        );
        assert!(
            error.ends_with("has tls_client_auth_subject_dn and tls_client_auth_san_dns"),
            "{error}"
        );
    }

    #[test]
    fn tls_client_auth_without_a_name_is_refused() {
        let text = format!("{HEAD}token_endpoint_auth_method = \"tls_client_auth\"\n");

        assert!(parse(&text).unwrap_err().ends_with("and has none"));
    }

    #[test]
    fn bad_subject_dn_names_the_field_and_the_problem() {
        let text = format!(
            "{HEAD}token_endpoint_auth_method = \"tls_client_auth\"\n\
             tls_client_auth_subject_dn = \"XX=a\"\n"
        );

        assert_eq!(
            parse(&text).unwrap_err(),
            "client a: tls_client_auth_subject_dn: attribute type \"XX\" is not known: use a \
             keyword such as CN, O, OU, C or a dotted OID"
        );
    }

    #[test]
    fn self_signed_client_takes_thumbprints() {
        let thumbprint = certificate_thumbprint(b"x");
        let text = format!(
            "{HEAD}token_endpoint_auth_method = \"self_signed_tls_client_auth\"\n\
             certificate_thumbprints = [\"{thumbprint}\"]\n"
        );

        let clients = parse(&text).unwrap();

        assert_eq!(
            clients[0].authentication(),
            &ClientAuthentication::SelfSignedTlsClientAuth(vec![thumbprint])
        );
    }

    #[test]
    fn self_signed_client_with_a_bad_thumbprint_is_refused() {
        let text = format!(
            "{HEAD}token_endpoint_auth_method = \"self_signed_tls_client_auth\"\n\
             certificate_thumbprints = [\"abc\"]\n"
        );

        assert!(
            parse(&text)
                .unwrap_err()
                .contains("is not an x5t#S256 thumbprint")
        );
    }

    #[test]
    fn self_signed_client_with_a_subject_dn_is_refused() {
        let text = format!(
            "{HEAD}token_endpoint_auth_method = \"self_signed_tls_client_auth\"\n\
             tls_client_auth_subject_dn = \"CN=a\"\n"
        );

        assert!(parse(&text).unwrap_err().contains("is for tls_client_auth"));
    }

    #[test]
    fn unknown_method_field_and_duplicate_are_refused() {
        let unknown_method =
            format!("{HEAD}token_endpoint_auth_method = \"client_secret_basic\"\n");
        let unknown_field =
            format!("{HEAD}token_endpoint_auth_method = \"tls_client_auth\"\nsecret = 1\n");
        let entry = format!(
            "{HEAD}token_endpoint_auth_method = \"tls_client_auth\"\ntls_client_auth_san_dns = \"a\"\n"
        );

        assert!(
            parse(&unknown_method)
                .unwrap_err()
                .contains("is not supported")
        );
        assert!(
            parse(&unknown_field)
                .unwrap_err()
                .contains("unknown field `secret`")
        );
        assert_eq!(
            parse(&format!("{entry}{entry}")).unwrap_err(),
            "client a is registered twice"
        );
    }

    #[test]
    fn lifetime_beyond_ten_years_is_refused() {
        let text = format!(
            "{HEAD}token_endpoint_auth_method = \"tls_client_auth\"\n\
             tls_client_auth_san_dns = \"a\"\naccess_token_lifetime = 18446744073709551615\n"
        );

        assert!(
            parse(&text)
                .unwrap_err()
                .contains("access_token_lifetime must be between 1 and 315360000")
        );
    }

    #[test]
    fn client_without_scopes_or_audiences_is_refused() {
        let method = "token_endpoint_auth_method = \"tls_client_auth\"\n\
                      tls_client_auth_san_dns = \"a\"\n";
        let no_scopes = format!("[[clients]]\nclient_id = \"a\"\naudiences = [\"x\"]\n{method}");
        let no_audiences = format!("[[clients]]\nclient_id = \"a\"\nscopes = [\"x\"]\n{method}");

        assert_eq!(
            parse(&no_scopes).unwrap_err(),
            "client a: scopes is empty: list the scopes the client may ask for"
        );
        assert!(
            parse(&no_audiences)
                .unwrap_err()
                .contains("audiences is empty")
        );
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges_and_name_a_bad_one() {
        let config = parse_config(
            "trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n",
            Path::new("."),
        )
        .unwrap();
        let error = parse_config("trusted_proxies = [\"10.0.0.0/33\"]\n", Path::new("."))
            .map(|_| ())
            .unwrap_err();

        assert_eq!(config.trusted_proxies.len(), 2);
        assert!(config.trusted_proxies[1].contains(&"10.9.8.7".parse::<IpAddr>().unwrap()));
        assert!(
            error.contains("neither an IP address nor a CIDR range"),
            "{error}"
        );
    }

    /// Found in review: a scope with a space could never be asked for, and an empty audience
    /// matched an empty request parameter's absence.
    #[test]
    fn scope_that_is_not_a_scope_token_and_empty_audience_are_refused() {
        let method = "token_endpoint_auth_method = \"tls_client_auth\"\n\
                      tls_client_auth_san_dns = \"a\"\n";
        for scopes in [r#"["re ad"]"#, r#"["\""]"#, r#"["a\\b"]"#, r#"[""]"#] {
            let text = format!(
                "[[clients]]\nclient_id = \"a\"\nscopes = {scopes}\naudiences = [\"x\"]\n{method}"
            );
            let error = parse(&text).unwrap_err();
            assert!(error.contains("is not a scope token"), "{scopes}: {error}");
        }
        let text = format!(
            "[[clients]]\nclient_id = \"a\"\nscopes = [\"read\"]\naudiences = [\"\"]\n{method}"
        );
        assert!(parse(&text).unwrap_err().contains("an audience is empty"));
    }

    /// Found in review: `--config /dev/zero` grew without limit.
    #[test]
    fn endless_config_or_ca_file_is_refused_at_its_size_limit() {
        let text = format!(
            "{HEAD}token_endpoint_auth_method = \"tls_client_auth\"\n\
             tls_client_auth_san_dns = \"a\"\nca_file = \"/dev/zero\"\n"
        );

        let config = read_config_file("/dev/zero").map(|_| ()).unwrap_err();
        let ca = parse(&text).unwrap_err();

        assert!(config.to_string().contains("/dev/zero"), "{config}");
        assert!(
            format!("{config:?}").contains("larger than 1 MiB"),
            "{config:?}"
        );
        assert!(ca.contains("larger than 1 MiB"), "{ca}");
    }

    #[test]
    fn missing_ca_file_is_named() {
        let text = format!(
            "{HEAD}token_endpoint_auth_method = \"tls_client_auth\"\n\
             tls_client_auth_san_dns = \"a\"\nca_file = \"nope.pem\"\n"
        );

        assert!(
            parse(&text)
                .unwrap_err()
                .starts_with("client a: cannot read ./nope.pem")
        );
    }
}
