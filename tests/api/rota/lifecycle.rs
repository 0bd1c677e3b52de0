//! Starting, ending and missing sessions; outcomes and figures.
use super::*;

#[tokio::test]
async fn lifecycle_outcomes_and_figures_on_a_controllable_clock() {
    let c = county().await;
    let (rota_id, list) = c.published().await;
    let ids: Vec<i64> = list.iter().map(|s| s["id"].as_i64().unwrap()).collect();
    let (s1, s2) = (ids[0], ids[1]);
    let host = &c.leaders[0]; // s1: Tue 9-30 19:30, leader 0
    c.register(&c.alice, s1, "自来水").await;
    // Bob takes part too: an appeal is filed only for a resident who did.
    c.register(&c.bob, s1, "停水").await;

    // Too early, the wrong leader, a draft.
    c.app.clock.set(shanghai(2025, 9, 30, 18, 59));
    let r = c.session_post(s1, "start", &host.token, json!({})).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "outside_start_window"),
        "{:?}",
        r.body
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("19:00"));
    c.app.clock.set(shanghai(2025, 9, 30, 19, 20));
    let r = c
        .session_post(s1, "start", &c.leaders[1].token, json!({}))
        .await;
    assert_eq!((r.status, r.code()), (403, "not_session_leader"));
    let draft = c
        .app
        .post(
            &format!("/api/v1/rotas/{rota_id}/sessions"),
            Some(&c.admin.token),
            json!({ "date": "2025-09-30", "start": "10:00", "end": "11:00" }),
        )
        .await;
    let draft = draft.body["id"].as_i64().unwrap();
    let r = c
        .session_post(draft, "start", &c.admin.token, json!({}))
        .await;
    assert_eq!((r.status, r.code()), (409, "session_not_published"));
    // No outcomes before it is live; no end before it starts.
    let r = c
        .session_post(
            s1,
            "outcomes",
            &host.token,
            json!({ "resident_id": c.alice.id, "outcome": "answered" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "invalid_session_state"));
    let r = c.session_post(s1, "end", &host.token, json!({})).await;
    assert_eq!((r.status, r.code()), (409, "invalid_session_state"));

    // Within the window: live.
    let r = c.session_post(s1, "start", &host.token, json!({})).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("live")),
        "{:?}",
        r.body
    );
    let r = c.session_post(s1, "start", &host.token, json!({})).await;
    assert_eq!(
        (r.status, r.code(), r.body["error"]["state"].as_str()),
        (409, "invalid_session_state", Some("live"))
    );
    let r = c
        .admin_edit(
            s1,
            "reassign",
            json!({ "leader_id": c.leader(1), "reason": "x" }),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "invalid_session_state"),
        "a live session is not edited"
    );

    // Outcomes: answered on the spot, and an appeal filed for the resident.
    let r = c
        .session_post(s1, "outcomes", &host.token, json!({ "resident_id": c.alice.id, "outcome": "answered", "note": "已现场答复：下周恢复供水" }))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = c
        .session_post(
            s1,
            "outcomes",
            &host.token,
            json!({ "resident_id": c.alice.id, "outcome": "answered" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "outcome_exists"));
    let appeal = json!({ "title": "石门村自来水停水", "content": "停水三天，直播中向县长反映", "category_id": c.category, "village_id": c.village });
    for (body, f) in [
        (
            json!({ "resident_id": c.leader(1), "outcome": "answered" }),
            "resident_id",
        ),
        (
            json!({ "resident_id": 987_654, "outcome": "answered" }),
            "resident_id",
        ),
        (
            json!({ "resident_id": c.bob.id, "outcome": "maybe" }),
            "outcome",
        ),
        (json!({ "resident_id": c.bob.id }), "outcome"),
        (
            json!({ "resident_id": c.bob.id, "outcome": "appeal" }),
            "appeal",
        ),
        (
            json!({ "resident_id": c.bob.id, "outcome": "answered", "appeal": appeal }),
            "appeal",
        ),
        (
            json!({ "resident_id": c.bob.id, "outcome": "appeal", "appeal": { "title": "", "content": "x", "category_id": c.category, "village_id": c.village } }),
            "appeal.title",
        ),
        (
            json!({ "resident_id": c.bob.id, "outcome": "appeal", "appeal": { "title": "t", "content": "x", "category_id": 987_654, "village_id": c.village } }),
            "appeal.category_id",
        ),
        (
            json!({ "resident_id": c.bob.id, "outcome": "appeal", "appeal": { "title": "t", "category_id": c.category, "village_id": c.village } }),
            "appeal.content",
        ),
        (
            json!({ "resident_id": c.bob.id, "outcome": "answered", "note": "长".repeat(1001) }),
            "note",
        ),
    ] {
        let r = c
            .session_post(s1, "outcomes", &host.token, body.clone())
            .await;
        assert_eq!((r.status, field(&r)), (422, f), "{body}: {:?}", r.body);
    }
    let r = c
        .session_post(
            s1,
            "outcomes",
            &c.leaders[1].token,
            json!({ "resident_id": c.bob.id, "outcome": "answered" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "not_session_leader"));
    let r = c
        .session_post(s1, "outcomes", &host.token, json!({ "resident_id": c.bob.id, "outcome": "appeal", "note": "转为诉求", "appeal": appeal }))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let appeal_id = r.body["appeal_id"].as_i64().expect("an appeal was filed");

    // A real appeal: the resident's own, in the workflow, saying who filed it and where.
    let a = c
        .app
        .get(&format!("/api/v1/appeals/{appeal_id}"), Some(&c.bob.token))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(
        (a.body["state"].as_str(), a.body["title"].as_str()),
        (Some("submitted"), Some("石门村自来水停水"))
    );
    let submit = &a.body["timeline"][0];
    assert_eq!(
        (submit["action"].as_str(), submit["actor_role"].as_str()),
        (Some("submit"), Some("leader"))
    );
    assert_eq!(submit["detail"]["live_session_id"].as_i64(), Some(s1));
    let staff_view = c
        .app
        .get(
            &format!("/api/v1/appeals/{appeal_id}"),
            Some(&c.office.token),
        )
        .await;
    assert_eq!(
        staff_view.body["timeline"][0]["actor_id"].as_i64(),
        Some(host.id)
    );
    assert!(staff_view.body["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x == "accept"));
    let mine = c.app.get("/api/v1/my/appeals", Some(&c.bob.token)).await;
    assert_eq!(mine.body["items"][0]["id"].as_i64(), Some(appeal_id));
    let accepted = c
        .app
        .post(
            &format!("/api/v1/appeals/{appeal_id}/actions"),
            Some(&c.office.token),
            json!({ "action": "accept", "urgency": "urgent", "version": 1 }),
        )
        .await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.body);

    // End after 75 minutes; the office records one more afterwards.
    c.app.clock.advance(chrono::Duration::minutes(75));
    let r = c
        .session_post(s1, "end", &c.leaders[2].token, json!({}))
        .await;
    assert_eq!((r.status, r.code()), (403, "not_session_leader"));
    let r = c.session_post(s1, "end", &host.token, json!({})).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("ended")),
        "{:?}",
        r.body
    );
    let r = c
        .session_post(
            s1,
            "outcomes",
            &c.office.token,
            json!({ "resident_id": c.carol.id, "outcome": "answered" }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let outcomes = c
        .app
        .get(
            &format!("/api/v1/live-sessions/{s1}/outcomes"),
            Some(&c.office.token),
        )
        .await;
    assert_eq!(outcomes.body.as_array().unwrap().len(), 3);
    let detail = c
        .app
        .get(&format!("/api/v1/live-sessions/{s1}"), Some(&c.alice.token))
        .await;
    let f = &detail.body["figures"];
    assert_eq!(
        (
            f["residents_served"].as_i64(),
            f["answered"].as_i64(),
            f["appeals_created"].as_i64(),
            f["duration_minutes"].as_i64()
        ),
        (Some(3), Some(2), Some(1), Some(75)),
        "{f}"
    );
    let actions: Vec<String> = c
        .events(s1)
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["generated", "published", "started", "ended"]);

    // s2 (Thu 10-9 19:30) is never started: missed once its window is over, not before.
    c.app.clock.set(shanghai(2025, 10, 9, 19, 59));
    assert_eq!(
        minxin::rota::lifecycle::mark_missed(&c.app.state)
            .await
            .unwrap(),
        0
    );
    c.app.clock.set(shanghai(2025, 10, 9, 20, 1));
    assert_eq!(
        minxin::rota::lifecycle::mark_missed(&c.app.state)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        minxin::rota::lifecycle::mark_missed(&c.app.state)
            .await
            .unwrap(),
        0,
        "idempotent"
    );
    let r = c
        .app
        .get(&format!("/api/v1/live-sessions/{s2}"), Some(&c.alice.token))
        .await;
    assert_eq!(r.body["status"], "missed");
    let last = c.events(s2).await.pop().unwrap();
    assert_eq!(
        (
            last["action"].as_str(),
            last["actor_role"].as_str(),
            last["to_status"].as_str()
        ),
        (Some("missed"), Some("system"), Some("missed"))
    );
    let r = c
        .session_post(s2, "start", &c.leaders[1].token, json!({}))
        .await;
    assert_eq!((r.status, r.code()), (409, "invalid_session_state"));
    let r = c
        .app
        .get(
            &format!("/api/v1/live-sessions/{draft}"),
            Some(&c.office.token),
        )
        .await;
    assert_eq!(
        r.body["status"], "scheduled",
        "drafts are never marked missed"
    );

    // Too late for s3 (Tue 10-14 19:30) at 20:01; an admin may start s4 for its leader.
    c.app.clock.set(shanghai(2025, 10, 14, 20, 1));
    let r = c
        .session_post(ids[2], "start", &c.leaders[2].token, json!({}))
        .await;
    assert_eq!((r.status, r.code()), (409, "outside_start_window"));
    c.app.clock.set(shanghai(2025, 10, 16, 19, 45));
    let r = c
        .session_post(ids[3], "start", &c.admin.token, json!({}))
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("live")),
        "{:?}",
        r.body
    );
    let started = c.events(ids[3]).await.pop().unwrap();
    assert_eq!(
        (
            started["actor_role"].as_str(),
            started["detail"]["late_by_minutes"].as_i64()
        ),
        (Some("admin"), Some(15))
    );
}

#[tokio::test]
async fn the_background_loop_marks_missed_sessions() {
    let c = county().await;
    let (_, list) = c.published().await;
    let s1 = list[0]["id"].as_i64().unwrap();
    // A second instance on the same database and broker runs the loop every second; its clock
    // is past the first session's start window.
    let looped = spawn_with(|s| {
        s.rota.lifecycle_interval_secs = 1;
        s.database_url = minxin::config::Secret::new(c.app.state.settings.effective_database_url());
        s.redis_url = c.app.state.settings.redis_url.clone();
        s.redis_prefix = c.app.state.settings.redis_prefix.clone();
        s.auth = c.app.state.settings.auth.clone();
    })
    .await;
    looped.clock.set(shanghai(2025, 9, 30, 20, 5));
    let mut status = String::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let r = looped
            .get(&format!("/api/v1/live-sessions/{s1}"), Some(&c.alice.token))
            .await;
        status = r.body["status"].as_str().unwrap_or("").to_string();
        if status == "missed" {
            break;
        }
    }
    assert_eq!(status, "missed");
}
