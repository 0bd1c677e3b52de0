//! Leader profiles and unavailable dates.
use super::*;

#[tokio::test]
async fn leader_profiles_and_unavailable_dates() {
    let c = county().await;
    let me = &c.leaders[0];
    // The leader keeps their own profile; not another's, and residents see the list.
    let r = put(
        &c.app,
        &format!("/api/v1/leaders/{}", me.id),
        &me.token,
        json!({ "display_name": "张明", "title": "县委副书记、县长" }),
    )
    .await;
    assert_eq!(
        (r.status, r.body["title"].as_str()),
        (200, Some("县委副书记、县长")),
        "{:?}",
        r.body
    );
    let r = put(
        &c.app,
        &format!("/api/v1/leaders/{}", c.leader(1)),
        &me.token,
        json!({ "display_name": "x", "title": "y" }),
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "not_your_profile"));
    let r = put(
        &c.app,
        &format!("/api/v1/leaders/{}", c.office.id),
        &c.admin.token,
        json!({ "display_name": "x", "title": "y" }),
    )
    .await;
    assert_eq!((r.status, r.code()), (409, "not_a_leader"));
    let r = put(
        &c.app,
        "/api/v1/leaders/987654",
        &c.admin.token,
        json!({ "display_name": "x", "title": "y" }),
    )
    .await;
    assert_eq!(r.status, 404);
    for (body, f) in [
        (
            json!({ "display_name": "", "title": "县长" }),
            "display_name",
        ),
        (
            json!({ "display_name": "名".repeat(33), "title": "县长" }),
            "display_name",
        ),
        (
            json!({ "display_name": "张明", "title": "长".repeat(65) }),
            "title",
        ),
        (json!({ "display_name": "张明" }), "title"),
    ] {
        let r = put(
            &c.app,
            &format!("/api/v1/leaders/{}", me.id),
            &me.token,
            body.clone(),
        )
        .await;
        assert_eq!((r.status, field(&r)), (422, f), "{body}");
    }
    let list = c.app.get("/api/v1/leaders", Some(&c.alice.token)).await;
    assert_eq!(list.body.as_array().unwrap().len(), 3);
    assert_eq!(list.body[0]["display_name"], "张明");

    // Unavailable dates: the leader's own, or by an admin; sessions already on them are flagged.
    let rota = c.generate("2025-09-29", "2025-10-19").await;
    let first = &sessions(&rota)[0];
    assert_eq!(leader_of(first), Some(me.id));
    let path = format!("/api/v1/leaders/{}/unavailable-dates", me.id);
    let r = c
        .app
        .post(
            &path,
            Some(&me.token),
            json!({ "dates": ["2025-09-30", "2025-10-01", "2025-09-30"], "reason": "下乡调研" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["dates"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["conflicting_session_ids"], json!([first["id"]]));
    let r = c
        .app
        .post(
            &path,
            Some(&c.leaders[1].token),
            json!({ "dates": ["2025-10-02"] }),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "not_your_profile"));
    for (body, f) in [
        (json!({ "dates": [] }), "dates"),
        (json!({ "dates": ["2025-02-30"] }), "dates[0]"),
        (json!({ "dates": ["2025-10-01", "soon"] }), "dates[1]"),
        (json!({ "dates": "2025-10-01" }), "dates"),
    ] {
        let r = c.app.post(&path, Some(&me.token), body.clone()).await;
        assert_eq!((r.status, field(&r)), (422, f), "{body}: {:?}", r.body);
    }
    // Publication refuses the draft until the admin reassigns the session.
    let rota_id = rota["id"].as_i64().unwrap();
    let view = c.rota(rota_id).await;
    assert_eq!(
        sessions(&view)[0]["problems"][0]["code"],
        "leader_unavailable"
    );
    let r = c.publish(rota_id).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "leader_unavailable"),
        "{:?}",
        r.body
    );
    let listed = c.app.get(&path, Some(&c.office.token)).await;
    assert_eq!(
        listed.body["dates"][0],
        json!({ "date": "2025-09-30", "reason": "下乡调研" })
    );
    // Removing the date clears the problem.
    let r = delete(&c.app, &format!("{path}/2025-09-30"), &me.token).await;
    assert_eq!(r.status, 204);
    let r = delete(&c.app, &format!("{path}/2025-09-30"), &me.token).await;
    assert_eq!(r.status, 404);
    let r = delete(&c.app, &format!("{path}/someday"), &me.token).await;
    assert_eq!((r.status, field(&r)), (422, "date"));
    assert_eq!(c.publish(rota_id).await.status, 200);
}

#[tokio::test]
async fn demo_mode_gives_the_demo_leader_a_profile() {
    let app = spawn_with(|s| s.demo = true).await;
    let r = app.login("alice-1").await;
    let token = r.body["access_token"].as_str().unwrap();
    let leaders = app.get("/api/v1/leaders", Some(token)).await;
    assert_eq!(
        leaders.body[0]["display_name"], "演示县长",
        "{:?}",
        leaders.body
    );
}
