//! Answering: every validation error names the question, opening and closing times are kept, a
//! changed answer replaces the old one (which is kept), a retried submission counts once, and
//! flagged free text waits for the office's review.
use chrono::Duration;
use entity::consultation_response_versions;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

use super::{answers, county, field, respond, sample, shanghai};

#[tokio::test]
async fn every_invalid_answer_is_refused_naming_the_question() {
    let c = county().await;
    let app = &c.app;
    let id = c.open().await;
    let (alice, _) = app.resident("alice").await;
    let with = |k: &str, v: Value| {
        let mut a = answers(1, 4);
        a[k] = v;
        json!({ "answers": a })
    };
    let cases = [
        (
            with("q9", json!({ "choices": [1] })),
            "answers.q9",
            "unknown question",
        ),
        (
            with("q1", json!({ "choices": [4] })),
            "answers.q1",
            "wrong option",
        ),
        (
            with("q1", json!({ "choices": [1, 2] })),
            "answers.q1",
            "two picks on single choice",
        ),
        (
            with("q2", json!({ "choices": [1, 2, 3] })),
            "answers.q2",
            "too many picks",
        ),
        (
            with("q2", json!({ "choices": [] })),
            "answers.q2",
            "too few picks (required)",
        ),
        (
            with("q4", json!({ "rating": 6 })),
            "answers.q4",
            "rating out of range",
        ),
        (
            with("q4", json!({ "rating": 0 })),
            "answers.q4",
            "rating out of range",
        ),
        (
            with("q3", json!({ "text": "路".repeat(21) })),
            "answers.q3",
            "overlong text",
        ),
        (
            with("q1", json!({ "text": "随便" })),
            "answers.q1",
            "a text on a choice",
        ),
        (
            json!({ "answers": { "q1": { "choices": [1] }, "q2": { "choices": [1] } } }),
            "answers.q4",
            "required missing",
        ),
        (
            with("q1", json!({ "choices": [1], "colour": "red" })),
            "answers.q1.colour",
            "unknown field",
        ),
    ];
    for (i, (body, expected, what)) in cases.into_iter().enumerate() {
        let r = respond(app, &alice, id, &format!("k{i}"), body).await;
        assert_eq!(
            (r.status, field(&r)),
            (422, expected),
            "{what}: {:?}",
            r.body
        );
    }
    // Twenty Chinese characters fit a 20-character limit (characters, not bytes).
    let r = respond(
        app,
        &alice,
        id,
        "ok",
        with("q3", json!({ "text": "路".repeat(20) })),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = app
        .send(
            app.http
                .post(app.url(&format!("/api/v1/consultations/{id}/responses")))
                .bearer_auth(&alice)
                .json(&json!({ "answers": answers(1, 4) })),
        )
        .await;
    assert_eq!((r.status, field(&r)), (422, "Idempotency-Key"));
    let (staff_token, _) = (c.office.clone(), ());
    let r = respond(
        app,
        &staff_token,
        id,
        "s",
        json!({ "answers": answers(1, 4) }),
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (403, "forbidden"),
        "residents answer, staff do not"
    );
}

#[tokio::test]
async fn answers_are_taken_only_while_open() {
    let c = county().await;
    let app = &c.app;
    let opens = shanghai(2026, 12, 10, 8, 0);
    let id = c.published(sample(c.department, opens, 3)).await;
    let (alice, _) = app.resident("alice").await;
    let body = json!({ "answers": answers(1, 4) });
    let r = respond(app, &alice, id, "early", body.clone()).await;
    assert_eq!((r.status, r.code()), (409, "consultation_not_open"));
    app.clock.set(opens + Duration::minutes(1));
    let r = respond(app, &alice, id, "on-time", body.clone()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    app.clock.set(opens + Duration::days(3));
    let r = respond(app, &alice, id, "late", body.clone()).await;
    assert_eq!((r.status, r.code()), (409, "consultation_closed"));
    assert_eq!(r.body["error"]["state"], "closed");
    let r = app
        .get(&format!("/api/v1/consultations/{id}"), Some(&alice))
        .await;
    assert_eq!(r.body["respondents"], 1, "the late answer was not counted");
    let r = app.get("/api/v1/consultations", Some(&alice)).await;
    assert!(
        r.body.as_array().unwrap().is_empty(),
        "closed ones leave the open list"
    );
}

#[tokio::test]
async fn a_changed_answer_counts_and_every_version_is_kept() {
    let c = county().await;
    let app = &c.app;
    let id = c.open().await;
    let (alice, _) = app.resident("alice").await;
    let first = json!({ "answers": answers(1, 2), "village_id": c.villages[0] });
    let r = respond(app, &alice, id, "v1", first).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["my_opinion"]["version"], 1);
    // The village is remembered: the change need not say it again.
    let r = respond(app, &alice, id, "v2", json!({ "answers": answers(3, 5) })).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["my_opinion"]["version"], 2);
    assert_eq!(r.body["my_opinion"]["answers"]["q1"]["choices"], json!([3]));
    assert_eq!(r.body["my_opinion"]["village_id"], c.villages[0]);
    assert_eq!(r.body["respondents"], 1);

    let results = app
        .get(
            &format!("/api/v1/consultations/{id}/results"),
            Some(&c.handler),
        )
        .await;
    assert_eq!(results.status, 200, "{:?}", results.body);
    assert_eq!(results.body["respondents"], 1);
    let q1 = &results.body["questions"][0]["options"];
    assert_eq!(
        (q1[0]["count"].as_i64(), q1[2]["count"].as_i64()),
        (Some(0), Some(1)),
        "the latest counts"
    );
    assert_eq!(results.body["questions"][3]["rating"]["mean"], 5.0);
    let versions = consultation_response_versions::Entity::find()
        .filter(consultation_response_versions::Column::ConsultationId.eq(id))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(versions.len(), 2, "every version kept");
    assert!(versions.iter().any(|v| v.answers.contains("\"rating\":2")));
}

#[tokio::test]
async fn a_retried_submission_is_counted_once() {
    let c = county().await;
    let app = &c.app;
    let id = c.open().await;
    let (alice, _) = app.resident("alice").await;
    let body = json!({ "answers": answers(2, 4), "village_id": c.villages[1] });
    let first = respond(app, &alice, id, "retry-me", body.clone()).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = respond(app, &alice, id, "retry-me", body.clone()).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(
        again.body["my_opinion"]["response_id"],
        first.body["my_opinion"]["response_id"]
    );
    assert_eq!(again.body["my_opinion"]["version"], 1, "no second version");
    let other = respond(
        app,
        &alice,
        id,
        "retry-me",
        json!({ "answers": answers(1, 1) }),
    )
    .await;
    assert_eq!(
        (other.status, other.code()),
        (409, "idempotency_key_reused")
    );
    // Retries racing each other still make one version.
    let racing =
        (0..4).map(|_| respond(app, &alice, id, "race", json!({ "answers": answers(3, 3) })));
    let answers_back = futures::future::join_all(racing).await;
    assert!(
        answers_back
            .iter()
            .all(|r| r.status == 201 || r.status == 200),
        "{:?}",
        answers_back
            .iter()
            .map(|r| (r.status, r.body.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(answers_back.iter().filter(|r| r.status == 201).count(), 1);
    let n = consultation_response_versions::Entity::find()
        .filter(consultation_response_versions::Column::ConsultationId.eq(id))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(n, 2, "one version per distinct submission");
    let r = app
        .get(
            &format!("/api/v1/consultations/{id}/results"),
            Some(&c.office),
        )
        .await;
    assert_eq!(r.body["respondents"], 1);
}

#[tokio::test]
async fn flagged_free_text_waits_for_the_office_and_is_never_dropped() {
    let c = county().await;
    let app = &c.app;
    let id = c.open().await;
    let r = app
        .post(
            "/api/v1/sensitive-words",
            Some(&c.admin),
            json!({ "word": "赌博" }),
        )
        .await;
    assert_eq!(r.status, 204);
    let (alice, _) = app.resident("alice").await;
    let mut a = answers(1, 3);
    a["q3"] = json!({ "text": "村口有人聚众赌博" });
    let r = respond(app, &alice, id, "flagged", json!({ "answers": a })).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["my_opinion"]["review"], "held");
    let rid = r.body["my_opinion"]["response_id"].as_i64().unwrap();
    let page = |q: &'static str, token: String| async move {
        app.get(
            &format!("/api/v1/consultations/{id}/opinions{q}"),
            Some(&token),
        )
        .await
    };
    let r = page("", c.handler.clone()).await;
    assert!(
        r.body["items"].as_array().unwrap().is_empty(),
        "staff do not see held text"
    );
    let r = page("?review=held", c.handler.clone()).await;
    assert_eq!(r.status, 403, "held text is the office's to review");
    let r = page("?review=held", c.office.clone()).await;
    assert_eq!(r.body["items"][0]["texts"][0]["text"], "村口有人聚众赌博");
    assert!(r.body["items"][0]["hold_reason"]
        .as_str()
        .unwrap()
        .contains("赌博"));
    // Its choices count all along.
    let results = app
        .get(
            &format!("/api/v1/consultations/{id}/results"),
            Some(&c.office),
        )
        .await;
    assert_eq!(results.body["respondents"], 1);
    let office = &c.office;
    let review = |decision: &'static str| async move {
        app.post(
            &format!("/api/v1/consultations/{id}/opinions/{rid}/review"),
            Some(office),
            json!({ "decision": decision }),
        )
        .await
    };
    let r = review("release").await;
    assert_eq!(
        (r.status, r.body["review"].as_str()),
        (200, Some("visible"))
    );
    let r = page("", c.handler.clone()).await;
    assert_eq!(r.body["items"][0]["texts"][0]["text"], "村口有人聚众赌博");
    let r = review("reject").await;
    assert_eq!((r.status, r.code()), (409, "not_held"));
}
