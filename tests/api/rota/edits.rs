//! Editing sessions of a rota (add, swap, reassign, reschedule, cancel) and their conflicts.
use super::*;

#[tokio::test]
async fn each_edit_and_its_conflicts() {
    let c = county().await;
    let (l0, l1, l2) = (c.leader(0), c.leader(1), c.leader(2));
    let rota = c.generate("2025-09-29", "2025-10-19").await;
    let rota_id = rota["id"].as_i64().unwrap();
    let list = sessions(&rota);
    let ids: Vec<i64> = list.iter().map(|s| s["id"].as_i64().unwrap()).collect();
    assert_eq!(
        list.iter().map(leader_of).collect::<Vec<_>>(),
        [Some(l0), Some(l1), Some(l2), Some(l0)]
    );
    let (s1, s2, s3, s4) = (ids[0], ids[1], ids[2], ids[3]);

    // Swap two sessions' leaders.
    let r = c
        .app
        .post(
            &format!("/api/v1/rotas/{rota_id}/swap"),
            Some(&c.admin.token),
            json!({ "first_session_id": s1, "second_session_id": s2 }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(leader_of(&r.body[0]), Some(l1));
    assert_eq!(leader_of(&r.body[1]), Some(l0));
    let ev = c.events(s1).await;
    let last = ev.last().unwrap();
    assert_eq!(
        (last["action"].as_str(), last["actor_role"].as_str()),
        (Some("swapped"), Some("admin"))
    );
    assert_eq!(last["actor_id"].as_i64(), Some(c.admin.id));
    assert_eq!(last["detail"]["to_leader_id"].as_i64(), Some(l1));
    for (body, f) in [
        (
            json!({ "first_session_id": s1, "second_session_id": s1 }),
            "second_session_id",
        ),
        (
            json!({ "first_session_id": s1, "second_session_id": 999_999 }),
            "second_session_id",
        ),
        (json!({ "first_session_id": s1 }), "second_session_id"),
    ] {
        let r = c
            .app
            .post(
                &format!("/api/v1/rotas/{rota_id}/swap"),
                Some(&c.admin.token),
                body,
            )
            .await;
        assert_eq!((r.status, field(&r)), (422, f), "{:?}", r.body);
    }
    // Swapping s2 (now l0) with s4 (l0): the same leader.
    let r = c
        .app
        .post(
            &format!("/api/v1/rotas/{rota_id}/swap"),
            Some(&c.admin.token),
            json!({ "first_session_id": s2, "second_session_id": s4 }),
        )
        .await;
    assert_eq!((r.status, field(&r)), (422, "second_session_id"));

    // Reassign: unavailable that day, not a leader, unknown, the same leader.
    let r = c
        .app
        .post(
            &format!("/api/v1/leaders/{l2}/unavailable-dates"),
            Some(&c.admin.token),
            json!({ "dates": ["2025-09-30"] }),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = c
        .admin_edit(s1, "reassign", json!({ "leader_id": l2 }))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "leader_unavailable"),
        "{:?}",
        r.body
    );
    let r = c
        .admin_edit(s1, "reassign", json!({ "leader_id": c.office.id }))
        .await;
    assert_eq!((r.status, field(&r)), (422, "leader_id"), "{:?}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not a leader"));
    let r = c
        .admin_edit(s1, "reassign", json!({ "leader_id": c.alice.id }))
        .await;
    assert_eq!((r.status, field(&r)), (422, "leader_id"));
    let r = c
        .admin_edit(s1, "reassign", json!({ "leader_id": 987_654 }))
        .await;
    assert_eq!((r.status, field(&r)), (422, "leader_id"));
    let r = c
        .admin_edit(s1, "reassign", json!({ "leader_id": l1 }))
        .await;
    assert_eq!((r.status, field(&r)), (422, "leader_id"));
    let r = c
        .admin_edit(s1, "reassign", json!({ "leader_id": "l2" }))
        .await;
    assert_eq!((r.status, field(&r)), (422, "leader_id"));
    let r = c
        .admin_edit(s1, "reassign", json!({ "leader_id": l0 }))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(leader_of(&r.body), Some(l0));

    // Add a session: outside the range, inverted times, a leader in two overlapping sessions.
    let add = |body: Value| {
        let c = &c;
        async move {
            c.app
                .post(
                    &format!("/api/v1/rotas/{rota_id}/sessions"),
                    Some(&c.admin.token),
                    body,
                )
                .await
        }
    };
    let r = add(json!({ "date": "2025-10-20", "leader_id": l1 })).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "outside_rota_range"),
        "{:?}",
        r.body
    );
    let r = add(json!({ "date": "2025-09-28" })).await;
    assert_eq!((r.status, r.code()), (409, "outside_rota_range"));
    let r = add(json!({ "date": "2025-10-15", "start": "21:00", "end": "19:30" })).await;
    assert_eq!((r.status, field(&r)), (422, "end"));
    let r = add(json!({ "date": "10/15" })).await;
    assert_eq!((r.status, field(&r)), (422, "date"));
    let r = add(json!({ "date": "2025-10-15", "start": "19" })).await;
    assert_eq!((r.status, field(&r)), (422, "start"));
    // s3 (Tue 10-14 19:30–21:00) is l2's.
    let r = add(json!({ "date": "2025-10-14", "start": "20:30", "end": "22:00", "leader_id": l2 }))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "leader_double_booked"),
        "{:?}",
        r.body
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&s3.to_string()));
    // Back to back is no overlap.
    let r = add(json!({ "date": "2025-10-14", "start": "21:00", "end": "22:00", "leader_id": l2 }))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let extra = r.body["id"].as_i64().unwrap();
    assert_eq!(
        (r.body["start"].as_str(), r.body["published"].as_bool()),
        (Some("21:00"), Some(false))
    );
    // Without a leader: publication is refused until someone is assigned.
    let r = add(json!({ "date": "2025-10-15" })).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let open = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["start"], "19:30", "the rota's times by default");
    assert_eq!(r.body["problems"][0]["code"], "session_unassigned");

    // Change times: outside the range, overlapping, nothing to change, fine.
    let r = c
        .admin_edit(s4, "reschedule", json!({ "date": "2025-10-30" }))
        .await;
    assert_eq!((r.status, r.code()), (409, "outside_rota_range"));
    // s4 is l0's; s2 (Thu 10-9) is l0's after the swap.
    let r = c
        .admin_edit(
            s4,
            "reschedule",
            json!({ "date": "2025-10-09", "start": "20:00", "end": "21:30" }),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "leader_double_booked"),
        "{:?}",
        r.body
    );
    let r = c.admin_edit(s4, "reschedule", json!({})).await;
    assert_eq!((r.status, field(&r)), (422, "date"));
    let r = c
        .admin_edit(s4, "reschedule", json!({ "start": "19:30" }))
        .await;
    assert_eq!((r.status, field(&r)), (422, "date"), "no change");
    let r = c
        .admin_edit(s4, "reschedule", json!({ "end": "18:00" }))
        .await;
    assert_eq!((r.status, field(&r)), (422, "end"));
    let r = c
        .admin_edit(
            s4,
            "reschedule",
            json!({ "date": "2025-10-17", "start": "19:00", "end": "20:30" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (
            r.body["date"].as_str(),
            r.body["start"].as_str(),
            r.body["weekday"].as_str()
        ),
        (Some("2025-10-17"), Some("19:00"), Some("fri"))
    );
    // The leader marks the new date unavailable: a date change onto it is refused too.
    c.app
        .post(
            &format!("/api/v1/leaders/{l0}/unavailable-dates"),
            Some(&c.leaders[0].token),
            json!({ "dates": ["2025-10-18"] }),
        )
        .await;
    let r = c
        .admin_edit(s4, "reschedule", json!({ "date": "2025-10-18" }))
        .await;
    assert_eq!((r.status, r.code()), (409, "leader_unavailable"));

    // Cancel a draft: no reason needed; a cancelled session cannot be edited.
    let r = c.admin_edit(extra, "cancel", json!({})).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("cancelled")),
        "{:?}",
        r.body
    );
    let r = c
        .admin_edit(extra, "reassign", json!({ "leader_id": l1 }))
        .await;
    assert_eq!((r.status, r.code()), (409, "invalid_session_state"));
    assert_eq!(r.body["error"]["state"], "cancelled");
    let r = c.admin_edit(extra, "cancel", json!({})).await;
    assert_eq!((r.status, r.code()), (409, "invalid_session_state"));
    let r = c.admin_edit(987_654, "cancel", json!({})).await;
    assert_eq!(r.status, 404);

    let r = c.publish(rota_id).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "session_unassigned"),
        "{:?}",
        r.body
    );
    let r = c
        .admin_edit(open, "reassign", json!({ "leader_id": l1 }))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = c.publish(rota_id).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let published = sessions(&r.body);
    assert_eq!(published.len(), 5, "the cancelled draft is left out");
    assert!(published.iter().all(|s| s["published"] == true));

    // The event log has every change, in order.
    let actions: Vec<String> = c
        .events(s4)
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["generated", "rescheduled", "published"]);
}
