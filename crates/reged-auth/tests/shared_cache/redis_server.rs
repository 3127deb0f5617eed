//! Real `redis-server` processes on free loopback ports, stopped when dropped.
//!
//! The binary is `redis-server` from `PATH`, or the one `REGED_REDIS_SERVER` names; `redis-cli`
//! (for creating a cluster) is looked for beside it, then on `PATH`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `redis-server` without persistence.
pub struct RedisServer {
    port: u16,
    args: Vec<String>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// A server on a free port.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Self {
        let port = free_port();
        let mut server = Self {
            port,
            args: extra.iter().map(|arg| arg.to_string()).collect(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        server.spawn();
        server
    }

    /// A server that also serves TLS on another port, with this certificate and key (PEM files).
    pub fn start_tls(cert: &Path, key: &Path, ca: &Path) -> (Self, u16) {
        let tls_port = free_port().to_string();
        let server = Self::start_with(&[
            "--tls-port",
            &tls_port,
            "--tls-cert-file",
            cert.to_str().unwrap(),
            "--tls-key-file",
            key.to_str().unwrap(),
            "--tls-ca-cert-file",
            ca.to_str().unwrap(),
            "--tls-auth-clients",
            "no",
        ]);
        (server, tls_port.parse().unwrap())
    }

    /// A server that asks for `password` (`requirepass`).
    pub fn start_with_password(password: &str) -> Self {
        Self::start_with(&["--requirepass", password])
    }

    /// A read-only replica of `primary`.
    pub fn start_replica_of(primary: &RedisServer) -> Self {
        let port = primary.port.to_string();
        Self::start_with(&["--replicaof", "127.0.0.1", &port])
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server; its data is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let mut command = Command::new(server_binary());
        command
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--dir", self.dir.path().to_str().unwrap()])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().unwrap_or_else(|error| {
            panic!(
                "could not start {}: {error}; install redis-server or set REGED_REDIS_SERVER",
                server_binary().display()
            )
        });
        self.child = Some(child);
        wait_for_ping(self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Three primaries of a Redis Cluster, no replicas.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three nodes and joins them into a cluster whose slots are all served.
    pub fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                RedisServer::start_with(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-node-timeout",
                    "2000",
                ])
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();

        let created = Command::new(cli_binary())
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("could not run redis-cli");
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );

        for node in &nodes {
            wait_until(Duration::from_secs(20), || {
                cli(node.port, &["cluster", "info"]).contains("cluster_state:ok")
            });
        }
        Self { nodes }
    }

    /// The nodes' URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }
}

fn server_binary() -> PathBuf {
    std::env::var_os("REGED_REDIS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

fn cli_binary() -> PathBuf {
    if let Some(server) = std::env::var_os("REGED_REDIS_SERVER") {
        let beside = PathBuf::from(server).with_file_name("redis-cli");
        if beside.exists() {
            return beside;
        }
    }
    PathBuf::from("redis-cli")
}

fn cli(port: u16, args: &[&str]) -> String {
    let output = Command::new(cli_binary())
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("could not run redis-cli");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn wait_for_ping(port: u16) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    wait_until(Duration::from_secs(10), || {
        match client
            .get_connection_with_timeout(Duration::from_millis(200))
            .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection))
        {
            Ok(_) => true,
            // A server with a password answers, and that is all this waits for.
            Err(error) => error.code() == Some("NOAUTH"),
        }
    });
}

fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < limit,
            "redis did not get ready within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
