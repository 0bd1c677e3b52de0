//! Publishing, republishing and changes after publication.
use super::*;
use entity::AsStr;

#[tokio::test]
async fn publishing_republishing_and_changes_after_publication() {
    let c = county().await;
    let rota = c.generate("2025-09-29", "2025-10-19").await;
    let rota_id = rota["id"].as_i64().unwrap();
    let ids: Vec<i64> = sessions(&rota)
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    // Drafts are the office's business.
    assert!(c.upcoming(&c.alice).await.is_empty());
    let r = c
        .app
        .get(
            &format!("/api/v1/live-sessions/{}", ids[0]),
            Some(&c.alice.token),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = c.register(&c.alice, ids[0], "修路").await;
    assert_eq!(r.status, 404);

    let r = c.publish(rota_id).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.body["status"].as_str(), r.body["version"].as_i64()),
        (Some("published"), Some(1))
    );
    let seen = c.upcoming(&c.alice).await;
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0]["leader"]["display_name"], "张明");
    assert_eq!(seen[0]["leader"]["title"], "县长");
    assert_eq!(seen[0]["registrations"], 0);
    assert!(
        seen[0].get("published").is_none(),
        "staff fields stay with staff"
    );

    for who in [&c.alice, &c.bob] {
        assert_eq!(
            c.register(who, ids[0], "村道硬化什么时候动工").await.status,
            201
        );
    }
    assert_eq!(c.register(&c.carol, ids[1], "低保申请").await.status, 201);

    // A change to a published session needs a reason.
    let r = c
        .admin_edit(ids[0], "reassign", json!({ "leader_id": c.leader(2) }))
        .await;
    assert_eq!((r.status, field(&r)), (422, "reason"), "{:?}", r.body);
    let r = c
        .admin_edit(
            ids[0],
            "reassign",
            json!({ "leader_id": c.leader(2), "reason": "  " }),
        )
        .await;
    assert_eq!((r.status, field(&r)), (422, "reason"));
    let r = c
        .admin_edit(
            ids[0],
            "reassign",
            json!({ "leader_id": c.leader(2), "reason": "张县长赴省参会" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["sequence"], 1);
    let last = c.events(ids[0]).await.pop().unwrap();
    assert_eq!(
        (
            last["action"].as_str(),
            last["reason"].as_str(),
            last["actor_id"].as_i64()
        ),
        (Some("reassigned"), Some("张县长赴省参会"), Some(c.admin.id))
    );
    let sent = c.notifications(ids[0]).await;
    let mut to: Vec<i64> = sent.iter().map(|n| n.user_id).collect();
    to.sort();
    assert_eq!(to, [c.alice.id, c.bob.id]);
    for n in &sent {
        assert_eq!(
            (n.kind.as_str(), n.status.as_str()),
            ("live_session_changed", "pending")
        );
        let p: Value = serde_json::from_str(&n.payload).unwrap();
        assert_eq!(p["reason"], "张县长赴省参会");
        assert_eq!(p["leader_id"].as_i64(), Some(c.leader(2)));
        assert_eq!(p["before"]["leader_id"].as_i64(), Some(c.leader(0)));
    }
    // A cancelled registration is not told about later changes.
    let r = delete(
        &c.app,
        &format!("/api/v1/live-sessions/{}/registration", ids[0]),
        &c.bob.token,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = c
        .admin_edit(
            ids[0],
            "reschedule",
            json!({ "start": "20:00", "end": "21:30", "reason": "演播室检修" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["sequence"].as_i64()),
        (200, Some(2)),
        "{:?}",
        r.body
    );
    let sent = c.notifications(ids[0]).await;
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2].user_id, c.alice.id);
    let p: Value = serde_json::from_str(&sent[2].payload).unwrap();
    assert_eq!(
        (p["start"].as_str(), p["before"]["start"].as_str()),
        (Some("20:00"), Some("19:30"))
    );

    let r = c.admin_edit(ids[1], "cancel", json!({})).await;
    assert_eq!((r.status, field(&r)), (422, "reason"));
    let r = c
        .admin_edit(ids[1], "cancel", json!({ "reason": "汛期防汛值守" }))
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("cancelled"))
    );
    let sent = c.notifications(ids[1]).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].user_id, sent[0].kind.as_str()),
        (c.carol.id, "live_session_cancelled")
    );
    // Residents no longer see it among upcoming sessions; their registration shows why it is gone.
    assert_eq!(c.upcoming(&c.carol).await.len(), 3);
    let mine = c
        .app
        .get("/api/v1/my/registrations", Some(&c.carol.token))
        .await;
    assert_eq!(mine.body[0]["session"]["status"], "cancelled");

    // Swap of published sessions: reason required, both sides' residents told.
    let r = c
        .app
        .post(
            &format!("/api/v1/rotas/{rota_id}/swap"),
            Some(&c.admin.token),
            json!({ "first_session_id": ids[2], "second_session_id": ids[3] }),
        )
        .await;
    assert_eq!((r.status, field(&r)), (422, "reason"));

    // Added sessions are drafts until the rota is republished as a new version.
    let r = c
        .app
        .post(
            &format!("/api/v1/rotas/{rota_id}/sessions"),
            Some(&c.admin.token),
            json!({ "date": "2025-10-17", "leader_id": c.leader(1) }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let added = r.body["id"].as_i64().unwrap();
    let view = c.rota(rota_id).await;
    assert_eq!(view["unpublished_sessions"], 1);
    assert!(!c.upcoming(&c.alice).await.iter().any(|s| s["id"] == added));
    let r = c.publish(rota_id).await;
    assert_eq!(
        (r.status, r.body["version"].as_i64()),
        (200, Some(2)),
        "{:?}",
        r.body
    );
    assert_eq!(r.body["unpublished_sessions"], 0);
    let versions: Vec<(i64, i64)> = r.body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["sessions"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [(1, 4), (2, 1)]);
    assert!(c.upcoming(&c.alice).await.iter().any(|s| s["id"] == added));
    // Republishing with nothing new still makes a version; a published rota cannot be discarded.
    assert_eq!(c.publish(rota_id).await.body["version"], 3);
    let r = delete(&c.app, &format!("/api/v1/rotas/{rota_id}"), &c.admin.token).await;
    assert_eq!((r.status, r.code()), (409, "rota_published"));
    let r = delete(&c.app, "/api/v1/rotas/987654", &c.admin.token).await;
    assert_eq!(r.status, 404);
}
