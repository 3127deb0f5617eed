//! `reged emulator faults ...` and `reged emulator rotate-key`: requests to the admin
//! endpoint of a running emulator, found through the `admin.json` of its state directory.

use reged_emulator::StateDir;
use reged_emulator::admin::AdminToken;
use serde_json::{Map, Value, json};

use crate::cli::{AdminArgs, EmulatorAction, FaultArgs, FaultTargetArg, FaultsAction};
use crate::commands::emulator::default_state_dir;
use crate::failure::Failure;
use crate::output::print_line;

pub async fn run(action: EmulatorAction) -> Result<(), Failure> {
    match action {
        EmulatorAction::Faults { action, admin } => {
            let admin = Admin::find(&admin)?;
            let faults = match action {
                FaultsAction::Show => admin.send(reqwest::Method::GET, "/faults", None).await?,
                FaultsAction::Clear => admin.send(reqwest::Method::DELETE, "/faults", None).await?,
                FaultsAction::Set(changes) => {
                    let mut faults = admin.send(reqwest::Method::GET, "/faults", None).await?;
                    apply(&mut faults, &changes);
                    admin
                        .send(reqwest::Method::PUT, "/faults", Some(faults))
                        .await?
                }
            };
            print_json(&faults)
        }
        EmulatorAction::RotateKey { overlap, admin } => {
            let admin = Admin::find(&admin)?;
            let path = format!("/signing-key/rotate?overlap_s={overlap}");
            let answer = admin.send(reqwest::Method::POST, &path, None).await?;
            print_json(&answer)
        }
    }
}

struct Admin {
    url: String,
    token: AdminToken,
}

impl Admin {
    fn find(args: &AdminArgs) -> Result<Admin, Failure> {
        let dir = args.state_dir.clone().unwrap_or_else(default_state_dir);
        let (url, token) = StateDir::read_admin_file(&dir).map_err(|error| {
            Failure::config(format!(
                "{error}\nis an emulator running with --state-dir {}?",
                dir.display()
            ))
        })?;
        if !is_on_loopback(&url) {
            return Err(Failure::config(format!(
                "{}: the admin URL {url} is not on a loopback address (127.0.0.0/8, ::1, \
                 localhost), and reged sends the admin token only to this machine; is the file \
                 the one a local emulator wrote?",
                dir.join(StateDir::ADMIN).display()
            )));
        }
        Ok(Admin { url, token })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.url);
        let method_is_read = method == reqwest::Method::GET;
        let mut request = reqwest::Client::new()
            .request(method, &url)
            .bearer_auth(self.token.expose());
        if let Some(body) = body {
            request = request.json(&body);
        }

        // The admin file names an emulator that is not running: the state directory is unusable.
        let response = request.send().await.map_err(|error| {
            Failure::config(format!(
                "could not reach the emulator's admin endpoint at {url}: {error}\n\
                 is the emulator running?"
            ))
        })?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(answer);
        }
        let reason = answer["error"].as_str().unwrap_or("no reason given");
        let what = if method_is_read { "request" } else { "change" };
        Err(Failure::config(format!(
            "the emulator refused the {what} ({status}): {reason}"
        )))
    }
}

/// Whether the admin URL's host is this machine: a 127.0.0.0/8 or ::1 address, or `localhost`.
fn is_on_loopback(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn apply(faults: &mut Value, changes: &FaultArgs) {
    if !faults.is_object() {
        *faults = Value::Object(Map::new());
    }
    let mut set = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            faults[name] = value;
        }
    };
    set(
        "target",
        changes.target.map(|target| {
            json!(match target {
                FaultTargetArg::All => "all",
                FaultTargetArg::Token => "token",
                FaultTargetArg::Api => "api",
            })
        }),
    );
    set("latency_ms", changes.latency_ms.map(Value::from));
    set("failure_rate", changes.failure_rate.map(Value::from));
    set("failure_status", changes.failure_status.map(Value::from));
    set("retry_after_s", changes.retry_after.map(Value::from));
    set("close_rate", changes.close_rate.map(Value::from));
    set("token_lifetime_s", changes.token_lifetime.map(Value::from));
    set("clock_offset_s", changes.clock_offset.map(Value::from));
}

fn print_json(value: &Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    print_line(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_url_off_loopback_is_not_trusted_with_the_token() {
        for url in [
            "http://127.0.0.1:8444",
            "http://127.3.2.1:8444",
            "http://[::1]:8444",
            "http://localhost:8444",
            "http://LOCALHOST:8444",
        ] {
            assert!(is_on_loopback(url), "{url}");
        }
        for url in [
            "http://0.0.0.0:8444",
            "http://[::]:8444",
            "http://10.0.0.1:8444",
            "http://example.com:8444",
            "http://localhost.example.com:8444",
            "http://127.0.0.1.nip.io:8444",
            "not a url",
        ] {
            assert!(!is_on_loopback(url), "{url}");
        }
    }
}
