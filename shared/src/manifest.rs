//! Package manifests: what a repository says about its own packages, beyond its source.
//!
//! A Cargo workspace holds many crates, and each one's code says `crate::…` for itself and
//! `polars_core::…` for a sibling. The files alone cannot tell which crate a path means; the
//! crate's `Cargo.toml` can: its directory roots the crate, and its `[lib] name` (else its
//! package name, `-` as `_`) is the name other crates' code reaches it by.

use serde::Deserialize;

use crate::events::PackageFound;
use crate::extract::Diagnostic;

/// Manifests past this size are not read: real `Cargo.toml` files are a few KiB (tokio's is 6,
/// polars' largest 12), and a name is all that is taken from one.
pub const MAX_MANIFEST_BYTES: usize = 256 * 1024;

/// The file name of the manifests read.
const CARGO_MANIFEST: &str = "Cargo.toml";

/// The package a manifest at `path` declares; `None` where `path` is no manifest or declares no
/// package (a workspace root), a [`Diagnostic`] where it cannot be read.
pub fn package(path: &str, bytes: &[u8]) -> Option<Result<PackageFound, Diagnostic>> {
    if !is_manifest(path) {
        return None;
    }
    let problem = |line: usize, what: String| {
        Diagnostic {
        path: path.to_owned(),
        line,
        message: format!(
            "{what}; paths into this crate from other crates resolve by their trailing segments only"
        ),
    }
    };
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Some(Err(problem(
            1,
            format!("Cargo.toml over {MAX_MANIFEST_BYTES} bytes (MAX_MANIFEST_BYTES) not read"),
        )));
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some(Err(problem(1, "Cargo.toml is not UTF-8".into())));
    };
    let manifest: CargoManifest = match toml::from_str(text) {
        Ok(manifest) => manifest,
        Err(e) => {
            let line = e
                .span()
                .map_or(1, |span| text[..span.start].matches('\n').count() + 1);
            let message = e.message().trim_end().to_owned();
            return Some(Err(problem(line, format!("Cargo.toml: {message}"))));
        }
    };
    let package = manifest.package?;
    let name = manifest
        .lib
        .and_then(|lib| lib.name)
        .unwrap_or_else(|| package.name.replace('-', "_"));
    Some(Ok(PackageFound {
        manifest: path.to_owned(),
        name,
    }))
}

/// Whether `path` is a package manifest that [`package`] reads.
pub fn is_manifest(path: &str) -> bool {
    path.rsplit('/').next() == Some(CARGO_MANIFEST)
}

/// The directory a manifest roots (`crates/core` for `crates/core/Cargo.toml`; empty at the
/// repository's root).
pub fn root_of(manifest: &str) -> &str {
    manifest.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The parts of a `Cargo.toml` read; every other key is ignored.
#[derive(Deserialize)]
struct CargoManifest {
    package: Option<CargoPackage>,
    lib: Option<CargoLib>,
}

#[derive(Deserialize)]
struct CargoPackage {
    name: String,
}

#[derive(Deserialize)]
struct CargoLib {
    name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(path: &str, text: &str) -> Option<Result<String, String>> {
        package(path, text.as_bytes()).map(|r| r.map(|p| p.name).map_err(|d| d.message))
    }

    #[test]
    fn a_crate_is_reached_by_its_lib_name_else_its_package_name_in_snake_case() {
        let package = "[package]\nname = \"polars-core\"\nversion.workspace = true\n";
        assert_eq!(
            name("crates/polars-core/Cargo.toml", package),
            Some(Ok("polars_core".into()))
        );
        let renamed = format!("{package}\n[lib]\nname = \"polars\"\npath = \"src/lib.rs\"\n");
        assert_eq!(
            name("crates/polars-core/Cargo.toml", &renamed),
            Some(Ok("polars".into()))
        );
    }

    #[test]
    fn workspace_roots_and_other_files_declare_no_package() {
        let workspace = "[workspace]\nmembers = [\"crates/*\"]\n";
        assert_eq!(name("Cargo.toml", workspace), None);
        assert_eq!(name("pyproject.toml", "[project]\nname = \"x\"\n"), None);
        assert_eq!(
            name("crates/Cargo.toml.orig", "[package]\nname = \"x\"\n"),
            None
        );
    }

    #[test]
    fn a_manifest_that_does_not_parse_is_named_with_its_line() {
        let broken = "[package]\nname = \"x\"\nversion = 1.0.0\n";
        let problem = package("a/Cargo.toml", broken.as_bytes())
            .unwrap()
            .unwrap_err();
        assert_eq!((problem.path.as_str(), problem.line), ("a/Cargo.toml", 3));
        assert!(problem.message.starts_with("Cargo.toml: "), "{problem:?}");
        assert!(problem.message.contains("trailing segments"), "{problem:?}");
        let nameless = package("Cargo.toml", b"[package]\nversion = \"1\"\n").unwrap();
        assert!(nameless.unwrap_err().message.contains("name"));
    }

    #[test]
    fn a_root_is_the_manifest_directory() {
        assert_eq!(root_of("crates/core/Cargo.toml"), "crates/core");
        assert_eq!(root_of("Cargo.toml"), "");
    }
}
