//! `reged emulator faults ...` and `reged emulator rotate-key`: requests to the admin
//! endpoint of a running emulator, found through the `admin.json` of its state directory.

use reged_emulator::StateDir;
use reged_emulator::admin::AdminToken;
use serde_json::{Map, Value, json};

use crate::cli::{AdminArgs, EmulatorAction, FaultArgs, FaultTargetArg, FaultsAction};
use crate::commands::emulator::default_state_dir;
use crate::exit;
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
        Ok(Admin { url, token })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.url);
        let mut request = reqwest::Client::new()
            .request(method, &url)
            .bearer_auth(self.token.expose());
        if let Some(body) = body {
            request = request.json(&body);
        }

        let response = request.send().await.map_err(|error| {
            Failure::new(
                exit::FAILURE,
                format!("could not reach the emulator's admin endpoint at {url}: {error}\nis the emulator running?"),
            )
        })?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(answer);
        }
        let reason = answer["error"].as_str().unwrap_or("no reason given");
        Err(Failure::config(format!(
            "the emulator refused the change ({status}): {reason}"
        )))
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
