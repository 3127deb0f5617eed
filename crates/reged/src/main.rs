//! `reged`: fetch tokens over mutual TLS, call the API, run the local emulator.
#![forbid(unsafe_code)]

mod cache_settings;
mod cli;
mod commands;
mod exit;
mod failure;
mod input_file;
mod output;
mod password;
mod settings;

use std::io::IsTerminal;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

use crate::cli::Command;

// The emulator allocates a few small buffers per token; glibc's allocator took 7% of its CPU
// in the token issuance benchmark, mimalloc half as much.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(exit) => return exit,
    };
    // The emulator's log is its record of requests; the client's stays quiet unless asked.
    let default_level = match &cli.command {
        Command::Emulator { action: None, .. } => "info",
        _ => "warn",
    };
    if let Err(failure) = init_logging(cli.log.as_deref().unwrap_or(default_level)) {
        output::eprint_line(&failure.report());
        return ExitCode::from(failure.code);
    }

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            output::eprint_line(&format!(
                "reged: could not start the async runtime: {error}"
            ));
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => {
            output::eprint_line(&failure.report());
            ExitCode::from(failure.code)
        }
    }
}

async fn run(command: Command) -> Result<(), failure::Failure> {
    match command {
        Command::Token { client, json } => commands::token::run(&client, json).await,
        Command::Call {
            client,
            method,
            path,
            data,
            headers,
            include,
        } => commands::call::run(&client, &method, &path, data.as_deref(), &headers, include).await,
        Command::Emulator { action: None, run } => commands::emulator::run(run).await,
        Command::Emulator {
            action: Some(action),
            ..
        } => commands::emulator_admin::run(action).await,
        Command::DevCerts { dir } => commands::dev_certs::run(&dir),
        Command::Demo => commands::demo::run().await,
        Command::Cache { action } => commands::cache::run(&action).await,
    }
}

/// Logs on stderr: our crates at `level`, dependencies at warn so their wire detail stays out.
fn init_logging(level: &str) -> Result<(), failure::Failure> {
    const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
    let level = level.trim().to_ascii_lowercase();
    if !LEVELS.contains(&level.as_str()) {
        return Err(failure::Failure::new(
            exit::USAGE,
            format!(
                "--log (REGED_LOG): `{level}` is not one of {}",
                LEVELS.join(", ")
            ),
        ));
    }

    let directives = format!("warn,reged={level},reged_auth={level},reged_emulator={level}");
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(directives))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    Ok(())
}
