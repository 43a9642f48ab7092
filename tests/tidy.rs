//! Repository invariants (ARCHITECTURE.md): every provider has a README and contract cases,
//! provider crates depend only on the interface crate, and no provider is named in the gateway
//! core outside the registry.

#![allow(clippy::expect_used, reason = "test helpers fail the test loudly")]

use std::path::{Path, PathBuf};

use checkout_gateway::registry::PROVIDERS;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_registered_provider_has_a_readme_and_contract_cases() {
    for factory in PROVIDERS {
        let dir = root().join("providers").join(factory.kind);
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
        assert!(readme.len() > 500, "{}: README.md with the mapping table is missing or thin", factory.kind);
        let cases = std::fs::read_dir(dir.join("contracts")).map(|d| d.flatten().count()).unwrap_or(0);
        assert!(cases >= 10, "{}: {cases} contract cases", factory.kind);
    }
}

#[test]
fn every_provider_folder_is_registered() {
    for entry in std::fs::read_dir(root().join("providers")).expect("providers").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "interface" || !entry.path().join("Cargo.toml").exists() {
            continue;
        }
        assert!(PROVIDERS.iter().any(|f| f.kind == name), "providers/{name} is not in src/registry.rs");
    }
}

#[test]
fn provider_crates_depend_only_on_the_interface_crate_among_ours() {
    for factory in PROVIDERS {
        let manifest =
            std::fs::read_to_string(root().join("providers").join(factory.kind).join("Cargo.toml")).expect("manifest");
        for line in manifest.lines() {
            let own = line.trim_start().starts_with("checkout-") && !line.contains("checkout-provider-interface");
            assert!(!own || line.trim_start().starts_with("name"), "{}: depends on {line}", factory.kind);
        }
    }
}

#[test]
fn no_provider_is_named_in_the_core_outside_the_registry() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    for file in files {
        if file.ends_with("registry.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("source").to_lowercase();
        for factory in PROVIDERS {
            assert!(!text.contains(factory.kind), "{} names provider `{}`", file.display(), factory.kind);
        }
    }
}

#[test]
fn every_factory_declares_the_same_capabilities_its_adapter_returns() {
    for factory in PROVIDERS {
        let dir = root().join("providers").join(factory.kind).join("contracts");
        let first = std::fs::read_dir(&dir)
            .expect("contracts")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "json"))
            .expect("a case");
        let case: checkout_provider_interface::contract::Case =
            serde_json::from_str(&std::fs::read_to_string(first).expect("read")).expect("case");
        let setup = checkout_provider_interface::ProviderSetup {
            name: "tidy",
            settings: &case.provider_config,
            secrets: &checkout_provider_interface::contract::InlineSecrets,
        };
        let adapter = (factory.build)(&setup).expect("adapter builds from its contract config");
        assert!(std::ptr::eq(adapter.capabilities(), factory.capabilities), "{}", factory.kind);
    }
}
