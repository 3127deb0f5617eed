//! Files read whole, with a cap on their size: `/dev/zero`, a log or a disk image given by
//! mistake fails at once instead of filling memory. The identity loader and the CLI read their
//! files through this.

use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

/// Why a file was not read.
#[derive(Debug)]
pub enum Unread {
    /// The operating system refused: no such file, no permission, a directory.
    Io(std::io::Error),
    /// The file holds more than the limit.
    TooLarge,
}

/// The bytes of `path` if it holds at most `limit`, in a buffer wiped when dropped: a password
/// or a key.
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
    read_into(file, limit, &mut bytes)?;
    Ok(bytes)
}

/// The bytes of `reader` if it yields at most `limit`: a request body, no secret, so the
/// buffer grows as it fills rather than taking the whole limit up front.
pub fn read_all_at_most(reader: impl Read, limit: usize) -> Result<Vec<u8>, Unread> {
    let mut bytes = Vec::new();
    read_into(reader, limit, &mut bytes)?;
    Ok(bytes)
}

/// Appends at most `limit` bytes of `reader` to `bytes`; one byte more is too large.
fn read_into(reader: impl Read, limit: usize, bytes: &mut Vec<u8>) -> Result<(), Unread> {
    reader
        .take(limit as u64 + 1)
        .read_to_end(bytes)
        .map_err(Unread::Io)?;

    if bytes.len() > limit {
        return Err(Unread::TooLarge);
    }
    Ok(())
}

/// `limit` for a message: `4 KiB`, `1 MiB`.
pub fn size_of_limit(limit: usize) -> String {
    if limit >= 1024 * 1024 {
        format!("{} MiB", limit / (1024 * 1024))
    } else {
        format!("{} KiB", limit / 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_of_exactly_the_limit_is_read_and_one_byte_more_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("password");
        std::fs::write(&path, vec![b'a'; 4096]).unwrap();

        let read = read_at_most(&path, 4096);
        assert_eq!(read.ok().map(|bytes| bytes.len()), Some(4096));

        std::fs::write(&path, vec![b'a'; 4097]).unwrap();
        let read = read_at_most(&path, 4096);
        assert!(matches!(read, Err(Unread::TooLarge)));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn dev_zero_is_refused_after_the_limit() {
        let read = read_at_most(Path::new("/dev/zero"), 1024 * 1024);

        assert!(matches!(read, Err(Unread::TooLarge)));
    }

    #[test]
    fn reader_of_exactly_the_limit_is_read_and_one_byte_more_is_not() {
        let read = read_all_at_most(&[b'a'; 10][..], 10);
        assert_eq!(read.ok().map(|bytes| bytes.len()), Some(10));

        let read = read_all_at_most(&[b'a'; 11][..], 10);
        assert!(matches!(read, Err(Unread::TooLarge)));
    }
}
