//! One error shape, and the right status for each kind of bad input.
use crate::common::spawn_app;

#[tokio::test]
async fn bad_bodies_get_clear_errors() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/auth/wechat-login");
    let raw = |body: &'static str, ct: &'static str| {
        app.http.post(&url).header("content-type", ct).body(body)
    };
    let r = app.send(raw("{\"code\":", "application/json")).await;
    assert_eq!((r.status, r.code()), (400, "invalid_json"), "{:?}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("JSON"));

    let r = app.send(raw("{}", "application/json")).await;
    assert_eq!((r.status, r.code()), (422, "validation_failed"));
    assert_eq!(r.body["error"]["field"], "code");

    let r = app.send(raw("{\"code\": 42}", "application/json")).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("code"))
    );

    let r = app.send(raw("{\"code\": \"\"}", "application/json")).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("code"))
    );

    let r = app
        .send(raw("{\"code\": \"a b\\u0000\"}", "application/json"))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("code"))
    );

    let r = app
        .send(raw("code=abc", "application/x-www-form-urlencoded"))
        .await;
    assert_eq!((r.status, r.code()), (415, "unsupported_media_type"));

    let huge = format!("{{\"code\":\"{}\"}}", "a".repeat(200_000));
    let r = app
        .send(
            app.http
                .post(&url)
                .header("content-type", "application/json")
                .body(huge),
        )
        .await;
    assert_eq!((r.status, r.code()), (413, "payload_too_large"));

    let r = app.get("/api/v1/no-such-thing", None).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    assert!(r.body["error"]["message"].is_string());
}

#[tokio::test]
async fn oversize_body_without_content_length_is_refused() {
    let app = spawn_app().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..100).map(|_| Ok(vec![b' '; 4096])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = app
        .send(
            app.http
                .post(app.url("/api/v1/auth/wechat-login"))
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    assert_eq!((r.status, r.code()), (413, "payload_too_large"));
}
