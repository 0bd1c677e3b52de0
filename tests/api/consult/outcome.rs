//! Closing the loop: opinions marked, the outcome statement published after closing, an outbox
//! row per respondent written with it, and every respondent sees what became of their opinion.
use chrono::Duration;
use entity::notifications;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::{answers, county, respondent};

#[tokio::test]
async fn the_outcome_reaches_every_respondent() {
    let c = county().await;
    let app = &c.app;
    let id = c.open().await;
    let mut with_text = answers(1, 4);
    with_text["q3"] = json!({ "text": "请联系我13812345678商量" });
    let alice = respondent(app, id, c.villages[0], with_text).await;
    let bob = respondent(app, id, c.villages[1], answers(2, 2)).await;
    let carol = respondent(app, id, c.villages[2], answers(3, 5)).await;
    let page = app
        .get(
            &format!("/api/v1/consultations/{id}/opinions"),
            Some(&c.handler),
        )
        .await;
    let alice_rid = page.body["items"][0]["response_id"].as_i64().unwrap();
    let me = |t: String| async move {
        app.get(&format!("/api/v1/consultations/{id}"), Some(&t))
            .await
    };
    let bob_rid = me(bob.clone()).await.body["my_opinion"]["response_id"]
        .as_i64()
        .unwrap();

    let handler = &c.handler;
    let mark = |rid: i64, body: serde_json::Value| async move {
        app.post(
            &format!("/api/v1/consultations/{id}/opinions/{rid}/outcome"),
            Some(handler),
            body,
        )
        .await
    };
    let r = mark(
        alice_rid,
        json!({ "outcome": "adopted", "reason": "纳入明年计划", "featured": true }),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["outcome"], "adopted");
    let r = mark(
        bob_rid,
        json!({ "outcome": "partly_adopted", "featured": true }),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("featured")),
        "no text to publish"
    );
    let r = mark(bob_rid, json!({ "outcome": "noted" })).await;
    assert_eq!(r.status, 200);
    let r = mark(bob_rid, json!({ "outcome": "maybe" })).await;
    assert_eq!(r.status, 422);

    // The statement waits for the closing.
    let statement = json!({ "statement": "采纳通组路优先的意见，明年春季开工。" });
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/outcome"),
            Some(&c.handler),
            statement.clone(),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "invalid_consultation_state"));
    app.clock.advance(Duration::days(8));
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/outcome"),
            Some(&c.handler),
            statement.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["outcome"]["statement"],
        "采纳通组路优先的意见，明年春季开工。"
    );
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/outcome"),
            Some(&c.handler),
            statement,
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "outcome_published"));
    let r = app
        .post(
            &format!("/api/v1/consultations/{id}/extend"),
            Some(&c.handler),
            json!({ "closes_at": (app.state.clock.now() + Duration::days(3)).to_rfc3339() }),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "outcome_published"));

    // One pending outbox row per respondent, with their own opinion's fate.
    let rows = notifications::Entity::find()
        .filter(notifications::Column::SubjectType.eq("consultation"))
        .filter(notifications::Column::SubjectId.eq(id))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(
        |n| n.status == entity::notifications::NotificationStatus::Pending
            && n.kind == "consultation_outcome"
    ));
    let mut users: Vec<i64> = rows.iter().map(|n| n.user_id).collect();
    users.sort_unstable();
    users.dedup();
    assert_eq!(users.len(), 3, "each respondent once");
    assert!(rows
        .iter()
        .any(|n| n.payload.contains("\"opinion_outcome\":\"adopted\"")));
    assert!(rows
        .iter()
        .any(|n| n.payload.contains("\"opinion_outcome\":null")));

    // Each sees the outcome and their own opinion's fate, on the consultation and in their list.
    for (token, fate) in [
        (&alice, json!("adopted")),
        (&bob, json!("noted")),
        (&carol, json!(null)),
    ] {
        let r = me(token.clone()).await;
        assert_eq!(
            r.body["outcome"]["statement"],
            "采纳通组路优先的意见，明年春季开工。"
        );
        assert_eq!(r.body["my_opinion"]["outcome"], fate);
        let r = app.get("/api/v1/my/consultations", Some(token)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body[0]["opinion"]["outcome"], fate);
        assert_eq!(r.body[0]["consultation"]["outcome_published"], true);
        assert!(r.body[0]["outcome"]["statement"].is_string());
    }
    let r = me(bob.clone()).await;
    // The published opinion is masked like the board and carries no identity.
    let featured = &r.body["featured"];
    assert_eq!(featured.as_array().unwrap().len(), 1);
    let text = featured[0]["text"].as_str().unwrap();
    assert!(
        !text.contains("13812345678") && text.contains("商量"),
        "{text}"
    );
    assert_eq!(featured[0]["outcome_reason"], "纳入明年计划");
    assert!(!r.body.to_string().contains("user_id"));

    // A mark after the statement tells that respondent again.
    let r = mark(
        bob_rid,
        json!({ "outcome": "partly_adopted", "reason": "部分路段先修" }),
    )
    .await;
    assert_eq!(r.status, 200);
    let n = notifications::Entity::find()
        .filter(notifications::Column::SubjectId.eq(id))
        .filter(notifications::Column::SubjectType.eq("consultation"))
        .all(&app.state.db)
        .await
        .unwrap()
        .len();
    assert_eq!(n, 4);
}
