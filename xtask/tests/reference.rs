//! docs/reference.md is what `cargo xtask reference` writes from today's clap definitions, and
//! names every environment variable the documentation does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn generated() -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reference.md");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("reference")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(file).unwrap()
}

#[test]
#[cfg_attr(
    feature = "tpm",
    ignore = "docs/reference.md is generated from a build without the tpm feature"
)]
fn the_checked_in_reference_is_current() {
    let checked_in = std::fs::read_to_string(workspace().join("docs/reference.md")).unwrap();
    let fresh = generated();
    if checked_in != fresh {
        let line = checked_in
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(checked_in.lines().count().min(fresh.lines().count()));
        panic!(
            "docs/reference.md is stale: run `cargo xtask reference docs/reference.md`.\n\
             First difference, line {}:\n  checked in: {:?}\n  generated:  {:?}",
            line + 1,
            checked_in.lines().nth(line).unwrap_or("(end of file)"),
            fresh.lines().nth(line).unwrap_or("(end of file)"),
        );
    }
}

/// Variables the guides name that the helper does not read: what its clients read, to find
/// `serve` or a profile.
const READ_BY_CLIENTS: &[&str] = &[
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_DEFAULT_REGION",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_REGION",
];

/// `AWS_...`, `AWS_SIGNING_HELPER_...` and the TPM and XDG variables a text names.
fn variables(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    let is_name = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if is_name(bytes[i]) && (i == 0 || !is_name(bytes[i - 1])) {
            let end = (i..bytes.len())
                .find(|&j| !is_name(bytes[j]))
                .unwrap_or(bytes.len());
            let word = &text[i..end];
            let wanted = ["AWS_", "TPM2TOOLS_", "TPM_", "TSS2_", "XDG_"]
                .iter()
                .any(|p| word.starts_with(p))
                && !word.ends_with('_');
            if wanted {
                found.insert(word.to_string());
            }
            i = end;
        } else {
            i += 1;
        }
    }
    found
}

#[test]
fn every_variable_the_docs_name_is_in_the_reference() {
    let root = workspace();
    let reference = variables(&generated());
    let mut docs = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        // The design notes name internals (TPM return codes, say), not settings.
        let user_doc = !path.ends_with("reference.md") && !path.ends_with("DESIGN.md");
        if path.extension().is_some_and(|e| e == "md") && user_doc {
            docs.push(path);
        }
    }
    let mut missing = Vec::new();
    for doc in docs {
        let text = std::fs::read_to_string(&doc).unwrap();
        for var in variables(&text) {
            if !reference.contains(&var) && !READ_BY_CLIENTS.contains(&var.as_str()) {
                missing.push(format!("{var} ({})", doc.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named in the docs but not in the reference (add each to its command's --help footer, \
         or to xtask/src/beyond_help.rs; or, if only clients read it, to READ_BY_CLIENTS): {}",
        missing.join(", ")
    );
}

#[test]
fn variables_are_whole_names() {
    assert_eq!(
        variables("`AWS_CA_BUNDLE` and $XDG_RUNTIME_DIR/x, not AWS_ nor MY_AWS_THING").len(),
        2
    );
}
