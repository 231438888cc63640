//! `.zip` and `.tar.gz` archives → repository entries, in memory, defusing hostile archives:
//! paths that escape the root or are absolute refuse the archive; links are never followed;
//! decompression is counted byte by byte against [`Limits::max_unpacked_bytes`].

use std::collections::HashSet;
use std::io::{Cursor, Read};

use thiserror::Error;

use crate::policy::{skip_unread, too_large, Limits, Skip, SkipReason};
use crate::source::Entry;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ArchiveError {
    #[error("not a .zip or .tar.gz archive (it starts with bytes {0}); give a directory, a git repository, a .zip or a .tar.gz")]
    NotAnArchive(String),
    #[error("refused: archive entry `{0}` points outside the archive (a path with `..`); this archive is unsafe to unpack")]
    PathEscapes(String),
    #[error("refused: archive entry `{0}` has an absolute path; this archive is unsafe to unpack")]
    AbsolutePath(String),
    #[error("refused: the archive expands past {limit} bytes (MAX_UNPACKED_BYTES), a decompression bomb or far larger than any repository Doctown documents")]
    TooLarge { limit: u64 },
    #[error("refused: the archive has more than {limit} entries (MAX_ARCHIVE_ENTRIES)")]
    TooManyEntries { limit: usize },
    #[error("the archive is damaged or truncated: {0}")]
    Corrupt(String),
}

/// What an archive holds: its entries, and the commit if the archive records one (GitHub's and
/// `git archive`'s tarballs carry it in a pax global header).
#[derive(Debug, Default)]
pub struct Unpacked {
    pub entries: Vec<Entry>,
    pub commit: Option<String>,
}

/// Reads a `.zip` or `.tar.gz` (detected by content, not name). A single top-level directory
/// shared by every entry (`owner-repo-sha/` in GitHub tarballs) is removed from the paths.
pub fn unpack(bytes: &[u8], limits: &Limits) -> Result<Unpacked, ArchiveError> {
    let mut unpacked = if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        unzip(bytes, limits)?
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        untar_gz(bytes, limits)?
    } else {
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return Err(ArchiveError::NotAnArchive(head.join(" ")));
    };
    strip_common_root(&mut unpacked.entries);
    // A path given twice (tar allows it; `a/./b` and `a/b` are one path) counts once, the last
    // copy winning, as when the archive is extracted.
    let mut seen = HashSet::new();
    unpacked.entries.reverse();
    unpacked
        .entries
        .retain(|e| seen.insert(e.path().to_owned()));
    unpacked.entries.reverse();
    Ok(unpacked)
}

/// The bytes of a pax global header read for the commit; real ones are a few hundred bytes.
const MAX_PAX_HEADER_BYTES: u64 = 64 * 1024;
/// The longest symlink target read from a zip entry (longer than any real path).
const MAX_LINK_TARGET_BYTES: u64 = 4096;

/// A relative, normalised `/`-path, or why it is refused.
fn safe_path(raw: &str) -> Result<Option<String>, ArchiveError> {
    let unified = raw.replace('\\', "/");
    let drive =
        unified.as_bytes().get(1) == Some(&b':') && unified.as_bytes()[0].is_ascii_alphabetic();
    if unified.starts_with('/') || drive {
        return Err(ArchiveError::AbsolutePath(raw.to_owned()));
    }
    let mut parts = Vec::new();
    for part in unified.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(ArchiveError::PathEscapes(raw.to_owned())),
            p => parts.push(p),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// Where a link at `path` pointing to `target` lands, if inside the archive.
fn link_stays_inside(path: &str, target: &str) -> bool {
    let target = target.replace('\\', "/");
    if target.starts_with('/') {
        return false;
    }
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return false;
                }
            }
            p => parts.push(p),
        }
    }
    true
}

fn link_skip(path: &str, target: &str) -> Skip {
    if link_stays_inside(path, target) {
        Skip::new(
            SkipReason::Symlink,
            format!("a link to `{target}`; links are not followed"),
        )
    } else {
        Skip::new(
            SkipReason::Symlink,
            format!("a link to `{target}`, outside the repository; links are not followed"),
        )
    }
}

/// Counts decompressed bytes and fails past the limit, whatever the headers claim.
struct Budget<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(BOMB));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

const BOMB: &str = "doctown: unpacked byte budget exceeded";

fn io_error(err: std::io::Error, limits: &Limits) -> ArchiveError {
    if err.to_string().contains(BOMB) {
        ArchiveError::TooLarge {
            limit: limits.max_unpacked_bytes,
        }
    } else {
        ArchiveError::Corrupt(err.to_string())
    }
}

/// Reads at most `max + 1` bytes of `reader`: `Ok(None)` when it holds more than `max`.
fn read_capped(reader: &mut impl Read, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader.take(max + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

fn untar_gz(bytes: &[u8], limits: &Limits) -> Result<Unpacked, ArchiveError> {
    let gz = flate2::read::GzDecoder::new(bytes);
    let budget = Budget {
        inner: gz,
        left: limits.max_unpacked_bytes,
    };
    let mut archive = tar::Archive::new(budget);
    let mut out = Unpacked::default();
    let mut count = 0usize;
    let entries = archive.entries().map_err(|e| io_error(e, limits))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| io_error(e, limits))?;
        count += 1;
        if count > limits.max_archive_entries {
            return Err(ArchiveError::TooManyEntries {
                limit: limits.max_archive_entries,
            });
        }
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::XGlobalHeader {
            let mut text = String::new();
            let _ = (&mut entry)
                .take(MAX_PAX_HEADER_BYTES)
                .read_to_string(&mut text);
            out.commit = out.commit.or_else(|| pax_commit(&text));
            continue;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(path) = safe_path(&raw)? else {
            continue;
        };
        match kind {
            tar::EntryType::Directory => {}
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                if let Some(skip) = skip_unread(&path) {
                    out.entries.push(Entry::Skipped { path, skip });
                    continue;
                }
                let size = entry.header().size().unwrap_or(0);
                if size > limits.max_file_bytes {
                    out.entries.push(Entry::Skipped {
                        path,
                        skip: too_large(size, limits.max_file_bytes),
                    });
                    continue;
                }
                match read_capped(&mut entry, limits.max_file_bytes)
                    .map_err(|e| io_error(e, limits))?
                {
                    Some(bytes) => out.entries.push(Entry::File { path, bytes }),
                    None => out.entries.push(Entry::Skipped {
                        path,
                        skip: too_large(limits.max_file_bytes + 1, limits.max_file_bytes),
                    }),
                }
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                // A symlink's target is relative to its directory, a hard link's to the root.
                let from = if kind == tar::EntryType::Link {
                    ""
                } else {
                    path.as_str()
                };
                out.entries.push(Entry::Skipped {
                    skip: link_skip(from, &target),
                    path,
                });
            }
            other => out.entries.push(Entry::Skipped {
                path,
                skip: Skip::new(
                    SkipReason::SpecialFile,
                    format!("a {other:?} entry, not a regular file"),
                ),
            }),
        }
    }
    // Read to the end of the compressed stream: a cut-off gzip fails its length and CRC check.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink())
        .map_err(|e| io_error(e, limits))?;
    Ok(out)
}

/// The commit SHA in a pax global header (`52 comment=<sha>` as written by `git archive`).
fn pax_commit(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.split_once("comment=")?.1.trim();
        (value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| value.to_ascii_lowercase())
    })
}

fn unzip(bytes: &[u8], limits: &Limits) -> Result<Unpacked, ArchiveError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
    if archive.len() > limits.max_archive_entries {
        return Err(ArchiveError::TooManyEntries {
            limit: limits.max_archive_entries,
        });
    }
    let mut left = limits.max_unpacked_bytes;
    let mut out = Unpacked::default();
    for i in 0..archive.len() {
        let mut file = archive
            .by_index(i)
            .map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
        let raw = file.name().to_owned();
        let Some(path) = safe_path(&raw)? else {
            continue;
        };
        if file.is_dir() {
            continue;
        }
        if file.is_symlink() {
            let target = read_capped(&mut file, MAX_LINK_TARGET_BYTES)
                .ok()
                .flatten()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            out.entries.push(Entry::Skipped {
                skip: link_skip(&path, &target),
                path,
            });
            continue;
        }
        if let Some(skip) = skip_unread(&path) {
            out.entries.push(Entry::Skipped { path, skip });
            continue;
        }
        if file.size() > limits.max_file_bytes {
            out.entries.push(Entry::Skipped {
                path,
                skip: too_large(file.size(), limits.max_file_bytes),
            });
            continue;
        }
        // Headers can lie: cap what is actually decompressed, per file and in total.
        let cap = limits.max_file_bytes.min(left);
        let read = read_capped(&mut file, cap)
            .map_err(|e| ArchiveError::Corrupt(format!("{raw}: {e}")))?;
        match read {
            Some(bytes) => {
                left -= bytes.len() as u64;
                out.entries.push(Entry::File { path, bytes });
            }
            None if cap < limits.max_file_bytes => {
                return Err(ArchiveError::TooLarge {
                    limit: limits.max_unpacked_bytes,
                });
            }
            None => {
                // The header lied about the size; what was inflated still counts.
                left = left.saturating_sub(cap + 1);
                out.entries.push(Entry::Skipped {
                    path,
                    skip: too_large(limits.max_file_bytes + 1, limits.max_file_bytes),
                });
            }
        }
    }
    Ok(out)
}

/// Removes a top-level directory that every entry shares.
fn strip_common_root(entries: &mut [Entry]) {
    let Some(first) = entries.first().map(|e| e.path().to_owned()) else {
        return;
    };
    let Some((root, _)) = first.split_once('/') else {
        return;
    };
    let prefix = format!("{root}/");
    if !entries.iter().all(|e| e.path().starts_with(&prefix)) {
        return;
    }
    for entry in entries.iter_mut() {
        match entry {
            Entry::File { path, .. } | Entry::Skipped { path, .. } => {
                *path = path[prefix.len()..].to_owned();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        assert_eq!(safe_path("a/./b.rs"), Ok(Some("a/b.rs".into())));
        assert_eq!(safe_path("a/"), Ok(Some("a".into())));
        assert!(matches!(
            safe_path("../evil.rs"),
            Err(ArchiveError::PathEscapes(_))
        ));
        assert!(matches!(
            safe_path("a/../../evil.rs"),
            Err(ArchiveError::PathEscapes(_))
        ));
        assert!(matches!(
            safe_path("/etc/passwd"),
            Err(ArchiveError::AbsolutePath(_))
        ));
        assert!(matches!(
            safe_path("C:\\win.ini"),
            Err(ArchiveError::AbsolutePath(_))
        ));
    }

    #[test]
    fn links_inside_and_outside() {
        assert!(link_stays_inside("a/b/link", "../c.rs"));
        assert!(!link_stays_inside("a/link", "../../etc/passwd"));
        assert!(!link_stays_inside("link", "/etc/passwd"));
    }

    #[test]
    fn not_an_archive() {
        assert!(matches!(
            unpack(b"hello", &Limits::default()),
            Err(ArchiveError::NotAnArchive(_))
        ));
    }

    #[test]
    fn pax_comment_gives_the_commit() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            pax_commit(&format!("52 comment={sha}\n")),
            Some(sha.to_owned())
        );
        assert_eq!(pax_commit("20 comment=nope\n"), None);
    }
}
