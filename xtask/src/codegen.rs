//! `cargo xtask codegen`: regenerate the protocol crates' checked-in code.
//!
//! Generation is pure Rust (protox instead of a system `protoc`), so it gives
//! the same bytes on any machine with this workspace's toolchain: every file is
//! formatted with the toolchain's `rustfmt`, and nothing depends on time or
//! environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use prost::Message;
use prost_build::{Method, Service, ServiceGenerator};

use crate::workspace_root;

/// Our `.proto` files, relative to `proto/`.
const PROTO_FILES: &[&str] = &["process/process.proto", "filesystem/filesystem.proto"];
/// Protobuf packages we generate code for.
const PROTO_PACKAGES: &[&str] = &[".process", ".filesystem"];
/// OpenAPI documents and the module each one becomes in `e2b-api`.
const OPENAPI_DOCS: &[(&str, &str)] = &[("api.yml", "control.rs"), ("envd.yml", "envd.rs")];

const PROTO_OUT: &str = "crates/e2b-proto/src/gen";
const API_OUT: &str = "crates/e2b-api/src/gen";

pub(crate) fn run(check: bool) -> Result<()> {
    let root = workspace_root();
    let mut outputs: BTreeMap<PathBuf, String> = BTreeMap::new();
    for (name, text) in generate_proto(&root)? {
        outputs.insert(root.join(PROTO_OUT).join(name), text);
    }
    for (name, text) in generate_openapi(&root)? {
        outputs.insert(root.join(API_OUT).join(name), text);
    }

    let mut drift = Vec::new();
    for dir in [PROTO_OUT, API_OUT] {
        let dir = root.join(dir);
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries {
                let path = entry?.path();
                if !outputs.contains_key(&path) {
                    drift.push(format!("{}: stale generated file", rel(&root, &path)));
                    if !check {
                        std::fs::remove_file(&path)?;
                    }
                }
            }
        }
    }
    for (path, text) in &outputs {
        let current = std::fs::read_to_string(path).unwrap_or_default();
        if current == *text {
            continue;
        }
        if check {
            let diff = similar::TextDiff::from_lines(&current, text);
            drift.push(format!(
                "{} differs from a fresh generation:\n{}",
                rel(&root, path),
                diff.unified_diff().context_radius(2).header("checked in", "generated")
            ));
        } else {
            std::fs::create_dir_all(path.parent().expect("generated files live in a directory"))?;
            std::fs::write(path, text)?;
            println!("wrote {}", rel(&root, path));
        }
    }
    if check && !drift.is_empty() {
        for d in &drift {
            eprintln!("{d}");
        }
        bail!("generated code is out of date: run `cargo xtask codegen` and commit the result");
    }
    if check {
        println!("generated code is up to date ({} files)", outputs.len());
    }
    Ok(())
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// Compiles `proto/` with protox and runs prost, tonic and pbjson over it.
fn generate_proto(root: &Path) -> Result<Vec<(String, String)>> {
    let fds = protox::compile(PROTO_FILES, [root.join("proto")]).context("compiling proto/ with protox")?;
    let tmp = tempfile::tempdir()?;

    let tonic = tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .service_generator();
    let mut config = prost_build::Config::new();
    config
        .out_dir(tmp.path())
        // The one well-known type we use, Timestamp, is e2b-proto's own
        // (hand-written, with the canonical `Z` JSON form).
        .compile_well_known_types()
        .extern_path(".google.protobuf", "crate::well_known")
        // Output chunks are handed on without copying.
        .bytes(["."])
        .service_generator(Box::new(WithMethodPaths { tonic }));
    config.compile_fds(fds.clone()).context("generating prost/tonic code")?;

    pbjson_build::Builder::new()
        .register_descriptors(&fds.encode_to_vec())?
        .out_dir(tmp.path())
        .extern_path(".google.protobuf", "crate::well_known")
        // Peers may be newer than us: unknown fields are ignored, as the
        // Connect JSON mapping requires.
        .ignore_unknown_fields()
        .build(PROTO_PACKAGES)
        .context("generating pbjson serde impls")?;

    let mut files = Vec::new();
    for package in PROTO_PACKAGES {
        let package = package.trim_start_matches('.');
        for suffix in ["rs", "serde.rs"] {
            let name = format!("{package}.{suffix}");
            let body = std::fs::read_to_string(tmp.path().join(&name))
                .with_context(|| format!("reading generated {name}"))?;
            let source = format!("proto/{package}/{package}.proto");
            files.push((name, finish(&source, &body)?));
        }
    }
    Ok(files)
}

/// Runs progenitor over each OpenAPI document.
fn generate_openapi(root: &Path) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for (doc, module) in OPENAPI_DOCS {
        let path = root.join("openapi").join(doc);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut spec: openapiv3::OpenAPI =
            serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        keep_one_request_media_type(&mut spec);
        let mut settings = progenitor::GenerationSettings::default();
        settings
            .with_interface(progenitor::InterfaceStyle::Builder)
            .with_tag(progenitor::TagStyle::Merged)
            .with_derive("PartialEq")
            // e2b-api implements the hooks by hand: they keep the wire equal
            // to E2B's (see crates/e2b-api/src/hooks.rs).
            .with_hooks(progenitor::HooksMode::Expected);
        let mut generator = progenitor::Generator::new(&settings);
        let tokens = generator
            .generate_tokens(&spec)
            .with_context(|| format!("running progenitor on openapi/{doc}"))?;
        files.push((module.to_string(), finish(&format!("openapi/{doc}"), &tokens.to_string())?));
    }
    Ok(files)
}

/// progenitor accepts one request media type per operation. Where our
/// document offers several (envd's upload takes multipart or a raw octet
/// stream), the client is generated for the raw stream, which progenitor
/// streams without buffering; multipart is built by hand in the SDK.
fn keep_one_request_media_type(spec: &mut openapiv3::OpenAPI) {
    for (_, item) in spec.paths.paths.iter_mut() {
        let openapiv3::ReferenceOr::Item(item) = item else { continue };
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            if let Some(openapiv3::ReferenceOr::Item(body)) = op.request_body.as_mut()
                && body.content.len() > 1
                && body.content.contains_key("application/octet-stream")
            {
                body.content.retain(|media, _| media == "application/octet-stream");
            }
        }
    }
}

/// Marks a generated file as such and formats it with the toolchain's rustfmt.
fn finish(source: &str, body: &str) -> Result<String> {
    let text =
        format!("// @generated by `cargo xtask codegen` from {source}. Do not edit by hand.\n\n{body}");
    rustfmt(&text)
}

fn rustfmt(text: &str) -> Result<String> {
    use std::io::Write;
    // The workspace's rustfmt.toml, so that `cargo fmt --check` agrees.
    let config = workspace_root().join("rustfmt.toml");
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet", "--config-path"])
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running rustfmt (install it with `rustup component add rustfmt`)")?;
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let input = text.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    writer.join().expect("writer thread")?;
    if !out.status.success() {
        bail!("rustfmt failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// tonic's service generator, plus a `<service>_methods` module of path
/// constants per service, so that Connect clients and servers name methods
/// exactly as the schema does.
struct WithMethodPaths {
    tonic: Box<dyn ServiceGenerator>,
}

impl ServiceGenerator for WithMethodPaths {
    fn generate(&mut self, service: Service, buf: &mut String) {
        let module = format!("{}_methods", to_snake(&service.name));
        let mut consts = String::new();
        for Method { proto_name, client_streaming, server_streaming, .. } in &service.methods {
            let kind = match (client_streaming, server_streaming) {
                (false, false) => "unary",
                (false, true) => "server-streaming",
                (true, false) => "client-streaming",
                (true, true) => "bidirectional-streaming",
            };
            consts.push_str(&format!(
                "/// `{pkg}.{svc}/{proto_name}` ({kind}).\npub const {upper}: &str = \"/{pkg}.{svc}/{proto_name}\";\n",
                pkg = service.package,
                svc = service.proto_name,
                upper = to_snake(proto_name).to_uppercase(),
            ));
        }
        buf.push_str(&format!(
            "/// HTTP paths of the `{pkg}.{svc}` methods, as used by Connect and gRPC.\npub mod {module} {{\n{consts}}}\n",
            pkg = service.package,
            svc = service.proto_name,
        ));
        self.tonic.generate(service, buf);
    }

    fn finalize(&mut self, buf: &mut String) {
        self.tonic.finalize(buf);
    }

    fn finalize_package(&mut self, package: &str, buf: &mut String) {
        self.tonic.finalize_package(package, buf);
    }
}

fn to_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
