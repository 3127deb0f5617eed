//! The distinguished name parser: any string parses or is refused; a parsed name prints as a
//! string that parses back to the same name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reged_emulator::SubjectName;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Escapes at most triple a name's length; parse accepts three times 4096 bytes.
    if text.len() > 4096 {
        return;
    }
    if let Ok(name) = SubjectName::parse(text) {
        let printed = name.to_string();
        let again = SubjectName::parse(&printed).expect("a printed name parses");
        assert_eq!(again, name, "{text:?} printed as {printed:?}");
    }
});
