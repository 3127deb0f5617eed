//! `reged dev-certs DIR`: the emulator's development certificates, without the emulator.

use std::path::Path;

use reged_emulator::StateDir;

use crate::failure::Failure;
use crate::output::print_line;

pub fn run(dir: &Path) -> Result<(), Failure> {
    let state = StateDir::open_or_create(dir)?;

    let verb = if state.was_created() {
        "wrote"
    } else {
        "kept the existing"
    };
    print_line(&format!(
        "{verb} development certificates in {}: CA {}, client {} and {}, PFX {} (password in {})",
        dir.display(),
        StateDir::CA_CERT,
        StateDir::CLIENT_CERT,
        StateDir::CLIENT_KEY,
        StateDir::CLIENT_PFX,
        StateDir::CLIENT_PFX_PASSWORD,
    ))
}
