//! The seed corpus of every fuzz target, from the fixture repositories (one folder per
//! language): their files for the ingest targets, a `.tar.gz` and a `.zip` of each for the
//! archive target, and a real docpack and its parts for the docpack targets.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use crate::{baseline, part_names};

/// One seed: its target, a file name, and its bytes.
pub type Seed = (String, String, Vec<u8>);

/// The languages of the fixtures, as the ingest targets name them.
pub const LANGUAGES: [&str; 6] = ["rust", "python", "go", "javascript", "typescript", "tsx"];

/// Every target's seeds, from the fixtures under `fixtures`.
pub fn seeds(fixtures: &Path) -> io::Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    for language in LANGUAGES {
        let files = files_under(&fixtures.join(language))?;
        for (i, (_, bytes)) in files.iter().enumerate() {
            let target = format!("ingest_{language}");
            seeds.push((target, format!("fixture-{i}"), bytes.clone()));
        }
        seeds.push((
            "archive".into(),
            format!("{language}.tar.gz"),
            tar_gz(&files)?,
        ));
        seeds.push(("archive".into(), format!("{language}.zip"), zip(&files)?));
    }
    let packed = baseline();
    let docpack = doctown_core::docpack::pack(packed)?;
    seeds.push(("docpack".into(), "baseline.docpack".into(), docpack));
    for (i, name) in part_names().into_iter().enumerate() {
        let mut seed = vec![i as u8];
        seed.extend_from_slice(&packed.parts[name]);
        seeds.push(("docpack_parts".into(), name.into(), seed));
    }
    Ok(seeds)
}

/// Every file under `root`, by path relative to it, in path order.
fn files_under(root: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let name = path.strip_prefix(root).unwrap_or(&path);
                let name = name.to_string_lossy().replace('\\', "/");
                files.push((name, fs::read(&path)?));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// A GitHub-style tarball: every path under one top-level folder.
fn tar_gz(files: &[(String, Vec<u8>)]) -> io::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        let path = format!("owner-repo-0123abc/{path}");
        tar.append_data(&mut header, path, bytes.as_slice())?;
    }
    tar.into_inner()?.finish()
}

fn zip(files: &[(String, Vec<u8>)]) -> io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    for (path, bytes) in files {
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file(format!("repo-main/{path}"), options)
            .map_err(io::Error::other)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish().map_err(io::Error::other)?.into_inner())
}
