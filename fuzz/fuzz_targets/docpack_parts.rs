#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| doctown_fuzz::run("docpack_parts", data));
