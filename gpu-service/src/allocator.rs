//! The process allocator's setting for the model's tensors. The `doctown` and `gpu-service`
//! binaries use mimalloc as their global allocator.

use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};

/// mimalloc's `mi_option_purge_delay`: its place in `mi_option_e` (mimalloc v3's `mimalloc.h`),
/// which the Rust bindings do not name.
const MI_OPTION_PURGE_DELAY: mi_option_t = 15;

/// Keeps the memory of freed tensors in the process instead of handing it back to the OS. A
/// forward pass frees and allocates megabytes per op, and mimalloc's default is to purge what
/// has been free for a second or so: each purged page is faulted and zeroed again on its next
/// use. That was 11% of the CPU time of `doctown bench embed` (perf: `clear_page_erms` under the
/// matmul and add outputs). Peak memory is unchanged; it is only not returned while the process
/// lives. Call it first in `main`, before any thread starts: mimalloc's options are not
/// thread-safe.
#[allow(unsafe_code)]
pub fn keep_freed_memory() {
    // SAFETY: a setter of mimalloc's option table, called before other threads exist.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// The purge delay in effect, in milliseconds (-1: never).
#[allow(unsafe_code)]
pub fn purge_delay_ms() -> std::ffi::c_long {
    // SAFETY: a getter of mimalloc's option table.
    unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_set_is_the_purge_delay_and_it_is_turned_off() {
        // mimalloc v3's own default for the purge delay (options.c), unless the environment
        // says otherwise: the index names that option and no other.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay_ms(), 1000);
        }
        keep_freed_memory();
        assert_eq!(purge_delay_ms(), -1);
    }
}
