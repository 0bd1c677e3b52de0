use crate::common::spawn_app;
use std::collections::BTreeSet;

#[tokio::test]
async fn health_readiness_metrics_and_request_ids() {
    let app = spawn_app().await;
    let h = app.get("/healthz", None).await;
    assert_eq!((h.status, h.body["status"].as_str()), (200, Some("ok")));
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["database"], "ok");
    assert_eq!(r.body["broker"], "ok");
    assert!(
        h.headers.contains_key("x-request-id"),
        "every answer carries its request id"
    );
    let m = app.get("/metrics", None).await;
    assert_eq!(m.status, 200);
    let text = m.body.as_str().unwrap();
    assert!(
        text.contains(
            "minxin_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.state.db.clone().close().await.unwrap();
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 503);
    assert_ne!(r.body["database"], "ok");
}

/// Every route of the application is documented, with the same method.
#[tokio::test]
async fn openapi_document_lists_every_endpoint() {
    let app = spawn_app().await;
    let doc = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    let documented: BTreeSet<(String, String)> = doc.body["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = minxin::api::routes()
        .endpoints
        .iter()
        .map(|e| (e.method.to_string(), e.path.clone()))
        .collect();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "routes missing from OpenAPI: {missing:?}"
    );
    assert!(stale.is_empty(), "OpenAPI paths with no route: {stale:?}");
}

/// The served document is valid OpenAPI 3.1 that a generator can use: unique operationIds,
/// `$ref`s that resolve, valid schemas, and the statuses each operation can answer.
#[tokio::test]
async fn openapi_document_is_valid_and_declares_what_routes_answer() {
    let app = spawn_app().await;
    let doc = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    let problems = crate::contract::document_problems(&doc.body);
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
