//! The `reged` binary against the emulator, over real TLS sockets on loopback.

use std::path::{Path, PathBuf};
use std::process::Output;

use reged_emulator::{Emulator, Profile, RunningEmulator, StateDir};
use tempfile::TempDir;
use tokio::process::Command;

struct Setup {
    dir: TempDir,
    emulator: RunningEmulator,
}

/// `reged dev-certs`, then an emulator on those certificates.
async fn start() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let output = reged(&["dev-certs", dir.path().to_str().unwrap()], &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));

    let state = StateDir::open_or_create(dir.path()).unwrap();
    let emulator = Emulator::start(
        state.config(Profile::Uat),
        state.certs(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    Setup { dir, emulator }
}

impl Setup {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The flags that reach the emulator as the dev client, with PEM files.
    fn flags(&self) -> Vec<String> {
        vec![
            "--token-url".into(),
            self.emulator.token_url(),
            "--api-base".into(),
            self.emulator.base_url(),
            "--client-id".into(),
            "reged-dev-client".into(),
            "--audience".into(),
            "https://uatapi.reged.com".into(),
            "--scope".into(),
            "read write".into(),
            "--cert".into(),
            path(&self.file("client.pem")),
            "--key".into(),
            path(&self.file("client.key")),
            "--ca".into(),
            path(&self.file("ca.pem")),
        ]
    }

    /// The same flags with the PFX in place of the PEM files, and no password source.
    fn pfx_flags(&self) -> Vec<String> {
        let mut flags = self.flags();
        flags.drain(10..14);
        flags.extend(["--pfx".into(), path(&self.file("client.pfx"))]);
        flags
    }

    async fn run(&self, command: &[&str], extra: &[&str]) -> Output {
        let mut args: Vec<String> = command.iter().map(|arg| arg.to_string()).collect();
        args.extend(self.flags());
        args.extend(extra.iter().map(|arg| arg.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        reged(&args, &[]).await
    }
}

async fn reged(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reged"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().await.unwrap()
}

fn path(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn token_prints_only_the_token() {
    let setup = start().await;

    let output = setup.run(&["token"], &[]).await;

    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    let token = printed.strip_suffix('\n').unwrap();
    assert!(!token.contains(char::is_whitespace), "{printed:?}");
    assert_eq!(token.split('.').count(), 3, "a JWT: {printed:?}");
    assert_eq!(setup.emulator.token_requests(), 1);
}

#[tokio::test]
async fn token_json_carries_the_response_and_the_expiry() {
    let setup = start().await;

    let output = setup.run(&["token", "--json"], &[]).await;

    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["token_type"], "Bearer");
    // What is left of the 900 s from now, rounded: the request took a moment.
    let expires_in = json["expires_in"].as_u64().unwrap();
    assert!((890..=900).contains(&expires_in), "{json}");
    assert_eq!(json["scope"], "read write");
    assert!(json["access_token"].as_str().unwrap().len() > 20);
    assert!(
        json["expires_at"].as_str().unwrap().ends_with('Z'),
        "{json}"
    );
}

#[tokio::test]
async fn pfx_with_a_password_file_gets_a_token() {
    let setup = start().await;
    let password_file = path(&setup.file("client.pfx.password"));
    let flags = setup.pfx_flags();
    let mut args = vec!["token"];
    args.extend(flags.iter().map(String::as_str));
    args.extend(["--password-file", &password_file]);

    let output = reged(&args, &[]).await;

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim().split('.').count(), 3);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn dev_zero_as_any_input_file_fails_at_once_naming_the_file_and_the_limit() {
    // Each of these once read /dev/zero until memory ran out (6.5 GB for --pfx).
    let setup = start().await;
    let password_file = path(&setup.file("client.pfx.password"));
    let mut pfx = vec!["token".to_owned()];
    pfx.extend(setup.pfx_flags());
    let pfx: Vec<&str> = pfx.iter().map(String::as_str).collect();
    let runs = [
        (
            [
                &pfx[..],
                &["--pfx", "/dev/zero", "--password-file", &password_file],
            ]
            .concat(),
            "/dev/zero is larger than 1 MiB: is it the right file?",
        ),
        (
            [&pfx[..], &["--password-file", "/dev/zero"]].concat(),
            "the password file /dev/zero is larger than 4 KiB: is it the right file?",
        ),
        (
            [&pfx[..], &["--ca", "/dev/zero"]].concat(),
            "--ca (REGED_CA): /dev/zero is larger than 1 MiB: is it the right file?",
        ),
    ];
    let pem_runs = [
        (
            vec!["--cert", "/dev/zero"],
            "/dev/zero is larger than 1 MiB: is it the right file?",
        ),
        (
            vec!["--key", "/dev/zero"],
            "/dev/zero is larger than 1 MiB: is it the right file?",
        ),
    ];
    let key_file = [
        "cache",
        "list",
        "--cache",
        "redis://127.0.0.1:1",
        "--cache-key-file",
        "/dev/zero",
    ];

    let started = std::time::Instant::now();
    let mut outputs = Vec::new();
    for (args, expected) in &runs {
        outputs.push((reged(args, &[]).await, *expected));
    }
    for (extra, expected) in &pem_runs {
        outputs.push((setup.run(&["token"], extra).await, *expected));
    }
    outputs.push((
        reged(&key_file, &[]).await,
        "--cache-key-file /dev/zero: the file is larger than 4 KiB: is it the right file?",
    ));
    let elapsed = started.elapsed();

    for (output, expected) in &outputs {
        let shown = stderr(output);
        assert_eq!(output.status.code(), Some(3), "{expected}: {shown}");
        assert!(shown.contains(expected), "{expected}: {shown}");
    }
    // Reading without a limit took tens of seconds before memory ran out; a capped read of
    // 1 MiB takes milliseconds, even on a busy machine.
    assert!(elapsed < std::time::Duration::from_secs(20), "{elapsed:?}");
}

#[tokio::test]
async fn settings_come_from_the_environment_and_flags_win() {
    let setup = start().await;
    let token_url = setup.emulator.token_url();
    let cert = path(&setup.file("client.pem"));
    let key = path(&setup.file("client.key"));
    let ca = path(&setup.file("ca.pem"));
    let env = [
        ("REGED_TOKEN_URL", token_url.as_str()),
        ("REGED_CLIENT_ID", "reged-dev-client"),
        ("REGED_AUDIENCE", "https://uatapi.reged.com"),
        ("REGED_SCOPE", "admin"),
        ("REGED_CERT", cert.as_str()),
        ("REGED_KEY", key.as_str()),
        ("REGED_CA", ca.as_str()),
    ];

    let refused = reged(&["token"], &env).await;
    let granted = reged(&["token", "--scope", "read"], &env).await;

    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("invalid_scope"),
        "{}",
        stderr(&refused)
    );
    assert!(granted.status.success(), "{}", stderr(&granted));
}

#[tokio::test]
async fn call_prints_the_body_of_the_api() {
    let setup = start().await;

    let output = setup.run(&["call", "GET", "/v1/whoami"], &[]).await;

    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["client_id"], "reged-dev-client");
}

#[tokio::test]
async fn call_sends_a_body_from_a_file_and_headers() {
    let setup = start().await;
    let body = setup.dir.path().join("body.json");
    std::fs::write(&body, br#"{"hello":"world"}"#).unwrap();
    let data = format!("@{}", body.display());

    let output = setup
        .run(
            &[
                "call",
                "post",
                "/v1/echo",
                "-d",
                &data,
                "-H",
                "Content-Type: application/json",
            ],
            &[],
        )
        .await;

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), r#"{"hello":"world"}"#);
}

#[tokio::test]
async fn call_exits_6_on_an_http_error_and_still_prints_the_body() {
    let setup = start().await;

    let output = setup
        .run(&["call", "GET", "/v1/no-such-endpoint"], &[])
        .await;

    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    assert!(
        stderr(&output).starts_with("reged: the API answered HTTP 404"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn missing_certificate_file_exits_3_and_names_the_file() {
    let setup = start().await;
    let missing = setup.dir.path().join("nope.pem");

    let output = setup.run(&["token"], &["--cert", &path(&missing)]).await;

    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let shown = stderr(&output);
    assert!(shown.starts_with("reged: "), "{shown}");
    assert!(shown.contains("nope.pem"), "{shown}");
    assert_eq!(setup.emulator.token_requests(), 0);
}

#[tokio::test]
async fn unreachable_token_endpoint_exits_4() {
    let setup = start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("https://localhost:{port}/oauth/token");

    let output = setup.run(&["token"], &["--token-url", &url]).await;

    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("could not connect"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn missing_settings_name_the_flag_and_the_variable() {
    let output = reged(&["token", "--cert", "/nonexistent.pem"], &[]).await;

    assert_eq!(output.status.code(), Some(3));
    let shown = stderr(&output);
    assert!(
        shown.contains("/nonexistent.pem") || shown.contains("--token-url"),
        "{shown}"
    );

    let dir = tempfile::tempdir().unwrap();
    reged(&["dev-certs", dir.path().to_str().unwrap()], &[]).await;
    let cert = path(&dir.path().join("client.pem"));
    let key = path(&dir.path().join("client.key"));
    let output = reged(&["token", "--cert", &cert, "--key", &key], &[]).await;
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("REGED_TOKEN_URL"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn trace_logs_show_no_token_key_or_password() {
    let setup = start().await;
    let token_output = setup.run(&["token"], &[]).await;
    let token = stdout(&token_output).trim().to_owned();

    let call = setup
        .run(&["--log", "trace", "call", "GET", "/v1/whoami"], &[])
        .await;
    let password_file = path(&setup.file("client.pfx.password"));
    let flags = setup.pfx_flags();
    let mut args = vec!["--log", "trace", "token", "--json"];
    args.extend(flags.iter().map(String::as_str));
    args.extend(["--password-file", &password_file]);
    let pfx_run = reged(&args, &[]).await;

    assert!(call.status.success(), "{}", stderr(&call));
    assert!(pfx_run.status.success(), "{}", stderr(&pfx_run));
    let logs = format!("{}{}", stderr(&call), stderr(&pfx_run));
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "trace logging ran: {logs}"
    );
    let key_pem = std::fs::read_to_string(setup.file("client.key")).unwrap();
    let key_body: String = key_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let password = std::fs::read_to_string(setup.file("client.pfx.password")).unwrap();
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature), "the token reached the logs");
    assert!(!logs.contains(&key_body[..40]), "the key reached the logs");
    assert!(
        !logs.contains(password.trim()),
        "the password reached the logs"
    );
    assert!(!stdout(&call).contains(signature));
}

#[tokio::test]
async fn demo_runs_the_whole_flow() {
    let output = reged(&["demo"], &[]).await;

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("the emulator counted 1 token request"),
        "{}",
        stdout(&output)
    );
}

#[tokio::test]
async fn headers_that_would_redirect_the_token_are_refused() {
    let setup = start().await;

    for header in ["Host: evil.example", "Authorization: Bearer attacker"] {
        let output = setup
            .run(&["call", "GET", "/v1/whoami", "-H", header], &[])
            .await;

        assert_eq!(
            output.status.code(),
            Some(3),
            "{header}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("reged sets this header itself"),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(setup.emulator.token_requests(), 0);
}

#[tokio::test]
async fn framing_and_hop_by_hop_headers_are_refused_not_sent_to_break_http2() {
    // `Content-Length: 99` once went out and the server's HTTP/2 PROTOCOL_ERROR exited 5.
    let setup = start().await;

    for header in [
        "Content-Length: 99",
        "Transfer-Encoding: chunked",
        "Connection: close",
        "Upgrade: h2c",
        "TE: trailers",
        "Keep-Alive: timeout=5",
        "Proxy-Connection: keep-alive",
    ] {
        let output = setup
            .run(&["call", "POST", "/v1/echo", "-d", "x", "-H", header], &[])
            .await;

        let shown = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{header}: {shown}");
        assert!(shown.contains("reged sets this header itself"), "{shown}");
    }
    assert_eq!(setup.emulator.token_requests(), 0);
}

#[tokio::test]
async fn api_path_of_100_kb_is_refused_up_front_with_its_length_not_echoed() {
    let setup = start().await;
    let long_path = format!("/v1/{}", "a".repeat(100 * 1024));

    let output = setup.run(&["call", "GET", &long_path], &[]).await;

    let shown = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{shown}");
    assert!(
        shown.starts_with("reged: the API path is 102404 bytes long, more than the limit of 8192"),
        "{shown}"
    );
    assert!(shown.len() < 200, "{shown}");
    assert_eq!(setup.emulator.token_requests(), 0);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn body_from_dev_zero_or_an_endless_stdin_stops_at_64_mib_naming_the_source() {
    // `-d @/dev/zero` once read until memory ran out.
    let setup = start().await;
    let mut args: Vec<String> = ["call", "POST", "/v1/echo", "-d", "@-"]
        .map(Into::into)
        .into();
    args.extend(setup.flags());
    let endless_stdin = Command::new(env!("CARGO_BIN_EXE_reged"))
        .args(&args)
        .env_clear()
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .await
        .unwrap();
    let dev_zero = setup
        .run(&["call", "POST", "/v1/echo", "-d", "@/dev/zero"], &[])
        .await;

    for (output, expected) in [
        (
            &dev_zero,
            "reged: -d @/dev/zero: the file holds more than 64 MiB",
        ),
        (
            &endless_stdin,
            "reged: -d @-: standard input holds more than 64 MiB",
        ),
    ] {
        let shown = stderr(output);
        assert_eq!(output.status.code(), Some(3), "{shown}");
        assert!(shown.starts_with(expected), "{shown}");
    }
    assert_eq!(setup.emulator.token_requests(), 0);
}

#[tokio::test]
async fn path_climbing_out_of_the_api_base_is_refused() {
    let setup = start().await;

    for path in ["/../x", "/v1/%2e%2e/x", "v1/whoami"] {
        let output = setup.run(&["call", "GET", path], &[]).await;

        assert_eq!(output.status.code(), Some(3), "{path}: {}", stderr(&output));
    }
}

#[tokio::test]
async fn wrong_password_names_where_it_came_from() {
    let setup = start().await;
    let flags = setup.pfx_flags();
    let mut args = vec!["token"];
    args.extend(flags.iter().map(String::as_str));

    let wrong = reged(&args, &[("REGED_PASSWORD", "not-it")]).await;
    let empty = reged(&args, &[("REGED_PASSWORD", "")]).await;

    assert_eq!(wrong.status.code(), Some(3), "{}", stderr(&wrong));
    assert!(
        stderr(&wrong).contains("REGED_PASSWORD is wrong"),
        "{}",
        stderr(&wrong)
    );
    assert!(
        stderr(&empty)
            .contains("the password from the environment variable REGED_PASSWORD is empty, and"),
        "{}",
        stderr(&empty)
    );
}

#[tokio::test]
async fn password_file_that_is_empty_or_starts_with_a_byte_order_mark() {
    let setup = start().await;
    let password = std::fs::read_to_string(setup.file("client.pfx.password")).unwrap();
    let with_bom = setup.file("bom.password");
    std::fs::write(&with_bom, format!("\u{feff}{}\r\n", password.trim())).unwrap();
    let empty = setup.file("emptypw");
    std::fs::write(&empty, "\n").unwrap();
    let flags = setup.pfx_flags();
    let mut args: Vec<&str> = vec!["token"];
    args.extend(flags.iter().map(String::as_str));

    let bom_file = path(&with_bom);
    let empty_file = path(&empty);
    let from_bom = reged(&[&args[..], &["--password-file", &bom_file]].concat(), &[]).await;
    let from_empty = reged(
        &[&args[..], &["--password-file", &empty_file]].concat(),
        &[],
    )
    .await;

    assert!(from_bom.status.success(), "{}", stderr(&from_bom));
    assert_eq!(from_empty.status.code(), Some(3), "{}", stderr(&from_empty));
    let shown = stderr(&from_empty);
    assert!(
        shown.starts_with(&format!(
            "reged: the password from the first line of {empty_file} is empty, and that is not \
             the password; give the right one"
        )),
        "{shown}"
    );
}

#[tokio::test]
async fn small_setting_mistakes_are_caught_locally_and_name_the_flag() {
    let setup = start().await;
    let pem = path(&setup.file("client.pem"));
    let key = path(&setup.file("client.key"));

    let mut pfx_args = vec!["token"];
    let flags = setup.pfx_flags();
    pfx_args.extend(flags.iter().map(String::as_str));
    let pem_as_pfx = reged(&[&pfx_args[..], &["--pfx", &pem]].concat(), &[]).await;
    let key_as_ca = setup.run(&["token"], &["--ca", &key]).await;
    let empty_scope = setup.run(&["token"], &["--scope", ""]).await;

    let shown = stderr(&pem_as_pfx);
    assert_eq!(pem_as_pfx.status.code(), Some(3), "{shown}");
    assert!(
        shown.starts_with("reged: --pfx (REGED_PFX) takes a PKCS#12 file"),
        "{shown}"
    );
    assert!(
        shown.contains("--cert FILE") && shown.contains("is PEM text"),
        "{shown}"
    );
    let shown = stderr(&key_as_ca);
    assert_eq!(key_as_ca.status.code(), Some(3), "{shown}");
    assert!(shown.starts_with("reged: --ca (REGED_CA): "), "{shown}");
    let shown = stderr(&empty_scope);
    assert_eq!(empty_scope.status.code(), Some(3), "{shown}");
    assert!(
        shown.starts_with("reged: --scope (REGED_SCOPE): empty"),
        "{shown}"
    );
    assert_eq!(setup.emulator.token_requests(), 0);
}

#[tokio::test]
async fn pfx_flag_wins_over_a_pem_certificate_from_the_environment() {
    let setup = start().await;
    let password_file = path(&setup.file("client.pfx.password"));
    let stale_cert = path(&setup.file("other-client.pem"));
    let flags = setup.pfx_flags();
    let mut args = vec!["token"];
    args.extend(flags.iter().map(String::as_str));
    args.extend(["--password-file", &password_file]);

    let output = reged(&args, &[("REGED_CERT", stale_cert.as_str())]).await;

    assert!(output.status.success(), "{}", stderr(&output));
}

#[tokio::test]
async fn pfx_with_a_key_is_refused_like_pfx_with_a_cert_not_the_key_ignored() {
    let setup = start().await;
    let key = path(&setup.file("client.key"));
    let pfx = path(&setup.file("client.pfx"));
    let password_file = path(&setup.file("client.pfx.password"));
    let flags = setup.pfx_flags();
    let mut args = vec!["token"];
    args.extend(flags.iter().map(String::as_str));
    args.extend(["--password-file", &password_file]);

    let key_flag = reged(&[&args[..], &["--key", &key]].concat(), &[]).await;
    let pfx_at = args.iter().position(|arg| *arg == "--pfx").unwrap();
    args.drain(pfx_at..pfx_at + 2);
    let key_variable = reged(
        &args,
        &[("REGED_PFX", pfx.as_str()), ("REGED_KEY", key.as_str())],
    )
    .await;

    for output in [&key_flag, &key_variable] {
        let shown = stderr(output);
        assert_eq!(output.status.code(), Some(3), "{shown}");
        assert!(
            shown.starts_with("reged: both a PFX (--pfx, REGED_PFX) and a PEM certificate or key"),
            "{shown}"
        );
    }
    assert_eq!(setup.emulator.token_requests(), 0);
}

#[tokio::test]
async fn token_url_or_api_base_with_a_fragment_or_an_empty_authority_is_refused() {
    let setup = start().await;

    let runs = [
        (
            &["token"][..],
            "--token-url",
            "https://127.0.0.1:1/oauth/token#frag",
            "--token-url (REGED_TOKEN_URL): the URL has a fragment",
        ),
        (
            &["call", "GET", "/v1/whoami"],
            "--api-base",
            "https://127.0.0.1:1#frag",
            "--api-base (REGED_API_BASE): the URL has a fragment",
        ),
        (
            &["token"],
            "--token-url",
            "https:///127.0.0.1:1/oauth/token",
            "--token-url (REGED_TOKEN_URL): the URL has no host",
        ),
    ];
    for (command, flag, url, expected) in runs {
        let output = setup.run(command, &[flag, url]).await;

        let shown = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{url}: {shown}");
        assert!(shown.starts_with(&format!("reged: {expected}")), "{shown}");
    }
}

#[tokio::test]
async fn unknown_log_level_is_a_usage_error() {
    let output = reged(&["--log", "loud", "demo"], &[]).await;

    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`loud` is not one of"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn closed_stderr_does_not_panic() {
    let output = Command::new(env!("CARGO_BIN_EXE_reged"))
        .args(["token", "--token-url", "https://127.0.0.1:1/x"])
        .env_clear()
        .stderr(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(3));

    // A pipe whose reader is gone.
    let mut child = Command::new(env!("CARGO_BIN_EXE_reged"))
        .args(["token", "--token-url", "https://127.0.0.1:1/x"])
        .env_clear()
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().await.unwrap();

    assert_eq!(status.code(), Some(3), "not 101, a panic");
}

#[tokio::test]
async fn emulator_on_a_taken_port_says_so() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let state = path(&dir.path().join("state"));

    let output = reged(
        &["emulator", "--listen", &address, "--state-dir", &state],
        &[],
    )
    .await;

    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(stderr(&output).contains("is taken"), "{}", stderr(&output));
}

#[tokio::test]
async fn encrypted_key_without_a_passphrase_says_how_to_give_one() {
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../reged-auth/tests/fixtures/identity");
    let cert = path(&fixtures.join("rsa-client.pem"));
    let key = path(&fixtures.join("rsa-client.encrypted.key"));

    let output = reged(
        &[
            "token",
            "--env",
            "uat",
            "--client-id",
            "c",
            "--audience",
            "a",
            "--cert",
            &cert,
            "--key",
            &key,
        ],
        &[],
    )
    .await;

    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let shown = stderr(&output);
    assert!(
        shown.contains("--password-file FILE or --password-env VAR"),
        "{shown}"
    );
    assert!(shown.contains("caused by: the private key in"), "{shown}");
}

#[path = "../../reged-auth/tests/shared_cache/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;

#[tokio::test]
async fn separate_token_runs_share_one_token_through_the_cache() {
    let setup = start().await;
    let redis = redis_server::RedisServer::start();
    let url = redis.url();

    let first = setup.run(&["token", "--cache", &url], &[]).await;
    let without_cache = setup.run(&["token"], &[]).await;
    let second = reged_with_cache_env(&setup, &url).await;
    let listed = reged(&["cache", "list", "--cache", &url], &[]).await;
    let listed_json = reged(&["cache", "list", "--json", "--cache", &url], &[]).await;
    let cleared = reged(&["cache", "clear", "--cache", &url], &[]).await;
    let after = reged(&["cache", "list"], &[("REGED_CACHE_URL", url.as_str())]).await;

    assert!(first.status.success(), "{}", stderr(&first));
    assert!(without_cache.status.success(), "{}", stderr(&without_cache));
    let token = stdout(&first);
    assert_eq!(stdout(&second), token);
    // One for the cached pair, one for the run without --cache.
    assert_eq!(setup.emulator.token_requests(), 2);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listing = stdout(&listed);
    assert!(listing.contains("client_id=reged-dev-client"), "{listing}");
    assert!(
        listing.contains("audience=https://uatapi.reged.com"),
        "{listing}"
    );
    assert!(listing.contains("scopes=read write"), "{listing}");
    assert!(
        !listing.contains(token.trim()),
        "the listing shows the token"
    );
    let entry: serde_json::Value = serde_json::from_str(stdout(&listed_json).trim()).unwrap();
    assert_eq!(entry["client_id"], "reged-dev-client");
    assert_eq!(entry["scopes"], serde_json::json!(["read", "write"]));
    assert!(entry["remaining_ms"].as_u64().unwrap() > 590_000, "{entry}");
    assert!(!stdout(&listed_json).contains(token.trim()));
    assert_eq!(stdout(&cleared), "deleted 1 entry\n");
    assert_eq!(stdout(&after), "no cached tokens\n");
}

/// `reged token` with the cache named by `REGED_CACHE_URL` rather than by the flag.
async fn reged_with_cache_env(setup: &Setup, url: &str) -> Output {
    let mut args = vec!["token".to_owned()];
    args.extend(setup.flags());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    reged(&args, &[("REGED_CACHE_URL", url)]).await
}

#[tokio::test]
async fn cache_key_comes_from_a_file_or_a_variable_and_never_shows() {
    let setup = start().await;
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    let key = "3f".repeat(32);
    let other_key_file = setup.file("other.key");
    std::fs::write(&other_key_file, format!("{}\n", "a1".repeat(32))).unwrap();

    let mut args = vec!["--log".to_owned(), "trace".to_owned(), "token".to_owned()];
    args.extend(setup.flags());
    args.extend(["--cache".to_owned(), url.clone()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let with_variable = reged(&args, &[("REGED_CACHE_KEY", key.as_str())]).await;
    let same_key = reged(&args, &[("MY_KEY", key.as_str())]).await;
    let other_key = setup
        .run(
            &["token", "--cache", &url],
            &["--cache-key-file", &path(&other_key_file)],
        )
        .await;
    let bad_key = reged(&args, &[("REGED_CACHE_KEY", "not-a-key-hunter2")]).await;

    assert!(with_variable.status.success(), "{}", stderr(&with_variable));
    assert!(same_key.status.success(), "{}", stderr(&same_key));
    assert!(other_key.status.success(), "{}", stderr(&other_key));
    // MY_KEY is not read without --cache-key-env: the derived key does not open the value.
    assert_eq!(setup.emulator.token_requests(), 3);
    assert_eq!(bad_key.status.code(), Some(3));
    assert!(
        stderr(&bad_key).contains("REGED_CACHE_KEY"),
        "{}",
        stderr(&bad_key)
    );
    assert!(
        !stderr(&bad_key).contains("hunter2"),
        "{}",
        stderr(&bad_key)
    );
    let logs = format!("{}{}", stderr(&with_variable), stderr(&same_key));
    let signature = stdout(&with_variable)
        .trim()
        .rsplit('.')
        .next()
        .unwrap()
        .to_owned();
    assert!(!logs.contains(&key), "the key reached the logs");
    assert!(!logs.contains(&signature), "the token reached the logs");
}

#[tokio::test]
async fn unreachable_cache_warns_and_the_token_still_comes() {
    let setup = start().await;

    let output = setup
        .run(&["token", "--cache", "redis://127.0.0.1:1"], &[])
        .await;

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stderr(&output).matches("unavailable").count(),
        1,
        "{}",
        stderr(&output)
    );
    assert_eq!(setup.emulator.token_requests(), 1);
}

/// An emulator with its admin endpoint, whose admin.json is in the state directory.
async fn start_with_admin() -> Setup {
    use reged_emulator::admin::{AdminSettings, AdminToken};

    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::open_or_create(dir.path()).unwrap();
    let token = AdminToken::generate().unwrap();
    let config = state.config(Profile::Uat).with_admin(AdminSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: token.clone(),
    });
    let emulator = Emulator::start(config, state.certs(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    state
        .write_admin_file(&emulator.admin_url().unwrap(), &token)
        .unwrap();
    Setup { dir, emulator }
}

#[tokio::test]
async fn emulator_faults_set_makes_token_requests_fail_and_clear_restores_them() {
    let setup = start_with_admin().await;
    let state_dir = path(setup.dir.path());

    let set = reged(
        &[
            "emulator",
            "faults",
            "set",
            "--failure-rate",
            "1",
            "--failure-status",
            "503",
            "--retry-after",
            "7",
            "--target",
            "token",
            "--state-dir",
            &state_dir,
        ],
        &[],
    )
    .await;
    let refused = setup.run(&["token"], &[]).await;
    let cleared = reged(
        &["emulator", "faults", "clear", "--state-dir", &state_dir],
        &[],
    )
    .await;
    let accepted = setup.run(&["token"], &[]).await;

    assert!(set.status.success(), "{}", stderr(&set));
    assert!(
        stdout(&set).contains("\"failure_rate\": 1.0"),
        "{}",
        stdout(&set)
    );
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    // Found in review: a 503 read like a refusal of the request, and its Retry-After was lost.
    assert!(
        stderr(&refused).contains("may pass: it asks to retry after 7 s"),
        "{}",
        stderr(&refused)
    );
    assert!(cleared.status.success(), "{}", stderr(&cleared));
    assert!(accepted.status.success(), "{}", stderr(&accepted));
}

#[tokio::test]
async fn out_of_range_fault_and_overlap_values_are_usage_errors_naming_the_flag_not_emulator_refusals()
 {
    // These once reached the emulator, which answered 400 (exit 3), or, for NaN, sent null.
    let setup = start_with_admin().await;
    let state_dir = path(setup.dir.path());
    let faults_set = ["emulator", "faults", "set"];
    let rotate_key = ["emulator", "rotate-key"];
    let runs: [(&[&str], &str, &str); 10] = [
        (&faults_set, "--failure-status", "404"),
        (&faults_set, "--failure-rate", "NaN"),
        (&faults_set, "--failure-rate", "inf"),
        (&faults_set, "--close-rate", "1.5"),
        (&faults_set, "--retry-after", "86401"),
        (&faults_set, "--token-lifetime", "0"),
        (&faults_set, "--token-lifetime", "315360001"),
        (&faults_set, "--latency-ms", "60001"),
        (&faults_set, "--clock-offset", "-315360001"),
        (&rotate_key, "--overlap", "604801"),
    ];

    for (command, flag, value) in runs {
        let args = [command, &[flag, value, "--state-dir", &state_dir]].concat();
        let output = reged(&args, &[]).await;

        let shown = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}: {shown}");
        assert!(shown.starts_with("reged: "), "{shown}");
        assert!(
            shown.contains(&format!("'{flag} ")),
            "{flag} {value}: {shown}"
        );
    }
    assert_eq!(setup.emulator.published_kids().len(), 1);
}

#[tokio::test]
async fn emulator_faults_without_a_running_emulator_names_the_state_dir() {
    let dir = tempfile::tempdir().unwrap();

    let output = reged(
        &[
            "emulator",
            "faults",
            "show",
            "--state-dir",
            &path(dir.path()),
        ],
        &[],
    )
    .await;

    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("is an emulator running"),
        "{}",
        stderr(&output)
    );
}

/// A state directory whose admin.json names `url`, as an emulator that wrote it would.
fn state_dir_with_admin_file(url: &str, token: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let admin = serde_json::json!({ "url": url, "token": token }).to_string();
    std::fs::write(dir.path().join(StateDir::ADMIN), admin).unwrap();
    dir
}

/// A loopback URL on which nothing listens.
fn closed_loopback_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn admin_commands_whose_emulator_stopped_exit_3_not_1() {
    let url = closed_loopback_url();
    let dir = state_dir_with_admin_file(&url, "0123");
    let state_dir = path(dir.path());

    for command in [
        &["emulator", "faults", "show"][..],
        &["emulator", "faults", "clear"],
        &["emulator", "rotate-key"],
    ] {
        let output = reged(&[command, &["--state-dir", &state_dir]].concat(), &[]).await;

        let shown = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{command:?}: {shown}");
        assert!(
            shown.starts_with(&format!(
                "reged: could not reach the emulator's admin endpoint at {url}/"
            )),
            "{shown}"
        );
        assert!(shown.contains("is the emulator running?"), "{shown}");
    }
}

#[tokio::test]
async fn faults_show_refused_says_the_request_was_refused_not_a_change() {
    let setup = start_with_admin().await;
    let admin_file = setup.file(StateDir::ADMIN);
    let (url, _) = StateDir::read_admin_file(setup.dir.path()).unwrap();
    std::fs::remove_file(&admin_file).unwrap();
    let wrong_token = state_dir_with_admin_file(&url, "not-the-admin-token");
    std::fs::rename(wrong_token.path().join(StateDir::ADMIN), &admin_file).unwrap();
    let state_dir = path(setup.dir.path());

    let show = reged(
        &["emulator", "faults", "show", "--state-dir", &state_dir],
        &[],
    )
    .await;
    let clear = reged(
        &["emulator", "faults", "clear", "--state-dir", &state_dir],
        &[],
    )
    .await;

    assert_eq!(show.status.code(), Some(3), "{}", stderr(&show));
    assert!(
        stderr(&show).starts_with("reged: the emulator refused the request (401"),
        "{}",
        stderr(&show)
    );
    assert_eq!(clear.status.code(), Some(3), "{}", stderr(&clear));
    assert!(
        stderr(&clear).starts_with("reged: the emulator refused the change (401"),
        "{}",
        stderr(&clear)
    );
}

#[tokio::test]
async fn admin_url_off_loopback_in_admin_json_is_refused_before_the_token_is_sent() {
    for url in ["http://0.0.0.0:1", "http://[::]:1"] {
        let dir = state_dir_with_admin_file(url, "0123");

        let output = reged(
            &[
                "emulator",
                "faults",
                "show",
                "--state-dir",
                &path(dir.path()),
            ],
            &[],
        )
        .await;

        let shown = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{url}: {shown}");
        assert!(
            shown.starts_with(&format!(
                "reged: {}: the admin URL {url} is not on a loopback address",
                path(&dir.path().join(StateDir::ADMIN))
            )),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn emulator_rotate_key_with_overlap_keeps_the_old_key_published() {
    let setup = start_with_admin().await;
    let state_dir = path(setup.dir.path());

    let output = reged(
        &[
            "emulator",
            "rotate-key",
            "--overlap",
            "60",
            "--state-dir",
            &state_dir,
        ],
        &[],
    )
    .await;

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(setup.emulator.published_kids().len(), 2);
}

#[tokio::test]
async fn token_runs_share_one_token_through_a_cluster() {
    let setup = start().await;
    let cluster = redis_server::RedisCluster::start();
    let nodes = cluster.urls().join(",");

    let without_flag = setup.run(&["token", "--cache", &nodes], &[]).await;
    let first = setup
        .run(&["token", "--cache", &nodes, "--cache-cluster"], &[])
        .await;
    let second = setup
        .run(&["token", "--cache", &nodes, "--cache-cluster"], &[])
        .await;

    assert_eq!(without_flag.status.code(), Some(3));
    assert!(
        stderr(&without_flag).contains("--cache-cluster"),
        "{}",
        stderr(&without_flag)
    );
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first) == stdout(&second), "the tokens differ");
    assert_eq!(setup.emulator.token_requests(), 1);
}

#[tokio::test]
async fn bad_cache_settings_exit_3_and_an_unreachable_cache_listing_exits_7() {
    let setup = start().await;

    let not_redis = setup
        .run(&["token", "--cache", "http://user:hunter2@cache:6379"], &[])
        .await;
    let no_cache = reged(&["cache", "list"], &[]).await;
    let unreachable = reged(&["cache", "list", "--cache", "redis://127.0.0.1:1"], &[]).await;

    assert_eq!(not_redis.status.code(), Some(3));
    assert!(
        stderr(&not_redis).contains("redis://"),
        "{}",
        stderr(&not_redis)
    );
    assert!(
        !stderr(&not_redis).contains("hunter2"),
        "{}",
        stderr(&not_redis)
    );
    assert_eq!(no_cache.status.code(), Some(3));
    assert!(
        stderr(&no_cache).contains("REGED_CACHE_URL"),
        "{}",
        stderr(&no_cache)
    );
    assert_eq!(
        unreachable.status.code(),
        Some(7),
        "{}",
        stderr(&unreachable)
    );
    assert!(
        stderr(&unreachable).starts_with("reged: "),
        "{}",
        stderr(&unreachable)
    );
    assert_eq!(setup.emulator.token_requests(), 0);
}

#[tokio::test]
async fn token_json_from_the_shared_cache_reports_the_life_left_not_the_announced_expires_in() {
    let setup = start().await;
    let redis = redis_server::RedisServer::start();
    let url = redis.url();

    let first = setup.run(&["token", "--json", "--cache", &url], &[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let second = setup.run(&["token", "--json", "--cache", &url], &[]).await;

    assert!(first.status.success(), "{}", stderr(&first));
    assert!(second.status.success(), "{}", stderr(&second));
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let second: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(first["access_token"], second["access_token"]);
    assert_eq!(setup.emulator.token_requests(), 1);
    // The same instant; Redis keeps it to the millisecond.
    let to_the_second =
        |json: &serde_json::Value| json["expires_at"].as_str().unwrap()[..19].to_owned();
    assert_eq!(to_the_second(&first), to_the_second(&second));
    let (fresh, cached) = (
        first["expires_in"].as_u64().unwrap(),
        second["expires_in"].as_u64().unwrap(),
    );
    assert!((890..=900).contains(&fresh), "{first}");
    // At least the 2.5 s slept are gone.
    assert!(cached + 2 <= fresh, "fresh {fresh}, cached {cached}");
    assert!(cached >= 880, "fresh {fresh}, cached {cached}");
}

#[tokio::test]
async fn cache_clear_with_an_empty_prefix_is_refused_and_deletes_nothing() {
    // The bug: an empty prefix made `cache clear` delete every key of the database.
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    let mut connection = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("user:1")
        .arg("alice")
        .query(&mut connection)
        .unwrap();

    let by_flag = reged(
        &["cache", "clear", "--cache", &url, "--cache-prefix", ""],
        &[],
    )
    .await;
    let by_variable = reged(
        &["cache", "clear", "--cache", &url],
        &[("REGED_CACHE_PREFIX", "")],
    )
    .await;

    assert_eq!(by_flag.status.code(), Some(3), "{}", stderr(&by_flag));
    assert!(
        stderr(&by_flag).contains("--cache-prefix (REGED_CACHE_PREFIX)"),
        "{}",
        stderr(&by_flag)
    );
    assert!(stderr(&by_flag).contains("empty"), "{}", stderr(&by_flag));
    // An empty variable counts as unset, as every variable does: the default prefix.
    assert_eq!(
        by_variable.status.code(),
        Some(0),
        "{}",
        stderr(&by_variable)
    );
    let kept: Option<String> = redis::cmd("GET")
        .arg("user:1")
        .query(&mut connection)
        .unwrap();
    assert_eq!(kept.as_deref(), Some("alice"));
}

#[tokio::test]
async fn cache_clear_under_a_shared_prefix_deletes_only_reged_entries() {
    // The bug: prefix `user` made `cache clear` delete `user:1`, which `cache list` showed as
    // not a sealed token.
    let setup = start().await;
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    let mut connection = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    for (name, value) in [("user:1", "alice"), ("session:9", "bob")] {
        let _: () = redis::cmd("SET")
            .arg(name)
            .arg(value)
            .query(&mut connection)
            .unwrap();
    }

    let token = setup
        .run(&["token", "--cache", &url, "--cache-prefix", "user"], &[])
        .await;
    let cleared = reged(
        &["cache", "clear", "--cache", &url],
        &[("REGED_CACHE_PREFIX", "user")],
    )
    .await;

    assert!(token.status.success(), "{}", stderr(&token));
    assert!(cleared.status.success(), "{}", stderr(&cleared));
    assert_eq!(
        stdout(&cleared),
        "deleted 1 entry\nleft 1 other key under the prefix: reged did not write it\n"
    );
    let mut left: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut connection).unwrap();
    left.sort();
    assert_eq!(left, ["session:9", "user:1"]);
}

#[tokio::test]
async fn cache_errors_say_what_to_fix() {
    let redis = redis_server::RedisServer::start_with_password("s3cret-of-redis");
    let plain = redis_server::RedisServer::start();
    let port = |url: String| url.rsplit(':').next().unwrap().to_owned();
    let wrong_password = format!("redis://:hunter2@127.0.0.1:{}", port(redis.url()));
    let tls_to_plain = format!("rediss://127.0.0.1:{}", port(plain.url()));
    let dir = tempfile::tempdir().unwrap();
    let raw_key = dir.path().join("raw.key");
    let mut bytes = [0x80u8; 32];
    bytes[0] = 0xff;
    std::fs::write(&raw_key, bytes).unwrap();

    let refused = reged(&["cache", "list", "--cache", &wrong_password], &[]).await;
    let not_tls = reged(&["cache", "list", "--cache", &tls_to_plain], &[]).await;
    let no_host = reged(&["cache", "list", "--cache", "redis://"], &[]).await;
    let binary_key = reged(
        &[
            "cache",
            "list",
            "--cache",
            &plain.url(),
            "--cache-key-file",
            &path(&raw_key),
        ],
        &[],
    )
    .await;

    assert_eq!(refused.status.code(), Some(7), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("refused the credentials; check the user name and password"),
        "{}",
        stderr(&refused)
    );
    assert!(
        !stderr(&refused).contains("did not answer"),
        "{}",
        stderr(&refused)
    );
    assert!(
        !stderr(&refused).contains("hunter2"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(not_tls.status.code(), Some(7), "{}", stderr(&not_tls));
    assert!(
        stderr(&not_tls).contains("the server may not speak TLS: use redis://"),
        "{}",
        stderr(&not_tls)
    );
    assert_eq!(no_host.status.code(), Some(3), "{}", stderr(&no_host));
    assert!(
        stderr(&no_host).contains("no host; write redis://host:port/db"),
        "{}",
        stderr(&no_host)
    );
    assert_eq!(binary_key.status.code(), Some(3), "{}", stderr(&binary_key));
    assert!(
        stderr(&binary_key).contains("64 hex digits or in base64"),
        "{}",
        stderr(&binary_key)
    );
    assert!(
        !stderr(&binary_key).contains("UTF-8"),
        "{}",
        stderr(&binary_key)
    );
}

#[tokio::test]
async fn wrong_cache_password_warns_that_the_credentials_were_refused_and_the_token_comes() {
    let setup = start().await;
    let redis = redis_server::RedisServer::start_with_password("s3cret-of-redis");
    let port = redis.url().rsplit(':').next().unwrap().to_owned();
    let wrong_password = format!("redis://:hunter2@127.0.0.1:{port}");

    let output = setup.run(&["token", "--cache", &wrong_password], &[]).await;

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(setup.emulator.token_requests(), 1);
    assert_eq!(
        stderr(&output).matches("unavailable").count(),
        1,
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("refused the credentials"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("hunter2"), "{}", stderr(&output));
}

#[tokio::test]
async fn password_in_the_token_url_or_api_base_is_refused_and_never_shown() {
    let setup = start().await;
    let token_url = "https://u:s3cretpw@127.0.0.1:1/oauth/token";
    let api_base = "https://u:s3cretpw@127.0.0.1:1";

    let token_flag = setup.run(&["token"], &["--token-url", token_url]).await;
    let api_flag = setup
        .run(&["call", "GET", "/v1/whoami"], &["--api-base", api_base])
        .await;
    let from_env = reged(
        &["--log", "trace", "token", "--cert", "c.pem"],
        &[("REGED_TOKEN_URL", token_url)],
    )
    .await;

    for (output, setting) in [
        (&token_flag, "--token-url (REGED_TOKEN_URL)"),
        (&api_flag, "--api-base (REGED_API_BASE)"),
        (&from_env, "--token-url (REGED_TOKEN_URL)"),
    ] {
        let shown = stderr(output);
        assert_eq!(output.status.code(), Some(3), "{shown}");
        assert!(shown.starts_with(&format!("reged: {setting}: ")), "{shown}");
        assert!(
            shown.contains("credentials do not belong in the URL"),
            "{shown}"
        );
        assert!(!shown.contains("s3cretpw"), "{shown}");
    }
    assert_eq!(setup.emulator.token_requests(), 0);
}

#[tokio::test]
async fn usage_errors_start_with_reged_and_blame_the_variable_not_the_flag() {
    let bad_variable = reged(&["token"], &[("REGED_TIMEOUT", "abc")]).await;
    let negative = reged(&["token", "--timeout", "-1"], &[]).await;
    let unknown = reged(&["token", "--bogus"], &[]).await;
    let help = reged(&["token", "--help"], &[]).await;
    let version = reged(&["--version"], &[]).await;

    for output in [&bad_variable, &negative, &unknown] {
        assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
        assert!(stderr(output).starts_with("reged: "), "{}", stderr(output));
        assert!(stdout(output).is_empty());
    }
    let shown = stderr(&bad_variable);
    assert!(shown.contains("REGED_TIMEOUT"), "{shown}");
    assert!(!shown.contains("for '--timeout"), "{shown}");
    assert!(
        stderr(&negative).contains("must be a positive number of seconds"),
        "{}",
        stderr(&negative)
    );
    for output in [&help, &version] {
        assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
        assert!(stdout(output).contains("reged"), "{}", stdout(output));
    }
}

#[tokio::test]
async fn empty_or_yes_no_variables_do_not_break_every_command() {
    let setup = start().await;
    let token_url = setup.emulator.token_url();
    let api_base = setup.emulator.base_url();

    let mut runs = Vec::new();
    for (name, value) in [
        ("REGED_CACHE_CLUSTER", ""),
        ("REGED_CACHE_CLUSTER", "1"),
        ("REGED_CACHE_CLUSTER", "yes"),
        ("REGED_CACHE_CLUSTER", "no"),
        ("REGED_ENV", ""),
        ("REGED_LOG", ""),
    ] {
        let mut args = vec!["token".to_owned()];
        args.extend(setup.flags());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env = [
            (name, value),
            ("REGED_TOKEN_URL", token_url.as_str()),
            ("REGED_API_BASE", api_base.as_str()),
        ];
        runs.push((name, value, reged(&args, &env).await));
    }

    for (name, value, output) in runs {
        assert!(
            output.status.success(),
            "{name}={value}: {}",
            stderr(&output)
        );
    }
}

/// A server that refuses the client certificate in a TLS 1.3 handshake does so after the client
/// thinks the handshake done; the alert is then often lost with the connection, and the request
/// sees only a closed channel ("the exchange with localhost failed" before). Whichever of the two
/// a run meets, the message points at the certificate.
#[tokio::test]
async fn certificate_from_another_ca_closed_in_the_handshake_points_at_the_certificate() {
    let setup = start().await;
    let stranger = tempfile::tempdir().unwrap();
    let made = reged(&["dev-certs", stranger.path().to_str().unwrap()], &[]).await;
    assert!(made.status.success(), "{}", stderr(&made));
    let cert = path(&stranger.path().join("client.pem"));
    let key = path(&stranger.path().join("client.key"));

    for attempt in 0..6 {
        let output = setup
            .run(&["token"], &["--cert", &cert, "--key", &key])
            .await;

        let shown = stderr(&output);
        assert_eq!(output.status.code(), Some(4), "attempt {attempt}: {shown}");
        assert!(
            shown.contains("refused the client certificate;")
                || shown.contains(
                    "may have refused the client certificate during the TLS handshake: check \
                     that it is the certificate issued by the server's CA"
                ),
            "attempt {attempt}: {shown}"
        );
        assert!(
            !shown.contains("the exchange with"),
            "attempt {attempt}: {shown}"
        );
    }
    assert_eq!(setup.emulator.token_requests(), 0);
}

/// A TLS acceptor with the emulator's server certificate that speaks HTTP/1.1 and asks for no
/// client certificate, for servers that misbehave in ways the emulator will not.
fn loopback_tls_acceptor(setup: &Setup) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let chain = CertificateDer::pem_file_iter(setup.file("server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(setup.file("server.key")).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
}

/// An HTTPS server on loopback that reads each request's head, writes `head` then `body`, and
/// closes. Its base URL.
async fn https_server_answering(setup: &Setup, head: Vec<u8>, body: Vec<u8>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let acceptor = loopback_tls_acceptor(setup);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = std::sync::Arc::new((head, body));

    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let answer = answer.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut byte = [0u8; 1];
                while !request.ends_with(b"\r\n\r\n") && tls.read(&mut byte).await.unwrap_or(0) == 1
                {
                    request.push(byte[0]);
                }
                let _ = tls.write_all(&answer.0).await;
                let _ = tls.write_all(&answer.1).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://localhost:{port}")
}

/// An HTTPS API on loopback that answers every request with the head of a 1,000,000-byte body,
/// then 500,000 bytes, then closes.
async fn api_that_cuts_its_answer(setup: &Setup) -> String {
    let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\
                 content-length: 1000000\r\n\r\n";
    https_server_answering(setup, head.to_vec(), vec![b'x'; 500_000]).await
}

/// A token endpoint on loopback that answers every request with the JSON `body`.
async fn token_endpoint_answering(setup: &Setup, body: &str) -> String {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        body.len()
    );
    let base = https_server_answering(setup, head.into_bytes(), body.as_bytes().to_vec()).await;
    format!("{base}/token")
}

#[tokio::test]
async fn token_whose_expires_in_overflows_the_clock_exits_4_without_a_panic() {
    // 2^32 s once overflowed the cache's clock arithmetic and panicked the client.
    let setup = start().await;
    let token_url = token_endpoint_answering(
        &setup,
        r#"{"access_token":"never-shown","token_type":"Bearer","expires_in":4294967296}"#,
    )
    .await;

    let output = setup.run(&["token"], &["--token-url", &token_url]).await;

    let shown = stderr(&output);
    assert_eq!(output.status.code(), Some(4), "{shown}");
    assert!(!shown.contains("panicked"), "{shown}");
    assert!(shown.contains("`expires_in` 4294967296"), "{shown}");
    assert!(shown.contains("ten years"), "{shown}");
    assert!(!shown.contains("never-shown"), "{shown}");
    assert!(output.stdout.is_empty(), "{}", stdout(&output));
}

#[tokio::test]
async fn call_with_a_body_cut_short_prints_what_arrived_and_says_where_it_was_cut() {
    let setup = start().await;
    let api_base = api_that_cuts_its_answer(&setup).await;

    let output = setup
        .run(&["call", "GET", "/v1/stream"], &["--api-base", &api_base])
        .await;

    let shown = stderr(&output);
    assert_eq!(output.status.code(), Some(5), "{shown}");
    assert_eq!(output.stdout.len(), 500_000, "{shown}");
    assert!(
        shown.starts_with(
            "reged: the response body of GET /v1/stream was cut after 500000 bytes of the \
             1000000 announced; what arrived is on standard output"
        ),
        "{shown}"
    );
    assert!(!shown.contains("could not be reached"), "{shown}");
}

#[tokio::test]
async fn call_whose_http2_stream_the_emulator_resets_says_so() {
    let setup = start_with_admin().await;
    let state_dir = path(setup.dir.path());
    let set = reged(
        &[
            "emulator",
            "faults",
            "set",
            "--close-rate",
            "1",
            "--target",
            "api",
            "--state-dir",
            &state_dir,
        ],
        &[],
    )
    .await;
    assert!(set.status.success(), "{}", stderr(&set));

    let output = setup
        .run(&["call", "GET", "/v1/stream?bytes=1000000"], &[])
        .await;

    let shown = stderr(&output);
    assert_eq!(output.status.code(), Some(5), "{shown}");
    // The emulator's HTTP/2 reset drops the half body it had queued: nothing arrives.
    assert!(
        shown.contains("reset the HTTP/2 stream (INTERNAL_ERROR)")
            || shown.contains("was cut after"),
        "{shown}"
    );
    assert!(!shown.contains("the exchange with"), "{shown}");
}

/// A connection to the Redis server at `url`, to plant values of other types.
fn redis_connection(url: &str) -> redis::Connection {
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

#[tokio::test]
async fn cache_list_and_clear_go_on_past_a_hash_under_the_prefix() {
    // The bug: a hash under the prefix made `cache list` exit 7, saying that Redis did not
    // answer; and `cache clear` said "left 1 other keys".
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    let foreign = format!("reged:token:{{{}}}", "2".repeat(64));
    let _: () = redis::cmd("HSET")
        .arg(&foreign)
        .arg("a")
        .arg("b")
        .query(&mut redis_connection(&url))
        .unwrap();

    let listed = reged(&["cache", "list", "--cache", &url], &[]).await;
    let listed_json = reged(&["cache", "list", "--json", "--cache", &url], &[]).await;
    let cleared = reged(&["cache", "clear", "--cache", &url], &[]).await;

    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    assert_eq!(
        stdout(&listed),
        format!("{foreign}  (not a sealed token)  remaining=no expiry\n")
    );
    assert_eq!(
        listed_json.status.code(),
        Some(0),
        "{}",
        stderr(&listed_json)
    );
    let entry: serde_json::Value = serde_json::from_str(stdout(&listed_json).trim()).unwrap();
    assert_eq!(entry["entry"], foreign.as_str());
    assert!(entry["client_id"].is_null(), "{entry}");
    assert_eq!(cleared.status.code(), Some(0), "{}", stderr(&cleared));
    assert_eq!(
        stdout(&cleared),
        "deleted 0 entries\nleft 1 other key under the prefix: reged did not write it\n"
    );
}

#[tokio::test]
async fn token_with_a_hash_at_its_key_warns_of_an_unusable_value_not_an_outage() {
    // The bug: the WRONGTYPE answer counted as Redis being down, and the token fetched was not
    // written over the hash.
    let setup = start().await;
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    let mut connection = redis_connection(&url);
    let first = setup.run(&["token", "--cache", &url], &[]).await;
    let names: Vec<String> = redis::cmd("KEYS")
        .arg("reged:token:*")
        .query(&mut connection)
        .unwrap();
    assert_eq!(names.len(), 1, "{names:?}");
    let _: () = redis::cmd("DEL")
        .arg(&names[0])
        .query(&mut connection)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(&names[0])
        .arg("a")
        .arg("b")
        .query(&mut connection)
        .unwrap();

    let over_the_hash = setup.run(&["token", "--cache", &url], &[]).await;
    let from_redis = setup.run(&["token", "--cache", &url], &[]).await;

    assert!(first.status.success(), "{}", stderr(&first));
    assert!(over_the_hash.status.success(), "{}", stderr(&over_the_hash));
    let logs = stderr(&over_the_hash);
    assert_eq!(logs.matches("unusable value").count(), 1, "{logs}");
    assert!(!logs.contains("unavailable"), "{logs}");
    assert!(from_redis.status.success(), "{}", stderr(&from_redis));
    assert_eq!(stdout(&from_redis), stdout(&over_the_hash));
    assert_eq!(setup.emulator.token_requests(), 2);
}

#[tokio::test]
async fn cache_error_reply_says_the_cache_answered_with_an_error() {
    // The bug: an error reply of Redis (NOPERM here) was reported as Redis not answering.
    let redis = redis_server::RedisServer::start();
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "lister",
            "on",
            ">pw-of-lister",
            "~*",
            "+@all",
            "-scan",
        ])
        .query(&mut redis_connection(&redis.url()))
        .unwrap();
    let port = redis.url().rsplit(':').next().unwrap().to_owned();
    let url = format!("redis://lister:pw-of-lister@127.0.0.1:{port}");

    let listed = reged(&["cache", "list", "--cache", &url], &[]).await;
    let cleared = reged(&["cache", "clear", "--cache", &url], &[]).await;

    for output in [&listed, &cleared] {
        let shown = stderr(output);
        assert_eq!(output.status.code(), Some(7), "{shown}");
        assert!(
            shown.starts_with("reged: the token cache at redis://lister:"),
            "{shown}"
        );
        assert!(shown.contains("answered with an error"), "{shown}");
        assert!(shown.contains("caused by: "), "{shown}");
        assert!(
            shown.contains("no permissions to run the 'scan' command"),
            "{shown}"
        );
        assert!(!shown.contains("did not answer"), "{shown}");
        assert!(!shown.contains("pw-of-lister"), "{shown}");
    }
}
