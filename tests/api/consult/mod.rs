//! Consultations through the HTTP API: shared fixtures here, one file per topic.
mod answering;
mod authoring;
mod exports;
mod outcome;
mod results;

use chrono::{DateTime, Duration, TimeZone, Utc};
use minxin::auth::Role;
use serde_json::{json, Value};

use crate::common::{spawn_with, Resp, TestApp};

struct County {
    app: TestApp,
    admin: String,
    office: String,
    /// A handler of `department`.
    handler: String,
    department: i64,
    /// Another department, not the handler's.
    other_department: i64,
    /// Villages: 甲村 and 乙村 of 城关镇, 丙村 and 丁村 of 高山乡.
    villages: Vec<i64>,
}

fn shanghai(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Staff and villages; the clock reads Monday 2026-12-07 09:00 in Shanghai.
async fn county() -> County {
    let app = spawn_with(|s| s.auth.access_ttl_secs = 90 * 24 * 3600).await;
    app.clock.set(shanghai(2026, 12, 7, 9, 0));
    let (admin, _) = app.user_with_role(Role::Admin).await;
    let (office, _) = app.user_with_role(Role::Office).await;
    let (handler, user) = app.user_with_role(Role::Handler).await;
    let department = user["department_id"].as_i64().unwrap();
    let other_department = app.department("县交通运输局").await;
    let mut villages = Vec::new();
    for (name, township) in [
        ("甲村", "城关镇"),
        ("乙村", "城关镇"),
        ("丙村", "高山乡"),
        ("丁村", "高山乡"),
    ] {
        let r = app
            .post(
                "/api/v1/villages",
                Some(&admin),
                json!({ "name": name, "township": township }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        villages.push(r.body["id"].as_i64().unwrap());
    }
    County {
        app,
        admin,
        office,
        handler,
        department,
        other_department,
        villages,
    }
}

/// A consultation open from `opens` for `days`: single choice with "other" (q1), multiple
/// choice of one or two (q2), optional free text of at most 20 characters (q3), rating (q4).
fn sample(department: i64, opens: DateTime<Utc>, days: i64) -> Value {
    json!({
        "title": "村道硬化工程意见征集",
        "body": "为改善群众出行条件，县里计划硬化村道。\n\n请留下您的意见。",
        "department_id": department,
        "opens_at": opens.to_rfc3339(),
        "closes_at": (opens + Duration::days(days)).to_rfc3339(),
        "results_public": false,
        "questions": [
            { "kind": "single_choice", "prompt": "您最希望先修哪条路？",
              "options": ["通组路", "产业路", "入户路"], "allow_other": true },
            { "kind": "multiple_choice", "prompt": "您关心哪些方面？",
              "options": ["工期", "质量", "资金", "占地"], "min_picks": 1, "max_picks": 2 },
            { "kind": "free_text", "prompt": "其他建议", "required": false, "max_length": 20 },
            { "kind": "rating", "prompt": "您对当前道路状况的满意度" }
        ]
    })
}

/// A valid answer set: q1 option `one`, q2 options 1 and 2, q4 `rating`.
fn answers(one: u32, rating: i64) -> Value {
    json!({
        "q1": { "choices": [one] },
        "q2": { "choices": [1, 2] },
        "q4": { "rating": rating }
    })
}

impl County {
    /// Creates and publishes a consultation (as the handler); returns its id.
    async fn published(&self, body: Value) -> i64 {
        let r = self
            .app
            .post("/api/v1/consultations", Some(&self.handler), body)
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let id = r.body["id"].as_i64().unwrap();
        let r = self
            .app
            .post(
                &format!("/api/v1/consultations/{id}/publish"),
                Some(&self.handler),
                json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        id
    }

    /// Opens a consultation now (for 7 days) and returns its id.
    async fn open(&self) -> i64 {
        let now = self.app.state.clock.now();
        self.published(sample(self.department, now - Duration::hours(1), 7))
            .await
    }
}

async fn respond(app: &TestApp, token: &str, id: i64, key: &str, body: Value) -> Resp {
    app.send(
        app.http
            .post(app.url(&format!("/api/v1/consultations/{id}/responses")))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&body),
    )
    .await
}

/// A new resident who answers; returns their token.
async fn respondent(app: &TestApp, id: i64, village: i64, body: Value) -> String {
    let (token, _) = app.resident("villager").await;
    let r = respond(
        app,
        &token,
        id,
        &uuid::Uuid::new_v4().to_string(),
        json!({ "answers": body, "village_id": village }),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    token
}

fn field(r: &Resp) -> &str {
    r.body["error"]["field"].as_str().unwrap_or("")
}
