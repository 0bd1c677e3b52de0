//! The duty rota and live sessions through the HTTP API.
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use icalendar::{CalendarDateTime, Component, DatePerhapsTime};
use minxin::auth::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};

use crate::common::{spawn_with, Resp, TestApp};

const CSV: &str = include_str!("../data/cn-2025-2026.csv");

struct User {
    token: String,
    id: i64,
}

struct County {
    app: TestApp,
    admin: User,
    office: User,
    handler: User,
    /// Three leaders with profiles, in id order.
    leaders: Vec<User>,
    alice: User,
    bob: User,
    carol: User,
    category: i64,
    village: i64,
}

fn shanghai(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn staff(app: &TestApp, role: Role) -> User {
    let (token, user) = app.user_with_role(role).await;
    User {
        token,
        id: user["id"].as_i64().unwrap(),
    }
}

/// A leader of their own: the fake WeChat picks the user by the login code's name, so each
/// leader logs in under another name and redeems an invitation.
async fn leader(app: &TestApp, name: &str) -> User {
    let me = resident(app, name).await;
    let inv = minxin::auth::invitations::create(
        &app.state.db,
        &minxin::auth::invitations::NewInvitation {
            role: Role::Leader,
            department_id: None,
            ttl_hours: None,
        },
        None,
        app.state.clock.now(),
        72,
    )
    .await
    .unwrap();
    let r = app
        .post(
            "/api/v1/auth/invitations/redeem",
            Some(&me.token),
            json!({ "code": inv.code }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    User {
        token: r.body["access_token"].as_str().unwrap().to_string(),
        id: me.id,
    }
}

async fn resident(app: &TestApp, name: &str) -> User {
    let (token, body) = app.resident(name).await;
    User {
        token,
        id: body["user"]["id"].as_i64().unwrap(),
    }
}

/// The official calendar, an admin, an office clerk, a handler, three leaders with profiles,
/// three residents, a category and a village. The clock reads Monday 2025-09-22 10:00 in
/// Shanghai, a week before the National Day holidays (Oct 1–8; Thu Oct 2 and Tue Oct 7 are off).
async fn county() -> County {
    let app = spawn_with(|s| s.auth.access_ttl_secs = 90 * 24 * 3600).await;
    app.clock.set(shanghai(2025, 9, 22, 10, 0));
    let admin = staff(&app, Role::Admin).await;
    let office = staff(&app, Role::Office).await;
    let handler = staff(&app, Role::Handler).await;
    let mut leaders = Vec::new();
    let profiles = [("张明", "县长"), ("李华", "副县长"), ("王芳", "县委副书记")];
    for (i, (name, title)) in profiles.into_iter().enumerate() {
        let l = leader(&app, &format!("leader{i}")).await;
        let r = put(
            &app,
            &format!("/api/v1/leaders/{}", l.id),
            &admin.token,
            json!({ "display_name": name, "title": title }),
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        leaders.push(l);
    }
    let r = app
        .post(
            "/api/v1/calendar/import",
            Some(&admin.token),
            json!({ "csv": CSV }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let dept = app.department("县水务局").await;
    let c = app
        .post(
            "/api/v1/categories",
            Some(&admin.token),
            json!({ "name": "饮水安全", "default_department_id": dept }),
        )
        .await;
    assert_eq!(c.status, 201, "{:?}", c.body);
    let v = app
        .post(
            "/api/v1/villages",
            Some(&admin.token),
            json!({ "name": "石门村", "township": "城关镇" }),
        )
        .await;
    assert_eq!(v.status, 201, "{:?}", v.body);
    County {
        alice: resident(&app, "alice").await,
        bob: resident(&app, "bob").await,
        carol: resident(&app, "carol").await,
        category: c.body["id"].as_i64().unwrap(),
        village: v.body["id"].as_i64().unwrap(),
        admin,
        office,
        handler,
        leaders,
        app,
    }
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> Resp {
    app.send(app.http.put(app.url(path)).bearer_auth(token).json(&body))
        .await
}

async fn delete(app: &TestApp, path: &str, token: &str) -> Resp {
    app.send(app.http.delete(app.url(path)).bearer_auth(token))
        .await
}

fn field(r: &Resp) -> &str {
    r.body["error"]["field"].as_str().unwrap_or("")
}

fn sessions(rota: &Value) -> Vec<Value> {
    rota["sessions"].as_array().unwrap().clone()
}

fn leader_of(s: &Value) -> Option<i64> {
    s["leader"]["user_id"].as_i64()
}

fn dates(rota: &Value) -> Vec<String> {
    sessions(rota)
        .iter()
        .map(|s| s["date"].as_str().unwrap().to_string())
        .collect()
}

impl County {
    fn leader(&self, i: usize) -> i64 {
        self.leaders[i].id
    }

    async fn generate(&self, from: &str, to: &str) -> Value {
        let r = self
            .try_generate(json!({ "range_start": from, "range_end": to }))
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body
    }

    async fn try_generate(&self, body: Value) -> Resp {
        self.app
            .post("/api/v1/rotas", Some(&self.admin.token), body)
            .await
    }

    async fn rota(&self, id: i64) -> Value {
        let r = self
            .app
            .get(&format!("/api/v1/rotas/{id}"), Some(&self.admin.token))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body
    }

    async fn publish(&self, id: i64) -> Resp {
        self.app
            .post(
                &format!("/api/v1/rotas/{id}/publish"),
                Some(&self.admin.token),
                json!({}),
            )
            .await
    }

    async fn session_post(&self, id: i64, what: &str, token: &str, body: Value) -> Resp {
        self.app
            .post(
                &format!("/api/v1/live-sessions/{id}/{what}"),
                Some(token),
                body,
            )
            .await
    }

    async fn admin_edit(&self, id: i64, what: &str, body: Value) -> Resp {
        self.session_post(id, what, &self.admin.token, body).await
    }

    async fn events(&self, id: i64) -> Vec<Value> {
        let r = self
            .app
            .get(
                &format!("/api/v1/live-sessions/{id}/events"),
                Some(&self.office.token),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body.as_array().unwrap().clone()
    }

    async fn register(&self, who: &User, session: i64, topic: &str) -> Resp {
        self.app
            .post(
                &format!("/api/v1/live-sessions/{session}/registrations"),
                Some(&who.token),
                json!({ "topic": topic }),
            )
            .await
    }

    async fn upcoming(&self, who: &User) -> Vec<Value> {
        let r = self
            .app
            .get("/api/v1/live-sessions", Some(&who.token))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body.as_array().unwrap().clone()
    }

    /// A published rota over 2025-09-29..2025-10-19: Tue 9-30, Thu 10-9, Tue 10-14, Thu 10-16,
    /// hosted by leaders 0, 1, 2, 0.
    async fn published(&self) -> (i64, Vec<Value>) {
        let rota = self.generate("2025-09-29", "2025-10-19").await;
        let id = rota["id"].as_i64().unwrap();
        let r = self.publish(id).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        (id, sessions(&r.body))
    }

    async fn notifications(&self, session: i64) -> Vec<entity::notifications::Model> {
        entity::notifications::Entity::find()
            .filter(entity::notifications::Column::SubjectId.eq(session))
            .filter(entity::notifications::Column::SubjectType.eq("live_session"))
            .order_by_asc(entity::notifications::Column::Id)
            .all(&self.app.state.db)
            .await
            .unwrap()
    }
}

fn counts(list: &[Value]) -> BTreeMap<i64, u32> {
    let mut c = BTreeMap::new();
    for s in list {
        *c.entry(leader_of(s).unwrap()).or_insert(0) += 1;
    }
    c
}

fn assert_no_repeat(list: &[Value]) {
    for w in list.windows(2) {
        assert_ne!(leader_of(&w[0]), leader_of(&w[1]), "{} / {}", w[0], w[1]);
    }
}

#[tokio::test]
async fn generation_skips_holidays_respects_unavailability_and_rotates_fairly() {
    let c = county().await;
    // Leader 1 cannot host on Thu 10-9; they mark it themself.
    let r = c
        .app
        .post(
            &format!("/api/v1/leaders/{}/unavailable-dates", c.leader(1)),
            Some(&c.leaders[1].token),
            json!({ "dates": ["2025-10-09"], "reason": "外出学习" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    let rota = c.generate("2025-09-29", "2025-10-19").await;
    assert_eq!(rota["status"], "draft");
    assert_eq!(rota["version"], 0);
    assert_eq!(rota["weekdays"], json!(["tue", "thu"]));
    assert_eq!(
        (rota["start"].as_str(), rota["end"].as_str()),
        (Some("19:30"), Some("21:00"))
    );
    // Thu 10-2 and Tue 10-7 are National Day holidays: no session.
    assert_eq!(
        dates(&rota),
        ["2025-09-30", "2025-10-09", "2025-10-14", "2025-10-16"]
    );
    let list = sessions(&rota);
    for s in &list {
        assert_eq!(
            (s["start"].as_str(), s["end"].as_str()),
            (Some("19:30"), Some("21:00"))
        );
        assert_eq!(s["published"], false);
        assert_eq!(s["problems"], json!([]));
        assert!(s["leader"]["display_name"].is_string());
    }
    // 19:30 in Shanghai is 11:30 UTC.
    assert_eq!(list[0]["starts_at"], "2025-09-30T11:30:00Z");
    assert_eq!(list[0]["weekday"], "tue");
    let on_9th = list.iter().find(|s| s["date"] == "2025-10-09").unwrap();
    assert_ne!(
        leader_of(on_9th),
        Some(c.leader(1)),
        "unavailability respected"
    );
    assert_no_repeat(&list);
    let n = counts(&list);
    assert_eq!(n.values().sum::<u32>(), 4);
    assert!(
        n.values().max().unwrap() - n.values().min().unwrap() <= 1,
        "{n:?}"
    );
    assert_eq!(n.len(), 3, "everyone hosts: {n:?}");

    // A second, longer range continues the rotation: counts stay balanced over both, and the
    // first session avoids whoever hosted the last one before it.
    let next = c.generate("2025-10-20", "2025-12-31").await;
    let more = sessions(&next);
    assert_eq!(more.len(), 21);
    assert!(more
        .iter()
        .all(|s| s["date"].as_str().unwrap() >= "2025-10-20"));
    assert_ne!(leader_of(&more[0]), leader_of(list.last().unwrap()));
    let all: Vec<Value> = list.iter().chain(more.iter()).cloned().collect();
    assert_no_repeat(&all);
    let n = counts(&all);
    assert!(
        n.values().max().unwrap() - n.values().min().unwrap() <= 1,
        "{n:?}"
    );

    // Deterministic: discarding the draft and generating again gives the same rota.
    let again_id = next["id"].as_i64().unwrap();
    let r = delete(&c.app, &format!("/api/v1/rotas/{again_id}"), &c.admin.token).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let regenerated = c.generate("2025-10-20", "2025-12-31").await;
    let ids = |l: &[Value]| l.iter().map(leader_of).collect::<Vec<_>>();
    assert_eq!(ids(&sessions(&regenerated)), ids(&more));
    let list = c.app.get("/api/v1/rotas", Some(&c.office.token)).await;
    let statuses: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["draft", "discarded", "draft"]);

    // Other weekdays and times.
    let custom = c
        .try_generate(
            json!({ "range_start": "2026-01-05", "range_end": "2026-01-11",
            "weekdays": ["mon", "Wednesday", "mon"], "start": "09:00", "end": "10:30" }),
        )
        .await;
    assert_eq!(custom.status, 201, "{:?}", custom.body);
    assert_eq!(dates(&custom.body), ["2026-01-05", "2026-01-07"]);
    assert_eq!(custom.body["weekdays"], json!(["mon", "wed"]));
    assert_eq!(
        sessions(&custom.body)[0]["starts_at"],
        "2026-01-05T01:00:00Z"
    );
}

#[tokio::test]
async fn generation_refuses_bad_input_and_overlapping_ranges() {
    let c = county().await;
    let cases = [
        (
            json!({ "range_start": "2025-10-10", "range_end": "2025-10-01" }),
            "range_end",
        ),
        (
            json!({ "range_start": "2025-01-01", "range_end": "2026-01-02" }),
            "range_end",
        ),
        (
            json!({ "range_start": "2025-13-01", "range_end": "2025-12-01" }),
            "range_start",
        ),
        (
            json!({ "range_start": "2025/10/01", "range_end": "2025-12-01" }),
            "range_start",
        ),
        (json!({ "range_end": "2025-12-01" }), "range_start"),
        (
            json!({ "range_start": 20251001, "range_end": "2025-12-01" }),
            "range_start",
        ),
        (
            json!({ "range_start": "2025-10-01", "range_end": "2025-12-01", "weekdays": ["someday"] }),
            "weekdays",
        ),
        (
            json!({ "range_start": "2025-10-01", "range_end": "2025-12-01", "weekdays": [] }),
            "weekdays",
        ),
        (
            json!({ "range_start": "2025-10-01", "range_end": "2025-12-01", "start": "7pm" }),
            "start",
        ),
        (
            json!({ "range_start": "2025-10-01", "range_end": "2025-12-01", "start": "25:00" }),
            "start",
        ),
        (
            json!({ "range_start": "2025-10-01", "range_end": "2025-12-01", "start": "21:00", "end": "19:30" }),
            "end",
        ),
    ];
    for (body, f) in cases {
        let r = c.try_generate(body.clone()).await;
        assert_eq!(
            (r.status, r.code(), field(&r)),
            (422, "validation_failed", f),
            "{body}: {:?}",
            r.body
        );
    }
    c.generate("2025-10-01", "2025-10-31").await;
    let r = c
        .try_generate(json!({ "range_start": "2025-10-31", "range_end": "2025-11-30" }))
        .await;
    assert_eq!((r.status, r.code()), (409, "rota_overlap"), "{:?}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("2025-10-01"));
}

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

#[tokio::test]
async fn exports_as_icalendar_and_csv_with_stable_uids() {
    let c = county().await;
    let (rota_id, list) = c.published().await;
    let ids: Vec<i64> = list.iter().map(|s| s["id"].as_i64().unwrap()).collect();

    let r = c
        .app
        .http
        .get(c.app.url("/api/v1/rota/calendar.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let text = r.text().await.unwrap();
    let cal: icalendar::Calendar = text.parse().unwrap();
    assert_eq!(cal.get_timezone(), Some("Asia/Shanghai"));
    let events: Vec<&icalendar::Event> =
        cal.components.iter().filter_map(|c| c.as_event()).collect();
    assert_eq!(events.len(), 4);
    let local = |d: &str, h: u32, m: u32| {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone {
            date_time: NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap(),
            tzid: "Asia/Shanghai".into(),
        }))
    };
    let expected = ["2025-09-30", "2025-10-09", "2025-10-14", "2025-10-16"];
    let mut uids = Vec::new();
    for (e, (d, id)) in events.iter().zip(expected.iter().zip(&ids)) {
        assert_eq!(
            e.get_uid(),
            Some(format!("rota-session-{id}@minxin.local").as_str())
        );
        assert_eq!(e.get_start(), local(d, 19, 30));
        assert_eq!(e.get_end(), local(d, 21, 0));
        assert_eq!(e.get_sequence(), Some(0));
        assert_eq!(e.get_status(), Some(icalendar::EventStatus::Confirmed));
        uids.push(e.get_uid().unwrap().to_string());
    }
    assert!(events[0].get_summary().unwrap().contains("张明（县长）"));

    // Change, cancel, add and republish: same UIDs, SEQUENCE bumped, cancelled kept.
    c.admin_edit(
        ids[0],
        "reschedule",
        json!({ "start": "20:00", "end": "21:30", "reason": "演播室检修" }),
    )
    .await;
    c.admin_edit(ids[1], "cancel", json!({ "reason": "防汛" }))
        .await;
    let added = c
        .app
        .post(
            &format!("/api/v1/rotas/{rota_id}/sessions"),
            Some(&c.admin.token),
            json!({ "date": "2025-10-17", "leader_id": c.leader(1) }),
        )
        .await;
    assert_eq!(added.status, 201);
    assert_eq!(c.publish(rota_id).await.status, 200);
    let text = c.app.get("/api/v1/rota/calendar.ics", None).await.body;
    let cal: icalendar::Calendar = text.as_str().unwrap().parse().unwrap();
    let events: Vec<&icalendar::Event> =
        cal.components.iter().filter_map(|c| c.as_event()).collect();
    assert_eq!(events.len(), 5);
    let by_uid = |uid: &str| *events.iter().find(|e| e.get_uid() == Some(uid)).unwrap();
    let moved = by_uid(&uids[0]);
    assert_eq!(
        (moved.get_sequence(), moved.get_start()),
        (Some(1), local("2025-09-30", 20, 0))
    );
    let gone = by_uid(&uids[1]);
    assert_eq!(
        (gone.get_sequence(), gone.get_status()),
        (Some(1), Some(icalendar::EventStatus::Cancelled))
    );
    assert_eq!(by_uid(&uids[2]).get_sequence(), Some(0));
    let new_uid = format!("rota-session-{}@minxin.local", added.body["id"]);
    assert_eq!(by_uid(&new_uid).get_start(), local("2025-10-17", 19, 30));
    // A range narrows the feed; a bad one is refused.
    let narrow = c
        .app
        .get(
            "/api/v1/rota/calendar.ics?from=2025-10-14&to=2025-10-14",
            None,
        )
        .await;
    let cal: icalendar::Calendar = narrow.body.as_str().unwrap().parse().unwrap();
    assert_eq!(
        cal.components.iter().filter_map(|c| c.as_event()).count(),
        1
    );
    let bad = c
        .app
        .get("/api/v1/rota/calendar.ics?from=yesterday", None)
        .await;
    assert_eq!((bad.status, field(&bad)), (422, "from"));

    // CSV.
    let r = c
        .app
        .http
        .get(c.app.url("/api/v1/rota/sessions.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = r.text().await.unwrap();
    let text = text.strip_prefix('\u{feff}').expect("BOM for spreadsheets");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "session_id,date,weekday,start,end,leader,title,status,registrations,sequence"
    );
    assert_eq!(lines.len(), 6);
    assert_eq!(
        lines[1],
        format!(
            "{},2025-09-30,tue,20:00,21:30,张明,县长,scheduled,0,1",
            ids[0]
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "{},2025-10-09,thu,19:30,21:00,李华,副县长,cancelled,0,1",
            ids[1]
        )
    );
}

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

/// A session nobody started is not a confirmed event any more: calendars that subscribed see it
/// cancelled, with SEQUENCE bumped so they replace their copy.
#[tokio::test]
async fn a_missed_session_is_cancelled_in_the_calendar_feed() {
    let c = county().await;
    let (_, list) = c.published().await;
    let s1 = list[0]["id"].as_i64().unwrap();
    c.app.clock.set(shanghai(2025, 9, 30, 20, 5));
    let n = minxin::rota::lifecycle::mark_missed(&c.app.state)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let text = c.app.get("/api/v1/rota/calendar.ics", None).await.body;
    let cal: icalendar::Calendar = text.as_str().unwrap().parse().unwrap();
    let uid = format!("rota-session-{s1}@minxin.local");
    let missed = cal
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .find(|e| e.get_uid() == Some(uid.as_str()))
        .unwrap();
    assert_eq!(missed.get_status(), Some(icalendar::EventStatus::Cancelled));
    assert_eq!(missed.get_sequence(), Some(1));
}

/// The demo calendar ends with 2026: a rota for 2027 would put sessions on its holidays
/// unnoticed, so it is refused until the admin says that is what they want.
#[tokio::test]
async fn a_rota_for_a_year_without_holiday_data_needs_the_admins_consent() {
    let c = county().await;
    let range = json!({ "range_start": "2026-12-28", "range_end": "2027-01-10" });
    let r = c.try_generate(range.clone()).await;
    assert_eq!((r.status, r.code()), (409, "holiday_data_missing"));
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("2027") && message.contains("accept_missing_holidays"),
        "{message}"
    );
    let mut accepted = range;
    accepted["accept_missing_holidays"] = json!(true);
    let r = c.try_generate(accepted).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    // Every Tuesday and Thursday, as if 2027 had no holidays: the admin accepted that.
    assert_eq!(
        dates(&r.body),
        ["2026-12-29", "2026-12-31", "2027-01-05", "2027-01-07"]
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

#[tokio::test]
async fn two_admins_generating_overlapping_ranges_at_once_cannot_both_win() {
    let c = county().await;
    let (x, y) = tokio::join!(
        c.try_generate(json!({ "range_start": "2025-11-03", "range_end": "2025-11-16" })),
        c.try_generate(json!({ "range_start": "2025-11-10", "range_end": "2025-11-23" })),
    );
    let mut got = [x.status, y.status];
    got.sort();
    assert_eq!(got, [201, 409], "{:?} {:?}", x.body, y.body);
    let loser = if x.status == 409 { &x } else { &y };
    assert_eq!(loser.body["error"]["code"], "rota_overlap");
}
