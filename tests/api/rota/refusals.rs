//! Who may call which rota endpoint.
use super::*;

#[tokio::test]
async fn refusals_by_role() {
    let c = county().await;
    let (rota_id, list) = c.published().await;
    let s = list[0]["id"].as_i64().unwrap();
    let gen = json!({ "range_start": "2026-03-01", "range_end": "2026-03-31" });
    let refused = [
        (
            &c.alice.token,
            "POST",
            "/api/v1/rotas".to_string(),
            gen.clone(),
        ),
        (
            &c.leaders[0].token,
            "POST",
            "/api/v1/rotas".into(),
            gen.clone(),
        ),
        (&c.office.token, "POST", "/api/v1/rotas".into(), gen),
        (
            &c.office.token,
            "POST",
            format!("/api/v1/rotas/{rota_id}/publish"),
            json!({}),
        ),
        (
            &c.leaders[0].token,
            "POST",
            format!("/api/v1/live-sessions/{s}/reassign"),
            json!({ "leader_id": c.leader(1), "reason": "x" }),
        ),
        (
            &c.office.token,
            "POST",
            format!("/api/v1/live-sessions/{s}/cancel"),
            json!({ "reason": "x" }),
        ),
        (
            &c.alice.token,
            "GET",
            format!("/api/v1/rotas/{rota_id}"),
            json!({}),
        ),
        (
            &c.alice.token,
            "POST",
            format!("/api/v1/live-sessions/{s}/start"),
            json!({}),
        ),
        (
            &c.office.token,
            "POST",
            format!("/api/v1/live-sessions/{s}/start"),
            json!({}),
        ),
        (
            &c.leaders[0].token,
            "POST",
            format!("/api/v1/live-sessions/{s}/registrations"),
            json!({ "topic": "x" }),
        ),
        (
            &c.handler.token,
            "GET",
            format!("/api/v1/live-sessions/{s}/registrations"),
            json!({}),
        ),
        (
            &c.handler.token,
            "POST",
            format!("/api/v1/live-sessions/{s}/outcomes"),
            json!({ "resident_id": c.alice.id, "outcome": "answered" }),
        ),
        (
            &c.alice.token,
            "GET",
            format!("/api/v1/live-sessions/{s}/events"),
            json!({}),
        ),
        (
            &c.leaders[0].token,
            "POST",
            "/api/v1/live-registrations/1/review".into(),
            json!({ "decision": "release" }),
        ),
        (
            &c.office.token,
            "PUT",
            format!("/api/v1/leaders/{}", c.leader(0)),
            json!({ "display_name": "x", "title": "y" }),
        ),
    ];
    for (token, method, path, body) in refused {
        let req = c
            .app
            .http
            .request(method.parse().unwrap(), c.app.url(&path))
            .bearer_auth(token)
            .json(&body);
        let r = c.app.send(req).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{method} {path}");
    }
    let r = c.app.get("/api/v1/live-sessions", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        c.app.get("/api/v1/rota/calendar.ics", None).await.status,
        200
    );
    assert_eq!(
        c.app.get("/api/v1/rota/sessions.csv", None).await.status,
        200
    );
    // Leaders see every published session and may filter to their own.
    let mine = c
        .app
        .get(
            &format!("/api/v1/live-sessions?leader_id={}", c.leader(0)),
            Some(&c.leaders[0].token),
        )
        .await;
    assert_eq!(mine.body.as_array().unwrap().len(), 2);
    let r = c
        .app
        .get("/api/v1/live-sessions?limit=0", Some(&c.alice.token))
        .await;
    assert_eq!((r.status, field(&r)), (422, "limit"));
    let r = c
        .app
        .get(
            "/api/v1/live-sessions?from=2025-10-10&to=2025-10-31",
            Some(&c.alice.token),
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 2);
}
