#![no_main]
// See rolesanywhere_credentials::fuzzing::key for what it parses and checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rolesanywhere_credentials::fuzzing::key(data));
