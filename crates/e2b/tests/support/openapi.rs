//! Checks requests and responses against this project's OpenAPI documents
//! (`openapi/api.yml`, `openapi/envd.yml`): operation, path parameters,
//! query parameters, security, JSON body keys, required keys and types.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;
use serde_json::Value;

/// One OpenAPI document.
pub struct Spec {
    doc: Value,
}

/// An operation matched by method and path.
pub struct Operation<'a> {
    pub id: String,
    pub path_params: HashMap<String, String>,
    op: &'a Value,
    path_item: &'a Value,
}

impl Spec {
    /// Loads `openapi/<file>` of the workspace.
    pub fn load(file: &str) -> Spec {
        let path = e2b_tests::reference::workspace_root().join("openapi").join(file);
        Spec { doc: e2b_tests::openapi_diff::load(&path).expect("our OpenAPI document parses") }
    }

    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..16 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let pointer = reference.trim_start_matches('#');
                    value = self.doc.pointer(pointer).unwrap_or(&Value::Null);
                }
                None => return value,
            }
        }
        value
    }

    /// The operation for `method` and the raw (still percent-encoded) path.
    pub fn find(&self, method: &str, raw_path: &str) -> Option<Operation<'_>> {
        let segments: Vec<&str> = raw_path.trim_start_matches('/').split('/').collect();
        for (template, path_item) in self.doc["paths"].as_object()? {
            let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut params = HashMap::new();
            let matched = parts.iter().zip(&segments).all(|(part, segment)| {
                if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    params.insert(
                        name.to_owned(),
                        percent_decode_str(segment).decode_utf8_lossy().into_owned(),
                    );
                    !segment.is_empty()
                } else {
                    part == segment
                }
            });
            if !matched {
                continue;
            }
            let op = path_item.get(method.to_ascii_lowercase())?;
            return Some(Operation {
                id: op["operationId"].as_str().unwrap_or_default().to_owned(),
                path_params: params,
                op,
                path_item,
            });
        }
        None
    }

    fn parameters<'a>(&'a self, operation: &Operation<'a>) -> Vec<&'a Value> {
        let mut params: Vec<&Value> = Vec::new();
        for list in [&operation.path_item["parameters"], &operation.op["parameters"]] {
            for param in list.as_array().into_iter().flatten() {
                params.push(self.resolve(param));
            }
        }
        params
    }

    /// Everything wrong with a request, as messages.
    pub fn check_request(
        &self,
        operation: &Operation<'_>,
        query: &[(String, String)],
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Vec<String> {
        let mut errors = Vec::new();
        let id = &operation.id;
        let params = self.parameters(operation);

        for param in &params {
            let name = param["name"].as_str().unwrap_or_default();
            let required = param["required"].as_bool().unwrap_or(false);
            match param["in"].as_str() {
                Some("query") => {
                    let values: Vec<&String> =
                        query.iter().filter(|(k, _)| k == name).map(|(_, v)| v).collect();
                    if required && values.is_empty() {
                        errors.push(format!("{id}: required query parameter {name} is missing"));
                    }
                    if values.len() > 1 {
                        errors.push(format!("{id}: query parameter {name} repeated {} times", values.len()));
                    }
                    for value in values {
                        self.check_param_value(id, name, &param["schema"], param, value, &mut errors);
                    }
                }
                Some("path") => {
                    if let Some(value) = operation.path_params.get(name) {
                        self.check_param_value(id, name, &param["schema"], param, value, &mut errors);
                    }
                }
                _ => {}
            }
        }
        for (key, _) in query {
            let declared = params.iter().any(|p| p["in"] == "query" && p["name"] == key.as_str());
            if !declared {
                errors.push(format!("{id}: undeclared query parameter {key}"));
            }
        }

        let security = operation.op.get("security").or_else(|| self.doc.get("security"));
        let needs_api_key = security.and_then(Value::as_array).is_some_and(|alternatives| {
            !alternatives.is_empty() && alternatives.iter().all(|alt| alt.get("ApiKeyAuth").is_some())
        });
        if needs_api_key && !headers.contains_key("x-api-key") {
            errors.push(format!("{id}: X-API-Key header missing"));
        }

        let request_body = self.resolve(&operation.op["requestBody"]);
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        if request_body.is_null() {
            if !body.is_empty() {
                errors.push(format!("{id}: a body was sent but the operation takes none"));
            }
            return errors;
        }
        if body.is_empty() {
            if request_body["required"].as_bool().unwrap_or(false) {
                errors.push(format!("{id}: the required request body is missing"));
            }
            return errors;
        }
        let media = content_type.split(';').next().unwrap_or("").trim();
        let Some(content) = request_body["content"].get(media) else {
            errors.push(format!("{id}: content type {content_type:?} is not declared"));
            return errors;
        };
        if media == "application/json" {
            match serde_json::from_slice::<Value>(body) {
                Ok(value) => self.check_value(&content["schema"], &value, &format!("{id} body"), &mut errors),
                Err(e) => errors.push(format!("{id}: body is not JSON: {e}")),
            }
        }
        errors
    }

    fn check_param_value(
        &self,
        id: &str,
        name: &str,
        schema: &Value,
        param: &Value,
        value: &str,
        errors: &mut Vec<String>,
    ) {
        let schema = self.resolve(schema);
        if schema["type"] == "array" {
            let exploded = param["explode"].as_bool().unwrap_or(true);
            let items: Vec<&str> = if exploded { vec![value] } else { value.split(',').collect() };
            for item in items {
                self.check_param_value(id, name, &schema["items"], &Value::Null, item, errors);
            }
            return;
        }
        let typed = match schema["type"].as_str() {
            Some("integer") => match value.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    errors.push(format!("{id}: parameter {name}={value:?} is not an integer"));
                    return;
                }
            },
            Some("boolean") => match value {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    errors.push(format!("{id}: parameter {name}={value:?} is not a boolean"));
                    return;
                }
            },
            _ => Value::String(value.to_owned()),
        };
        self.check_value(schema, &typed, &format!("{id} parameter {name}"), errors);
    }

    /// Everything wrong with a response: undeclared status, or a body that
    /// does not match the declared schema.
    pub fn check_response(&self, operation: &Operation<'_>, status: u16, body: &[u8]) -> Vec<String> {
        let mut errors = Vec::new();
        let id = &operation.id;
        let Some(response) = operation.op["responses"].get(status.to_string()) else {
            errors.push(format!("{id}: status {status} is not declared"));
            return errors;
        };
        let response = self.resolve(response);
        match response["content"].get("application/json") {
            Some(content) => match serde_json::from_slice::<Value>(body) {
                Ok(value) => {
                    self.check_value(&content["schema"], &value, &format!("{id} {status} body"), &mut errors)
                }
                Err(e) => errors.push(format!("{id}: {status} body is not JSON: {e}")),
            },
            None if response["content"].is_null() && !body.is_empty() => {
                errors.push(format!("{id}: {status} must have no body"));
            }
            None => {}
        }
        errors
    }

    /// Validates `value` against `schema` (the subset of JSON Schema our
    /// documents use). Unknown object keys are errors unless the schema
    /// allows additional properties.
    pub fn check_value(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if schema.is_null() || schema.as_object().is_some_and(|o| o.is_empty()) {
            return;
        }
        if value.is_null() {
            if !schema["nullable"].as_bool().unwrap_or(false) {
                errors.push(format!("{at}: null is not allowed"));
            }
            return;
        }
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.contains(value)
        {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
        let kind =
            schema["type"].as_str().unwrap_or(if schema.get("properties").is_some() { "object" } else { "" });
        match kind {
            "object" => {
                let Some(object) = value.as_object() else {
                    errors.push(format!("{at}: expected an object, got {value}"));
                    return;
                };
                for key in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                    if !object.contains_key(key) {
                        errors.push(format!("{at}: required key {key} is missing"));
                    }
                }
                let properties = schema["properties"].as_object();
                for (key, item) in object {
                    match properties.and_then(|p| p.get(key)) {
                        Some(property) => self.check_value(property, item, &format!("{at}.{key}"), errors),
                        None => match schema.get("additionalProperties") {
                            Some(Value::Bool(true)) => {}
                            Some(extra @ Value::Object(_)) => {
                                self.check_value(extra, item, &format!("{at}.{key}"), errors)
                            }
                            _ => errors.push(format!("{at}: unknown key {key}")),
                        },
                    }
                }
            }
            "array" => match value.as_array() {
                Some(items) => {
                    for (index, item) in items.iter().enumerate() {
                        self.check_value(&schema["items"], item, &format!("{at}[{index}]"), errors);
                    }
                }
                None => errors.push(format!("{at}: expected an array, got {value}")),
            },
            "string" => match value.as_str() {
                Some(text) => {
                    if schema["format"] == "date-time" && chrono::DateTime::parse_from_rfc3339(text).is_err()
                    {
                        errors.push(format!("{at}: {text:?} is not an RFC 3339 date-time"));
                    }
                    if let Some(max) = schema["maxLength"].as_u64()
                        && text.chars().count() as u64 > max
                    {
                        errors.push(format!("{at}: longer than {max} characters"));
                    }
                }
                None => errors.push(format!("{at}: expected a string, got {value}")),
            },
            "integer" => match value.as_i64() {
                Some(n) => {
                    if schema["format"] == "int32" && i32::try_from(n).is_err() {
                        errors.push(format!("{at}: {n} does not fit int32"));
                    }
                    if let Some(min) = schema["minimum"].as_i64()
                        && n < min
                    {
                        errors.push(format!("{at}: {n} is below the minimum {min}"));
                    }
                    if let Some(max) = schema["maximum"].as_i64()
                        && n > max
                    {
                        errors.push(format!("{at}: {n} is above the maximum {max}"));
                    }
                }
                None => errors.push(format!("{at}: expected an integer, got {value}")),
            },
            "number" if !value.is_number() => errors.push(format!("{at}: expected a number, got {value}")),
            "boolean" if !value.is_boolean() => errors.push(format!("{at}: expected a boolean, got {value}")),
            _ => {}
        }
    }
}

#[test]
fn the_checker_notices_violations() {
    let spec = Spec::load("api.yml");
    let op = spec.find("POST", "/sandboxes").expect("create is declared");
    assert_eq!(op.id, "create_sandbox");
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("x-api-key", "e2b_1".parse().unwrap());
    let ok = br#"{"templateID":"base","timeout":300,"metadata":{},"envVars":{},"secure":true,"allow_internet_access":true}"#;
    assert!(spec.check_request(&op, &[], &headers, ok).is_empty());
    let mut no_key = http::HeaderMap::new();
    no_key.insert("content-type", "application/json".parse().unwrap());
    let errors =
        spec.check_request(&op, &[("x".into(), "1".into())], &no_key, br#"{"timeout":"5","bogus":1}"#);
    let text = errors.join("\n");
    for expected in [
        "undeclared query parameter x",
        "X-API-Key",
        "required key templateID",
        "expected an integer",
        "unknown key bogus",
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
    let list = spec.find("GET", "/v2/sandboxes").unwrap();
    let errors = spec.check_request(
        &list,
        &[("state".into(), "running,asleep".into()), ("limit".into(), "0".into())],
        &headers,
        b"",
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    let kill = spec.find("DELETE", "/sandboxes/abc").unwrap();
    assert_eq!(kill.path_params["sandboxID"], "abc");
    assert!(spec.check_response(&kill, 204, b"").is_empty());
    assert!(!spec.check_response(&kill, 200, b"").is_empty());
    let template = spec.find("DELETE", "/templates/team%2Fsnap%3Av2").unwrap();
    assert_eq!(template.path_params["templateID"], "team/snap:v2");
    assert!(spec.find("GET", "/nope").is_none());
}
