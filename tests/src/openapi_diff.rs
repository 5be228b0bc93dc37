//! Wire-level comparison of an OpenAPI document of ours with the reference.
//!
//! For every operation we declare, the reference must declare the same path
//! and method, and agree on: parameters (location, name, required, schema),
//! request body (required, media types, schema), response status codes, the
//! response headers and schemas. Schemas are compared structurally after
//! resolving `$ref`s: types, formats, enum values, properties, required keys,
//! nullability, items, additional properties, defaults and bounds.
//! Descriptions, operation IDs, tags, examples and security are ignored: they
//! never reach the wire or are not ours to change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

/// Loads a YAML (or JSON) document.
pub fn load(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(serde_json::to_value(yaml)?)
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

/// `"<METHOD> <path>"` → operation, with path-level parameters merged in.
pub fn operations(doc: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Some(paths) = doc["paths"].as_object() else { return out };
    for (path, item) in paths {
        let shared = item["parameters"].as_array().cloned().unwrap_or_default();
        for method in METHODS {
            if let Some(op) = item.get(*method) {
                let mut op = op.clone();
                let mut params = shared.clone();
                params.extend(op["parameters"].as_array().cloned().unwrap_or_default());
                op["parameters"] = Value::Array(params);
                out.insert(format!("{} {path}", method.to_uppercase()), op);
            }
        }
    }
    out
}

fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix('#') {
                Some(pointer) => v = doc.pointer(pointer).unwrap_or(&Value::Null),
                None => return &Value::Null,
            },
            None => break,
        }
    }
    v
}

/// The wire-relevant shape of a schema, with references resolved.
pub fn shape(doc: &Value, schema: &Value) -> Value {
    shape_at(doc, schema, 0)
}

fn shape_at(doc: &Value, schema: &Value, depth: usize) -> Value {
    if depth > 24 {
        return json!("<too deep>");
    }
    let mut s = resolve(doc, schema);
    // `allOf` with one member is how OpenAPI 3.0 attaches `nullable` to a ref.
    let mut nullable = s.get("nullable").cloned();
    if let Some([only]) = s.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        s = resolve(doc, only);
        nullable = nullable.or_else(|| s.get("nullable").cloned());
    }
    let mut out = Map::new();
    let kind = s.get("type").cloned().or_else(|| {
        (s.get("properties").is_some() || s.get("additionalProperties").is_some()).then(|| json!("object"))
    });
    out.insert("type".into(), kind.unwrap_or(Value::Null));
    for key in ["format", "default", "minimum", "maximum", "maxLength", "maxItems", "uniqueItems"] {
        if let Some(v) = s.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if nullable == Some(json!(true)) {
        out.insert("nullable".into(), json!(true));
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        let set: BTreeSet<String> = values.iter().map(Value::to_string).collect();
        out.insert("enum".into(), json!(set));
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        let props: Map<String, Value> =
            props.iter().map(|(k, v)| (k.clone(), shape_at(doc, v, depth + 1))).collect();
        out.insert("properties".into(), Value::Object(props));
    }
    if let Some(req) = s.get("required").and_then(Value::as_array) {
        let set: BTreeSet<String> = req.iter().filter_map(|r| r.as_str().map(String::from)).collect();
        out.insert("required".into(), json!(set));
    }
    if let Some(items) = s.get("items") {
        out.insert("items".into(), shape_at(doc, items, depth + 1));
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            out.insert("additionalProperties".into(), json!(b));
        }
        Some(Value::Object(o)) if o.is_empty() => {
            out.insert("additionalProperties".into(), json!("any"));
        }
        Some(ap) => {
            out.insert("additionalProperties".into(), shape_at(doc, ap, depth + 1));
        }
        None => {}
    }
    Value::Object(out)
}

/// The wire-relevant facts of one operation.
pub fn operation_shape(doc: &Value, op: &Value) -> Value {
    let mut params = Map::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let p = resolve(doc, p);
        let key = format!("{} {}", p["in"].as_str().unwrap_or("?"), p["name"].as_str().unwrap_or("?"));
        let mut facts = Map::new();
        facts.insert("required".into(), json!(p["required"].as_bool().unwrap_or(false)));
        facts.insert("schema".into(), shape(doc, &p["schema"]));
        // Serialization style, with OpenAPI's defaults filled in so that an
        // explicit default and an omitted one compare equal.
        let location = p["in"].as_str().unwrap_or("");
        let default_style = match location {
            "query" | "cookie" => "form",
            _ => "simple",
        };
        let style = p["style"].as_str().unwrap_or(default_style);
        let explode = p["explode"].as_bool().unwrap_or(style == "form");
        facts.insert("style".into(), json!(style));
        facts.insert("explode".into(), json!(explode));
        params.insert(key, Value::Object(facts));
    }

    let mut body = Value::Null;
    if !op["requestBody"].is_null() {
        let rb = resolve(doc, &op["requestBody"]);
        let content: Map<String, Value> = rb["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(media, m)| (media.clone(), shape(doc, &m["schema"])))
            .collect();
        body = json!({"required": rb["required"].as_bool().unwrap_or(false), "content": content});
    }

    let mut responses = Map::new();
    for (code, r) in op["responses"].as_object().into_iter().flatten() {
        let r = resolve(doc, r);
        let content: Map<String, Value> = r["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(media, m)| (media.clone(), shape(doc, &m["schema"])))
            .collect();
        let headers: BTreeSet<String> =
            r["headers"].as_object().into_iter().flatten().map(|(h, _)| h.to_ascii_lowercase()).collect();
        responses.insert(code.clone(), json!({"content": content, "headers": headers}));
    }
    json!({"parameters": params, "requestBody": body, "responses": responses})
}

/// Differences between our document and the reference, for the operations we
/// declare. Empty when they agree.
pub fn differences(ours: &Value, reference: &Value) -> Vec<String> {
    let theirs = operations(reference);
    let mut out = Vec::new();
    for (name, op) in operations(ours) {
        let Some(their_op) = theirs.get(&name) else {
            out.push(format!("{name}: not in the reference"));
            continue;
        };
        diff_values(&name, &operation_shape(ours, &op), &operation_shape(reference, their_op), &mut out);
    }
    out
}

fn diff_values(path: &str, ours: &Value, reference: &Value, out: &mut Vec<String>) {
    match (ours, reference) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, bv) in b {
                match a.get(k) {
                    Some(av) => diff_values(&format!("{path} / {k}"), av, bv, out),
                    None => out.push(format!("{path} / {k}: missing in ours (reference: {bv})")),
                }
            }
            for (k, av) in a {
                if !b.contains_key(k) {
                    out.push(format!("{path} / {k}: not in the reference (ours: {av})"));
                }
            }
        }
        (a, b) if a != b => out.push(format!("{path}: ours {a}, reference {b}")),
        _ => {}
    }
}
