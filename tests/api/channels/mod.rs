//! Channels through the HTTP API: office intake, claiming by a verified phone, imports, and the
//! channel kept from the public. Shared fixtures here, one file per topic.
mod import;
mod intake;

use chrono::{TimeZone, Utc};
use minxin::auth::Role;
use serde_json::{json, Value};

use crate::common::{spawn_with, Resp, TestApp};

const CSV: &str = include_str!("../../data/cn-2025-2026.csv");

struct County {
    app: TestApp,
    office: String,
    handler: String,
    dept: i64,
    category: i64,
    village: i64,
}

/// A county with the official calendar, a department with a handler, the category 饮水安全 and
/// the village 石门村 (城关镇), and an office member.
async fn county() -> County {
    let app = spawn_with(|s| s.auth.access_ttl_secs = 90 * 24 * 3600).await;
    app.clock.set(
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2025, 9, 29, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let (admin, _) = app.user_with_role(Role::Admin).await;
    let (office, _) = app.user_with_role(Role::Office).await;
    let (handler, h) = app.user_with_role(Role::Handler).await;
    let r = app
        .post(
            "/api/v1/calendar/import",
            Some(&admin),
            json!({ "csv": CSV }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let dept = h["department_id"].as_i64().unwrap();
    let c = app
        .post(
            "/api/v1/categories",
            Some(&admin),
            json!({ "name": "饮水安全", "default_department_id": dept, "suggested_urgency": "urgent" }),
        )
        .await;
    assert_eq!(c.status, 201, "{:?}", c.body);
    let v = app
        .post(
            "/api/v1/villages",
            Some(&admin),
            json!({ "name": "石门村", "township": "城关镇" }),
        )
        .await;
    assert_eq!(v.status, 201, "{:?}", v.body);
    County {
        office,
        handler,
        dept,
        category: c.body["id"].as_i64().unwrap(),
        village: v.body["id"].as_i64().unwrap(),
        app,
    }
}

impl County {
    fn intake(&self, reference: &str, phone: &str, title: &str) -> Value {
        json!({
            "channel": "hotline", "external_ref": reference,
            "resident_name": "张三", "resident_phone": phone,
            "title": title, "content": format!("{title}，已经三天了，请尽快处理"),
            "category_id": self.category, "village_id": self.village, "is_public": true
        })
    }

    async fn register(&self, body: &Value) -> Resp {
        self.app
            .post("/api/v1/office/intakes", Some(&self.office), body.clone())
            .await
    }

    async fn act(&self, token: &str, id: i64, mut action: Value) -> Value {
        let v = self
            .app
            .get(&format!("/api/v1/appeals/{id}"), Some(&self.office))
            .await;
        action["version"] = v.body["version"].clone();
        let r = self
            .app
            .post(
                &format!("/api/v1/appeals/{id}/actions"),
                Some(token),
                action.clone(),
            )
            .await;
        assert_eq!(r.status, 200, "{action}: {:?}", r.body);
        r.body
    }

    /// Accept, assign, sign, reply and approve: the appeal waits for the resident's verdict.
    async fn to_published(&self, id: i64) {
        let office = self.office.clone();
        let handler = self.handler.clone();
        self.act(
            &office,
            id,
            json!({"action": "accept", "urgency": "general"}),
        )
        .await;
        self.act(
            &office,
            id,
            json!({"action": "assign", "lead_department_id": self.dept}),
        )
        .await;
        self.act(&handler, id, json!({"action": "sign"})).await;
        self.act(
            &handler,
            id,
            json!({"action": "reply", "public_reply": "已修复供水管道"}),
        )
        .await;
        let v = self
            .act(&office, id, json!({"action": "approve_reply"}))
            .await;
        assert_eq!(v["state"], "published");
    }
}

fn actions(v: &Value) -> Vec<String> {
    v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}
