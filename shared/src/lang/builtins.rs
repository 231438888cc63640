//! Methods of each language's built-in and standard types that code calls on values everywhere,
//! in byte order (`LanguageSpec::builtin_methods`): the containers, strings, files, locks and
//! promises of the standard library, and Go's `testing.T`; and the names every module sees
//! (`LanguageSpec::prelude`).

/// `Vec`, `HashMap`, `String`, `Option`, `Result`, iterators, locks, channels, `io` and `fmt`.
#[rustfmt::skip]
pub(super) const RUST: &[&str] = &[
    "and_then", "append", "as_bytes", "as_mut", "as_ref", "as_slice", "as_str", "borrow",
    "borrow_mut", "clear", "clone", "cloned", "cmp", "collect", "contains", "contains_key",
    "copied", "drain", "elapsed", "ends_with", "entry", "eq", "expect", "extend", "filter",
    "first", "flush", "fmt", "get", "get_mut", "hash", "insert", "into", "into_iter",
    "is_empty", "is_err", "is_none", "is_ok", "is_some", "iter", "iter_mut", "join", "keys",
    "last", "len", "lock", "map", "map_err", "next", "ok", "ok_or", "or_insert", "partial_cmp",
    "poll", "pop", "push", "push_str", "read", "recv", "remove", "replace", "retain", "send",
    "sort", "split", "starts_with", "take", "to_owned", "to_string", "to_vec", "trim",
    "try_into", "try_send", "unwrap", "unwrap_or", "unwrap_or_default", "unwrap_or_else",
    "values", "with", "write", "write_all", "write_str",
];

/// `list`, `dict`, `set`, `str`, `bytes`, file objects and `random.Random`.
#[rustfmt::skip]
pub(super) const PYTHON: &[&str] = &[
    "add", "append", "center", "choice", "choices", "clear", "close", "copy", "count", "decode",
    "difference", "discard", "encode", "endswith", "extend", "find", "flush", "format",
    "fromkeys", "get", "index", "insert", "intersection", "isalnum", "isalpha", "isdigit",
    "isdisjoint", "isspace", "issubset", "issuperset", "items", "join", "keys", "ljust",
    "lower", "lstrip", "partition", "pop", "popitem", "randint", "random", "randrange", "read",
    "readline", "readlines", "remove", "replace", "reverse", "rfind", "rjust", "rpartition",
    "rsplit", "rstrip", "sample", "seek", "setdefault", "shuffle", "sort", "split",
    "splitlines", "startswith", "strip", "tell", "title", "uniform", "union", "update", "upper",
    "values", "write", "writelines", "zfill",
];

/// `sync`, `sync/atomic`, `io`, `bytes`, `strings.Builder`, `context`, `http.Header`, `url.Values`,
/// `time` and `testing.T`.
#[rustfmt::skip]
pub(super) const GO: &[&str] = &[
    "Add", "Broadcast", "Bytes", "Cap", "Cleanup", "Close", "CompareAndSwap", "Context",
    "Deadline", "Del", "Delete", "Do", "Done", "Err", "Error", "Errorf", "Fail", "FailNow",
    "Fatal", "Fatalf", "Flush", "Format", "Get", "Grow", "Has", "Helper", "Len", "Load",
    "LoadOrStore", "Lock", "Log", "Logf", "Parallel", "RLock", "RUnlock", "Range", "Read",
    "ReadByte", "ReadRune", "ReadString", "Reset", "Run", "Scan", "Seek", "Set", "Setenv",
    "Signal", "Skip", "Skipf", "Stop", "Store", "String", "Swap", "TempDir", "Text", "TryLock",
    "Unlock", "Unwrap", "Value", "Wait", "Write", "WriteByte", "WriteRune", "WriteString",
];

/// `Array`, `Map`, `Set`, `String`, `RegExp`, `Promise`, `Function`, `EventEmitter`, streams and
/// the DOM.
#[rustfmt::skip]
pub(super) const JAVASCRIPT: &[&str] = &[
    "add", "addEventListener", "appendChild", "apply", "at", "bind", "call", "catch", "charAt",
    "charCodeAt", "clear", "close", "concat", "delete", "dispatchEvent", "emit", "end",
    "endsWith", "entries", "every", "exec", "fill", "filter", "finally", "find", "findIndex",
    "flat", "flatMap", "forEach", "get", "getAttribute", "has", "hasOwnProperty", "includes",
    "indexOf", "join", "json", "keys", "lastIndexOf", "map", "match", "matchAll", "next", "off",
    "on", "once", "padEnd", "padStart", "pop", "push", "querySelector", "querySelectorAll",
    "reduce", "removeChild", "removeEventListener", "replace", "replaceAll", "reverse", "send",
    "set", "setAttribute", "shift", "slice", "some", "sort", "splice", "split", "startsWith",
    "substring", "test", "text", "then", "toLowerCase", "toString", "toUpperCase", "trim",
    "trimEnd", "trimStart", "unshift", "valueOf", "values", "write",
];

/// Rust's standard prelude (edition 2021): the names every module sees without a `use`.
#[rustfmt::skip]
pub(super) const RUST_PRELUDE: &[&str] = &[
    "AsMut", "AsRef", "Box", "Clone", "Copy", "Default", "DoubleEndedIterator", "Drop", "Eq",
    "Err", "ExactSizeIterator", "Extend", "Fn", "FnMut", "FnOnce", "From", "FromIterator",
    "Into", "IntoIterator", "Iterator", "None", "Ok", "Option", "Ord", "PartialEq",
    "PartialOrd", "Result", "Send", "Sized", "Some", "String", "Sync", "ToOwned", "ToString",
    "TryFrom", "TryInto", "Unpin", "Vec", "drop",
];

/// Python's built-in functions, types and common exceptions: the names every module sees.
#[rustfmt::skip]
pub(super) const PYTHON_BUILTINS: &[&str] = &[
    "AssertionError", "AttributeError", "Exception", "ImportError", "IndexError", "KeyError",
    "NotImplementedError", "OSError", "RuntimeError", "StopIteration", "TypeError",
    "ValueError", "abs", "all", "any", "bool", "bytes", "callable", "chr", "dict", "dir",
    "divmod", "enumerate", "filter", "float", "format", "frozenset", "getattr", "hasattr",
    "hash", "id", "int", "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min",
    "next", "object", "open", "ord", "pow", "print", "range", "repr", "reversed", "round",
    "set", "setattr", "slice", "sorted", "str", "sum", "super", "tuple", "type", "vars", "zip",
];
