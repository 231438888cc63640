//! Writes the seed corpus of every fuzz target: `fuzz-seeds FIXTURES OUT` fills `OUT/<target>/`
//! from the fixture repositories in `FIXTURES` (one folder per language): their files for the
//! ingest targets, a `.tar.gz` and a `.zip` of each for the archive target, and a real docpack
//! and its parts for the docpack targets.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use doctown_fuzz::{baseline, part_names};

fn main() -> Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [fixtures, out] = args.as_slice() else {
        anyhow::bail!("usage: fuzz-seeds FIXTURES_DIR OUT_DIR");
    };
    let write = |target: &str, name: &str, bytes: &[u8]| -> Result<()> {
        let dir = out.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(name), bytes).with_context(|| format!("writing {target}/{name}"))
    };
    for language in ["rust", "python", "go", "javascript", "typescript", "tsx"] {
        let root = fixtures.join(language);
        let files = files_under(&root)?;
        for (i, (_, bytes)) in files.iter().enumerate() {
            write(
                &format!("ingest_{language}"),
                &format!("fixture-{i}"),
                bytes,
            )?;
        }
        write("archive", &format!("{language}.tar.gz"), &tar_gz(&files)?)?;
        write("archive", &format!("{language}.zip"), &zip(&files)?)?;
    }
    let packed = baseline();
    write(
        "docpack",
        "baseline.docpack",
        &doctown_core::docpack::pack(packed)?,
    )?;
    for (i, name) in part_names().into_iter().enumerate() {
        let mut seed = vec![i as u8];
        seed.extend_from_slice(&packed.parts[name]);
        write("docpack_parts", name, &seed)?;
    }
    Ok(())
}

/// Every file under `root`, by path relative to it, in path order.
fn files_under(root: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let name = path
                    .strip_prefix(root)?
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push((name, fs::read(&path)?));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// A GitHub-style tarball: every path under one top-level folder.
fn tar_gz(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(
            &mut header,
            format!("owner-repo-0123abc/{path}"),
            bytes.as_slice(),
        )?;
    }
    Ok(tar.into_inner()?.finish()?)
}

fn zip(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, bytes) in files {
        zip.start_file(
            format!("repo-main/{path}"),
            zip::write::SimpleFileOptions::default(),
        )?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}
