//! all-MiniLM-L6-v2 embeddings with candle, two ways: in-process ([`local::LocalEmbedder`], what
//! the CLI uses) and as gpu-service, the HTTP server the edge and the CLI call. Both go through
//! one [`scheduler::Scheduler`], which re-cuts requests into batches by a token budget.

pub mod allocator;
pub mod bert;
mod cpu_ops;
pub mod local;
pub mod metrics;
pub mod minilm;
pub mod model;
pub mod scheduler;
pub mod server;
