//! The core's ingest behind a bare C ABI, for running it in any wasm runtime (node in the tests)
//! and comparing with the native build: `alloc` a buffer, write a JSON array of
//! `{"path", "text"}` into it, call `ingest`, read the JSON-lines events it returns.
#![allow(unsafe_code)]

use doctown_core::events::{Clock, Emitter};
use doctown_core::ingest::ingest;
use doctown_core::policy::Limits;
use doctown_core::source::{Entry, Snapshot, SourceInfo, SourceKind};

/// Job and trace id of harness runs, so native and wasm streams compare byte for byte.
pub const JOB_ID: &str = "wasm-parity";

struct ZeroClock;

impl Clock for ZeroClock {
    fn now_ms(&self) -> u64 {
        0
    }
}

/// Ingests `files` (`(path, text)`) and returns the events as JSON lines. The same function
/// runs natively in the parity test.
pub fn ingest_to_json_lines(files: Vec<(String, String)>) -> String {
    let snapshot = Snapshot {
        source: SourceInfo {
            kind: SourceKind::Directory,
            location: "fixture".into(),
            git_ref: None,
            commit: None,
        },
        entries: files
            .into_iter()
            .map(|(path, text)| Entry::File {
                path,
                bytes: text.into_bytes(),
            })
            .collect(),
    };
    let mut emitter = Emitter::new(JOB_ID, JOB_ID, Vec::new(), ZeroClock);
    ingest(snapshot, &Limits::default(), &mut emitter);
    let mut out = String::new();
    for event in emitter.into_sink() {
        out.push_str(&serde_json::to_string(&event).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Allocates `len` bytes for the caller to fill; freed by `ingest`.
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut buf = Vec::<u8>::with_capacity(len);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

/// Frees a result buffer returned by `ingest`.
///
/// # Safety
/// `ptr` and `len` must come from one `ingest` result.
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    drop(Vec::from_raw_parts(ptr, len, len));
}

/// Reads the JSON input at `ptr..ptr+len` (taking ownership), runs ingest, and returns the
/// output as `(ptr << 32) | len`.
///
/// # Safety
/// `ptr` must come from `alloc(len)` with `len` bytes written.
#[no_mangle]
pub unsafe extern "C" fn ingest_json(ptr: *mut u8, len: usize) -> u64 {
    let input = Vec::from_raw_parts(ptr, len, len);
    let files: Vec<(String, String)> = serde_json::from_slice::<Vec<serde_json::Value>>(&input)
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let field = |name: &str| {
                f.get(name)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            (field("path"), field("text"))
        })
        .collect();
    // A boxed slice has capacity == length, which `dealloc` relies on.
    let out = Box::into_raw(ingest_to_json_lines(files).into_bytes().into_boxed_slice());
    let (out_ptr, out_len) = (out as *mut u8, out.len());
    ((out_ptr as u64) << 32) | out_len as u64
}
