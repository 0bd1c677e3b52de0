//! Who holds authority in a live room: ending a session, host rights after a reassignment, and
//! the media grant's lifetime and binding.
use chrono::Utc;
use minxin::auth::Role;
use minxin::live::media::{self, MediaError};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{json, Value};

use crate::live::{live_room, scheduled_room, Room};

const TRTC_APP: u64 = 1_400_000_001;
const TRTC_KEY: &str = "trtc-secret-key";

async fn status(room: &Room) -> String {
    let s = room
        .app
        .get(
            &format!("/api/v1/live-sessions/{}", room.session),
            Some(&room.admin),
        )
        .await;
    s.body["status"].as_str().unwrap_or_default().to_string()
}

/// A second leader with a profile, so the session can be reassigned to them.
async fn other_leader(room: &Room) -> (String, i64) {
    let (token, l) = room.app.user_with_role(Role::Leader).await;
    let id = l["id"].as_i64().unwrap();
    let r = room
        .app
        .send(
            room.app
                .http
                .put(room.app.url(&format!("/api/v1/leaders/{id}")))
                .bearer_auth(&room.admin)
                .json(&json!({ "display_name": "李副县长", "title": "副县长" })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    (token, id)
}

#[tokio::test]
async fn an_office_moderator_cannot_end_the_session_and_the_room_stays_open() {
    let room = live_room(|_| {}).await;
    let (tok, id) = room.resident("stays").await;
    let mut resident = room.connect(&tok).await;
    resident.send("join", None).await;
    resident.position(0).await;
    let (office, _) = room.app.user_with_role(Role::Office).await;
    let mut moderator = room.connect(&office).await;
    assert_eq!(moderator.welcome()["role"], "moderator");

    moderator.send("end_session", None).await;
    moderator.error("not_session_leader").await;
    assert_eq!(status(&room).await, "live");
    // The room goes on: the leader calls the resident, who was never disconnected.
    let mut leader = room.connect(&room.leader).await;
    leader.send("call_next", None).await;
    let called = resident.event("called").await;
    assert_eq!(called["data"]["user_id"].as_i64(), Some(id));

    // The leader ends it: record and room together.
    leader.send("end_session", None).await;
    assert_eq!(resident.closed(5).await, 4010);
    assert_eq!(status(&room).await, "ended");
}

#[tokio::test]
async fn an_admin_moderator_ends_record_and_room_together() {
    let room = live_room(|_| {}).await;
    let (tok, _) = room.resident("watcher").await;
    let mut resident = room.connect(&tok).await;
    resident.send("join", None).await;
    resident.position(0).await;
    let mut admin = room.connect(&room.admin).await;
    admin.send("end_session", None).await;
    assert_eq!(resident.closed(5).await, 4010);
    assert_eq!(status(&room).await, "ended");
}

#[tokio::test]
async fn a_reassigned_leader_loses_host_rights_at_once() {
    let room = scheduled_room(|_| {}).await;
    let (new_token, new_id) = other_leader(&room).await;
    let mut old = room.connect(&room.leader).await;
    assert_eq!(old.welcome()["role"], "leader");
    old.send("pause", None).await;
    old.event("paused").await;
    // A ticket taken before the reassignment, used after it.
    let stale = room.ticket(&room.leader).await;
    assert_eq!(stale.status, 200, "{:?}", stale.body);

    let r = room
        .app
        .post(
            &format!("/api/v1/live-sessions/{}/reassign", room.session),
            Some(&room.admin),
            json!({ "leader_id": new_id, "reason": "张县长临时出差" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        old.closed(5).await,
        4003,
        "the old leader's socket is closed"
    );
    let url = format!(
        "{}{}",
        room.app.addr.replace("http://", "ws://"),
        stale.body["url"].as_str().unwrap()
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status().as_u16(), 403)
        }
        other => panic!("a stale leader ticket connected: {:?}", other.map(|_| ())),
    }
    let again = room.ticket(&room.leader).await;
    assert_eq!((again.status, again.code()), (403, "not_your_session"));

    // The new leader hosts.
    let mut new = room.connect(&new_token).await;
    assert_eq!(new.welcome()["role"], "leader");
    new.send("resume", None).await;
    new.event("resumed").await;
}

#[tokio::test]
async fn host_commands_are_checked_against_the_current_leader() {
    let room = scheduled_room(|_| {}).await;
    let (_, new_id) = other_leader(&room).await;
    let mut old = room.connect(&room.leader).await;
    // The record changes without the room hearing of it (a lost notice): the next host
    // command is still refused.
    let s = entity::live_sessions::Entity::find_by_id(room.session)
        .one(&room.app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut s: entity::live_sessions::ActiveModel = s.into();
    s.leader_id = Set(Some(new_id));
    s.update(&room.app.state.db).await.unwrap();
    old.send("pause", None).await;
    old.error("not_session_leader").await;
    old.send("end_session", None).await;
    old.error("not_session_leader").await;
    assert_eq!(status(&room).await, "scheduled");
}

fn trtc_sig(media: &Value) -> String {
    media["data"]["trtc"]["user_sig"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn media_grants_are_room_bound_on_the_real_clock_and_renewed_on_extend() {
    // The room's clock is set to an evening in 2025; credentials must still be valid now.
    let room = live_room(|_| {}).await;
    let (tok, id) = room.resident("speaker").await;
    let mut resident = room.connect(&tok).await;
    resident.send("join", None).await;
    resident.position(0).await;
    let mut leader = room.connect(&room.leader).await;
    leader.send("call_next", None).await;
    resident.event("called").await;
    resident.send("confirm", None).await;
    let first = resident.until("media", |m| m["type"] == "media").await;
    let real_now = Utc::now().timestamp();
    let user = id.to_string();
    let room_id = u32::try_from(room.session).unwrap();
    let sig = trtc_sig(&first);
    assert_eq!(
        first["data"]["trtc"]["private_map_key"].as_str(),
        Some(sig.as_str())
    );
    let map =
        media::verify_trtc_private_map_key(TRTC_APP, TRTC_KEY, &user, room_id, &sig, real_now)
            .unwrap();
    assert_eq!(map.privileges, media::ALL_PRIVILEGES);
    // Turn of 600 s plus five minutes, from the real clock.
    let left = i64::from(map.expires_at) - real_now;
    assert!((850..=905).contains(&left), "expires in {left}s");
    let other_room =
        media::verify_trtc_private_map_key(TRTC_APP, TRTC_KEY, &user, room_id + 1, &sig, real_now)
            .unwrap_err();
    assert!(
        matches!(other_room, MediaError::RoomMismatch { .. }),
        "{other_room}"
    );
    let turn_user = first["data"]["ice_servers"][0]["username"]
        .as_str()
        .unwrap();
    let turn_expiry: i64 = turn_user.split_once(':').unwrap().0.parse().unwrap();
    assert!(
        (850..=905).contains(&(turn_expiry - real_now)),
        "{turn_user}"
    );
    let expires_ms = first["data"]["expires_at_ms"].as_i64().unwrap();
    assert!((expires_ms / 1000 - real_now - left).abs() <= 2);

    // Extending the turn sends both sides a fresh grant covering the new end.
    leader
        .until("leader's media", |m| m["type"] == "media")
        .await;
    leader.send("extend", Some(json!({ "secs": 600 }))).await;
    resident.event("turn_extended").await;
    let fresh = resident
        .until("fresh media", |m| m["type"] == "media")
        .await;
    leader
        .until("leader's fresh media", |m| m["type"] == "media")
        .await;
    let map2 = media::verify_trtc_private_map_key(
        TRTC_APP,
        TRTC_KEY,
        &user,
        room_id,
        &trtc_sig(&fresh),
        real_now,
    )
    .unwrap();
    assert!(
        map2.expires_at >= map.expires_at + 590,
        "{} then {}",
        map.expires_at,
        map2.expires_at
    );
    assert!(fresh["data"]["expires_at_ms"].as_i64().unwrap() >= expires_ms + 590_000);
}

/// A category and a village, for appeals filed from the session.
async fn appeal_body(room: &Room) -> Value {
    let dept = room.app.department("县交通局").await;
    let c = room
        .app
        .post(
            "/api/v1/categories",
            Some(&room.admin),
            json!({ "name": "道路交通", "default_department_id": dept }),
        )
        .await;
    assert_eq!(c.status, 201, "{:?}", c.body);
    let v = room
        .app
        .post(
            "/api/v1/villages",
            Some(&room.admin),
            json!({ "name": "石门村", "township": "城关镇" }),
        )
        .await;
    assert_eq!(v.status, 201, "{:?}", v.body);
    json!({ "title": "通村路塌方", "content": "雨后塌方，车辆无法通行",
        "category_id": c.body["id"], "village_id": v.body["id"] })
}

#[tokio::test]
async fn outcomes_are_read_by_the_sessions_own_leader_and_appeals_need_a_participant() {
    let room = scheduled_room(|_| {}).await;
    let (other, _) = other_leader(&room).await;
    let (office, _) = room.app.user_with_role(Role::Office).await;
    let (reg_tok, registered) = room.resident("registered").await;
    let (join_tok, joined) = room.resident("joined").await;
    let (_, stranger) = room.resident("stranger").await;
    let r = room
        .app
        .post(
            &format!("/api/v1/live-sessions/{}/registrations", room.session),
            Some(&reg_tok),
            json!({ "topic": "修路" }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = room
        .app
        .post(
            &format!("/api/v1/live-sessions/{}/start", room.session),
            Some(&room.leader),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // One resident joins the queue and talks with the leader.
    let mut c = room.connect(&join_tok).await;
    c.send("join", None).await;
    c.position(0).await;
    let mut leader = room.connect(&room.leader).await;
    leader.send("call_next", None).await;
    c.event("called").await;
    c.send("confirm", None).await;
    c.event("on_stage").await;
    leader.send("end_turn", None).await;
    c.event("turn_ended").await;

    let appeal = appeal_body(&room).await;
    let outcomes = format!("/api/v1/live-sessions/{}/outcomes", room.session);
    let file =
        |resident: i64| json!({ "resident_id": resident, "outcome": "appeal", "appeal": appeal });
    let r = room
        .app
        .post(&outcomes, Some(&room.leader), file(stranger))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("resident_id")),
        "no appeal in the name of a resident who took no part: {:?}",
        r.body
    );
    for who in [joined, registered] {
        let r = room
            .app
            .post(&outcomes, Some(&room.leader), file(who))
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let r = room
        .app
        .post(
            &outcomes,
            Some(&room.leader),
            json!({ "resident_id": stranger, "outcome": "answered", "note": "私下说明的家庭情况" }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    // Private notes: another leader may not read them; the session's leader and the office may.
    let r = room.app.get(&outcomes, Some(&other)).await;
    assert_eq!((r.status, r.code()), (403, "not_session_leader"));
    for who in [&room.leader, &office, &room.admin] {
        let r = room.app.get(&outcomes, Some(who)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body.as_array().map(Vec::len), Some(3));
    }
    // Registered topics likewise.
    let registrations = format!("/api/v1/live-sessions/{}/registrations", room.session);
    let r = room.app.get(&registrations, Some(&other)).await;
    assert_eq!((r.status, r.code()), (403, "not_session_leader"));
    for who in [&room.leader, &office, &room.admin] {
        let r = room.app.get(&registrations, Some(who)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body.as_array().map(Vec::len), Some(1));
    }
}
