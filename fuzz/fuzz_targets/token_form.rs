//! The token endpoint's form parser: any content type and body give an answer, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (flags, rest) = data.split_first().unwrap_or((&0, &[]));
    let split = rest.iter().position(|byte| *byte == b'\n').unwrap_or(0);
    let (content_type, body) = rest.split_at(split);

    let _ = reged_emulator::fuzzing::token_request(content_type, flags & 1 == 1, body);
    let _ =
        reged_emulator::fuzzing::token_request(b"application/x-www-form-urlencoded", false, rest);
});
