//! `reged`: fetch tokens over mutual TLS, call the API, run the local emulator.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod exit;
mod failure;
mod output;
mod password;
mod settings;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log);

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("reged: could not start the async runtime: {error}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => {
            eprintln!("{}", failure.report());
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
    }
}

fn init_logging(level: &str) {
    // Our crates at the level asked for; dependencies stay at warn so their wire detail never
    // reaches the log.
    let directives = format!("warn,reged={level},reged_auth={level},reged_emulator={level}");
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
