//! A repository as the core sees it: paths and bytes in memory, plus entries the host already
//! decided to skip, and where it all came from.

use serde::{Deserialize, Serialize};

use crate::policy::Skip;

/// Where a repository came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Directory,
    Archive,
    Git,
    #[serde(rename = "github")]
    GitHub,
}

/// The source of a job, as reported in `ingest.started.v1` and the docpack manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub kind: SourceKind,
    /// The path or URL the user gave (never with a token in it).
    pub location: String,
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// The resolved commit SHA, when it can be known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// One entry of a repository: a file's bytes, or a path already skipped by whoever read it
/// (a symlink, a file too large to read, a pruned directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File { path: String, bytes: Vec<u8> },
    Skipped { path: String, skip: Skip },
}

impl Entry {
    pub fn path(&self) -> &str {
        match self {
            Entry::File { path, .. } | Entry::Skipped { path, .. } => path,
        }
    }
}

/// A repository in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub source: SourceInfo,
    pub entries: Vec<Entry>,
}
