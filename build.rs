//! Link-time layout of the optimised binaries: the functions a cold `credential-process` runs are
//! placed together at the start of the code (`link/startup-order.ld`, made by
//! `benches/startup_order.sh`), so that starting touches a few dozen pages of code instead of
//! pages spread over all of it: fewer page faults, the largest cost of a cold start after the
//! TLS handshake (docs/benchmarks.md, "Cold start").
//!
//! Only where the layout is known to be understood: optimised builds for x86-64 Linux with the
//! toolchain's own linker (LLD, or GNU ld; both read the script's `INSERT`). Cross builds that
//! name another linker (cargo-zigbuild's) link without it, unchanged, and so does a build with
//! `LINK_STARTUP_ORDER=0`: valgrind names only the functions of `.text`, so the script that writes
//! the list traces a build without it.

use std::env;
use std::path::Path;

fn main() {
    let script = Path::new("link/startup-order.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    println!("cargo:rerun-if-env-changed=LINK_STARTUP_ORDER");
    let target = env::var("TARGET").unwrap_or_default();
    let optimised = env::var("PROFILE").is_ok_and(|p| p == "release");
    let own_linker = env::var_os("RUSTC_LINKER").is_none();
    let wanted = env::var_os("LINK_STARTUP_ORDER").is_none_or(|v| v != "0");
    if target == "x86_64-unknown-linux-gnu" && optimised && own_linker && wanted {
        let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        let path = Path::new(&manifest).join(script);
        if path.is_file() {
            println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", path.display());
        } else {
            // A copy of the sources without it still builds, in the linker's own order.
            println!(
                "cargo:warning={} is missing: linking without the startup layout",
                path.display()
            );
        }
    }
}
