//! Package manifests: what a repository says about its own packages, beyond its source.
//!
//! A Cargo workspace holds many crates, and each one's code says `crate::…` for itself and
//! `polars_core::…` for a sibling; a JavaScript monorepo's packages import each other as
//! `@tanstack/query-core`; a Go module's packages import each other by a path under the
//! module's (`github.com/spf13/cobra/doc`). The files alone cannot tell what such a name means;
//! the package's manifest can: its directory roots the package, and it names it. A `Cargo.toml`'s
//! `[lib] name` (else its package name, `-` as `_`), a `package.json`'s `name` and a `go.mod`'s
//! `module` path are what code writes.

use serde::Deserialize;

use crate::events::PackageFound;
use crate::extract::Diagnostic;

/// Manifests past this size are not read: real ones are a few KiB (tokio's `Cargo.toml` is 6,
/// polars' largest 12), and a name is all that is taken from one.
pub const MAX_MANIFEST_BYTES: usize = 256 * 1024;

/// The kinds of manifest read, by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// `Cargo.toml`: a Rust crate.
    Cargo,
    /// `package.json`: a JavaScript or TypeScript package.
    Npm,
    /// `go.mod`: a Go module, the packages in the directories below it.
    GoMod,
}

impl ManifestKind {
    /// The kind of manifest at `path`, if it is one.
    pub fn of(path: &str) -> Option<Self> {
        match path.rsplit('/').next() {
            Some("Cargo.toml") => Some(Self::Cargo),
            Some("package.json") => Some(Self::Npm),
            Some("go.mod") => Some(Self::GoMod),
            _ => None,
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Self::Cargo => "Cargo.toml",
            Self::Npm => "package.json",
            Self::GoMod => "go.mod",
        }
    }
}

/// The package a manifest at `path` declares; `None` where `path` is no manifest or declares no
/// package (a workspace root), a [`Diagnostic`] where it cannot be read.
pub fn package(path: &str, bytes: &[u8]) -> Option<Result<PackageFound, Diagnostic>> {
    let kind = ManifestKind::of(path)?;
    let file = kind.file_name();
    let problem = |line: usize, what: String| Diagnostic {
        path: path.to_owned(),
        line,
        message: format!("{what}; imports of this package from others resolve by name only"),
    };
    if bytes.len() > MAX_MANIFEST_BYTES {
        let what = format!("{file} over {MAX_MANIFEST_BYTES} bytes (MAX_MANIFEST_BYTES) not read");
        return Some(Err(problem(1, what)));
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some(Err(problem(1, format!("{file} is not UTF-8"))));
    };
    let name = match kind {
        ManifestKind::Cargo => match toml::from_str::<CargoManifest>(text) {
            Ok(manifest) => {
                let package = manifest.package?;
                manifest
                    .lib
                    .and_then(|lib| lib.name)
                    .unwrap_or_else(|| package.name.replace('-', "_"))
            }
            Err(e) => {
                let line = e.span().map_or(1, |span| line_of(text, span.start));
                let message = e.message().trim_end();
                return Some(Err(problem(line, format!("{file}: {message}"))));
            }
        },
        ManifestKind::Npm => match serde_json::from_str::<NpmManifest>(text) {
            Ok(manifest) => manifest.name.filter(|n| !n.is_empty())?,
            Err(e) => return Some(Err(problem(e.line().max(1), format!("{file}: {e}")))),
        },
        ManifestKind::GoMod => match go_module_path(text) {
            Some(path) => path,
            None => {
                let what = "go.mod: no `module` line names the module's path".to_owned();
                return Some(Err(problem(1, what)));
            }
        },
    };
    Some(Ok(PackageFound {
        manifest: path.to_owned(),
        name,
    }))
}

/// Whether `path` is a package manifest that [`package`] reads.
pub fn is_manifest(path: &str) -> bool {
    ManifestKind::of(path).is_some()
}

/// The directory a manifest roots (`crates/core` for `crates/core/Cargo.toml`; empty at the
/// repository's root).
pub fn root_of(manifest: &str) -> &str {
    manifest.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The path a `go.mod` gives its module, read as the go command reads it when it needs nothing
/// else (`modfile.ModulePath`): the first line that is `module` and a path, comments dropped,
/// the path unquoted. A full parse would fail on directives newer than the parser, for a line
/// that has not changed since modules began.
fn go_module_path(text: &str) -> Option<String> {
    let mut lines = text
        .lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code).trim());
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("module") else {
            continue;
        };
        let mut path = rest.trim();
        if path.len() == rest.len() {
            continue; // `modules …`, or `module` alone
        }
        if path == "(" {
            path = lines.find(|line| !line.is_empty())?; // the block form, `module ( … )`
        }
        let path = match path.as_bytes()[0] {
            b'"' | b'`' => path
                .get(1..path.len() - 1)
                .filter(|p| !p.contains(['"', '`', '\\'])),
            _ => Some(path),
        }?;
        return (!path.is_empty()).then(|| path.to_owned());
    }
    None
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
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

/// The part of a `package.json` read.
#[derive(Deserialize)]
struct NpmManifest {
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
    fn an_npm_package_is_reached_by_its_name() {
        let package = r#"{"name": "@tanstack/query-core", "main": "build/index.js"}"#;
        assert_eq!(
            name("packages/query-core/package.json", package),
            Some(Ok("@tanstack/query-core".into()))
        );
        assert_eq!(name("package.json", r#"{"private": true}"#), None);
    }

    #[test]
    fn a_go_module_is_reached_by_its_module_path() {
        let module = "// Copyright\nmodule github.com/spf13/cobra // the CLI library\n\ngo 1.15\n\nrequire (\n\tgithub.com/spf13/pflag v1.0.5\n)\n";
        assert_eq!(
            name("go.mod", module),
            Some(Ok("github.com/spf13/cobra".into()))
        );
        assert_eq!(
            name("src/go.mod", "module \"std\"\r\n\r\ngo 1.19\r\n"),
            Some(Ok("std".into()))
        );
        assert_eq!(
            name("v2/go.mod", "module (\n\t`example.com/m/v2`\n)\n"),
            Some(Ok("example.com/m/v2".into()))
        );
        let missing = name("tools/go.mod", "modules x\ngo 1.21\n").unwrap();
        assert!(missing.unwrap_err().contains("no `module` line"));
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
        assert!(
            problem.message.contains("resolve by name only"),
            "{problem:?}"
        );
        let nameless = package("Cargo.toml", b"[package]\nversion = \"1\"\n").unwrap();
        assert!(nameless.unwrap_err().message.contains("name"));
        let json = package("web/package.json", b"{\n  \"name\": \"x\",\n}\n").unwrap();
        let problem = json.unwrap_err();
        assert_eq!(problem.line, 3, "{problem:?}");
        assert!(problem.message.starts_with("package.json: "), "{problem:?}");
    }

    #[test]
    fn a_root_is_the_manifest_directory() {
        assert_eq!(root_of("crates/core/Cargo.toml"), "crates/core");
        assert_eq!(root_of("Cargo.toml"), "");
    }
}
