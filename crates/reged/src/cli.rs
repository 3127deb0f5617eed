//! The command line, one definition per flag: its help text and its environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Call APIs protected by mutual TLS and OAuth 2.0 client credentials, first of all RegEd's.
#[derive(Debug, Parser)]
#[command(
    name = "reged",
    version,
    propagate_version = true,
    args_override_self = true
)]
pub struct Cli {
    /// Log level on stderr: error, warn, info, debug or trace. Logs never show a token, key or
    /// password.
    #[arg(long, global = true, env = "REGED_LOG", default_value = "warn")]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch an access token and print it (only the token, so `$(reged token)` works).
    Token {
        #[command(flatten)]
        client: ClientArgs,
        /// Print the whole response as JSON, with the computed expiry time.
        #[arg(long)]
        json: bool,
    },
    /// Call the API with a token and the client certificate, and print the response body.
    Call {
        #[command(flatten)]
        client: ClientArgs,
        /// The HTTP method: GET, POST, PUT, PATCH, DELETE...
        method: String,
        /// The path under the API base, starting with `/`.
        path: String,
        /// The request body; `@FILE` reads it from a file, `@-` from standard input.
        #[arg(short = 'd', long = "data")]
        data: Option<String>,
        /// A request header, `Name: value`; may be repeated.
        #[arg(short = 'H', long = "header")]
        headers: Vec<String>,
        /// Print the status line and response headers to stderr.
        #[arg(short = 'i', long)]
        include: bool,
    },
    /// Run the local emulator of RegEd's authorization server and API, or change a running
    /// one's faults.
    #[command(args_conflicts_with_subcommands = true)]
    Emulator {
        #[command(subcommand)]
        action: Option<EmulatorAction>,
        #[command(flatten)]
        run: EmulatorRunArgs,
    },
    /// Write development certificates (CA, server, client as PEM and PFX) into a directory.
    DevCerts {
        /// The directory; created if missing. Existing certificates are kept.
        dir: PathBuf,
    },
    /// Run the whole flow on loopback: start the emulator, fetch a token, call the API twice.
    Demo,
    /// Look at or empty the shared token cache (`--cache`).
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// List the cached tokens: entry, client id, audience, scopes and remaining life; never the
    /// token itself.
    List {
        /// Print JSON, one object an entry.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Delete every cached token and lease under the prefix; other keys there are left alone.
    Clear {
        #[command(flatten)]
        cache: CacheArgs,
    },
}

/// The shared token cache, in Redis.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Share tokens through Redis: redis://host:port or rediss://host:port (TLS); for a cluster,
    /// several nodes separated by commas, with --cache-cluster.
    #[arg(long = "cache", env = "REGED_CACHE_URL", value_name = "URL")]
    pub url: Option<String>,
    /// The --cache nodes are a Redis Cluster.
    #[arg(long, env = "REGED_CACHE_CLUSTER")]
    pub cache_cluster: bool,
    /// CA certificates (PEM) to trust for a rediss:// cache, instead of the system's.
    #[arg(long, env = "REGED_CACHE_CA", value_name = "FILE")]
    pub cache_ca: Option<PathBuf>,
    /// Prefix of the cache's keys; `reged:token:` by default.
    #[arg(long, env = "REGED_CACHE_PREFIX", value_name = "PREFIX")]
    pub cache_prefix: Option<String>,
    /// Read the cache encryption key (64 hex digits or base64 of 32 bytes) from this file
    /// instead of deriving it from the client's private key.
    #[arg(long, value_name = "FILE")]
    pub cache_key_file: Option<PathBuf>,
    /// Read the cache encryption key from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "cache_key_file")]
    pub cache_key_env: Option<String>,
}

/// How to run the emulator.
#[derive(Debug, Args)]
pub struct EmulatorRunArgs {
    /// The address to listen on; loopback by default.
    #[arg(long, env = "REGED_EMULATOR_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Which RegEd environment to imitate: token lifetimes of 900 s (uat) or 3600 s (prod).
    #[arg(long, value_enum, default_value = "uat")]
    pub profile: Profile,
    /// Where the development certificates and client registrations are kept.
    #[arg(long, env = "REGED_EMULATOR_STATE")]
    pub state_dir: Option<PathBuf>,
    /// A TOML file of more clients (`[[clients]]`), `trusted_proxies` and `[faults]`.
    #[arg(long, env = "REGED_EMULATOR_CONFIG")]
    pub config: Option<PathBuf>,
    /// The `iss` of tokens and metadata, instead of the profile's RegEd-shaped one (e.g. the
    /// emulator's own https://localhost:PORT, for clients that check RFC 8414's issuer rule).
    #[arg(long, env = "REGED_EMULATOR_ISSUER")]
    pub issuer: Option<String>,
    /// The loopback address of the admin endpoint that `reged emulator faults` talks to.
    #[arg(long, env = "REGED_EMULATOR_ADMIN", default_value = "127.0.0.1:8444")]
    pub admin_listen: SocketAddr,
}

/// What to do to a running emulator, through its admin endpoint.
#[derive(Debug, Subcommand)]
pub enum EmulatorAction {
    /// Show, set or clear the faults of a running emulator.
    Faults {
        #[command(subcommand)]
        action: FaultsAction,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Sign with a new key; the old one stays published for the overlap.
    RotateKey {
        /// Seconds the old key stays published and valid; 0 drops it at once.
        #[arg(long, default_value_t = 0)]
        overlap: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// How to reach the admin endpoint of a running emulator.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The state directory of the running emulator, which holds its admin.json.
    #[arg(long, env = "REGED_EMULATOR_STATE", global = true)]
    pub state_dir: Option<PathBuf>,
}

/// What to do with the faults.
#[derive(Debug, Subcommand)]
pub enum FaultsAction {
    /// Print the faults in force as JSON.
    Show,
    /// Change the faults given; the others keep their values.
    Set(FaultArgs),
    /// Back to no faults.
    Clear,
}

/// The faults to change.
#[derive(Debug, Args)]
pub struct FaultArgs {
    /// Which requests: all, token or api.
    #[arg(long, value_enum)]
    pub target: Option<FaultTargetArg>,
    /// Milliseconds added before each answer.
    #[arg(long)]
    pub latency_ms: Option<u64>,
    /// Share of requests (0 to 1) answered with the failure status.
    #[arg(long)]
    pub failure_rate: Option<f64>,
    /// 500, 502 (HTML body), 503 or 429 (with Retry-After).
    #[arg(long)]
    pub failure_status: Option<u16>,
    /// The Retry-After of 429 and 503 answers, seconds.
    #[arg(long)]
    pub retry_after: Option<u64>,
    /// Share of requests (0 to 1) whose connection is closed mid-response.
    #[arg(long)]
    pub close_rate: Option<f64>,
    /// Lifetime of every new token, seconds (e.g. 5, to watch refresh).
    #[arg(long)]
    pub token_lifetime: Option<u64>,
    /// Shift of the emulator's clock, seconds; negative puts it behind.
    #[arg(long, allow_negative_numbers = true)]
    pub clock_offset: Option<i64>,
}

/// Which requests faults apply to.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FaultTargetArg {
    All,
    Token,
    Api,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Profile {
    Uat,
    Prod,
}

/// How to reach the token endpoint and the API, and who the client is.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// RegEd environment: uat or prod; sets the token URL and API base.
    #[arg(long = "env", env = "REGED_ENV")]
    pub environment: Option<String>,
    /// Token endpoint URL; overrides the environment's.
    #[arg(long, env = "REGED_TOKEN_URL")]
    pub token_url: Option<String>,
    /// API base URL; overrides the environment's.
    #[arg(long, env = "REGED_API_BASE")]
    pub api_base: Option<String>,
    /// The client id RegEd gave you.
    #[arg(long, env = "REGED_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The audience RegEd gave you.
    #[arg(long, env = "REGED_AUDIENCE")]
    pub audience: Option<String>,
    /// The scope RegEd gave you, space-separated.
    #[arg(long, env = "REGED_SCOPE")]
    pub scope: Option<String>,
    /// Client certificate, PEM (may also hold the key and intermediates).
    #[arg(long, env = "REGED_CERT")]
    pub cert: Option<PathBuf>,
    /// Private key, PEM (PKCS#8, PKCS#1, SEC1 or encrypted PKCS#8).
    #[arg(long, env = "REGED_KEY")]
    pub key: Option<PathBuf>,
    /// Client certificate and key as a PKCS#12 (PFX) file, instead of --cert and --key.
    #[arg(long, env = "REGED_PFX")]
    pub pfx: Option<PathBuf>,
    /// Read the PFX password or key passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Read the PFX password or key passphrase from this file (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "password_env")]
    pub password_file: Option<PathBuf>,
    /// Extra CA certificates (PEM) to trust for the servers, beside the system's.
    #[arg(long, env = "REGED_CA")]
    pub ca: Option<PathBuf>,
    /// Seconds a whole request may take, token or API; connecting takes at most 10 of them.
    #[arg(long, env = "REGED_TIMEOUT", default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    #[command(flatten)]
    pub cache: CacheArgs,
}
