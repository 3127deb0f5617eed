//! The HTTPS server: a TLS accept loop that verifies client certificates against the
//! development CA, serves HTTP/1.1 and HTTP/2 (by ALPN) with hyper, and hands each request to
//! the router with the connection's client certificate attached.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tower::Service;

use crate::admin::{self, AdminSettings};
use crate::app::{self, AppState, TOKEN_PATH};
use crate::certs::DevCerts;
use crate::client_certificate::ClientCertificate;
use crate::config::{EmulatorConfig, Profile};
use crate::error::EmulatorError;
use crate::faults::{FaultSettings, InvalidFaults};
use crate::jwt::SigningKeys;
use crate::proxy_header;
use crate::tls::{self, ClientVerifier};

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for requests in flight before it drops their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Starts emulators.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Listens on `listen` (port 0 picks a free port) and serves the token endpoint and the
    /// API over TLS with the server certificate of `certs`, asking clients for a certificate
    /// issued by the development CA.
    ///
    /// A client without a certificate gets through the handshake and is refused by the token
    /// endpoint and the API in OAuth terms; a certificate the CA did not issue fails the
    /// handshake. The emulator is meant for loopback; it warns when `listen` is not.
    pub async fn start(
        config: EmulatorConfig,
        certs: &DevCerts,
        listen: SocketAddr,
    ) -> Result<RunningEmulator, EmulatorError> {
        let verifier = Arc::new(ClientVerifier::new(certs, &config)?);
        let config_admin = config.admin().cloned();
        let acceptor = TlsAcceptor::from(Arc::new(tls::server_config(certs, verifier.clone())?));

        let (listener, local_addr) = bind(listen).await?;
        if !local_addr.ip().is_loopback() {
            tracing::warn!(%local_addr, "the emulator listens beyond loopback");
        }

        let base_url = base_url(local_addr);
        let keys = SigningKeys::generate()?;
        let state = Arc::new(AppState::new(config, keys, base_url, verifier));
        let router = app::router(state.clone());

        let admin = match config_admin {
            Some(admin) => Some(start_admin(admin, state.clone()).await?),
            None => None,
        };

        let (shutdown, shutdown_signal) = oneshot::channel();
        let task = tokio::spawn(accept_loop(
            listener,
            acceptor,
            router,
            state.clone(),
            shutdown_signal,
        ));
        tracing::info!(
            %local_addr,
            profile = %state.config.profile(),
            clients = state.config.clients().len(),
            "emulator listening"
        );

        Ok(RunningEmulator {
            local_addr,
            admin,
            state,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }
}

/// A started emulator. Dropping it stops the server without waiting; [`shutdown`] waits for
/// requests in flight.
///
/// [`shutdown`]: RunningEmulator::shutdown
#[derive(Debug)]
pub struct RunningEmulator {
    local_addr: SocketAddr,
    admin: Option<(SocketAddr, JoinHandle<()>)>,
    state: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `https://localhost:PORT` (the host is the listening IP when it is not loopback).
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// The URL of `path` on this server; `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The token endpoint: `https://localhost:PORT/oauth/token`.
    pub fn token_url(&self) -> String {
        self.url(TOKEN_PATH)
    }

    /// The profile the emulator imitates.
    pub fn profile(&self) -> Profile {
        self.state.config.profile()
    }

    /// The `iss` of the tokens it issues.
    pub fn issuer(&self) -> &str {
        self.state.config.issuer()
    }

    /// The audience its API accepts.
    pub fn api_audience(&self) -> &'static str {
        self.profile().api_audience()
    }

    /// How many requests reached the token endpoint, whatever their outcome.
    pub fn token_requests(&self) -> u64 {
        self.state.token_requests()
    }

    /// How many access tokens the token endpoint issued.
    pub fn tokens_issued(&self) -> u64 {
        self.state.tokens_issued()
    }

    /// Makes the token endpoint wait this long before it answers each request from now on;
    /// zero (the default) answers at once.
    pub fn set_token_delay(&self, delay: Duration) {
        self.state.set_token_delay(delay);
    }

    /// `http://127.0.0.1:PORT` of the admin endpoint, when it was asked for.
    pub fn admin_url(&self) -> Option<String> {
        self.admin
            .as_ref()
            .map(|(addr, _)| format!("http://{addr}"))
    }

    /// The faults in force.
    pub fn faults(&self) -> FaultSettings {
        self.state.faults.get()
    }

    /// Puts `faults` in force from the next request on, if they are valid.
    pub fn set_faults(&self, faults: FaultSettings) -> Result<(), InvalidFaults> {
        self.state.faults.set(faults)?;
        tracing::info!(faults = ?self.state.faults.get(), "faults changed");
        Ok(())
    }

    /// Signs tokens with a new key from now on and drops the old one at once, as after a key
    /// compromise: the API then refuses every token issued before with `invalid_token`. See
    /// [`roll_signing_key`](RunningEmulator::roll_signing_key) for a planned rotation.
    ///
    /// # Panics
    ///
    /// If no P-256 key can be generated, which means the system's random number generator
    /// failed; [`Emulator::start`] reports the same failure as an error.
    pub fn rotate_signing_key(&self) {
        if let Err(error) = self.state.keys.rotate(Duration::ZERO) {
            panic!("could not rotate the signing key: {error}");
        }
        tracing::info!(kid = %self.state.keys.current_kid(), "signing key rotated");
    }

    /// Signs tokens with a new key from now on, and keeps publishing the old one (in the JWKS,
    /// and for the API) for `overlap`, so that tokens it signed stay valid meanwhile.
    ///
    /// # Panics
    ///
    /// As [`rotate_signing_key`](RunningEmulator::rotate_signing_key).
    pub fn roll_signing_key(&self, overlap: Duration) {
        if let Err(error) = self.state.keys.rotate(overlap) {
            panic!("could not rotate the signing key: {error}");
        }
        tracing::info!(
            kid = %self.state.keys.current_kid(),
            overlap_s = overlap.as_secs(),
            "signing key rolled"
        );
    }

    /// The key ids the JWKS publishes now, the current key first.
    pub fn published_kids(&self) -> Vec<String> {
        self.state
            .keys
            .jwks()
            .keys
            .into_iter()
            .filter_map(|key| key.common.key_id)
            .collect()
    }

    /// Stops accepting connections, lets requests in flight finish (for five seconds at most)
    /// and returns when the server has stopped.
    pub async fn shutdown(mut self) {
        if let Some((_, admin)) = self.admin.take() {
            admin.abort();
        }
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some((_, admin)) = self.admin.take() {
            admin.abort();
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Serves the admin endpoint on a loopback address.
/// A listener on `listen`, and the address it got (the port, when `listen` asked for 0).
async fn bind(listen: SocketAddr) -> Result<(TcpListener, SocketAddr), EmulatorError> {
    let error = |source| EmulatorError::Listen {
        addr: listen,
        source,
    };
    let listener = TcpListener::bind(listen).await.map_err(error)?;
    let local_addr = listener.local_addr().map_err(error)?;
    Ok((listener, local_addr))
}

async fn start_admin(
    admin: AdminSettings,
    state: Arc<AppState>,
) -> Result<(SocketAddr, JoinHandle<()>), EmulatorError> {
    let listen = admin.listen;
    if !listen.ip().is_loopback() {
        return Err(EmulatorError::AdminNotLoopback(listen));
    }
    let (listener, addr) = bind(listen).await?;
    let router = admin::router(state, admin.token);

    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::warn!(%error, "the admin endpoint stopped");
        }
    });
    tracing::info!(%addr, "admin endpoint listening");
    Ok((addr, task))
}

fn base_url(local_addr: SocketAddr) -> String {
    let ip = local_addr.ip();
    let port = local_addr.port();
    match ip {
        _ if ip.is_loopback() => format!("https://localhost:{port}"),
        std::net::IpAddr::V6(ip) => format!("https://[{ip}]:{port}"),
        std::net::IpAddr::V4(ip) => format!("https://{ip}:{port}"),
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    state: Arc<AppState>,
    mut shutdown_signal: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();

    loop {
        tokio::select! {
            _ = &mut shutdown_signal => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, remote)) => {
                    let connection = serve_connection(
                        tcp,
                        remote,
                        acceptor.clone(),
                        router.clone(),
                        state.clone(),
                        graceful.watcher(),
                    );
                    connections.spawn(connection);
                }
                Err(error) => {
                    // Typically out of file descriptors: pause rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }

    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        graceful.shutdown().await;
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still busy at shutdown; dropping them"
        );
    }
    tracing::info!("emulator stopped");
}

async fn serve_connection(
    tcp: TcpStream,
    remote: SocketAddr,
    acceptor: TlsAcceptor,
    router: Router,
    state: Arc<AppState>,
    watcher: hyper_util::server::graceful::Watcher,
) {
    // Small answers go out at once: without this, Nagle's algorithm and the peer's delayed
    // acknowledgements hold a token response back for up to 40 ms.
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%remote, %error, "could not set TCP_NODELAY");
    }
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => {
            tracing::info!(%remote, %error, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::info!(%remote, "TLS handshake timed out");
            return;
        }
    };

    let (_, session) = tls.get_ref();
    let certificate = session
        .peer_certificates()
        .and_then(ClientCertificate::from_chain);
    tracing::debug!(
        %remote,
        alpn = ?session.alpn_protocol().map(String::from_utf8_lossy),
        client_certificate = certificate.is_some(),
        "TLS connection"
    );

    let from_proxy = proxy_header::is_trusted_proxy(state.config.trusted_proxies(), remote.ip());
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let certificate = if from_proxy {
            forwarded_certificate(&state, request.headers(), remote, certificate.as_ref())
        } else {
            proxy_header::strip(request.headers_mut());
            certificate.clone()
        };
        if let Some(certificate) = certificate {
            // The resource server layer reads the peer certificate, the authorization
            // server the names parsed with it.
            request.extensions_mut().insert(certificate.peer().clone());
            request.extensions_mut().insert(certificate);
        }
        router.clone().call(request)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // One buffer per answer, so that headers and body go out as one TLS record rather than
    // one each: half the encryptions here, and half the decryptions at the client.
    builder.http1().writev(false);
    let connection = builder
        .serve_connection(TokioIo::new(tls), service)
        .into_owned();

    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%remote, %error, "connection ended with an error");
    }
}

/// The certificate a trusted proxy forwarded, if it is one the handshake would have taken;
/// without a forwarded one, the connection's own (a client that connects directly from the
/// proxy's address, as on loopback).
fn forwarded_certificate(
    state: &AppState,
    headers: &hyper::HeaderMap,
    remote: SocketAddr,
    connection_certificate: Option<&ClientCertificate>,
) -> Option<ClientCertificate> {
    match proxy_header::forwarded_chain(headers) {
        Ok(Some(chain)) if state.verifier.verify_chain(&chain) => {
            ClientCertificate::from_chain(&chain)
        }
        Ok(Some(_)) => {
            tracing::info!(%remote, "proxy forwarded a certificate that is not trusted");
            None
        }
        Ok(None) => connection_certificate.cloned(),
        Err(error) => {
            tracing::info!(%remote, %error, "proxy forwarded an unreadable certificate");
            None
        }
    }
}
