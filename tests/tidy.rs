//! Repository invariants (ARCHITECTURE.md, README "Adding a provider"): every provider crate has
//! the shape the README describes (name, modules, simulator, README, contract cases), depends on
//! no other crate of ours but the interface and on no I/O, async or randomness crate, and no
//! provider is named in the gateway core outside the registry.

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

/// The provider crate's manifest, parsed.
fn manifest(kind: &str) -> figment::Figment {
    let path = root().join("providers").join(kind).join("Cargo.toml");
    figment::Figment::from(<figment::providers::Toml as figment::providers::Format>::file_exact(path))
}

/// README "Adding a provider", step 1: the crate's name and files.
#[test]
fn every_registered_provider_has_the_crate_shape_the_readme_describes() {
    for factory in PROVIDERS {
        let kind = factory.kind;
        let dir = root().join("providers").join(kind);
        let name: String = manifest(kind).extract_inner("package.name").expect("package.name");
        assert_eq!(name, format!("checkout-provider-{kind}"));
        for module in ["lib", "config", "capabilities", "request", "response", "error"] {
            assert!(dir.join("src").join(format!("{module}.rs")).is_file(), "{kind}: src/{module}.rs is missing");
        }
        assert!(dir.join("src/simulator").is_dir() || dir.join("src/simulator.rs").is_file(), "{kind}: no simulator");
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
        assert!(readme.len() > 500, "{kind}: README.md with the mapping table is missing or thin");
        let cases = std::fs::read_dir(dir.join("contracts"))
            .map(|d| d.flatten().filter(|e| e.path().extension().is_some_and(|ext| ext == "json")).count())
            .unwrap_or(0);
        assert!(cases >= 10, "{kind}: {cases} contract cases (contracts/*.json, at least 10)");
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

/// Adapters are pure translators (ARCHITECTURE invariants): none of these in a provider crate.
const IMPURE_CRATES: [&str; 8] = ["reqwest", "hyper", "tokio", "async-std", "ureq", "rand", "getrandom", "redis"];

#[test]
fn provider_crates_depend_only_on_the_interface_crate_among_ours_and_on_no_io_crate() {
    for factory in PROVIDERS {
        let kind = factory.kind;
        let dependencies: figment::value::Dict = manifest(kind).extract_inner("dependencies").expect("[dependencies]");
        for (key, spec) in &dependencies {
            // A renamed dependency (`alias = { package = "…" }`) is checked by its real name.
            let package = spec.find_ref("package").and_then(figment::value::Value::as_str).unwrap_or(key);
            let ours = package.starts_with("checkout-") || spec.find_ref("path").is_some();
            assert!(!ours || package == "checkout-provider-interface", "{kind} depends on `{package}`");
            assert!(!IMPURE_CRATES.contains(&package), "{kind} depends on `{package}`: adapters do no I/O");
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
            // As a kind (`crypto-invoice`) or as a Rust name (`crypto_invoice`).
            for name in [factory.kind.to_owned(), factory.kind.replace('-', "_")] {
                assert!(!text.contains(&name), "{} names provider `{}`", file.display(), factory.kind);
            }
        }
    }
}

/// Every `crate::` path in `text` (comments left out), with `use crate::{a, b::{c, d}}` groups
/// expanded, as lists of segments. Only `crate::` paths count: a module reaching its parent
/// through `super::` is part of the parent's unit, and `self::` stays inside the file.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .map(|line| line.find("//").map_or(line, |comment| &line[..comment]))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let preceded_by_name = rest[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if !preceded_by_name {
            expand_use_tree(rest, Vec::new(), &mut paths);
        }
    }
    paths
}

/// Parse one use tree at the start of `text` (`a::b`, `a::{b, c::d}`, `a::*`), adding each
/// complete path under `prefix` to `out`; returns how many bytes it read.
fn expand_use_tree(text: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    let mut read = 0;
    loop {
        let rest = &text[read..];
        let trimmed = rest.trim_start();
        read += rest.len() - trimmed.len();
        if let Some(group) = trimmed.strip_prefix('{') {
            read += 1;
            let mut inner = group;
            loop {
                let used = expand_use_tree(inner, path.clone(), out);
                read += used;
                let after = inner[used..].trim_start();
                read += inner[used..].len() - after.len();
                match after.chars().next() {
                    Some(',') => {
                        read += 1;
                        inner = &after[1..];
                        if inner.trim_start().starts_with('}') {
                            read += inner.len() - inner.trim_start().len() + 1;
                            return read;
                        }
                    }
                    Some('}') => return read + 1,
                    _ => return read,
                }
            }
        }
        let name: String = trimmed.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        read += name.len();
        if !name.is_empty() && name != "self" {
            path.push(name);
        }
        match text[read..].strip_prefix("::") {
            Some(_) => read += 2,
            None => {
                if !path.is_empty() {
                    out.push(path);
                }
                return read;
            }
        }
    }
}

/// The module a file under `src/` is (`api/mod.rs` is `api`, `lib.rs` the crate root `""`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src").with_extension("");
    let parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    match parts.last().map(String::as_str) {
        Some("mod" | "lib") => parts[..parts.len() - 1].join("::"),
        _ => parts.join("::"),
    }
}

/// Which modules each `src/` module names through `crate::` paths: a path counts for the
/// longest module it starts with (`crate::api::problem::ApiError` is `api::problem`).
fn module_imports() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // `main.rs` is the binary, another crate: it reaches the library by name, never by `crate::`.
    files.retain(|file| !file.ends_with("main.rs"));
    let modules: Vec<(String, PathBuf)> = files.into_iter().map(|file| (module_of(&src, &file), file)).collect();
    let known: std::collections::BTreeSet<&str> = modules.iter().map(|(module, _)| module.as_str()).collect();
    let mut imports = std::collections::BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("source");
        let targets: &mut std::collections::BTreeSet<String> = imports.entry(module.clone()).or_default();
        for path in crate_paths(&text) {
            let target = (1..=path.len()).rev().map(|len| path[..len].join("::")).find(|m| known.contains(m.as_str()));
            if let Some(target) = target.filter(|target| target != module) {
                targets.insert(target);
            }
        }
    }
    imports
}

/// ARCHITECTURE.md: dependencies point one way (`api` → pipelines → `dispatch` → adapters). A
/// circle of `crate::` imports between `src/` files (e.g. `api::problem` ↔ `api::handlers`)
/// means two files can only be understood, and changed, together. The test walks the import
/// graph depth-first and names the first circle it finds.
#[test]
fn no_import_circle_among_src_modules() {
    fn visit<'a>(
        module: &'a str,
        imports: &'a std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        stack: &mut Vec<&'a str>,
        done: &mut std::collections::BTreeSet<&'a str>,
    ) {
        if let Some(start) = stack.iter().position(|m| *m == module) {
            let mut circle = stack[start..].to_vec();
            circle.push(module);
            panic!("import circle among src/ modules: {}", circle.join(" -> "));
        }
        if !done.insert(module) {
            return;
        }
        stack.push(module);
        for target in imports.get(module).into_iter().flatten() {
            visit(target, imports, stack, done);
        }
        stack.pop();
    }
    let imports = module_imports();
    assert!(imports.get("api::handlers").is_some_and(|targets| targets.contains("update")), "the parser sees imports");
    let mut done = std::collections::BTreeSet::new();
    for module in imports.keys() {
        visit(module, &imports, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_import_parser_reads_groups_and_inline_paths() {
    let text = "use crate::a::{b, c::{d, e}, self};\n// crate::commented::out\nlet x = crate::f::g(1);\n";
    let paths: Vec<String> = crate_paths(text).iter().map(|path| path.join("::")).collect();
    assert_eq!(paths, ["a::b", "a::c::d", "a::c::e", "a", "f::g"]);
}

/// Issue 14: an error that is a `String` says what failed but not why, and cannot be matched
/// on. Non-test code under `src/` and `providers/*/src/` returns a `thiserror` type instead,
/// whose `#[source]` keeps the cause; tests may keep `String` errors. A line scan, on purpose
/// simple: comments are skipped, a file is read up to its first `#[cfg(test)]` (test modules
/// sit at a file's end), and files named `tests.rs` or `*_tests.rs` are test modules whole.
#[test]
fn no_string_errors_outside_tests() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    for entry in std::fs::read_dir(root().join("providers")).expect("providers").flatten() {
        if entry.path().join("src").is_dir() {
            rust_files(&entry.path().join("src"), &mut files);
        }
    }
    let mut found = Vec::new();
    for file in &files {
        let stem = file.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
        if stem == "tests" || stem.ends_with("_tests") {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("source");
        let lines = text.lines().enumerate().take_while(|(_, line)| !line.trim_start().starts_with("#[cfg(test)]"));
        for (number, line) in lines {
            let code = line.find("//").map_or(line, |comment| &line[..comment]);
            if names_string_error(code) {
                let path = file.strip_prefix(root()).unwrap_or(file);
                found.push(format!("{}:{}: {}", path.display(), number + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "`Result<_, String>` outside tests (use a thiserror type):\n{}", found.join("\n"));
}

/// Whether `code` holds a `Result<…>` of two or more type arguments whose last is `String`.
fn names_string_error(code: &str) -> bool {
    code.match_indices("Result<").any(|(at, opening)| {
        let preceded_by_name = code[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
        let arguments = at + opening.len();
        let (mut depth, mut start, mut count, mut previous) = (0_usize, arguments, 1, ' ');
        for (offset, c) in code[arguments..].char_indices() {
            match c {
                '<' => depth += 1,
                // `->` in a function type is no bracket.
                '>' if previous == '-' => {}
                '>' if depth == 0 => {
                    let last = code[start..arguments + offset].trim();
                    return !preceded_by_name && count >= 2 && last.rsplit("::").next() == Some("String");
                }
                '>' => depth -= 1,
                ',' if depth == 0 => {
                    start = arguments + offset + 1;
                    count += 1;
                }
                _ => {}
            }
            previous = c;
        }
        false
    })
}

#[test]
fn the_string_error_scan_reads_only_the_error_argument() {
    let flagged =
        ["fn f() -> Result<Vec<u8>, String> {", "Result<fn() -> u8, std::string::String>", "Result<(), String >"];
    for code in flagged {
        assert!(names_string_error(code), "{code}");
    }
    let allowed = [
        "fn f() -> io::Result<String>",
        "path: Result<Path<String>, PathRejection>,",
        "-> Result<(i64, Option<String>), AdapterError>",
        "type R = TryResult<u8, String>;",
    ];
    for code in allowed {
        assert!(!names_string_error(code), "{code}");
    }
}

/// The pipelines (update, preview, ownership, their error) and the layers under them know
/// nothing of the HTTP layer: no `crate::api` import and no axum type. They return their own
/// error (`failure::UpdateError`), which the HTTP layer maps to its problem+json answer. The
/// passthrough pipeline and the body deadline stream axum's body type, so they may name axum,
/// but they import nothing from the HTTP layer either.
#[test]
fn the_pipelines_name_no_http_layer() {
    let src = root().join("src");
    let mut files: Vec<PathBuf> =
        ["update.rs", "preview.rs", "ownership.rs", "failure.rs", "errors.rs", "state.rs", "schema.rs"]
            .iter()
            .map(|name| src.join(name))
            .collect();
    rust_files(&src.join("dispatch"), &mut files);
    let mut streaming = vec![src.join("body_deadline.rs")];
    rust_files(&src.join("passthrough"), &mut streaming);
    let imports = module_imports();
    for file in files.iter().chain(&streaming) {
        let module = module_of(&src, file);
        let text = std::fs::read_to_string(file).expect("source");
        let names_axum = text.contains("axum::") || text.contains("IntoResponse");
        assert!(streaming.contains(file) || !names_axum, "{module} names an axum type");
        let api: Vec<&String> =
            imports.get(&module).into_iter().flatten().filter(|target| target.starts_with("api")).collect();
        assert!(api.is_empty(), "{module} imports the HTTP layer: {api:?}");
    }
}
