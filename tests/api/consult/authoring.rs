//! Authoring: drafts edited freely and seen by staff only, publishing freezes the questions,
//! extension, early closing and withdrawal with a reason, each recorded as an event.
use chrono::Duration;
use entity::consultation_events;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use super::{county, field, sample, shanghai};

#[tokio::test]
async fn drafts_are_edited_freely_and_publishing_freezes_them() {
    let c = county().await;
    let app = &c.app;
    let opens = shanghai(2026, 12, 8, 8, 0);
    let (resident, _) = app.resident("alice").await;

    // Who may author: a resident may not; a handler only for their own department.
    let r = app
        .post(
            "/api/v1/consultations",
            Some(&resident),
            sample(c.department, opens, 7),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    let r = app
        .post(
            "/api/v1/consultations",
            Some(&c.handler),
            sample(c.other_department, opens, 7),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "not_your_department"));
    let mut bad = sample(c.department, opens, 7);
    bad["questions"][1]["options"] = json!(["只有一个"]);
    let r = app
        .post("/api/v1/consultations", Some(&c.handler), bad)
        .await;
    assert_eq!((r.status, field(&r)), (422, "questions[1].options"));
    let mut bad = sample(c.department, opens, 7);
    bad["closes_at"] = bad["opens_at"].clone();
    let r = app
        .post("/api/v1/consultations", Some(&c.handler), bad)
        .await;
    assert_eq!((r.status, field(&r)), (422, "closes_at"));

    let r = app
        .post(
            "/api/v1/consultations",
            Some(&c.handler),
            sample(c.department, opens, 7),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["phase"], "draft");
    assert_eq!(r.body["opens_at_local"], "2026-12-08 08:00");
    assert_eq!(r.body["paragraphs"].as_array().unwrap().len(), 2);
    let ids: Vec<&str> = r.body["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["q1", "q2", "q3", "q4"]);

    // A draft does not exist for residents.
    let r = app
        .get(&format!("/api/v1/consultations/{id}"), Some(&resident))
        .await;
    assert_eq!(r.status, 404);
    let r = app.get("/api/v1/consultations", Some(&resident)).await;
    assert!(r.body.as_array().unwrap().is_empty());
    let r = app
        .get("/api/v1/consultations?state=draft", Some(&c.office))
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);

    // Edited freely while a draft.
    let mut changed = sample(c.department, opens, 10);
    changed["title"] = json!("村道硬化工程意见征集（修订）");
    changed["questions"].as_array_mut().unwrap().pop();
    let r = app
        .send(
            app.http
                .put(app.url(&format!("/api/v1/consultations/{id}")))
                .bearer_auth(&c.handler)
                .json(&changed),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["title"], "村道硬化工程意见征集（修订）");
    assert_eq!(r.body["questions"].as_array().unwrap().len(), 3);

    // Published: never rewritten.
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/publish"),
            Some(&c.handler),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.body["state"].as_str(), r.body["phase"].as_str()),
        (Some("published"), Some("upcoming"))
    );
    let r = app
        .send(
            app.http
                .put(app.url(&format!("/api/v1/consultations/{id}")))
                .bearer_auth(&c.office)
                .json(&sample(c.department, opens, 7)),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "consultation_published"));
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/publish"),
            Some(&c.handler),
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "invalid_consultation_state"));
    let r = app
        .get(&format!("/api/v1/consultations/{id}"), Some(&resident))
        .await;
    assert_eq!(
        (r.status, r.body["phase"].as_str()),
        (200, Some("upcoming"))
    );

    // Extended, closed early (once open), withdrawn by an admin with a reason.
    let later = opens + Duration::days(20);
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/extend"),
            Some(&c.handler),
            json!({ "closes_at": later.to_rfc3339() }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["closes_at_local"], "2026-12-28 08:00");
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/extend"),
            Some(&c.handler),
            json!({ "closes_at": opens.to_rfc3339() }),
        )
        .await;
    assert_eq!((r.status, field(&r)), (422, "closes_at"));
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/close"),
            Some(&c.handler),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "invalid_consultation_state"),
        "not open yet"
    );
    app.clock.set(opens + Duration::hours(1));
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/close"),
            Some(&c.handler),
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.body["phase"].as_str()), (200, Some("closed")));
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/withdraw"),
            Some(&c.office),
            json!({ "reason": "x" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"), "admins only");
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/withdraw"),
            Some(&c.admin),
            json!({ "reason": " " }),
        )
        .await;
    assert_eq!((r.status, field(&r)), (422, "reason"));
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/withdraw"),
            Some(&c.admin),
            json!({ "reason": "与县里新规划重复" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["phase"], "withdrawn");
    assert_eq!(r.body["withdraw_reason"], "与县里新规划重复");

    // Every change is an event, with who and why.
    let events = consultation_events::Entity::find()
        .filter(consultation_events::Column::ConsultationId.eq(id))
        .order_by_asc(consultation_events::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["create", "edit", "publish", "extend", "close", "withdraw"]
    );
    let w = events.last().unwrap();
    assert_eq!(
        (
            w.actor_role.as_str(),
            w.reason.as_deref(),
            w.to_state.as_str()
        ),
        ("admin", Some("与县里新规划重复"), "withdrawn")
    );
}
