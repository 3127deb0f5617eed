//! Standard output that stays quiet when the reader goes away (`reged token | head -c 10`).

use std::io::{self, Write};

use crate::exit;
use crate::failure::Failure;

/// Writes `bytes` to stdout and flushes. A closed pipe is not an error.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Failure::new(
            exit::FAILURE,
            format!("could not write to standard output: {error}"),
        )),
    }
}

/// Writes a line to stdout.
pub fn print_line(line: &str) -> Result<(), Failure> {
    write_stdout(format!("{line}\n").as_bytes())
}

/// Writes a line to stderr. A closed stderr is ignored: there is nobody left to tell.
pub fn eprint_line(line: &str) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}
