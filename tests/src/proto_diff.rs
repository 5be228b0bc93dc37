//! Wire-level comparison of two protobuf schemas.
//!
//! Two schemas are wire-identical when every package, service, method,
//! message, field (name, number, type, label, proto3 `optional`, oneof
//! membership) and enum value agrees. Declaration order, comments and options
//! that do not reach the wire are ignored.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

/// Compiles `files` (relative to `include`) with protox.
pub fn compile(include: &Path, files: &[&str]) -> Result<FileDescriptorSet> {
    protox::compile(files, [include]).with_context(|| format!("compiling {files:?} in {}", include.display()))
}

/// Everything about a schema that affects the wire, keyed by qualified name,
/// so that two schemas can be compared item by item.
pub fn wire_facts(set: &FileDescriptorSet, packages: &[&str]) -> BTreeMap<String, String> {
    let mut facts = BTreeMap::new();
    for file in &set.file {
        let package = file.package();
        if !packages.contains(&package) {
            continue;
        }
        facts.insert(format!("file {package} syntax"), file.syntax().to_string());
        for service in &file.service {
            let svc = format!("{package}.{}", service.name());
            facts.insert(format!("service {svc}"), String::new());
            for m in &service.method {
                facts.insert(
                    format!("method {svc}/{}", m.name()),
                    format!(
                        "{} -> {} client_streaming={} server_streaming={}",
                        m.input_type(),
                        m.output_type(),
                        m.client_streaming(),
                        m.server_streaming()
                    ),
                );
            }
        }
        for message in &file.message_type {
            message_facts(&format!("{package}.{}", message.name()), message, &mut facts);
        }
        for e in &file.enum_type {
            enum_facts(&format!("{package}.{}", e.name()), e, &mut facts);
        }
    }
    facts
}

fn message_facts(name: &str, message: &DescriptorProto, facts: &mut BTreeMap<String, String>) {
    let map_entry = message.options.as_ref().is_some_and(|o| o.map_entry());
    facts.insert(format!("message {name}"), format!("map_entry={map_entry}"));
    for field in &message.field {
        let oneof =
            field.oneof_index.and_then(|i| message.oneof_decl.get(i as usize)).map(|o| o.name().to_string());
        facts.insert(
            format!("field {name}.{}", field.name()),
            format!(
                "number={} type={:?} type_name={} label={:?} proto3_optional={} oneof={} json_name={}",
                field.number(),
                field.r#type(),
                field.type_name(),
                field.label(),
                field.proto3_optional(),
                oneof.unwrap_or_default(),
                field.json_name(),
            ),
        );
    }
    for oneof in &message.oneof_decl {
        facts.insert(format!("oneof {name}.{}", oneof.name()), String::new());
    }
    for nested in &message.nested_type {
        message_facts(&format!("{name}.{}", nested.name()), nested, facts);
    }
    for e in &message.enum_type {
        enum_facts(&format!("{name}.{}", e.name()), e, facts);
    }
}

fn enum_facts(name: &str, e: &EnumDescriptorProto, facts: &mut BTreeMap<String, String>) {
    facts.insert(format!("enum {name}"), String::new());
    for v in &e.value {
        facts.insert(format!("enum value {name}.{}", v.name()), v.number().to_string());
    }
}

/// Human-readable differences between `ours` and `reference` (empty when equal).
pub fn differences(ours: &BTreeMap<String, String>, reference: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (key, want) in reference {
        match ours.get(key) {
            None => out.push(format!("missing in ours: {key} ({want})")),
            Some(got) if got != want => out.push(format!("{key}: ours `{got}`, reference `{want}`")),
            Some(_) => {}
        }
    }
    for (key, got) in ours {
        if !reference.contains_key(key) {
            out.push(format!("not in reference: {key} ({got})"));
        }
    }
    out
}
