//! Snapshots of what the command line prints: every command's `--help`, `version`, and the
//! usage errors, exactly (stdout, stderr, exit status). One `tests/cmd/<case>.toml` per
//! invocation; `TRYCMD=overwrite cargo test --test integration cli::` rewrites them after a
//! deliberate change, which then shows in review as a diff of the text users see.

#[test]
fn cli_snapshots() {
    trycmd::TestCases::new()
        .register_bin(
            "aws_signing_helper",
            std::path::Path::new(env!("CARGO_BIN_EXE_aws_signing_helper")),
        )
        .env("HOME", "/nonexistent")
        .case("tests/cmd/*.toml");
}
