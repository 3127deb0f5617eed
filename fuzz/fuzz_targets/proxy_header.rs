//! The forwarded client certificate headers: any value is read or refused, never a panic.
#![no_main]

use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use reged_emulator::proxy_header::{
    CLIENT_CERT, CLIENT_CERT_CHAIN, NGINX_CLIENT_CERT, forwarded_chain,
};

fuzz_target!(|data: &[u8]| {
    let half = data.len() / 2;
    for (name, value) in [
        (CLIENT_CERT, &data[..half]),
        (CLIENT_CERT_CHAIN, &data[half..]),
        (NGINX_CLIENT_CERT, data),
    ] {
        let Ok(value) = HeaderValue::from_bytes(value) else {
            continue;
        };
        let mut headers = HeaderMap::new();
        headers.insert(name, value);
        let _ = forwarded_chain(&headers);
    }
});
