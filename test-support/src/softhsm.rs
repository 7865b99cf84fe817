//! SoftHSM2 tokens in a temporary directory, filled by `softhsm2-util` and OpenSC's
//! `pkcs11-tool` (never by the code under test), for the PKCS#11 tests of both the engine and
//! the command line.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::pki;

/// The user PIN of every token made here.
pub const PIN: &str = "1234";
/// The security officer's PIN of every token made here.
pub const SO_PIN: &str = "5678";

/// SoftHSM2's PKCS#11 module ([`crate::tools::softhsm_module`]). Panics with what to install
/// when it is missing: callers check [`crate::tools::softhsm_module`] first to skip.
pub fn module() -> String {
    crate::tools::softhsm_module().unwrap_or_else(|| {
        panic!("SoftHSM2 is not installed: run tests/setup.sh (apt-get install softhsm2), or set SOFTHSM2_MODULE")
    })
}

/// A SoftHSM2 configuration and token directory of its own; `SOFTHSM2_CONF` must name
/// [`Hsm::conf`] for the module to see its tokens.
pub struct Hsm {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

impl Hsm {
    /// An empty token directory and its configuration.
    pub fn new() -> Hsm {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(dir.path().join("tokens")).expect("the token directory");
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.path().join("tokens").display()
            ),
        )
        .expect("write softhsm2.conf");
        Hsm { dir, conf }
    }

    /// The configuration file, for `SOFTHSM2_CONF`.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// A file in the token directory's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A token labelled `label` with user PIN [`PIN`].
    pub fn token(&self, label: &str) -> &Hsm {
        self.tool(
            "softhsm2-util",
            &[
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                PIN,
                "--so-pin",
                SO_PIN,
            ],
        );
        self
    }

    /// Imports the PKCS#8 key of fixture `kind` (with its public key object).
    pub fn key(&self, token: &str, kind: &str, label: &str, id: &str) -> &Hsm {
        let key = pki(kind, "key-pkcs8.pem");
        self.tool(
            "softhsm2-util",
            &[
                "--import", &key, "--token", token, "--label", label, "--id", id, "--pin", PIN,
            ],
        );
        self
    }

    /// Imports only the private key object, as a bare token would hold it; `extra` adds
    /// `pkcs11-tool` flags such as `--always-auth`.
    pub fn private_key_only(&self, token: &str, kind: &str, label: &str, id: &str, extra: &[&str]) {
        let der = self.dir.path().join(format!("{label}.der"));
        let key = pki(kind, "key-pkcs8.pem");
        run(Command::new("openssl")
            .args([
                "pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", &key, "-out",
            ])
            .arg(&der));
        let der = der.to_string_lossy().into_owned();
        let mut args = vec!["--write-object", &der, "--type", "privkey", "--usage-sign"];
        args.extend(extra);
        self.pkcs11_tool(token, label, id, &args);
    }

    /// Imports a PEM certificate file as a certificate object.
    pub fn cert(&self, token: &str, pem: &str, label: &str, id: &str) -> &Hsm {
        let der = self.dir.path().join(format!("{label}-{id}.der"));
        run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in", pem, "-out"])
            .arg(&der));
        let der = der.to_string_lossy().into_owned();
        self.pkcs11_tool(
            token,
            label,
            id,
            &["--write-object", &der, "--type", "cert"],
        );
        self
    }

    /// A token "ra" holding the leaf key and certificate of `kind` (label "leaf", id 01) and
    /// the intermediate CA certificate, as a smart card provisioned with its chain would.
    pub fn provisioned(kind: &str) -> Hsm {
        let hsm = Hsm::new();
        hsm.token("ra")
            .key("ra", kind, "leaf", "01")
            .cert("ra", &pki(kind, "cert.pem"), "leaf", "01")
            .cert(
                "ra",
                &crate::testdata("pki/ca/int.pem").to_string_lossy(),
                "int",
                "99",
            );
        hsm
    }

    fn pkcs11_tool(&self, token: &str, label: &str, id: &str, args: &[&str]) {
        let module = module();
        let mut all = vec![
            "--module",
            &module,
            "--token-label",
            token,
            "--login",
            "--pin",
            PIN,
            "--label",
            label,
            "--id",
            id,
        ];
        all.extend(args);
        self.tool("pkcs11-tool", &all);
    }

    /// Runs a SoftHSM2 or OpenSC tool with this token directory.
    pub fn tool(&self, program: &str, args: &[&str]) {
        run(Command::new(program)
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf));
    }
}

impl Default for Hsm {
    fn default() -> Self {
        Hsm::new()
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
