//! The duty rota and live sessions through the HTTP API: shared fixtures here, one file per topic.
mod edits;
mod exports;
mod generation;
mod leaders;
mod lifecycle;
mod publication;
mod refusals;
mod registrations;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use icalendar::{CalendarDateTime, Component, DatePerhapsTime};
use minxin::auth::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};

use crate::common::{spawn_with, Resp, TestApp};

const CSV: &str = include_str!("../../data/cn-2025-2026.csv");

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
