//! Rust: the crates of a workspace. Every crate's code calls itself `crate`, so qualified names
//! (`crate::error::Error`) repeat from crate to crate; the resolver keys a symbol of a crate
//! whose `Cargo.toml` it has by the crate's name instead (`polars_core::error::Error`). A path
//! written `crate::…` then stays inside its own crate, and `polars_core::…` written in a sibling
//! (or in the crate's own tests and binaries) leads straight into it, exactly. Crates without a
//! manifest keep `crate` and fall back to [`super::own_crate`]'s inference.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::events::PackageFound;
use crate::lang::ModulePath;
use crate::manifest::{self, ManifestKind};
use crate::symbols::Symbol;

/// What every Rust qualified name starts with (`crate`, `crate::store::Store`).
pub(super) const CRATE: &str = "crate";

/// Per file path of a Rust symbol in a crate with a manifest, that crate's name.
pub(super) fn crate_names<'a>(
    symbols: &'a [Symbol],
    packages: &'a [PackageFound],
) -> HashMap<&'a str, &'a str> {
    // Deepest root first: a crate nested in another (`fuzz/`) owns its files.
    let mut roots: Vec<(&str, &str)> = packages
        .iter()
        .filter(|p| ManifestKind::of(&p.manifest) == Some(ManifestKind::Cargo))
        .map(|p| (manifest::root_of(&p.manifest), p.name.as_str()))
        .collect();
    roots.sort_by_key(|&(root, _)| std::cmp::Reverse(root.len()));
    let mut names = HashMap::new();
    for s in symbols {
        if s.language.spec().module_path != ModulePath::RustCrate || names.contains_key(&*s.path) {
            continue;
        }
        let inside = |root: &str| {
            root.is_empty()
                || s.path
                    .strip_prefix(root)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        if let Some(&(_, name)) = roots.iter().find(|(root, _)| inside(root)) {
            names.insert(s.path.as_str(), name);
        }
    }
    names
}

/// Per symbol, the name the resolver keys it by: its qualified name, with `crate` replaced by
/// its crate's name where [`crate_names`] has one.
pub(super) fn keys<'a>(
    symbols: &'a [Symbol],
    crate_names: &HashMap<&str, &str>,
) -> Vec<Cow<'a, str>> {
    symbols
        .iter()
        .map(|s| key(&s.qualified_name, crate_names.get(s.path.as_str()).copied()))
        .collect()
}

/// A Rust qualified name (`crate::a::B`) keyed by its crate's name, where it has one.
pub(super) fn key<'a>(qualified: &'a str, crate_name: Option<&str>) -> Cow<'a, str> {
    match (crate_name, qualified.strip_prefix(CRATE)) {
        (Some(name), Some(rest)) if rest.is_empty() || rest.starts_with("::") => {
            Cow::Owned(format!("{name}{rest}"))
        }
        _ => Cow::Borrowed(qualified),
    }
}
