//! Hostile archives are refused, or defused with a skipped entry, never unpacked as given.

use std::io::Write;

use doctown_core::archive::{unpack, ArchiveError};
use doctown_core::policy::{Limits, SkipReason};
use doctown_core::source::Entry;

/// A tar entry written byte by byte, so tests can write what `tar::Builder` refuses to.
fn raw_entry(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    {
        let old = header.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn finish_tar_gz(mut tar: Vec<u8>) -> Vec<u8> {
    tar.extend_from_slice(&[0u8; 1024]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn tar_gz(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut tar = Vec::new();
    for (name, kind, link, data) in entries {
        raw_entry(&mut tar, name, *kind, link, data);
    }
    finish_tar_gz(tar)
}

fn file(
    name: &'static str,
    data: &'static [u8],
) -> (&'static str, tar::EntryType, &'static str, &'static [u8]) {
    (name, tar::EntryType::Regular, "", data)
}

fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, data) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// The files an archive yielded, with their bytes.
fn kept(entries: &[Entry]) -> Vec<(&str, &[u8])> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::File { path, bytes } => Some((path.as_str(), bytes.as_slice())),
            Entry::Skipped { .. } => None,
        })
        .collect()
}

fn skipped(entries: &[Entry], path: &str) -> (SkipReason, String) {
    entries
        .iter()
        .find_map(|e| match e {
            Entry::Skipped { path: p, skip } if p == path => {
                Some((skip.reason, skip.detail.clone()))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{path} not skipped in {entries:?}"))
}

#[test]
fn a_benign_tarball_unpacks_without_its_top_directory() {
    let archive = tar_gz(&[
        file("repo-abc/src/lib.rs", b"fn a() {}"),
        file("repo-abc/README.md", b"hi"),
    ]);
    let unpacked = unpack(&archive, &Limits::default()).unwrap();
    let paths: Vec<&str> = unpacked.entries.iter().map(Entry::path).collect();
    assert_eq!(paths, ["src/lib.rs", "README.md"]);
}

#[test]
fn tar_path_escaping_the_root_is_refused() {
    let archive = tar_gz(&[file("ok.rs", b""), file("../evil.rs", b"fn evil() {}")]);
    let err = unpack(&archive, &Limits::default()).unwrap_err();
    assert_eq!(err, ArchiveError::PathEscapes("../evil.rs".into()));
    assert!(err.to_string().contains("outside the archive"), "{err}");
    let nested = tar_gz(&[file("a/b/../../../evil.rs", b"")]);
    assert!(matches!(
        unpack(&nested, &Limits::default()),
        Err(ArchiveError::PathEscapes(_))
    ));
}

#[test]
fn tar_absolute_path_is_refused() {
    let archive = tar_gz(&[file("/etc/cron.d/evil.py", b"import os")]);
    let err = unpack(&archive, &Limits::default()).unwrap_err();
    assert_eq!(
        err,
        ArchiveError::AbsolutePath("/etc/cron.d/evil.py".into())
    );
}

#[test]
fn zip_slip_and_absolute_paths_are_refused() {
    let slip = zip(&[("src/ok.rs", b""), ("../../evil.rs", b"fn e() {}")]);
    assert!(matches!(
        unpack(&slip, &Limits::default()),
        Err(ArchiveError::PathEscapes(_))
    ));
    let absolute = zip(&[("/tmp/evil.rs", b"")]);
    assert!(matches!(
        unpack(&absolute, &Limits::default()),
        Err(ArchiveError::AbsolutePath(_))
    ));
    let windows = zip(&[("C:\\Windows\\evil.py", b"")]);
    assert!(matches!(
        unpack(&windows, &Limits::default()),
        Err(ArchiveError::AbsolutePath(_))
    ));
}

#[test]
fn symlinks_are_never_followed() {
    let archive = tar_gz(&[
        file("r/src/main.rs", b"fn main() {}"),
        (
            "r/src/secrets.rs",
            tar::EntryType::Symlink,
            "../../../etc/shadow",
            b"",
        ),
        ("r/src/abs.py", tar::EntryType::Symlink, "/etc/passwd", b""),
        ("r/src/inside.rs", tar::EntryType::Symlink, "main.rs", b""),
        ("r/src/hard.rs", tar::EntryType::Link, "/etc/passwd", b""),
    ]);
    let unpacked = unpack(&archive, &Limits::default()).unwrap();
    let (reason, detail) = skipped(&unpacked.entries, "src/secrets.rs");
    assert_eq!(reason, SkipReason::Symlink);
    assert!(detail.contains("outside the repository"), "{detail}");
    assert!(skipped(&unpacked.entries, "src/abs.py")
        .1
        .contains("outside"));
    assert!(skipped(&unpacked.entries, "src/hard.rs")
        .1
        .contains("outside"));
    let (reason, detail) = skipped(&unpacked.entries, "src/inside.rs");
    assert_eq!(reason, SkipReason::Symlink);
    assert!(!detail.contains("outside"), "{detail}");
    let files = unpacked
        .entries
        .iter()
        .filter(|e| matches!(e, Entry::File { .. }))
        .count();
    assert_eq!(files, 1);
}

#[test]
fn tar_gz_decompression_bomb_is_refused() {
    // 64 MiB of zeros compress to ~64 KiB; the budget is 16 MiB.
    let limits = Limits {
        max_unpacked_bytes: 16 << 20,
        ..Limits::default()
    };
    let mut tar = Vec::new();
    raw_entry(
        &mut tar,
        "bomb/zeros.rs",
        tar::EntryType::Regular,
        "",
        &vec![0u8; 64 << 20],
    );
    let archive = finish_tar_gz(tar);
    assert!(
        archive.len() < 1 << 20,
        "the bomb is small: {} bytes",
        archive.len()
    );
    let err = unpack(&archive, &limits).unwrap_err();
    assert_eq!(err, ArchiveError::TooLarge { limit: 16 << 20 });
    assert!(err.to_string().contains("decompression bomb"), "{err}");
}

#[test]
fn zip_decompression_bomb_is_refused() {
    let zeros = vec![0u8; 1 << 20];
    let names: Vec<String> = (0..24).map(|i| format!("src/f{i}.py")).collect();
    let entries: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), zeros.as_slice()))
        .collect();
    let archive = zip(&entries);
    let limits = Limits {
        max_unpacked_bytes: 16 << 20,
        ..Limits::default()
    };
    assert_eq!(
        unpack(&archive, &limits).unwrap_err(),
        ArchiveError::TooLarge { limit: 16 << 20 }
    );
}

#[test]
fn oversized_files_are_skipped_without_being_kept() {
    let big = vec![b'x'; (1 << 20) + 10];
    let mut tar = Vec::new();
    raw_entry(&mut tar, "big.rs", tar::EntryType::Regular, "", &big);
    raw_entry(
        &mut tar,
        "small.rs",
        tar::EntryType::Regular,
        "",
        b"fn s() {}",
    );
    let unpacked = unpack(&finish_tar_gz(tar), &Limits::default()).unwrap();
    assert_eq!(skipped(&unpacked.entries, "big.rs").0, SkipReason::TooLarge);
    assert!(unpacked
        .entries
        .iter()
        .any(|e| e.path() == "small.rs" && matches!(e, Entry::File { .. })));
}

#[test]
fn too_many_entries_are_refused() {
    let names: Vec<String> = (0..20).map(|i| format!("f{i}.rs")).collect();
    let entries: Vec<_> = names
        .iter()
        .map(|n| (n.as_str(), tar::EntryType::Regular, "", &b""[..]))
        .collect();
    let limits = Limits {
        max_archive_entries: 10,
        ..Limits::default()
    };
    assert_eq!(
        unpack(&tar_gz(&entries), &limits).unwrap_err(),
        ArchiveError::TooManyEntries { limit: 10 }
    );
    let zipped: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    assert_eq!(
        unpack(&zip(&zipped), &limits).unwrap_err(),
        ArchiveError::TooManyEntries { limit: 10 }
    );
}

#[test]
fn truncated_archives_are_reported_as_damaged() {
    let data: Vec<u8> = (0..200_000u32)
        .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
        .collect();
    let mut tar = Vec::new();
    raw_entry(&mut tar, "r/a.rs", tar::EntryType::Regular, "", &data);
    let archive = finish_tar_gz(tar);
    let err = unpack(&archive[..archive.len() / 2], &Limits::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt(_)), "{err:?}");
    assert!(err.to_string().contains("damaged or truncated"), "{err}");

    let zipped = zip(&[("a.rs", &data[..1000])]);
    let err = unpack(&zipped[..zipped.len() - 30], &Limits::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt(_)), "{err:?}");
}

#[test]
fn other_bytes_are_not_an_archive() {
    let err = unpack(b"#!/bin/sh\necho hi\n", &Limits::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::NotAnArchive(_)));
    assert!(err.to_string().contains(".zip or .tar.gz"), "{err}");
}

#[test]
fn a_path_given_twice_counts_once_with_the_last_copy() {
    let archive = tar_gz(&[
        file("r/a.rs", b"fn first() {}"),
        file("r/./a.rs", b"fn second() {}"),
        file("r/b.rs", b""),
    ]);
    let unpacked = unpack(&archive, &Limits::default()).unwrap();
    assert_eq!(
        kept(&unpacked.entries),
        [("a.rs", &b"fn second() {}"[..]), ("b.rs", &b""[..])]
    );
}

#[test]
fn non_source_files_are_not_held_in_memory() {
    let archive = tar_gz(&[
        file("r/logo.png", b"\x89PNG...."),
        file("r/.gitignore", b"*.log\n"),
        file("r/a.py", b"x = 1\n"),
    ]);
    let unpacked = unpack(&archive, &Limits::default()).unwrap();
    assert_eq!(
        skipped(&unpacked.entries, "logo.png").0,
        SkipReason::UnsupportedLanguage
    );
    let paths: Vec<&str> = kept(&unpacked.entries).iter().map(|(p, _)| *p).collect();
    assert_eq!(paths, [".gitignore", "a.py"]);
}
