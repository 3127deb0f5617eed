//! Files read whole, with a cap on their size: `/dev/zero`, a log or a disk image given by
//! mistake fails at once instead of filling memory. The CLI and the emulator read their own
//! files through this too.

use std::io::Read as _;
use std::path::Path;

use zeroize::Zeroizing;

/// Why [`read_at_most`] returned no bytes.
#[derive(Debug)]
pub enum Unread {
    /// The operating system refused: no such file, no permission, a directory.
    Io(std::io::Error),
    /// The file holds more than the limit.
    TooLarge,
}

/// The bytes of `path` if it holds at most `limit`, in a buffer wiped when dropped: the file may
/// be a key or a password.
///
/// The buffer is allocated once at its final size where the file's size is known, and at
/// `limit + 1` where it is not (a pipe, a device): growing it would copy the secret and free the
/// old buffer unwiped.
pub fn read_at_most(path: &Path, limit: usize) -> Result<Zeroizing<Vec<u8>>, Unread> {
    let file = std::fs::File::open(path).map_err(Unread::Io)?;
    let capacity = match file.metadata() {
        Ok(metadata) if metadata.is_file() => metadata.len().min(limit as u64 + 1) as usize,
        _ => limit + 1,
    };

    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(Unread::Io)?;

    if bytes.len() > limit {
        return Err(Unread::TooLarge);
    }
    Ok(bytes)
}

/// `limit` for a message: `4 KiB`, `1 MiB`.
pub fn size_of_limit(limit: usize) -> String {
    if limit >= 1024 * 1024 {
        format!("{} MiB", limit / (1024 * 1024))
    } else {
        format!("{} KiB", limit / 1024)
    }
}
