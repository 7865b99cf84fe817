#![no_main]
// See aws_signing_helper::fuzzing::serve_request for what it parses and checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aws_signing_helper::fuzzing::serve_request(data));
