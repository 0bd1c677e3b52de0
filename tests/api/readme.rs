//! The README stays true: its route table lists every registered route (and nothing else), and
//! its error tables every error code the code can answer with, HTTP or WebSocket.
use std::collections::BTreeSet;

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

/// Every code in the README's error tables: the HTTP table under "### Errors" (second cell,
/// possibly several codes) and the live room's `error` message table (first cell).
fn documented_codes() -> BTreeSet<String> {
    let code = regex::Regex::new(r"`([a-z_]+)`").unwrap();
    let mut codes = BTreeSet::new();
    let http = README
        .split("| status | code | when |")
        .nth(1)
        .expect("README has the HTTP error table");
    for line in http.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cell = line.split('|').nth(2).unwrap();
        codes.extend(code.captures_iter(cell).map(|c| c[1].to_string()));
    }
    let ws = README
        .split("Codes of the `error` message")
        .nth(1)
        .and_then(|s| s.split("| code | when |").nth(1))
        .expect("README has the live room's error table");
    for line in ws.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cell = line.split('|').nth(1).unwrap();
        codes.extend(code.captures_iter(cell).map(|c| c[1].to_string()));
    }
    codes
}

/// `ErrorCode` is the one list of codes; the README's tables list exactly its members.
#[test]
fn the_readme_error_tables_list_exactly_the_error_codes() {
    let codes: BTreeSet<String> = minxin::error::ErrorCode::all()
        .map(|c| c.as_str().to_string())
        .collect();
    let documented = documented_codes();
    let missing: Vec<_> = codes.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&codes).collect();
    assert!(
        missing.is_empty(),
        "error codes missing from the README: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "README error codes that are no ErrorCode: {stale:?}"
    );
}
