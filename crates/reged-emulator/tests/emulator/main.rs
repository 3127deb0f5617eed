//! End-to-end tests of the emulator over real TLS sockets on loopback.

mod admin;
mod api;
mod client_auth;
mod curl;
mod faults;
mod logging;
mod metadata;
mod nginx;
mod proxy;
mod python;
mod resource_server;
mod security;
mod state_dir;
mod support;
mod token_endpoint;
