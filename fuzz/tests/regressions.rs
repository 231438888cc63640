//! Replays every input `scripts/fuzz.sh` kept in `fuzz/regressions/<target>/` (each one failed
//! before the fix that came with it), and every seed, through its fuzz target's checks.

use std::fs;
use std::path::{Path, PathBuf};

use doctown_fuzz::{baseline, part_names, patched, run, TARGETS};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_input_the_fuzzers_found_is_handled() {
    let dir = root().join("regressions");
    for entry in fs::read_dir(&dir).unwrap() {
        let target = entry.unwrap().file_name().to_string_lossy().into_owned();
        if target.starts_with('.') || target == "README.md" {
            continue;
        }
        assert!(
            TARGETS.contains(&target.as_str()),
            "fuzz/regressions/{target} names no fuzz target"
        );
        for file in files_in(&dir.join(&target)) {
            eprintln!("{target}: {}", file.display());
            run(&target, &fs::read(&file).unwrap());
        }
    }
}

#[test]
fn every_seed_passes_its_targets_checks() {
    let seeds = doctown_fuzz::seeds::seeds(&root().join("../tests/fixtures")).unwrap();
    for target in TARGETS {
        let n = seeds.iter().filter(|(t, _, _)| t == target).count();
        assert!(n > 0, "no seed for {target}");
    }
    for (target, name, bytes) in &seeds {
        eprintln!("{target}: {name}");
        run(target, bytes);
    }
}

#[test]
fn the_docpack_targets_read_the_baseline_and_refuse_a_broken_part() {
    let packed = baseline();
    let bytes = doctown_core::docpack::pack(packed).unwrap();
    assert_eq!(doctown_core::docpack::read(&bytes).unwrap().id, packed.id);
    let names = part_names();
    for (i, name) in names.iter().enumerate() {
        // The part as it was: the patched docpack is the baseline, and reads.
        let same = patched(packed, i as u8, &packed.parts[*name]);
        assert_eq!(same, *packed, "{name} patched with itself");
        // A part cut short: its digest is made true, so the reader must refuse what is in it.
        let part = &packed.parts[*name];
        let cut = patched(packed, i as u8, &part[..part.len() / 2]);
        let read = doctown_core::docpack::read(&doctown_core::docpack::pack(&cut).unwrap());
        assert!(read.is_err(), "{name} cut in half was read");
        run(
            "docpack_parts",
            &[&[i as u8][..], &part[..part.len() / 2]].concat(),
        );
    }
}
