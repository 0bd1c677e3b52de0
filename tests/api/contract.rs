//! The OpenAPI document as a contract. [`check`] runs on every response `TestApp::send`
//! receives: the status must be declared for the operation (method and path template), the
//! content type among the declared ones, and a JSON body must match the declared schema
//! ($refs resolved against the document's components). A request body the server accepted (2xx)
//! must match the declared request schema too. [`document_problems`] checks the document itself.
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use minxin::auth::Access;
use serde_json::{json, Value};

/// One request and its answer, as the test client saw them.
pub struct Exchange<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub request_json: Option<&'a [u8]>,
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub body: &'a str,
}

struct Contract {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn contract() -> &'static Contract {
    static C: OnceLock<Contract> = OnceLock::new();
    C.get_or_init(|| Contract {
        doc: document(),
        validators: Mutex::new(HashMap::new()),
    })
}

/// The document exactly as the server serves it.
pub fn document() -> Value {
    serde_json::to_value(minxin::openapi::document()).expect("the document serializes")
}

/// Panics, naming the exchange, when the answer breaks the contract.
pub fn check(x: &Exchange<'_>) {
    if let Err(problem) = verify(x) {
        panic!(
            "OpenAPI contract: {} {} answered {}: {problem}\nbody: {}",
            x.method,
            x.path,
            x.status,
            x.body.chars().take(2000).collect::<String>()
        );
    }
}

fn verify(x: &Exchange<'_>) -> Result<(), String> {
    let c = contract();
    let method = x.method.to_ascii_lowercase();
    let Some(template) = match_template(&c.doc, &method, x.path) else {
        // No operation: only the router's own 404 may answer.
        return if x.status == 404 {
            Ok(())
        } else {
            Err("no operation in the document for this method and path".into())
        };
    };
    let op = &c.doc["paths"][&template][&method];
    let responses = &op["responses"];
    let status = x.status.to_string();
    let class = format!("{}XX", x.status / 100);
    let (key, response) = [status.as_str(), class.as_str(), "default"]
        .into_iter()
        .find_map(|k| responses.get(k).map(|r| (k, r)))
        .ok_or_else(|| {
            format!(
                "status {} is not declared for {method} {template}",
                x.status
            )
        })?;
    let response = resolve(&c.doc, response);
    let content = response.get("content").and_then(Value::as_object);
    let Some(content) = content.filter(|m| !m.is_empty()) else {
        return if x.body.is_empty() {
            Ok(())
        } else {
            Err(format!("{method} {template} {key} declares no body"))
        };
    };
    let media = x
        .content_type
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .ok_or("a body is declared but the answer has no content type")?;
    let declared = content
        .get(&media)
        .or_else(|| content.get(&format!("{}/*", media.split('/').next().unwrap_or(""))))
        .or_else(|| content.get("*/*"))
        .ok_or_else(|| {
            let names: Vec<_> = content.keys().collect();
            format!("content type {media} is not among the declared {names:?}")
        })?;
    if is_json(&media) {
        let body: Value = serde_json::from_str(x.body)
            .map_err(|e| format!("declared JSON but the body does not parse: {e}"))?;
        if let Some(schema) = declared.get("schema") {
            let id = format!("{method} {template} {key} {media}");
            validate(c, &id, schema, &body)?;
        }
    }
    if (200..300).contains(&x.status) {
        if let Some(raw) = x.request_json {
            check_request(c, op, &method, &template, raw)?;
        }
    }
    Ok(())
}

/// A body the server accepted must be one the document allows.
fn check_request(
    c: &Contract,
    op: &Value,
    method: &str,
    template: &str,
    raw: &[u8],
) -> Result<(), String> {
    let Ok(body) = serde_json::from_slice::<Value>(raw) else {
        return Ok(());
    };
    // An operation without a body ignores whatever the client sends.
    let Some(schema) =
        resolve(&c.doc, &op["requestBody"])["content"]["application/json"].get("schema")
    else {
        return Ok(());
    };
    validate(c, &format!("{method} {template} request"), schema, &body)
        .map_err(|e| format!("the server accepted a request body the document refuses: {e}"))
}

fn validate(c: &Contract, id: &str, schema: &Value, instance: &Value) -> Result<(), String> {
    let validator = {
        let mut cache = c.validators.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get(id) {
            Some(v) => v.clone(),
            None => {
                let v = Arc::new(compile(&c.doc, schema)?);
                cache.insert(id.to_string(), v.clone());
                v
            }
        }
    };
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the body does not match the declared schema: {}",
            errors.join("; ")
        ))
    }
}

/// A validator for a schema of the document: the schema becomes the root, carrying the
/// document's components so that `#/components/schemas/…` resolves.
fn compile(doc: &Value, schema: &Value) -> Result<jsonschema::Validator, String> {
    let mut root = json!({ "allOf": [schema], "components": doc["components"] });
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .map_err(|e| format!("the declared schema does not compile: {e}"))
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// Follows a `$ref` to a component (responses, request bodies).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or(&Value::Null),
        None => v,
    }
}

/// The path template with this method that matches `path`, literal segments before
/// parameters (`/appeals/similar` before `/appeals/{id}`).
fn match_template(doc: &Value, method: &str, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .iter()
        .filter(|(_, ops)| ops.get(method).is_some())
        .filter_map(|(template, _)| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut params = 0;
            for (t, s) in parts.iter().zip(&segments) {
                if t.starts_with('{') && t.ends_with('}') {
                    if s.is_empty() {
                        return None;
                    }
                    params += 1;
                } else if t != s {
                    return None;
                }
            }
            Some((params, template.clone()))
        })
        .min()
        .map(|(_, t)| t)
}

/// What makes the document untrustworthy, as a list of complaints (empty when it is sound):
/// it must parse as OpenAPI 3.1, have unique operationIds, resolvable `$ref`s, path parameters
/// that match the templates, schemas valid under JSON Schema 2020-12, error answers in the one
/// error shape, and the statuses every operation can answer by how it is routed.
pub fn document_problems(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match oas3::from_json(doc.to_string()) {
        Ok(spec) => {
            if let Err(e) = spec.validate_version() {
                out.push(format!("version: {e}"));
            }
        }
        Err(e) => out.push(format!("not an OpenAPI 3.1 document: {e}")),
    }
    if !doc["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.1."))
    {
        out.push(format!("openapi version {} is not 3.1.x", doc["openapi"]));
    }
    refs_resolve(doc, doc, "#", &mut out);
    let mut ids = BTreeSet::new();
    let routes = minxin::api::routes().endpoints;
    for (template, ops) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in ops.as_object().into_iter().flatten() {
            let here = format!("{method} {template}");
            match op["operationId"].as_str() {
                Some(id) if !ids.insert(id.to_string()) => {
                    out.push(format!("{here}: operationId `{id}` is used twice"))
                }
                Some(_) => {}
                None => out.push(format!("{here}: no operationId")),
            }
            check_parameters(doc, template, op, &here, &mut out);
            check_schemas(doc, op, &here, &mut out);
            check_statuses(doc, template, op, &here, &mut out);
            let route = routes
                .iter()
                .find(|e| e.method.as_str().eq_ignore_ascii_case(method) && e.path == *template);
            if let Some(route) = route {
                check_route_statuses(route.access, op, &here, &mut out);
            }
        }
    }
    for (name, schema) in doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            out.push(format!("schema {name}: not valid JSON Schema 2020-12: {e}"));
        }
    }
    out
}

fn refs_resolve(doc: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                let ok = r
                    .strip_prefix('#')
                    .is_some_and(|p| doc.pointer(p).is_some());
                if !ok {
                    out.push(format!("{at}: $ref {r} does not resolve"));
                }
            }
            for (k, x) in m {
                refs_resolve(doc, x, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                refs_resolve(doc, x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn check_parameters(doc: &Value, template: &str, op: &Value, here: &str, out: &mut Vec<String>) {
    let in_template: BTreeSet<&str> = template
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect();
    let params: Vec<&Value> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| resolve(doc, p))
        .collect();
    let mut seen = BTreeSet::new();
    for p in &params {
        let (name, place) = (
            p["name"].as_str().unwrap_or(""),
            p["in"].as_str().unwrap_or(""),
        );
        if !seen.insert((name, place)) {
            out.push(format!(
                "{here}: parameter {name} in {place} declared twice"
            ));
        }
        if place == "path" && (!in_template.contains(name) || p["required"] != true) {
            out.push(format!(
                "{here}: path parameter {name} is not a required part of the template"
            ));
        }
        if let Some(schema) = p.get("schema") {
            if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
                out.push(format!("{here}: parameter {name}: invalid schema: {e}"));
            }
            let limits = (schema["minimum"].as_i64(), schema["maximum"].as_i64());
            if name == "limit" && (limits.0 != Some(1) || limits.1.is_none()) {
                out.push(format!(
                    "{here}: `limit` must declare its range, declares {limits:?}"
                ));
            }
            let date = name == "date" || name == "from" || name == "to";
            if date && schema["format"] != "date" {
                out.push(format!(
                    "{here}: date parameter {name} must declare format date"
                ));
            }
        } else {
            out.push(format!("{here}: parameter {name} has no schema"));
        }
    }
    for name in in_template {
        if !seen.contains(&(name, "path")) {
            out.push(format!("{here}: path parameter {{{name}}} is not declared"));
        }
    }
}

fn check_schemas(doc: &Value, op: &Value, here: &str, out: &mut Vec<String>) {
    let body = resolve(doc, &op["requestBody"]);
    let mut schemas: Vec<(String, &Value)> = Vec::new();
    for (media, m) in body["content"].as_object().into_iter().flatten() {
        schemas.extend(m.get("schema").map(|s| (format!("request {media}"), s)));
    }
    for (status, r) in op["responses"].as_object().into_iter().flatten() {
        for (media, m) in resolve(doc, r)["content"].as_object().into_iter().flatten() {
            schemas.extend(m.get("schema").map(|s| (format!("{status} {media}"), s)));
        }
    }
    for (what, schema) in schemas {
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            out.push(format!("{here} {what}: invalid schema: {e}"));
        } else if let Err(e) = compile(doc, schema) {
            out.push(format!("{here} {what}: {e}"));
        }
    }
}

/// Every error answer is the one error shape.
fn check_statuses(doc: &Value, template: &str, op: &Value, here: &str, out: &mut Vec<String>) {
    let error_ref = json!({ "$ref": "#/components/schemas/ErrorBody" });
    for (status, r) in op["responses"].as_object().into_iter().flatten() {
        let Ok(code) = status.parse::<u16>() else {
            out.push(format!("{here}: response key {status} is not a status"));
            continue;
        };
        let r = resolve(doc, r);
        if r["description"].as_str().is_none() {
            out.push(format!("{here} {status}: no description"));
        }
        // /readyz answers 503 with its own readiness body, by design.
        let readiness = template == "/readyz" && code == 503;
        if code >= 400 && !readiness && r["content"]["application/json"]["schema"] != error_ref {
            out.push(format!(
                "{here} {status}: an error answer must be ErrorBody"
            ));
        }
    }
    let body = resolve(doc, &op["requestBody"]);
    if body["content"]["application/json"].is_object() {
        for status in ["400", "413", "415", "422"] {
            if op["responses"].get(status).is_none() {
                out.push(format!(
                    "{here}: takes a JSON body but does not declare {status}"
                ));
            }
        }
    }
}

/// What the route table's access rule makes the server answer: 401 without a valid token,
/// 403 for a role it does not admit.
fn check_route_statuses(access: Access, op: &Value, here: &str, out: &mut Vec<String>) {
    let declared = |s: &str| op["responses"].get(s).is_some();
    let authenticated = !matches!(access, Access::Public);
    if authenticated && !declared("401") {
        out.push(format!("{here}: needs a login but does not declare 401"));
    }
    if authenticated && op["security"].as_array().is_none_or(|s| s.is_empty()) {
        out.push(format!("{here}: needs a login but declares no security"));
    }
    if matches!(access, Access::Roles(_)) && !declared("403") {
        out.push(format!(
            "{here}: admits only some roles but does not declare 403"
        ));
    }
}

#[test]
fn the_check_refuses_what_the_document_does_not_declare() {
    let x = |method, path, status, content_type, body| Exchange {
        method,
        path,
        request_json: None,
        status,
        content_type,
        body,
    };
    let json = Some("application/json");
    assert_eq!(
        verify(&x("GET", "/healthz", 200, json, r#"{"status":"ok"}"#)),
        Ok(())
    );
    let wrong_type = verify(&x("GET", "/healthz", 200, json, r#"{"status":1}"#));
    assert!(wrong_type.is_err_and(|e| e.contains("/status")));
    let undeclared = verify(&x("GET", "/healthz", 418, json, "{}"));
    assert!(undeclared.is_err_and(|e| e.contains("not declared")));
    let media = verify(&x("GET", "/healthz", 200, Some("text/html"), "<p>"));
    assert!(media.is_err_and(|e| e.contains("content type")));
    // The one error shape: `code` and `message` are required.
    let me = r#"{"error":{"code":"not_found","message":"not found"}}"#;
    assert_eq!(
        verify(&x("GET", "/api/v1/appeals/7", 404, json, me)),
        Ok(())
    );
    let bare = verify(&x("GET", "/api/v1/appeals/7", 404, json, r#"{"error":{}}"#));
    assert!(bare.is_err());
    // Literal segments win over parameters.
    let doc = contract();
    assert_eq!(
        match_template(&doc.doc, "post", "/api/v1/appeals/similar").as_deref(),
        Some("/api/v1/appeals/similar")
    );
    // A body the server accepted must be one the document allows: the flat action body.
    let path = "/api/v1/appeals/{id}/actions";
    let op = &doc.doc["paths"][path]["post"];
    let flat = br#"{"action":"rate","rating":"satisfied","solved":true,"version":3}"#;
    assert_eq!(check_request(doc, op, "post", path, flat), Ok(()));
    let no_rating = br#"{"action":"rate","solved":true,"version":3}"#;
    assert!(check_request(doc, op, "post", path, no_rating).is_err());
}
