//! Token issuance: our emulator (the `reged emulator` binary) against node-oidc-provider 9
//! (interop/node), both as separate processes on loopback, under the same load generator,
//! in the same run. The load generator presents the client certificate on every connection.
//!
//! Two scenarios per server: keep-alive (each worker reuses one HTTP/1.1 TLS connection) and
//! new connection (each request opens a new TCP + TLS connection with a full handshake, no
//! session resumption). Reports tokens/s, p50 and p99 latency, the server's CPU time per
//! token (tokens per CPU-second is the per-core rate) and its resident memory, with our
//! numbers as ratios of node-oidc-provider's.
//!
//! The load generator is hyper's client connection over tokio-rustls with a request built
//! once, so that it takes as little of the shared CPU as it can: the servers' rates are what
//! is measured, not the generator's.
//!
//! `cargo bench -p reged --bench token_issuance`; needs `node` and `npm ci` in interop/node
//! for the baseline. BENCH_SECONDS (default 5) and BENCH_CONCURRENCY (default 16) tune it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use reged_emulator::StateDir;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{PrivateKeyDer, ServerName};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_rustls::TlsConnector;

const TOKEN_FORM: &str = "grant_type=client_credentials&client_id=reged-dev-client\
    &audience=https%3A%2F%2Fuatapi.reged.com&scope=read+write";

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Server {
    name: &'static str,
    port: u16,
    token_path: &'static str,
    child: Child,
}

/// Where the generator sends token requests, and how it connects.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    host: String,
    path: &'static str,
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl Target {
    fn new(server: &Server, tls: rustls::ClientConfig) -> Target {
        Target {
            addr: SocketAddr::from(([127, 0, 0, 1], server.port)),
            host: format!("localhost:{}", server.port),
            path: server.token_path,
            connector: TlsConnector::from(Arc::new(tls)),
            server_name: ServerName::try_from("localhost").unwrap(),
        }
    }

    /// A new TCP and TLS connection speaking HTTP/1.1.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Error> {
        let tcp = TcpStream::connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        let tls = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await?;
        let (sender, connection) = http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// One token request on `sender`; whether a 200 with a body came back.
    async fn request_token(&self, sender: &mut SendRequest<Full<Bytes>>) -> Result<bool, Error> {
        sender.ready().await?;
        let request = hyper::Request::post(self.path)
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(Full::new(Bytes::from_static(TOKEN_FORM.as_bytes())))?;

        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(status == 200 && !body.is_empty())
    }
}

#[derive(Clone, Copy)]
struct Measured {
    tokens_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    server_cpu_s: f64,
    generator_cpu_s: f64,
    elapsed_s: f64,
    tokens: u64,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for_line(child: &mut Child, prefix: &str) {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let prefix = prefix.to_owned();
    tokio::time::timeout(Duration::from_secs(60), async move {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains(&prefix) {
                // Keep draining so the child never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return;
            }
        }
        panic!("the server stopped before it was ready");
    })
    .await
    .expect("the server starts within 60 s");
}

async fn start_emulator(state_dir: &Path) -> Server {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_reged"))
        .args(["emulator", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", "127.0.0.1:0", "--state-dir"])
        .arg(state_dir)
        .env("REGED_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_for_line(&mut child, "listening on").await;
    Server {
        name: "reged emulator",
        port,
        token_path: "/oauth/token",
        child,
    }
}

async fn start_node(state_dir: &Path) -> Option<Server> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/node");
    if !dir.join("node_modules/oidc-provider").exists() {
        eprintln!("node-oidc-provider is not installed (npm ci in interop/node): no baseline");
        return None;
    }
    let port = free_port();
    let mut child = Command::new("node")
        .arg("provider.js")
        .arg(state_dir)
        .arg(port.to_string())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    wait_for_line(&mut child, "listening").await;
    Some(Server {
        name: "node-oidc-provider",
        port,
        token_path: "/token",
        child,
    })
}

fn tls_config(state: &StateDir, resumption: bool) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(state.certs().ca_der().clone()).unwrap();
    let client = state.certs().client();
    let key = PrivateKeyDer::from_pem_slice(client.key_pem().as_bytes()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![client.certificate_der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if !resumption {
        config.resumption = rustls::client::Resumption::disabled();
    }
    config
}

/// utime + stime of a process (`self` for this one), in seconds.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / clock_ticks()
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// VmRSS and VmHWM of a process, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn measure(
    server: &Server,
    state: &StateDir,
    keep_alive: bool,
    concurrency: usize,
    duration: Duration,
) -> Measured {
    let pid = server.child.id().unwrap().to_string();
    let target = Target::new(server, tls_config(state, keep_alive));

    // Warm up: connections, JIT, caches.
    let mut warm = target.connect().await.unwrap();
    for _ in 0..50 {
        let ok = target.request_token(&mut warm).await.unwrap();
        assert!(ok, "{} refused the warm-up", server.name);
    }
    drop(warm);

    let cpu_before = cpu_seconds(&pid);
    let generator_cpu_before = cpu_seconds("self");
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let target = target.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut kept = None;
            while Instant::now() < deadline {
                let sent = Instant::now();
                let ok = match kept.take() {
                    Some(sender) => Ok(sender),
                    None => target.connect().await,
                };
                let ok = match ok {
                    Ok(mut sender) => {
                        let ok = target.request_token(&mut sender).await;
                        if keep_alive && ok.is_ok() {
                            kept = Some(sender);
                        }
                        ok.unwrap_or(false)
                    }
                    Err(_) => false,
                };
                if ok {
                    latencies.push(sent.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mut found, failed) = worker.await.unwrap();
        latencies.append(&mut found);
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let server_cpu_s = cpu_seconds(&pid) - cpu_before;
    let generator_cpu_s = cpu_seconds("self") - generator_cpu_before;

    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN)
    };
    Measured {
        tokens_per_s: latencies.len() as f64 / elapsed,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        errors,
        server_cpu_s,
        generator_cpu_s,
        elapsed_s: elapsed,
        tokens: latencies.len() as u64,
    }
}

fn print_row(
    name: &str,
    scenario: &str,
    m: &Measured,
    memory: (f64, f64),
    baseline: Option<&Measured>,
) {
    let per_cpu_s = m.tokens as f64 / m.server_cpu_s.max(1e-9);
    let ratio = baseline
        .map(|b| format!("{:>7.1}x", m.tokens_per_s / b.tokens_per_s))
        .unwrap_or_else(|| "       -".into());
    let server_cores = m.server_cpu_s / m.elapsed_s;
    let generator_cores = m.generator_cpu_s / m.elapsed_s;
    println!(
        "{name:<20} {scenario:<15} {:>9.0} {ratio} {:>8.2} {:>8.2} {:>12.0} {:>9.2} {:>9.2} \
         {:>8.1} {:>8.1} {:>6}",
        m.tokens_per_s,
        m.p50_ms,
        m.p99_ms,
        per_cpu_s,
        server_cores,
        generator_cores,
        memory.0,
        memory.1,
        m.errors
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let duration = Duration::from_secs(seconds);

    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::open_or_create(dir.path()).unwrap();
    let emulator = start_emulator(dir.path()).await;
    let node = start_node(dir.path()).await;

    println!(
        "token issuance, {concurrency} workers, {seconds} s per scenario, {} cores shared by servers and load generator",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "{:<20} {:<15} {:>9} {:>8} {:>8} {:>8} {:>12} {:>9} {:>9} {:>8} {:>8} {:>6}",
        "server",
        "scenario",
        "tokens/s",
        "vs node",
        "p50 ms",
        "p99 ms",
        "tokens/cpu-s",
        "srv cores",
        "gen cores",
        "RSS MiB",
        "peak MiB",
        "errors"
    );
    for (scenario, keep_alive) in [("keep-alive", true), ("new connection", false)] {
        let baseline = match &node {
            Some(node) => {
                let measured = measure(node, &state, keep_alive, concurrency, duration).await;
                let memory = memory_mib(node.child.id().unwrap());
                print_row(node.name, scenario, &measured, memory, None);
                Some(measured)
            }
            None => None,
        };
        let measured = measure(&emulator, &state, keep_alive, concurrency, duration).await;
        let memory = memory_mib(emulator.child.id().unwrap());
        print_row(
            emulator.name,
            scenario,
            &measured,
            memory,
            baseline.as_ref(),
        );
    }
}
