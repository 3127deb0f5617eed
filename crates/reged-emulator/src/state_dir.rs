//! The state directory: development certificates and client registrations kept on disk, so
//! that clients configured once keep working across restarts of the emulator.
//!
//! The first start writes every file; later starts read them back. `clients.json` is written
//! last and marks a complete directory: while it is missing, every file is generated anew.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
use serde::{Deserialize, Serialize};

use zeroize::Zeroize;

use crate::admin::AdminToken;
use crate::certs::{DevCerts, PemIdentity};
use crate::client_registration::ClientRegistration;
use crate::config::{DEV_CLIENT_ID, DEV_SCOPES, EmulatorConfig, OTHER_CLIENT_ID, Profile};
use crate::error::EmulatorError;
use crate::subject::SubjectName;

/// A directory holding the emulator's certificates, keys and client registrations.
///
/// `clients.json` lists the registered clients; each names, relative to the directory, the
/// certificate whose subject the client must present:
///
/// ```json
/// {
///   "clients": [
///     {
///       "client_id": "reged-dev-client",
///       "certificate": "client.pem",
///       "scopes": ["read", "write"],
///       "audiences": ["https://uatapi.reged.com", "https://api.reged.com"]
///     }
///   ]
/// }
/// ```
///
/// Only certificates of the development CA pass the TLS handshake, and the CA's private key is
/// not kept, so an entry can name only a certificate of this directory. Keeping a `ca.key`
/// would lift that, at the cost of one more secret on disk.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    certs: DevCerts,
    clients: Vec<ClientRegistration>,
    created: bool,
}

/// Whether a file holds a secret, and so is readable by its owner only.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    OwnerOnly,
}

impl StateDir {
    /// The development CA's certificate.
    pub const CA_CERT: &'static str = "ca.pem";
    /// The server's certificate.
    pub const SERVER_CERT: &'static str = "server.pem";
    /// The server's private key (mode 0600).
    pub const SERVER_KEY: &'static str = "server.key";
    /// The development client's certificate.
    pub const CLIENT_CERT: &'static str = "client.pem";
    /// The development client's private key (mode 0600).
    pub const CLIENT_KEY: &'static str = "client.key";
    /// The development client's identity as PKCS#12 (mode 0600).
    pub const CLIENT_PFX: &'static str = "client.pfx";
    /// The password of `client.pfx`, without a line ending (mode 0600).
    pub const CLIENT_PFX_PASSWORD: &'static str = "client.pfx.password";
    /// The second client's certificate.
    pub const OTHER_CLIENT_CERT: &'static str = "other-client.pem";
    /// The second client's private key (mode 0600).
    pub const OTHER_CLIENT_KEY: &'static str = "other-client.key";
    /// The client registrations.
    pub const CLIENTS: &'static str = "clients.json";
    /// The admin endpoint's URL and token of the running emulator (mode 0600).
    pub const ADMIN: &'static str = "admin.json";

    /// Every file of a state directory.
    pub const FILES: [&'static str; 10] = [
        StateDir::CA_CERT,
        StateDir::SERVER_CERT,
        StateDir::SERVER_KEY,
        StateDir::CLIENT_CERT,
        StateDir::CLIENT_KEY,
        StateDir::CLIENT_PFX,
        StateDir::CLIENT_PFX_PASSWORD,
        StateDir::OTHER_CLIENT_CERT,
        StateDir::OTHER_CLIENT_KEY,
        StateDir::CLIENTS,
    ];

    /// Reads the state directory at `dir`, or creates it (mode 0700) and writes new
    /// development certificates and the default registrations into it.
    ///
    /// The default registrations are those of [`EmulatorConfig::for_dev_certs`], except that
    /// each client may have tokens for the audiences of both profiles, so that one directory
    /// serves `uat` and `prod` alike.
    pub fn open_or_create(dir: impl AsRef<Path>) -> Result<StateDir, EmulatorError> {
        let path = dir.as_ref().to_path_buf();

        if path.join(StateDir::CLIENTS).exists() {
            StateDir::open(path)
        } else {
            StateDir::create(path)
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of one of its files, e.g. `state.file(StateDir::CA_CERT)`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Whether this call created the files, rather than read them.
    pub fn was_created(&self) -> bool {
        self.created
    }

    /// The certificates.
    pub fn certs(&self) -> &DevCerts {
        &self.certs
    }

    /// The registrations read from `clients.json`.
    pub fn clients(&self) -> &[ClientRegistration] {
        &self.clients
    }

    /// A configuration for `profile` with the registrations of `clients.json`.
    pub fn config(&self, profile: Profile) -> EmulatorConfig {
        self.clients
            .iter()
            .cloned()
            .fold(EmulatorConfig::new(profile), EmulatorConfig::with_client)
    }

    /// Writes the admin endpoint's URL and token, readable by the owner only, for
    /// `reged emulator faults`.
    pub fn write_admin_file(&self, url: &str, token: &AdminToken) -> Result<(), EmulatorError> {
        let path = self.path.join(StateDir::ADMIN);
        let mut json = serde_json::json!({ "url": url, "token": token.expose() }).to_string();
        let written = write_file(&path, json.as_bytes(), Access::OwnerOnly);
        json.zeroize();
        written
    }

    /// Reads the admin endpoint's URL and token that a running emulator wrote into `dir`.
    pub fn read_admin_file(dir: impl AsRef<Path>) -> Result<(String, AdminToken), EmulatorError> {
        #[derive(Deserialize)]
        struct AdminFile {
            url: String,
            token: String,
        }
        let path = dir.as_ref().join(StateDir::ADMIN);
        let mut text = read_string(&path)?;
        let parsed: Result<AdminFile, _> = serde_json::from_str(&text);
        text.zeroize();
        let file = parsed.map_err(|error| EmulatorError::StateFile {
            path: path.clone(),
            problem: "it is not the admin file of a running emulator".to_owned(),
            source: Some(Box::new(error)),
        })?;
        Ok((file.url, AdminToken::from_secret(file.token)))
    }

    fn create(path: PathBuf) -> Result<StateDir, EmulatorError> {
        create_private_dir(&path)?;
        refuse_partial_state(&path)?;
        let certs = DevCerts::generate()?;
        let (pfx, password) = certs.client_pfx();

        let files: [(&str, &[u8], Access); 9] = [
            (StateDir::CA_CERT, certs.ca_pem().as_bytes(), Access::Public),
            (
                StateDir::SERVER_CERT,
                certs.server().cert_pem().as_bytes(),
                Access::Public,
            ),
            (
                StateDir::SERVER_KEY,
                certs.server().key_pem().as_bytes(),
                Access::OwnerOnly,
            ),
            (
                StateDir::CLIENT_CERT,
                certs.client().cert_pem().as_bytes(),
                Access::Public,
            ),
            (
                StateDir::CLIENT_KEY,
                certs.client().key_pem().as_bytes(),
                Access::OwnerOnly,
            ),
            (StateDir::CLIENT_PFX, pfx, Access::OwnerOnly),
            (
                StateDir::CLIENT_PFX_PASSWORD,
                password.as_bytes(),
                Access::OwnerOnly,
            ),
            (
                StateDir::OTHER_CLIENT_CERT,
                certs.other_client().cert_pem().as_bytes(),
                Access::Public,
            ),
            (
                StateDir::OTHER_CLIENT_KEY,
                certs.other_client().key_pem().as_bytes(),
                Access::OwnerOnly,
            ),
        ];
        for (name, contents, access) in files {
            write_file(&path.join(name), contents, access)?;
        }

        let registrations = default_registrations();
        let json = serde_json::to_vec_pretty(&registrations).map_err(|error| {
            EmulatorError::WriteFile {
                path: path.join(StateDir::CLIENTS),
                source: error.into(),
            }
        })?;
        write_file(&path.join(StateDir::CLIENTS), &json, Access::Public)?;
        let clients = resolve_registrations(&path, registrations)?;

        tracing::info!(path = %path.display(), "state directory created");
        Ok(StateDir {
            path,
            certs,
            clients,
            created: true,
        })
    }

    fn open(path: PathBuf) -> Result<StateDir, EmulatorError> {
        let server = read_identity(&path, StateDir::SERVER_CERT, StateDir::SERVER_KEY)?;
        let client = read_identity(&path, StateDir::CLIENT_CERT, StateDir::CLIENT_KEY)?;
        let other_client = read_identity(
            &path,
            StateDir::OTHER_CLIENT_CERT,
            StateDir::OTHER_CLIENT_KEY,
        )?;
        let (pfx, password) = read_pfx(&path)?;

        let ca_path = path.join(StateDir::CA_CERT);
        let ca_pem = read_string(&ca_path)?;
        let certs = DevCerts::from_parts(ca_pem, server, client, pfx, password, other_client)
            .map_err(|error| state_file_error(&ca_path, "it holds no PEM certificate", error))?;

        let clients_path = path.join(StateDir::CLIENTS);
        let registrations: RegistrationsFile = serde_json::from_str(&read_string(&clients_path)?)
            .map_err(|error| {
            state_file_error(&clients_path, "it is not a valid registrations file", error)
        })?;
        let clients = resolve_registrations(&path, registrations)?;

        tracing::debug!(path = %path.display(), clients = clients.len(), "state directory read");
        Ok(StateDir {
            path,
            certs,
            clients,
            created: false,
        })
    }
}

/// `clients.json`: each client names the file of the certificate whose subject it must
/// present, relative to the state directory.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationsFile {
    clients: Vec<RegistrationEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationEntry {
    client_id: String,
    certificate: String,
    scopes: Vec<String>,
    audiences: Vec<String>,
}

fn default_registrations() -> RegistrationsFile {
    let entry = |client_id: &str, certificate: &str| RegistrationEntry {
        client_id: client_id.to_owned(),
        certificate: certificate.to_owned(),
        scopes: DEV_SCOPES.iter().map(|scope| scope.to_string()).collect(),
        audiences: Profile::ALL
            .iter()
            .map(|profile| profile.api_audience().to_owned())
            .collect(),
    };

    RegistrationsFile {
        clients: vec![
            entry(DEV_CLIENT_ID, StateDir::CLIENT_CERT),
            entry(OTHER_CLIENT_ID, StateDir::OTHER_CLIENT_CERT),
        ],
    }
}

fn resolve_registrations(
    dir: &Path,
    registrations: RegistrationsFile,
) -> Result<Vec<ClientRegistration>, EmulatorError> {
    registrations
        .clients
        .into_iter()
        .map(|entry| {
            let certificate_path = dir.join(&entry.certificate);
            let subject = SubjectName::from_certificate_pem(&read_string(&certificate_path)?)
                .map_err(|error| {
                    let problem = format!(
                        "it is the certificate of client {} but holds no PEM certificate",
                        entry.client_id
                    );
                    state_file_error(&certificate_path, problem, error)
                })?;

            Ok(ClientRegistration::new(entry.client_id, subject)
                .with_scopes(entry.scopes)
                .with_audiences(entry.audiences))
        })
        .collect()
}

fn read_identity(dir: &Path, cert: &str, key: &str) -> Result<PemIdentity, EmulatorError> {
    let cert_path = dir.join(cert);
    let key_path = dir.join(key);
    let cert_pem = read_string(&cert_path)?;
    let key_pem = read_string(&key_path)?;
    warn_if_readable_by_others(&key_path);

    PemIdentity::from_pem(cert_pem, key_pem).map_err(|error| {
        state_file_error(
            &cert_path,
            format!("it or its key {key} holds no PEM certificate or key"),
            error,
        )
    })
}

fn read_pfx(dir: &Path) -> Result<(Vec<u8>, String), EmulatorError> {
    let pfx_path = dir.join(StateDir::CLIENT_PFX);
    let password_path = dir.join(StateDir::CLIENT_PFX_PASSWORD);
    let pfx = fs::read(&pfx_path).map_err(|source| EmulatorError::ReadFile {
        path: pfx_path.clone(),
        source,
    })?;
    let password = read_string(&password_path)?.trim_end().to_owned();
    warn_if_readable_by_others(&password_path);

    KeyStore::from_pkcs12(&pfx, &password, Pkcs12ImportPolicy::Strict).map_err(|error| {
        let problem = format!(
            "it does not open with the password in {}",
            StateDir::CLIENT_PFX_PASSWORD
        );
        state_file_error(&pfx_path, problem, error)
    })?;

    Ok((pfx, password))
}

fn read_string(path: &Path) -> Result<String, EmulatorError> {
    fs::read_to_string(path).map_err(|source| EmulatorError::ReadFile {
        path: path.to_path_buf(),
        source,
    })
}

fn state_file_error(
    path: &Path,
    problem: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> EmulatorError {
    EmulatorError::StateFile {
        path: path.to_path_buf(),
        problem: problem.into(),
        source: Some(Box::new(source)),
    }
}

fn create_private_dir(path: &Path) -> Result<(), EmulatorError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);

    builder
        .create(path)
        .map_err(|source| EmulatorError::WriteFile {
            path: path.to_path_buf(),
            source,
        })?;
    warn_if_writable_by_others(path);
    Ok(())
}

/// Anyone who can write the directory can swap the certificates the emulator trusts.
fn warn_if_writable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = fs::metadata(path)
            && metadata.permissions().mode() & 0o022 != 0
        {
            tracing::warn!(
                dir = %path.display(),
                "the state directory can be written by other users; use a private directory"
            );
        }
    }
}

/// A directory with some of the files but no `clients.json` was left by an interrupted setup,
/// or belongs to something else: its files are not overwritten.
fn refuse_partial_state(path: &Path) -> Result<(), EmulatorError> {
    let present: Vec<&str> = StateDir::FILES
        .iter()
        .copied()
        .filter(|name| fs::symlink_metadata(path.join(name)).is_ok())
        .collect();
    if present.is_empty() {
        return Ok(());
    }
    Err(EmulatorError::WriteFile {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "it holds {} but no {}: delete those files or choose another directory",
                present.join(", "),
                StateDir::CLIENTS
            ),
        ),
    })
}

fn write_file(path: &Path, contents: &[u8], access: Access) -> Result<(), EmulatorError> {
    let error = |source| EmulatorError::WriteFile {
        path: path.to_path_buf(),
        source,
    };

    // New files only: an existing file, or a link planted where a key goes, is never written
    // through.
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if access == Access::OwnerOnly {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let mut file = options.open(path).map_err(error)?;

    file.write_all(contents).map_err(error)?;
    file.sync_all().map_err(error)
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).map(|metadata| metadata.permissions().mode());
        if mode.is_ok_and(|mode| mode & 0o077 != 0) {
            tracing::warn!(
                path = %path.display(),
                "secret file is readable by other users; chmod 600 it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
