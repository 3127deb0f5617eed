//! `reged emulator`: the local authorization server and API, until Ctrl-C or SIGTERM.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reged_emulator::admin::{AdminSettings, AdminToken};
use reged_emulator::{
    DEV_CLIENT_ID, DEV_SCOPES, Emulator, Profile, StateDir, TOKEN_PATH, read_config_file,
};

use crate::cli;
use crate::exit;
use crate::failure::Failure;
use crate::output::print_line;

pub async fn run(args: cli::EmulatorRunArgs) -> Result<(), Failure> {
    let dir = args.state_dir.unwrap_or_else(default_state_dir);
    let profile = match args.profile {
        cli::Profile::Uat => Profile::Uat,
        cli::Profile::Prod => Profile::Prod,
    };
    let listen: SocketAddr = args.listen;

    // The settings first: a bad one should not leave a new state directory behind.
    let config_file = args.config.as_deref().map(read_config_file).transpose()?;
    let issuer = args.issuer.as_deref().map(checked_issuer).transpose()?;

    let state = StateDir::open_or_create(&dir)?;
    claim_admin_file(&state, &dir)?;
    let mut config = state.config(profile);
    if let Some(config_file) = config_file {
        config = config_file.apply(config);
    }
    if let Some(issuer) = issuer {
        config = config.with_issuer(issuer);
    }
    let admin_token = AdminToken::generate()?;
    config = config.with_admin(AdminSettings {
        listen: args.admin_listen,
        token: admin_token.clone(),
    });
    let running = Emulator::start(config, state.certs(), listen)
        .await
        .map_err(|error| {
            if is_address_in_use(&error) {
                Failure::with_cause(
                    exit::CONFIG,
                    format!(
                        "{listen} or the admin address is taken, perhaps by another emulator: \
                         stop it or pick other addresses with --listen and --admin-listen"
                    ),
                    error,
                )
            } else {
                error.into()
            }
        })?;
    if let Some(admin_url) = running.admin_url() {
        state.write_admin_file(&admin_url, &admin_token)?;
    }
    let base_url = reachable_base_url(running.local_addr());
    let token_url = format!("{base_url}{TOKEN_PATH}");

    if state.was_created() {
        print_line(&format!(
            "wrote development certificates to {}",
            dir.display()
        ))?;
    }
    // Quoted for a POSIX shell, so that the command can be pasted whatever the path holds.
    let file = |name: &str| shell_quoted(&state.file(name).display().to_string());
    print_line(&format!(
        "reged emulator ({profile} profile, {}s tokens) listening on {}\n\n\
         fetch a token with:\n\n  \
         reged token --token-url {} --api-base {} \\\n    \
         --client-id {DEV_CLIENT_ID} --audience {} --scope \"{}\" \\\n    \
         --cert {} --key {} --ca {}\n\n\
         or with the PFX: --pfx {} --password-file {}\n\n\
         change faults with `reged emulator faults set --help`; press Ctrl-C to stop",
        profile.token_lifetime().as_secs(),
        running.local_addr(),
        token_url,
        base_url,
        running.api_audience(),
        DEV_SCOPES.join(" "),
        file(StateDir::CLIENT_CERT),
        file(StateDir::CLIENT_KEY),
        file(StateDir::CA_CERT),
        file(StateDir::CLIENT_PFX),
        file(StateDir::CLIENT_PFX_PASSWORD),
    ))?;

    let stopped = stop_signal().await;
    running.shutdown().await;
    let _ = std::fs::remove_file(state.file(StateDir::ADMIN));
    stopped
}

/// Waits for Ctrl-C, or for SIGTERM (what `kill`, `timeout`, systemd and container runtimes
/// send), so that either stops the emulator cleanly.
async fn stop_signal() -> Result<(), Failure> {
    let failed = |error: std::io::Error| {
        Failure::new(
            exit::FAILURE,
            format!("could not wait for a stop signal: {error}"),
        )
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).map_err(failed)?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted.map_err(failed),
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.map_err(failed)
}

/// An admin file left by an emulator that was killed is removed, so that this one can write
/// its own; one whose endpoint still answers belongs to an emulator running on this state
/// directory, whose faults commands must keep working, so that is an error.
fn claim_admin_file(state: &StateDir, dir: &Path) -> Result<(), Failure> {
    let path = state.file(StateDir::ADMIN);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(());
    }
    if let Ok((url, _)) = StateDir::read_admin_file(dir)
        && admin_endpoint_answers(&url)
    {
        return Err(Failure::new(
            exit::CONFIG,
            format!(
                "another emulator is running on the state directory {} (its admin endpoint \
                 {url} answers): stop it, or give this one its own --state-dir",
                dir.display()
            ),
        ));
    }

    std::fs::remove_file(&path).map_err(|error| {
        Failure::new(
            exit::CONFIG,
            format!(
                "could not remove {}, left by an emulator that is no longer running: {error}; \
                 delete it by hand",
                path.display()
            ),
        )
    })?;
    tracing::info!(path = %path.display(), "removed the admin file of a stopped emulator");
    Ok(())
}

fn admin_endpoint_answers(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return false;
    };
    let Ok(mut addrs) = (host.trim_matches(['[', ']']), port).to_socket_addrs() else {
        return false;
    };
    addrs.any(|addr| TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok())
}

/// An issuer is an https URL with no query or fragment (RFC 8414 section 2), and no user
/// name or password, which every token would carry in its `iss`.
fn checked_issuer(issuer: &str) -> Result<String, Failure> {
    let valid = url::Url::parse(issuer).is_ok_and(|url| {
        url.scheme() == "https"
            && url.has_host()
            && url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.fragment().is_none()
    });
    if !valid {
        return Err(Failure::new(
            exit::CONFIG,
            format!(
                "--issuer: `{issuer}` is not an https URL without user, query or fragment \
                 (RFC 8414 section 2), such as https://localhost:8443"
            ),
        ));
    }
    Ok(issuer.to_owned())
}

/// `text` as one word for a POSIX shell: as it is when that is safe, quoted otherwise.
fn shell_quoted(text: &str) -> String {
    shlex::try_quote(text)
        .map(|quoted| quoted.into_owned())
        .unwrap_or_else(|_| text.to_owned())
}

/// The URL a client on this machine uses: the development server certificate names
/// `localhost`, `127.0.0.1` and `::1`.
fn reachable_base_url(addr: SocketAddr) -> String {
    let port = addr.port();
    match addr.ip() {
        ip if ip.is_unspecified() || ip == IpAddr::V4(Ipv4Addr::LOCALHOST) => {
            format!("https://localhost:{port}")
        }
        IpAddr::V6(ip) => format!("https://[{ip}]:{port}"),
        IpAddr::V4(ip) => {
            tracing::warn!(
                address = %ip,
                "the development server certificate names only localhost, 127.0.0.1 and ::1"
            );
            format!("https://{ip}:{port}")
        }
    }
}

fn is_address_in_use(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse)
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// `$XDG_STATE_HOME/reged/emulator` or the platform's equivalent.
pub fn default_state_dir() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("reged")
        .join("emulator")
}
