//! Residents registering topics for a session.
use super::*;

#[tokio::test]
async fn registrations_one_per_resident_cancellable_and_content_checked() {
    let c = county().await;
    let (_, list) = c.published().await;
    let s = list[0]["id"].as_i64().unwrap();

    let r = c.register(&c.alice, s, "  石门村饮水工程进度  ").await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        (r.body["status"].as_str(), r.body["topic"].as_str()),
        (Some("registered"), Some("石门村饮水工程进度"))
    );
    let reg_id = r.body["id"].as_i64().unwrap();
    let r = c.register(&c.alice, s, "另一个话题").await;
    assert_eq!((r.status, r.code()), (409, "already_registered"));
    let seen = c.upcoming(&c.alice).await;
    assert_eq!(seen[0]["registrations"], 1);
    assert_eq!(seen[0]["my_registration"]["id"].as_i64(), Some(reg_id));
    assert!(c.upcoming(&c.bob).await[0].get("my_registration").is_none());

    // Bad input.
    for (body, f) in [
        (json!({ "topic": "" }), "topic"),
        (json!({ "topic": "   " }), "topic"),
        (json!({ "topic": "长".repeat(201) }), "topic"),
        (json!({ "topic": "a\u{0007}b" }), "topic"),
        (json!({ "topic": 42 }), "topic"),
        (json!({}), "topic"),
    ] {
        let r = c
            .app
            .post(
                &format!("/api/v1/live-sessions/{s}/registrations"),
                Some(&c.bob.token),
                body.clone(),
            )
            .await;
        assert_eq!((r.status, field(&r)), (422, f), "{body}: {:?}", r.body);
    }
    assert_eq!(c.register(&c.bob, s, &"长".repeat(200)).await.status, 201);
    assert_eq!(c.register(&c.bob, 987_654, "x").await.status, 404);

    // Flagged by the content check: held, not counted, never dropped; the office decides.
    let r = c
        .app
        .post(
            "/api/v1/sensitive-words",
            Some(&c.admin.token),
            json!({ "word": "法轮" }),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = c.register(&c.carol, s, "有人宣传法 轮功").await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (201, Some("held")),
        "{:?}",
        r.body
    );
    assert!(
        r.body.get("hold_reason").is_none(),
        "the reason is for staff"
    );
    let held = r.body["id"].as_i64().unwrap();
    assert_eq!(c.upcoming(&c.carol).await[0]["registrations"], 2);
    let staff_list = c
        .app
        .get(
            &format!("/api/v1/live-sessions/{s}/registrations"),
            Some(&c.leaders[0].token),
        )
        .await;
    assert_eq!(staff_list.status, 200);
    let entry = staff_list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == held)
        .unwrap();
    assert!(entry["hold_reason"].as_str().unwrap().contains("法轮"));
    assert_eq!(entry["user_id"].as_i64(), Some(c.carol.id));
    let detail = c
        .app
        .get(&format!("/api/v1/live-sessions/{s}"), Some(&c.office.token))
        .await;
    assert_eq!(detail.body["held_registrations"], 1);
    let r = c
        .app
        .post(
            &format!("/api/v1/live-registrations/{held}/review"),
            Some(&c.office.token),
            json!({ "decision": "maybe" }),
        )
        .await;
    assert_eq!((r.status, field(&r)), (422, "decision"));
    let r = c
        .app
        .post(
            &format!("/api/v1/live-registrations/{held}/review"),
            Some(&c.office.token),
            json!({ "decision": "release" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("registered")),
        "{:?}",
        r.body
    );
    assert_eq!(c.upcoming(&c.carol).await[0]["registrations"], 3);
    let r = c
        .app
        .post(
            &format!("/api/v1/live-registrations/{held}/review"),
            Some(&c.office.token),
            json!({ "decision": "reject" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "not_held"));

    // Cancel, and register again with another topic.
    let r = delete(
        &c.app,
        &format!("/api/v1/live-sessions/{s}/registration"),
        &c.alice.token,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = delete(
        &c.app,
        &format!("/api/v1/live-sessions/{s}/registration"),
        &c.alice.token,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(c.upcoming(&c.alice).await[0]["registrations"], 2);
    let r = c.register(&c.alice, s, "换一个话题：医保报销").await;
    assert_eq!(
        (r.status, r.body["id"].as_i64()),
        (201, Some(reg_id)),
        "{:?}",
        r.body
    );
    let mine = c
        .app
        .get("/api/v1/my/registrations", Some(&c.alice.token))
        .await;
    assert_eq!(mine.status, 200);
    let mine = mine.body.as_array().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["topic"], "换一个话题：医保报销");
    assert_eq!(mine[0]["session"]["id"].as_i64(), Some(s));
    assert_eq!(mine[0]["session"]["leader"]["display_name"], "张明");

    // Registration closes when the session starts.
    c.app.clock.set(shanghai(2025, 9, 30, 19, 30));
    let dave = resident(&c.app, "dave").await;
    let r = c.register(&dave, s, "迟到的话题").await;
    assert_eq!((r.status, r.code()), (409, "registration_closed"));
    let r = delete(
        &c.app,
        &format!("/api/v1/live-sessions/{s}/registration"),
        &c.bob.token,
    )
    .await;
    assert_eq!((r.status, r.code()), (409, "registration_closed"));
}
