//! The state directory: written once, read back after.

use std::fs;

use reged_emulator::{DEV_CLIENT_ID, OTHER_CLIENT_ID, Profile, StateDir};

use crate::support::TempDir;

#[test]
fn first_open_writes_every_file_and_the_next_reuses_them() {
    let dir = TempDir::new();

    let first = StateDir::open_or_create(dir.path()).unwrap();
    let second = StateDir::open_or_create(dir.path()).unwrap();

    assert!(first.was_created());
    assert!(!second.was_created());
    for name in StateDir::FILES {
        assert!(dir.path().join(name).is_file(), "{name} is missing");
    }
    assert_eq!(second.certs().ca_pem(), first.certs().ca_pem());
    assert_eq!(
        second.certs().client().thumbprint(),
        first.certs().client().thumbprint()
    );
    assert_eq!(second.certs().client_pfx(), first.certs().client_pfx());
    assert_eq!(second.clients(), first.clients());
}

#[cfg(unix)]
#[test]
fn secret_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new();

    StateDir::open_or_create(dir.path()).unwrap();

    for name in [
        StateDir::SERVER_KEY,
        StateDir::CLIENT_KEY,
        StateDir::CLIENT_PFX,
        StateDir::CLIENT_PFX_PASSWORD,
        StateDir::OTHER_CLIENT_KEY,
    ] {
        let mode = fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name} has mode {mode:o}");
    }
    let mode = fs::metadata(dir.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn registrations_allow_both_profiles_audiences() {
    let dir = TempDir::new();

    let state = StateDir::open_or_create(dir.path()).unwrap();

    let config = state.config(Profile::Prod);
    let client = config.client(DEV_CLIENT_ID).unwrap();
    assert_eq!(client.scopes(), ["read", "write"]);
    assert_eq!(
        client.audiences(),
        ["https://uatapi.reged.com", "https://api.reged.com"]
    );
    assert_eq!(client.subject(), Some(state.certs().client().subject()));
    let other = config.client(OTHER_CLIENT_ID).unwrap();
    assert_eq!(
        other.subject(),
        Some(state.certs().other_client().subject())
    );
}

#[test]
fn corrupt_registrations_file_is_named_in_the_error() {
    let dir = TempDir::new();
    StateDir::open_or_create(dir.path()).unwrap();
    fs::write(dir.path().join(StateDir::CLIENTS), "{").unwrap();

    let error = StateDir::open_or_create(dir.path()).unwrap_err();

    let message = error.to_string();
    assert!(message.contains("clients.json is not usable"), "{message}");
    assert!(message.contains("delete the state directory"), "{message}");
}

#[test]
fn wrong_pfx_password_is_named_in_the_error() {
    let dir = TempDir::new();
    StateDir::open_or_create(dir.path()).unwrap();
    fs::write(dir.path().join(StateDir::CLIENT_PFX_PASSWORD), "wrong").unwrap();

    let error = StateDir::open_or_create(dir.path()).unwrap_err();

    let message = error.to_string();
    assert!(message.contains("client.pfx is not usable"), "{message}");
    assert!(message.contains("client.pfx.password"), "{message}");
}

#[cfg(unix)]
#[test]
fn link_planted_where_a_key_goes_is_not_written_through() {
    let dir = TempDir::new();
    fs::create_dir_all(dir.path()).unwrap();
    let victim = dir.path().join("victim.txt");
    fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join(StateDir::CLIENT_KEY)).unwrap();

    let error = StateDir::open_or_create(dir.path()).unwrap_err();

    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    let shown = format!("{error}: {}", std::error::Error::source(&error).unwrap());
    assert!(shown.contains(StateDir::CLIENT_KEY), "{shown}");
}

#[test]
fn partial_directory_is_refused_and_its_files_kept() {
    let dir = TempDir::new();
    fs::create_dir_all(dir.path()).unwrap();
    fs::write(dir.path().join(StateDir::CA_CERT), "someone's CA").unwrap();

    let error = StateDir::open_or_create(dir.path()).unwrap_err();

    assert_eq!(
        fs::read_to_string(dir.path().join(StateDir::CA_CERT)).unwrap(),
        "someone's CA"
    );
    let shown = format!("{error}: {}", std::error::Error::source(&error).unwrap());
    assert!(shown.contains("ca.pem but no clients.json"), "{shown}");
}
