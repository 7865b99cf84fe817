#![no_main]
// See rolesanywhere_credentials::fuzzing::sts_response for what it parses and checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rolesanywhere_credentials::fuzzing::sts_response(data));
