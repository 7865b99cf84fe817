#![no_main]
// See rolesanywhere_local::fuzzing::verify_request for what it parses and checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rolesanywhere_local::fuzzing::verify_request(data));
