//! Doctown's pipeline core.
//!
//! Pure Rust over in-memory data: no I/O, no threads, no clock, no environment. Hosts (the CLI,
//! the edge Worker) fetch bytes, read clocks and write output; this crate turns repositories into
//! versioned events and, later, docpacks. It builds for the host and for `wasm32-unknown-unknown`.

pub mod archive;
pub mod assemble;
pub mod chunk;
pub mod docpack;
pub mod embed;
pub mod events;
pub mod export;
pub mod extract;
pub mod generate;
pub mod github;
pub mod hash;
pub mod ingest;
pub mod job;
mod json;
pub mod lang;
pub mod manifest;
pub mod policy;
pub mod source;
pub mod symbols;
