//! Writes the seed corpus of every fuzz target: `fuzz-seeds FIXTURES OUT` fills `OUT/<target>/`
//! from the fixture repositories in `FIXTURES` (see `doctown_fuzz::seeds`).

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};

fn main() -> Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [fixtures, out] = args.as_slice() else {
        anyhow::bail!("usage: fuzz-seeds FIXTURES_DIR OUT_DIR");
    };
    let seeds = doctown_fuzz::seeds::seeds(fixtures)
        .with_context(|| format!("reading the fixtures in {}", fixtures.display()))?;
    for (target, name, bytes) in seeds {
        let dir = out.join(&target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(&name), bytes).with_context(|| format!("writing {target}/{name}"))?;
    }
    Ok(())
}
