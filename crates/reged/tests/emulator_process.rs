//! `reged emulator` as a process: how it stops, what it leaves behind, and what it prints.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use reged_emulator::StateDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

struct Running {
    child: Child,
    /// What it printed up to its "listening on" line.
    banner: String,
    /// Kept open, so that the emulator's later output does not meet a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

/// Starts `reged emulator` on free ports with `state_dir`; waits until it listens.
async fn start(state_dir: &Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reged"))
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .args(["--admin-listen", "127.0.0.1:0", "--state-dir"])
        .arg(state_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());

    let mut banner = String::new();
    let listening = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).await.unwrap() == 0 {
                return false;
            }
            banner.push_str(&line);
            if banner.contains("press Ctrl-C to stop") {
                return true;
            }
        }
    })
    .await
    .unwrap();
    assert!(
        listening,
        "the emulator stopped before it listened: {banner}"
    );

    Running {
        child,
        banner,
        _stdout: stdout,
    }
}

async fn wait(child: &mut Child) -> ExitStatus {
    tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("the emulator stops within 15 s")
        .unwrap()
}

fn terminate(child: &Child) {
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

fn admin_url(state_dir: &Path) -> String {
    StateDir::read_admin_file(state_dir).unwrap().0
}

#[tokio::test]
async fn sigterm_stops_the_emulator_cleanly_and_removes_its_admin_file() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let mut running = start(&state_dir).await;
    assert!(state_dir.join(StateDir::ADMIN).exists());

    terminate(&running.child);
    let status = wait(&mut running.child).await;

    assert!(status.success(), "{status:?}");
    assert!(!state_dir.join(StateDir::ADMIN).exists());
}

#[tokio::test]
async fn admin_file_left_by_a_killed_emulator_is_replaced_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let mut first = start(&state_dir).await;
    let first_url = admin_url(&state_dir);
    first.child.kill().await.unwrap();
    assert!(
        state_dir.join(StateDir::ADMIN).exists(),
        "kill -9 leaves it"
    );

    let second = start(&state_dir).await;

    assert_ne!(admin_url(&state_dir), first_url);
    drop(second);
}

#[tokio::test]
async fn second_emulator_on_the_state_directory_of_a_running_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let first = start(&state_dir).await;
    let first_url = admin_url(&state_dir);

    let second = Command::new(env!("CARGO_BIN_EXE_reged"))
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .args(["--admin-listen", "127.0.0.1:0", "--state-dir"])
        .arg(&state_dir)
        .output()
        .await
        .unwrap();

    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("another emulator is running"), "{stderr}");
    assert_eq!(
        admin_url(&state_dir),
        first_url,
        "the running one's file is kept"
    );
    drop(first);
}

#[tokio::test]
async fn printed_command_quotes_a_state_directory_with_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("with space");
    let running = start(&state_dir).await;

    let client_cert = state_dir.join(StateDir::CLIENT_CERT);
    let quoted = format!("--cert '{}'", client_cert.display());
    assert!(running.banner.contains(&quoted), "{}", running.banner);
}

#[tokio::test]
async fn issuer_that_is_not_an_https_url_is_refused() {
    let dir = tempfile::tempdir().unwrap();

    for issuer in [
        "",
        "not a url",
        "http://localhost:8443",
        "https://localhost/?q=1",
        // Found in review: every token would carry the password in its `iss`.
        "https://user:pw@localhost/",
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_reged"))
            .args(["emulator", "--listen", "127.0.0.1:0", "--issuer", issuer])
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .output()
            .await
            .unwrap();

        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{issuer}: {stderr}");
        assert!(stderr.contains("--issuer"), "{stderr}");
        // Found in review: a bad setting left a new state directory behind.
        assert!(!dir.path().join("state").exists(), "{issuer}");
    }
}

#[tokio::test]
async fn emulator_logs_at_info_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let mut running = start(&dir.path().join("state")).await;
    let mut stderr = BufReader::new(running.child.stderr.take().unwrap());

    let mut logged = String::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).await.unwrap() == 0 {
                return false;
            }
            logged.push_str(&line);
            if line.contains("emulator listening") {
                return true;
            }
        }
    })
    .await
    .unwrap();

    assert!(found, "{logged}");
    assert!(logged.contains("INFO"), "{logged}");
}
