//! The workspace's dependency rules, read from `cargo metadata`: the engine depends on no
//! command-line or server crate, the command line is built on the engine, and the endpoint the
//! tests trust depends on neither (so it cannot share the code it checks).

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

struct Metadata {
    json: Value,
}

impl Metadata {
    fn load() -> Metadata {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--offline", "--locked"])
            .current_dir(test_support::workspace_root())
            .output()
            .expect("run cargo metadata");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Metadata {
            json: serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON"),
        }
    }

    fn package(&self, name: &str) -> &Value {
        self.json["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|p| p["name"] == name && p["source"].is_null())
            .unwrap_or_else(|| panic!("no workspace package {name}"))
    }

    /// The package's declared dependencies of `kind` (`None` for normal ones): name → features.
    fn declared(&self, name: &str, kind: Option<&str>) -> HashMap<String, Vec<String>> {
        self.package(name)["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].as_str() == kind)
            .map(|d| {
                let features = d["features"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                (d["name"].as_str().unwrap_or_default().to_string(), features)
            })
            .collect()
    }

    /// Every package `name` needs to build and run (normal dependencies, transitively, by the
    /// resolved graph), by crate name.
    fn normal_closure(&self, name: &str) -> BTreeSet<String> {
        let id = self.package(name)["id"].as_str().expect("id").to_string();
        let nodes: HashMap<&str, &Value> = self.json["resolve"]["nodes"]
            .as_array()
            .expect("resolve nodes")
            .iter()
            .map(|n| (n["id"].as_str().unwrap_or_default(), n))
            .collect();
        let names: HashMap<&str, &str> = self.json["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| {
                (
                    p["id"].as_str().unwrap_or_default(),
                    p["name"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        let mut seen = BTreeSet::new();
        let mut todo = vec![id];
        while let Some(id) = todo.pop() {
            let Some(node) = nodes.get(id.as_str()) else {
                continue;
            };
            for dep in node["deps"].as_array().into_iter().flatten() {
                let normal = dep["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k["kind"].is_null());
                let dep_id = dep["pkg"].as_str().unwrap_or_default().to_string();
                if normal && seen.insert(names[dep_id.as_str()].to_string()) {
                    todo.push(dep_id);
                }
            }
        }
        seen
    }
}

#[test]
fn the_engine_needs_no_command_line_or_server_crate() {
    let metadata = Metadata::load();
    let closure = metadata.normal_closure("rolesanywhere-credentials");
    // The closure is the real one: the engine's own HTTP client is in it.
    assert!(
        closure.contains("reqwest") && closure.contains("ring"),
        "{closure:?}"
    );
    for forbidden in [
        "clap",
        "axum",
        "listenfd",
        "aws_signing_helper",
        "rolesanywhere-local",
        "toml",
        "openssl",
        "openssl-sys",
    ] {
        assert!(
            !closure.contains(forbidden),
            "rolesanywhere-credentials depends on {forbidden}"
        );
    }
    // hyper only to read reqwest's errors: its server side is the command line's.
    let declared = metadata.declared("rolesanywhere-credentials", None);
    let hyper = declared.get("hyper").expect("hyper is declared");
    assert!(!hyper.contains(&"server".to_string()), "{hyper:?}");
    // And the cargo features the issue names stay the engine's.
    let features = &metadata.package("rolesanywhere-credentials")["features"];
    for feature in ["pkcs11", "tpm", "sdk"] {
        assert!(features.get(feature).is_some(), "no feature {feature}");
    }
    let default = features["default"].to_string();
    assert!(
        default.contains("sdk") && default.contains("pkcs11"),
        "{default}"
    );
}

#[test]
fn the_command_line_is_built_on_the_engine() {
    let metadata = Metadata::load();
    let declared = metadata.declared("aws_signing_helper", None);
    assert!(declared.contains_key("rolesanywhere-credentials"));
    assert!(!declared.contains_key("rolesanywhere-local"));
    // The key backends are the engine's; the command line only passes its features on.
    for backend in [
        "cryptoki",
        "tss-esapi",
        "ring",
        "x509-parser",
        "reqwest",
        "rsa",
    ] {
        assert!(
            !declared.contains_key(backend),
            "aws_signing_helper declares {backend}, which is the engine's"
        );
    }
    let closure = metadata.normal_closure("aws_signing_helper");
    assert!(closure.contains("clap") && closure.contains("rolesanywhere-credentials"));
    assert!(!closure.contains("rolesanywhere-local"));
    assert!(!closure.contains("openssl-sys"), "OpenSSL is linked");
}

#[test]
fn the_endpoint_depends_on_neither() {
    let metadata = Metadata::load();
    for kind in [None, Some("dev"), Some("build")] {
        let declared = metadata.declared("rolesanywhere-local", kind);
        for product in ["aws_signing_helper", "rolesanywhere-credentials"] {
            assert!(
                !declared.contains_key(product),
                "rolesanywhere-local depends on {product} ({kind:?})"
            );
        }
    }
    let closure = metadata.normal_closure("rolesanywhere-local");
    assert!(!closure.contains("rolesanywhere-credentials"));
    assert!(!closure.contains("aws_signing_helper"));
}
