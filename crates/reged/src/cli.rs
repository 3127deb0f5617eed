//! The command line, one definition per flag: its help text and its environment variable.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::BoolishValueParser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::exit;
use crate::output::eprint_line;

/// The command line of this process, with the environment variables of its flags.
///
/// An empty variable counts as unset, as most tools treat it. Usage errors go to stderr as
/// `reged: ...`, naming the variable when the bad value came from one, and end the process with
/// exit code 2; `--help` and `--version` print to stdout and end it with 0.
pub fn parse() -> Result<Cli, ExitCode> {
    let command = ignore_empty_variables(Cli::command());
    let parsed = command
        .clone()
        .try_get_matches()
        .and_then(|mut matches| Cli::from_arg_matches_mut(&mut matches));
    parsed.map_err(|error| {
        if matches!(
            error.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        ) {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(exit::USAGE));
        }
        eprint_line(&usage_message(
            &error,
            &command,
            &std::env::args_os().collect::<Vec<_>>(),
        ));
        ExitCode::from(exit::USAGE)
    })
}

/// Drops the environment variable of every flag whose variable is set but empty.
fn ignore_empty_variables(mut command: clap::Command) -> clap::Command {
    let empty: Vec<clap::Id> = command
        .get_arguments()
        .filter(|arg| {
            arg.get_env()
                .and_then(std::env::var_os)
                .is_some_and(|value| value.is_empty())
        })
        .map(|arg| arg.get_id().clone())
        .collect();
    for id in empty {
        command = command.mut_arg(id, |arg| arg.env(None));
    }
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in subcommands {
        command = command.mut_subcommand(name, ignore_empty_variables);
    }
    command
}

/// Clap's message with our prefix, blaming the environment variable rather than the flag when
/// the value came from the variable.
fn usage_message(error: &clap::Error, command: &clap::Command, args: &[OsString]) -> String {
    let rendered = error.render().to_string();
    let text = rendered
        .trim_end()
        .strip_prefix("error: ")
        .unwrap_or(&rendered);
    let mut message = format!("reged: {text}");

    let Some(ContextValue::String(flag)) = error.get(ContextKind::InvalidArg) else {
        return message;
    };
    let long = flag.split_whitespace().next().unwrap_or_default();
    let on_command_line = args.iter().skip(1).any(|arg| {
        let arg = arg.to_string_lossy();
        arg == long || arg.starts_with(&format!("{long}="))
    });
    if let Some(variable) = variable_of(command, long.trim_start_matches("--"))
        && !on_command_line
        && std::env::var_os(&variable).is_some()
    {
        message = message.replacen(
            &format!("'{flag}'"),
            &format!("{variable} (the environment variable of {long})"),
            1,
        );
    }
    message
}

/// The environment variable of the flag `--long`, in any subcommand.
fn variable_of(command: &clap::Command, long: &str) -> Option<String> {
    command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long))
        .and_then(|arg| arg.get_env())
        .map(|variable| variable.to_string_lossy().into_owned())
        .or_else(|| {
            command
                .get_subcommands()
                .find_map(|sub| variable_of(sub, long))
        })
}

/// Whole seconds from 1 to 3600, with a message that says so for `-1` or `0`.
fn timeout_seconds(value: &str) -> Result<u64, String> {
    match value.trim().parse::<i64>() {
        Ok(seconds @ 1..=3600) => Ok(seconds as u64),
        Ok(_) => Err("the timeout must be a positive number of seconds, at most 3600".into()),
        Err(_) => Err("expected a whole number of seconds, from 1 to 3600".into()),
    }
}

// The emulator's own limits, so that a value it would refuse is a usage error here. Those it
// does not export are copied from `FaultSettings::validate` (reged-emulator's faults.rs) and
// `MAX_OVERLAP` (its admin.rs).
const MAX_LATENCY_MS: u64 = 60_000;
const MAX_RETRY_AFTER_S: u64 = 86_400;
const MAX_TOKEN_LIFETIME_S: u64 = reged_emulator::MAX_TOKEN_LIFETIME.as_secs();
const MAX_CLOCK_OFFSET_S: u64 = 10 * 365 * 24 * 3600;
const MAX_OVERLAP_S: u64 = 7 * 24 * 3600;

/// A whole number from `min` to `max`, with a message giving the range for any other value.
fn whole_number(
    min: u64,
    max: u64,
) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |value| match value.trim().parse::<i128>() {
        Ok(number) if (i128::from(min)..=i128::from(max)).contains(&number) => Ok(number as u64),
        _ => Err(format!("expected a whole number from {min} to {max}")),
    }
}

/// A clock shift in whole seconds, within ten years either way.
fn clock_offset(value: &str) -> Result<i64, String> {
    match value.trim().parse::<i64>() {
        Ok(seconds) if seconds.unsigned_abs() <= MAX_CLOCK_OFFSET_S => Ok(seconds),
        _ => Err(format!(
            "expected a whole number of seconds from -{MAX_CLOCK_OFFSET_S} to \
             {MAX_CLOCK_OFFSET_S} (ten years)"
        )),
    }
}

/// A share of requests from 0 to 1; `NaN` and infinities are refused.
fn share(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err("expected a number from 0 to 1, such as 0.25".into()),
    }
}

/// One of the statuses the emulator can inject.
fn failure_status(value: &str) -> Result<u16, String> {
    let statuses = reged_emulator::faults::FAILURE_STATUSES;
    match value.trim().parse::<u16>() {
        Ok(status) if statuses.contains(&status) => Ok(status),
        _ => Err("expected one of 500, 502, 503, 429".into()),
    }
}

/// Call APIs protected by mutual TLS and OAuth 2.0 client credentials, first of all RegEd's.
#[derive(Debug, Parser)]
#[command(
    name = "reged",
    version,
    propagate_version = true,
    args_override_self = true
)]
pub struct Cli {
    /// Log level on stderr: error, warn, info, debug or trace; warn by default, info for the
    /// emulator (one line per token request and API call). Logs never show a token, key or
    /// password.
    #[arg(long, global = true, env = "REGED_LOG")]
    pub log: Option<String>,

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
    #[arg(long, env = "REGED_CACHE_CLUSTER", action = ArgAction::SetTrue,
          value_parser = BoolishValueParser::new())]
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
        /// Seconds the old key stays published and valid, at most 604800 (a week); 0 drops it
        /// at once.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true,
              value_parser = whole_number(0, MAX_OVERLAP_S))]
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
    /// Milliseconds added before each answer, at most 60000.
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number(0, MAX_LATENCY_MS))]
    pub latency_ms: Option<u64>,
    /// Share of requests (0 to 1) answered with the failure status.
    #[arg(long, allow_negative_numbers = true, value_parser = share)]
    pub failure_rate: Option<f64>,
    /// 500, 502 (HTML body), 503 or 429 (with Retry-After).
    #[arg(long, value_parser = failure_status)]
    pub failure_status: Option<u16>,
    /// The Retry-After of 429 and 503 answers, seconds, at most 86400 (a day).
    #[arg(long, allow_negative_numbers = true,
          value_parser = whole_number(0, MAX_RETRY_AFTER_S))]
    pub retry_after: Option<u64>,
    /// Share of requests (0 to 1) whose connection is closed mid-response.
    #[arg(long, allow_negative_numbers = true, value_parser = share)]
    pub close_rate: Option<f64>,
    /// Lifetime of every new token, seconds (e.g. 5, to watch refresh), up to ten years.
    #[arg(long, allow_negative_numbers = true,
          value_parser = whole_number(1, MAX_TOKEN_LIFETIME_S))]
    pub token_lifetime: Option<u64>,
    /// Shift of the emulator's clock, seconds, within ten years; negative puts it behind.
    #[arg(long, allow_negative_numbers = true, value_parser = clock_offset)]
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
          allow_negative_numbers = true, value_parser = timeout_seconds)]
    pub timeout: u64,
    #[command(flatten)]
    pub cache: CacheArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults_set(flag: &str, value: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(["reged", "emulator", "faults", "set", flag, value])
    }

    #[test]
    fn fault_values_at_the_emulators_limits_parse_and_one_past_them_is_a_usage_error() {
        let limits = [
            ("--latency-ms", "60000", "60001"),
            ("--retry-after", "86400", "86401"),
            ("--token-lifetime", "315360000", "315360001"),
            ("--token-lifetime", "1", "0"),
            ("--clock-offset", "315360000", "315360001"),
            ("--clock-offset", "-315360000", "-315360001"),
            ("--failure-rate", "1", "1.0001"),
            ("--close-rate", "0", "-0.1"),
            ("--failure-status", "429", "404"),
        ];

        for (flag, accepted, refused) in limits {
            assert!(faults_set(flag, accepted).is_ok(), "{flag} {accepted}");
            let error = faults_set(flag, refused).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ValueValidation, "{flag} {refused}");
        }
    }

    #[test]
    fn overlap_of_a_week_parses_and_a_second_more_is_a_usage_error() {
        let rotate = |overlap| {
            Cli::try_parse_from(["reged", "emulator", "rotate-key", "--overlap", overlap])
        };

        assert!(rotate("604800").is_ok());
        assert!(rotate("604801").is_err());
    }

    #[test]
    fn clock_offset_of_the_smallest_i64_is_refused_without_overflow() {
        assert!(faults_set("--clock-offset", &i64::MIN.to_string()).is_err());
    }
}
