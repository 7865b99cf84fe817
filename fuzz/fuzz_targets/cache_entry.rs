#![no_main]
// See rolesanywhere_credentials::fuzzing::cache_entry for what it parses and checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rolesanywhere_credentials::fuzzing::cache_entry(data));
