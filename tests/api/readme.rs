//! The README stays true: its route table lists every registered route (and nothing else), and
//! its error tables every error code the code can answer with, HTTP or WebSocket.
use std::collections::BTreeSet;
use std::path::Path;

const README: &str = include_str!("../../README.md");

/// `(method, path)` of every row of the README's route table (`| GET, POST | `/path?q=` | … |`).
fn documented_routes() -> BTreeSet<(String, String)> {
    let table = README
        .split("| method | path | who |")
        .nth(1)
        .expect("README has the route table");
    let mut rows = BTreeSet::new();
    for line in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let path = cells[2].trim_matches('`');
        let path = path.split('?').next().unwrap().to_string();
        for method in cells[1].split(',') {
            rows.insert((method.trim().to_string(), path.clone()));
        }
    }
    rows
}

#[test]
fn every_route_is_in_the_readme_route_table() {
    let routed: BTreeSet<(String, String)> = minxin::api::routes()
        .endpoints
        .iter()
        .map(|e| (e.method.to_string(), e.path.clone()))
        .collect();
    let documented = documented_routes();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the README: {missing:?}"
    );
    assert!(stale.is_empty(), "README routes with no route: {stale:?}");
}

/// Every error code in the source: `AppError`'s own, the codes handlers pass to it
/// (`code: "…"`, `AppError::conflict("…", …)`), the live room's (`RoomError::code`) and the
/// WebSocket loop's (`("…".to_string(), …)`, `=> ("…".into(), …)`, `violation("…", …)`).
fn error_codes() -> BTreeSet<String> {
    let patterns = [
        r#"code:\s*"([a-z_]+)""#,
        r#"AppError::conflict\(\s*"([a-z_]+)""#,
        r#"violation\(\s*"([a-z_]+)""#,
        r#"\(\s*"([a-z_]+)"\.to_string\(\),"#,
        r#"=>\s*\(\s*"([a-z_]+)"\.into\(\),"#,
    ]
    .map(|p| regex::Regex::new(p).unwrap());
    // The arms of every `fn code(&self) -> &'static str`.
    let code_fn =
        regex::Regex::new(r#"fn code\(&self\) -> &'static str \{(?s:(.*?))\n    \}"#).unwrap();
    let arm = regex::Regex::new(r#"=> "([a-z_]+)""#).unwrap();
    let mut codes = BTreeSet::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests may make up codes of their own.
            let text = text.split("#[cfg(test)]").next().unwrap();
            for p in &patterns {
                codes.extend(p.captures_iter(text).map(|c| c[1].to_string()));
            }
            for body in code_fn.captures_iter(text) {
                codes.extend(arm.captures_iter(&body[1]).map(|c| c[1].to_string()));
            }
        }
    }
    codes
}

#[test]
fn every_error_code_is_in_the_readme() {
    let codes = error_codes();
    // The scan finds what it should: one code of each kind.
    for known in [
        "validation_failed",
        "rota_overlap",
        "version_conflict",
        "stage_busy",
        "not_on_stage",
        "rate_limited",
    ] {
        assert!(codes.contains(known), "{known} not found by the scan");
    }
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| !README.contains(&format!("`{c}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "error codes missing from the README: {missing:?}"
    );
}
