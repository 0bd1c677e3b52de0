//! The closed loop of appeals through the HTTP API.
use chrono::{TimeZone, Utc};
use minxin::auth::Role;
use serde_json::{json, Value};

use crate::common::{spawn_with, Resp, TestApp};

const CSV: &str = include_str!("../data/cn-2025-2026.csv");

struct Board {
    app: TestApp,
    admin: String,
    office: String,
    handler: String,
    dept: i64,
    other_handler: String,
    other_dept: i64,
    alice: String,
    bob: String,
    category: i64,
    village: i64,
    far_village: i64,
}

/// A county with the official calendar, two departments with a handler each, a category, two
/// villages and two residents. Access tokens live long here because tests move the clock by days.
async fn county() -> Board {
    let app = spawn_with(|s| s.auth.access_ttl_secs = 90 * 24 * 3600).await;
    // Monday 2025-09-29 10:00 in Shanghai, before the National Day holidays.
    app.clock.set(
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2025, 9, 29, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let (admin, _) = app.user_with_role(Role::Admin).await;
    let (office, _) = app.user_with_role(Role::Office).await;
    let (handler, h) = app.user_with_role(Role::Handler).await;
    let (other_handler, h2) = app.user_with_role(Role::Handler).await;
    let r = app
        .post(
            "/api/v1/calendar/import",
            Some(&admin),
            json!({ "csv": CSV }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let dept = h["department_id"].as_i64().unwrap();
    let other_dept = h2["department_id"].as_i64().unwrap();
    let c = app
        .post("/api/v1/categories", Some(&admin), json!({ "name": "饮水安全", "default_department_id": dept, "suggested_urgency": "urgent" }))
        .await;
    assert_eq!(c.status, 201, "{:?}", c.body);
    let v = app
        .post(
            "/api/v1/villages",
            Some(&admin),
            json!({ "name": "石门村", "township": "城关镇", "lat": 26.58, "lng": 106.71 }),
        )
        .await;
    let far = app
        .post(
            "/api/v1/villages",
            Some(&admin),
            json!({ "name": "高坡村", "township": "高坡乡" }),
        )
        .await;
    let (alice, _) = app.resident("alice").await;
    let (bob, _) = app.resident("bob").await;
    Board {
        admin,
        office,
        handler,
        dept,
        other_handler,
        other_dept,
        alice,
        bob,
        category: c.body["id"].as_i64().unwrap(),
        village: v.body["id"].as_i64().unwrap(),
        far_village: far.body["id"].as_i64().unwrap(),
        app,
    }
}

impl Board {
    fn appeal(&self, title: &str, content: &str) -> Value {
        json!({
            "title": title, "content": content, "category_id": self.category,
            "village_id": self.village, "contact_phone": "13812345678", "is_public": true
        })
    }

    async fn submit_with_key(&self, token: &str, key: &str, body: &Value) -> Resp {
        let req = self
            .app
            .http
            .post(self.app.url("/api/v1/appeals"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body);
        self.app.send(req).await
    }

    async fn submit(&self, token: &str, body: &Value) -> i64 {
        let r = self
            .submit_with_key(token, &uuid::Uuid::new_v4().to_string(), body)
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_i64().unwrap()
    }

    async fn get(&self, token: &str, id: i64) -> Resp {
        self.app
            .get(&format!("/api/v1/appeals/{id}"), Some(token))
            .await
    }

    /// Performs an action with the appeal's current version.
    async fn act(&self, token: &str, id: i64, action: Value) -> Resp {
        let office_view = self.get(&self.office, id).await;
        let version = office_view.body["version"].as_i64().unwrap();
        self.act_at(token, id, version, action).await
    }

    async fn act_at(&self, token: &str, id: i64, version: i64, mut action: Value) -> Resp {
        action["version"] = json!(version);
        self.app
            .post(
                &format!("/api/v1/appeals/{id}/actions"),
                Some(token),
                action,
            )
            .await
    }

    async fn ok(&self, token: &str, id: i64, action: Value) -> Value {
        let r = self.act(token, id, action.clone()).await;
        assert_eq!(r.status, 200, "{action}: {:?}", r.body);
        r.body
    }

    async fn to_signed(&self, id: i64, urgency: &str) {
        self.ok(
            &self.office,
            id,
            json!({ "action": "accept", "urgency": urgency }),
        )
        .await;
        self.ok(
            &self.office,
            id,
            json!({ "action": "assign", "lead_department_id": self.dept }),
        )
        .await;
        self.ok(&self.handler, id, json!({ "action": "sign" }))
            .await;
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

#[tokio::test]
async fn the_whole_loop_from_submission_to_satisfied_rating() {
    let b = county().await;
    let body = b.appeal(
        "石门村自来水停了三天",
        "村里自来水停了三天，井水浑浊，老人孩子喝水困难。",
    );
    let first = b.submit_with_key(&b.alice, "k-1", &body).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let id = first.body["id"].as_i64().unwrap();
    assert_eq!(first.body["state"], "submitted");
    // A weak network resends: the same appeal comes back, never a second one.
    let again = b.submit_with_key(&b.alice, "k-1", &body).await;
    assert_eq!((again.status, again.body["id"].as_i64()), (200, Some(id)));
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let other = b
        .submit_with_key(&b.alice, "k-1", &b.appeal("别的事", "完全不同的内容"))
        .await;
    assert_eq!(
        (other.status, other.code()),
        (409, "idempotency_key_reused")
    );
    let mine = b.app.get("/api/v1/my/appeals", Some(&b.alice)).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);

    // Office: inbox, accept (urgency), assign: the deadline counts working days over the
    // National Day holidays (Oct 1–8 off, Sat Oct 11 worked).
    let inbox = b.app.get("/api/v1/office/appeals", Some(&b.office)).await;
    assert!(inbox.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == id));
    b.ok(
        &b.office,
        id,
        json!({ "action": "accept", "urgency": "general" }),
    )
    .await;
    let assigned = b
        .ok(&b.office, id, json!({ "action": "assign", "lead_department_id": b.dept, "assisting_department_ids": [b.other_dept] }))
        .await;
    assert_eq!(assigned["deadline_at"], "2025-10-15T15:59:59Z");
    assert_eq!(assigned["assisting_department_ids"], json!([b.other_dept]));
    // Both departments see it; only the lead may act.
    let list = b
        .app
        .get("/api/v1/department/appeals", Some(&b.other_handler))
        .await;
    assert!(list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == id));
    let r = b
        .act(&b.other_handler, id, json!({ "action": "sign" }))
        .await;
    assert_eq!(
        r.status, 404,
        "an assisting department cannot sign for the lead"
    );
    b.ok(&b.handler, id, json!({ "action": "sign" })).await;

    // Extension before the deadline, approved with the asked date.
    let r = b.act(&b.handler, id, json!({ "action": "request_extension", "reason": "需要协调管网维修", "until": "2025-10-14" })).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("until"))
    );
    b.ok(&b.handler, id, json!({ "action": "request_extension", "reason": "需要协调管网维修", "until": "2025-10-20" })).await;
    let r = b
        .act(
            &b.handler,
            id,
            json!({ "action": "request_extension", "reason": "again", "until": "2025-10-21" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "extension_pending"));
    let ext = b
        .ok(&b.office, id, json!({ "action": "approve_extension" }))
        .await;
    assert_eq!(ext["deadline_at"], "2025-10-20T15:59:59Z");

    // Reply, review, publish.
    b.ok(&b.handler, id, json!({ "action": "reply", "public_reply": "已抢修管道，今日恢复供水。", "internal_note": "更换阀门两个" })).await;
    let before = b.get(&b.alice, id).await;
    assert_eq!(
        before.body["reply"],
        Value::Null,
        "the author sees the reply only after review"
    );
    b.ok(
        &b.office,
        id,
        json!({ "action": "send_back", "reason": "请说明后续水质检测" }),
    )
    .await;
    b.ok(
        &b.handler,
        id,
        json!({ "action": "reply", "public_reply": "已抢修管道并完成水质检测，今日恢复供水。" }),
    )
    .await;
    b.ok(&b.office, id, json!({ "action": "approve_reply" }))
        .await;
    let seen = b.get(&b.alice, id).await;
    assert_eq!(
        seen.body["reply"],
        "已抢修管道并完成水质检测，今日恢复供水。"
    );
    assert!(
        seen.body.get("internal_note").is_none(),
        "internal notes stay with staff"
    );
    assert!(seen.body.get("contact_phone").is_none());
    let on_board = b.app.get(&format!("/api/v1/board/{id}"), None).await;
    assert_eq!(on_board.body["status"], "replied");

    // Unsatisfied: the office reopens, back to the department with a new deadline.
    let r = b
        .act(
            &b.alice,
            id,
            json!({ "action": "rate", "rating": "unsatisfied" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("solved"))
    );
    b.ok(&b.alice, id, json!({ "action": "rate", "rating": "unsatisfied", "solved": false, "comment": "水还是浑的" })).await;
    let reopened = b.ok(&b.office, id, json!({ "action": "reopen" })).await;
    assert_eq!(reopened["state"], "reopened");
    assert_eq!(reopened["reopen_count"], 1);
    b.ok(&b.handler, id, json!({ "action": "sign" })).await;
    b.ok(
        &b.handler,
        id,
        json!({ "action": "reply", "public_reply": "已加装净水设备。" }),
    )
    .await;
    b.ok(&b.office, id, json!({ "action": "approve_reply" }))
        .await;
    let closed = b
        .ok(
            &b.alice,
            id,
            json!({ "action": "rate", "rating": "satisfied", "solved": true, "comment": "谢谢" }),
        )
        .await;
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["status"], "closed");

    // Every step is in the log, in order; the resident's timeline leaves out internal steps.
    let staff = b.get(&b.office, id).await;
    assert_eq!(
        actions(&staff.body),
        [
            "submit",
            "accept",
            "assign",
            "sign",
            "request_extension",
            "approve_extension",
            "reply",
            "send_back",
            "reply",
            "approve_reply",
            "rate",
            "reopen",
            "sign",
            "reply",
            "approve_reply",
            "rate"
        ]
    );
    let resident = b.get(&b.alice, id).await;
    assert!(!actions(&resident.body).contains(&"send_back".to_string()));
    assert!(resident.body["timeline"][0].get("actor_id").is_none());
    let terminal = b.act(&b.office, id, json!({ "action": "reopen" })).await;
    assert_eq!(
        (terminal.status, terminal.code()),
        (409, "invalid_transition")
    );
    assert_eq!(terminal.body["error"]["state"], "closed");
}

/// What `allowed_actions` offers is what the server takes, by the same name: a resident shown a
/// published reply is offered `rate`, and sending that name with a rating closes the loop.
#[tokio::test]
async fn allowed_actions_speak_the_request_vocabulary() {
    let b = county().await;
    let id = b
        .submit(
            &b.alice,
            &b.appeal("路灯不亮", "石门村口的路灯坏了一个月。"),
        )
        .await;
    b.to_signed(id, "general").await;
    b.ok(
        &b.handler,
        id,
        json!({ "action": "reply", "public_reply": "已更换灯泡。" }),
    )
    .await;
    b.ok(&b.office, id, json!({ "action": "approve_reply" }))
        .await;
    let view = b.get(&b.alice, id).await;
    assert_eq!(
        view.body["allowed_actions"],
        json!(["rate"]),
        "{:?}",
        view.body
    );
    let offered = view.body["allowed_actions"][0].as_str().unwrap();
    let closed = b
        .ok(
            &b.alice,
            id,
            json!({ "action": offered, "rating": "basically_satisfied", "solved": true }),
        )
        .await;
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["rating"], "basically_satisfied");
    let last = closed["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "rate");
    assert_eq!(last["detail"]["rating"], "basically_satisfied");
}

#[tokio::test]
async fn reject_merge_return_and_information_requests() {
    let b = county().await;
    // Reject with a reason the resident sees.
    let r1 = b
        .submit(&b.alice, &b.appeal("广告", "推销净水器，电话13900001111"))
        .await;
    let r = b
        .act(
            &b.office,
            r1,
            json!({ "action": "reject", "reason": "   " }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("reason"))
    );
    b.ok(
        &b.office,
        r1,
        json!({ "action": "reject", "reason": "不属于群众诉求" }),
    )
    .await;
    let mine = b.get(&b.alice, r1).await;
    assert_eq!(
        (
            mine.body["status"].as_str(),
            mine.body["reject_reason"].as_str()
        ),
        (Some("rejected"), Some("不属于群众诉求"))
    );
    assert_eq!(
        b.app.get(&format!("/api/v1/board/{r1}"), None).await.status,
        404
    );

    // Two residents report one problem: the office sees the duplicate and merges.
    let master = b
        .submit(
            &b.alice,
            &b.appeal(
                "石门村自来水停水",
                "石门村自来水已经停水三天，井水浑浊不能喝。",
            ),
        )
        .await;
    b.ok(
        &b.office,
        master,
        json!({ "action": "accept", "urgency": "urgent" }),
    )
    .await;
    let dup = b
        .submit(
            &b.bob,
            &b.appeal(
                "自来水停水三天了",
                "我们石门村自来水停水三天，井水也浑浊，没法喝。",
            ),
        )
        .await;
    let view = b.get(&b.office, dup).await;
    let dups = view.body["duplicates"].as_array().unwrap();
    assert!(dups.iter().any(|d| d["id"] == master), "{dups:?}");
    let r = b
        .act(
            &b.office,
            dup,
            json!({ "action": "merge", "master_id": dup }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("master_id"))
    );
    b.ok(
        &b.office,
        dup,
        json!({ "action": "merge", "master_id": master }),
    )
    .await;
    b.ok(
        &b.office,
        master,
        json!({ "action": "assign", "lead_department_id": b.dept }),
    )
    .await;

    // The department returns it: misrouted, with a reason code; the record keeps who and why.
    let r = b
        .act(
            &b.handler,
            master,
            json!({ "action": "return", "reason": "blame_someone" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("reason"))
    );
    b.ok(
        &b.handler,
        master,
        json!({ "action": "return", "reason": "needs_other_department", "note": "属供水公司" }),
    )
    .await;
    let staff = b.get(&b.office, master).await;
    let ret = staff.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "return")
        .unwrap()
        .clone();
    assert_eq!(ret["department_id"].as_i64(), Some(b.dept));
    assert_eq!(ret["reason"], "needs_other_department: 属供水公司");
    assert!(ret["actor_id"].is_i64());
    b.ok(
        &b.office,
        master,
        json!({ "action": "reassign", "lead_department_id": b.other_dept }),
    )
    .await;
    b.ok(&b.other_handler, master, json!({ "action": "sign" }))
        .await;
    b.ok(
        &b.other_handler,
        master,
        json!({ "action": "reply", "public_reply": "供水公司已修复主管道。" }),
    )
    .await;
    b.ok(&b.office, master, json!({ "action": "approve_reply" }))
        .await;
    // The merged appeal keeps its own record and author, and receives the master's reply.
    let merged = b.get(&b.bob, dup).await;
    assert_eq!(merged.body["state"], "merged");
    assert_eq!(merged.body["master_id"].as_i64(), Some(master));
    assert_eq!(merged.body["reply"], "供水公司已修复主管道。");

    // Asking for more information stops nothing that has started: it happens before assignment.
    let vague = b.submit(&b.alice, &b.appeal("路坏了", "路坏了")).await;
    b.ok(
        &b.office,
        vague,
        json!({ "action": "request_info", "question": "是哪一段路？" }),
    )
    .await;
    let asked = b.get(&b.alice, vague).await;
    assert_eq!(asked.body["info_question"], "是哪一段路？");
    let r = b
        .act(&b.alice, vague, json!({ "action": "provide_info" }))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("info"))
    );
    let given = b
        .ok(
            &b.alice,
            vague,
            json!({ "action": "provide_info", "info": "石门村到白岩村的通村路，塌了一段" }),
        )
        .await;
    assert_eq!(given["state"], "submitted");
    assert!(given["content"]
        .as_str()
        .unwrap()
        .contains("【补充】石门村到白岩村"));
}

#[tokio::test]
async fn overdue_escalation_and_unrated_closing_run_on_a_controllable_clock() {
    let b = county().await;
    let urgent = b
        .submit(
            &b.alice,
            &b.appeal("山体裂缝", "石门村后山出现裂缝，担心滑坡。"),
        )
        .await;
    b.to_signed(urgent, "urgent").await; // accepted Monday 10:00: due Tuesday night
    let view = b.get(&b.office, urgent).await;
    assert_eq!(view.body["deadline_at"], "2025-09-30T15:59:59Z");
    let state = &b.app.state;
    let round = minxin::board::supervision::run_once(state).await.unwrap();
    assert_eq!(round.overdue, 0, "not overdue before the deadline");
    // The day after the deadline (the holidays begin): overdue, once.
    b.app
        .clock
        .set(Utc.with_ymd_and_hms(2025, 9, 30, 16, 30, 0).unwrap());
    let round = minxin::board::supervision::run_once(state).await.unwrap();
    assert_eq!((round.overdue, round.escalated), (1, 0));
    let round = minxin::board::supervision::run_once(state).await.unwrap();
    assert_eq!(round.overdue, 0, "never twice");
    let v = b.get(&b.office, urgent).await;
    assert_eq!(v.body["overdue"], true);
    let overdue_list = b
        .app
        .get("/api/v1/office/appeals?overdue=true", Some(&b.office))
        .await;
    assert_eq!(overdue_list.body["items"][0]["id"].as_i64(), Some(urgent));
    // Two working days later (Oct 9 and 10, after the holidays) it escalates.
    b.app.clock.set(
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2025, 10, 9, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    assert_eq!(
        minxin::board::supervision::run_once(state)
            .await
            .unwrap()
            .escalated,
        0
    );
    b.app.clock.set(
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2025, 10, 10, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    assert_eq!(
        minxin::board::supervision::run_once(state)
            .await
            .unwrap()
            .escalated,
        1
    );
    let notices = b
        .app
        .get("/api/v1/supervision/notices", Some(&b.handler))
        .await;
    let levels: Vec<&str> = notices.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["escalated", "overdue"]);
    let theirs = b
        .app
        .get("/api/v1/supervision/notices", Some(&b.other_handler))
        .await;
    assert!(
        theirs.body["items"].as_array().unwrap().is_empty(),
        "each department sees its own"
    );
    // Too late to ask for more time.
    let r = b
        .act(
            &b.handler,
            urgent,
            json!({ "action": "request_extension", "reason": "太忙", "until": "2025-10-30" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "deadline_passed"));

    // A reply nobody rates closes as "not rated", which never counts as satisfied.
    b.ok(
        &b.handler,
        urgent,
        json!({ "action": "reply", "public_reply": "已安排地质队排查。" }),
    )
    .await;
    b.ok(&b.office, urgent, json!({ "action": "approve_reply" }))
        .await;
    b.app.clock.advance(chrono::Duration::days(6));
    assert_eq!(
        minxin::board::supervision::run_once(state)
            .await
            .unwrap()
            .auto_closed,
        0
    );
    b.app.clock.advance(chrono::Duration::days(2));
    assert_eq!(
        minxin::board::supervision::run_once(state)
            .await
            .unwrap()
            .auto_closed,
        1
    );
    let v = b.get(&b.alice, urgent).await;
    assert_eq!(
        (v.body["state"].as_str(), v.body["rating"].as_str()),
        (Some("closed"), None)
    );
    let staff = b.get(&b.office, urgent).await;
    let last = staff.body["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["action"].as_str(), last["actor_role"].as_str()),
        (Some("auto_close"), Some("system"))
    );
}

/// Marking overdue and writing its notice are one transaction: when the notice cannot be
/// written the appeal is not marked either, and the next round does both.
#[tokio::test]
async fn an_overdue_notice_is_never_lost_when_its_write_fails() {
    use sea_orm::ConnectionTrait;
    let b = county().await;
    let id = b
        .submit(&b.alice, &b.appeal("路灯坏了", "村口路灯坏了一个月。"))
        .await;
    b.to_signed(id, "urgent").await;
    b.app
        .clock
        .set(Utc.with_ymd_and_hms(2025, 9, 30, 16, 30, 0).unwrap());
    let state = &b.app.state;
    // A failure between the two writes: the notices table is briefly out of reach.
    let rename = |from: &str, to: &str| format!("ALTER TABLE {from} RENAME TO {to}");
    state
        .db
        .execute_unprepared(&rename("supervision_notices", "supervision_notices_away"))
        .await
        .unwrap();
    assert!(minxin::board::supervision::run_once(state).await.is_err());
    state
        .db
        .execute_unprepared(&rename("supervision_notices_away", "supervision_notices"))
        .await
        .unwrap();
    let round = minxin::board::supervision::run_once(state).await.unwrap();
    assert_eq!(round.overdue, 1, "not marked overdue without its notice");
    let notices = b
        .app
        .get("/api/v1/supervision/notices", Some(&b.handler))
        .await;
    let items = notices.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{:?}", notices.body);
    assert_eq!(
        (items[0]["appeal_id"].as_i64(), items[0]["level"].as_str()),
        (Some(id), Some("overdue"))
    );
}

/// The escalation round reads every overdue appeal, page after page, in order: hundreds not
/// yet due to escalate never hide one that is.
#[tokio::test]
async fn escalation_looks_past_the_first_page_of_overdue_appeals() {
    use sea_orm::{ActiveModelTrait, ActiveValue::NotSet, EntityTrait, Set};
    let b = county().await;
    let first = b
        .submit(&b.alice, &b.appeal("山路塌方", "通村路塌方一段。"))
        .await;
    b.to_signed(first, "urgent").await;
    // 600 appeals that went overdue only on the day of the check, stored before the one
    // that must escalate.
    let db = &b.app.state.db;
    let template = entity::appeals::Entity::find_by_id(first)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let recent = chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2025, 10, 10, 8, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    for _ in 0..6 {
        let rows = (0..100).map(|_| {
            let mut am: entity::appeals::ActiveModel = template.clone().into();
            am = am.reset_all();
            am.id = NotSet;
            am.overdue_at = Set(Some(recent));
            am
        });
        entity::appeals::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await
            .unwrap();
    }
    let last = b
        .submit(&b.alice, &b.appeal("桥面开裂", "村口小桥桥面开裂。"))
        .await;
    b.to_signed(last, "urgent").await;
    let state = &b.app.state;
    b.app
        .clock
        .set(Utc.with_ymd_and_hms(2025, 9, 30, 16, 30, 0).unwrap());
    let round = minxin::board::supervision::run_once(state).await.unwrap();
    assert_eq!(round.overdue, 2);
    // Two working days after the holidays: the two overdue since Oct 1 escalate.
    b.app.clock.set(recent + chrono::Duration::hours(1));
    let round = minxin::board::supervision::run_once(state).await.unwrap();
    assert_eq!(round.escalated, 2);
    assert_eq!(b.get(&b.office, last).await.body["escalated"], true);
}

/// The deadline clock starts at acceptance (day 0 is the acceptance day), not at assignment:
/// an appeal that waited a day in the office to be assigned does not gain that day.
#[tokio::test]
async fn the_deadline_counts_from_acceptance_not_assignment() {
    let b = county().await;
    let id = b
        .submit(&b.alice, &b.appeal("井水浑浊", "石门村井水浑浊发黄。"))
        .await;
    // Accepted Monday 10:00 as urgent: due Tuesday night, whenever it is assigned.
    b.ok(
        &b.office,
        id,
        json!({ "action": "accept", "urgency": "urgent" }),
    )
    .await;
    b.app.clock.set(
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2025, 9, 30, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let assigned = b
        .ok(
            &b.office,
            id,
            json!({ "action": "assign", "lead_department_id": b.dept }),
        )
        .await;
    assert_eq!(assigned["deadline_at"], "2025-09-30T15:59:59Z");
    // Returned and given to another department: the clock does not restart either.
    b.ok(
        &b.handler,
        id,
        json!({ "action": "return", "reason": "not_our_remit", "note": "" }),
    )
    .await;
    let moved = b
        .ok(
            &b.office,
            id,
            json!({ "action": "reassign", "lead_department_id": b.other_dept }),
        )
        .await;
    assert_eq!(moved["deadline_at"], "2025-09-30T15:59:59Z");
}

#[tokio::test]
async fn two_staff_acting_at_once_cannot_both_win() {
    let b = county().await;
    let id = b
        .submit(&b.alice, &b.appeal("路灯坏了", "石门村口路灯坏了一个月。"))
        .await;
    let v = b.get(&b.office, id).await.body["version"].as_i64().unwrap();
    let (x, y) = tokio::join!(
        b.act_at(
            &b.office,
            id,
            v,
            json!({ "action": "accept", "urgency": "general" })
        ),
        b.act_at(
            &b.admin,
            id,
            v,
            json!({ "action": "reject", "reason": "重复" })
        ),
    );
    let mut statuses = [x.status, y.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{:?} {:?}", x.body, y.body);
    let loser = if x.status == 409 { &x } else { &y };
    assert!(["version_conflict", "invalid_transition"].contains(&loser.code()));
    assert!(loser.body["error"]["state"].is_string());
    let staff = b.get(&b.office, id).await;
    assert_eq!(
        actions(&staff.body).len(),
        2,
        "submit and exactly one decision"
    );
    // A stale version is refused even when the action would be allowed.
    let r = b
        .act_at(
            &b.office,
            id,
            v,
            json!({ "action": "request_info", "question": "?" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "version_conflict"));
    assert_eq!(r.body["error"]["version"].as_i64(), Some(v + 1));
}

#[tokio::test]
async fn roles_and_privacy_of_appeals() {
    let b = county().await;
    let mut private = b.appeal("家庭纠纷", "邻居占用我家宅基地。");
    private["is_public"] = json!(false);
    let id = b.submit(&b.alice, &private).await;
    // Someone else's private appeal does not exist for them.
    assert_eq!(b.get(&b.bob, id).await.status, 404);
    assert_eq!(
        b.get(&b.handler, id).await.status,
        404,
        "not yet assigned to the department"
    );
    assert_eq!(
        b.act(&b.bob, id, json!({ "action": "provide_info", "info": "x" }))
            .await
            .status,
        404
    );
    // Roles the table does not admit for an action are refused with 403.
    let r = b
        .act(
            &b.alice,
            id,
            json!({ "action": "accept", "urgency": "urgent" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "action_not_permitted"));
    b.to_signed(id, "time_limited").await;
    let r = b
        .act(
            &b.office,
            id,
            json!({ "action": "reply", "public_reply": "x" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "action_not_permitted"));
    assert_eq!(
        b.act(
            &b.other_handler,
            id,
            json!({ "action": "reply", "public_reply": "x" })
        )
        .await
        .status,
        404
    );
    let (leader, _) = b.app.user_with_role(Role::Leader).await;
    let r = b.act(&leader, id, json!({ "action": "sign" })).await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    assert_eq!(b.get(&leader, id).await.status, 200, "leaders may read");
    // Staff of the lead department see the contact phone; the author's view never shows it.
    assert_eq!(
        b.get(&b.handler, id).await.body["contact_phone"],
        "13812345678"
    );
    assert!(b.get(&leader, id).await.body.get("contact_phone").is_none());
    // A private appeal is answered privately and never reaches the board.
    b.ok(
        &b.handler,
        id,
        json!({ "action": "reply", "public_reply": "已调解。" }),
    )
    .await;
    let published = b
        .ok(&b.office, id, json!({ "action": "approve_reply" }))
        .await;
    assert_eq!(published["reply_private"], true);
    assert_eq!(b.get(&b.alice, id).await.body["reply"], "已调解。");
    assert_eq!(
        b.app.get(&format!("/api/v1/board/{id}"), None).await.status,
        404
    );
    // Unsuitable for publication: a public appeal answered privately shows no reply on the board.
    let public = b
        .submit(&b.alice, &b.appeal("低保问题", "我家低保被取消了。"))
        .await;
    b.to_signed(public, "general").await;
    b.ok(
        &b.handler,
        public,
        json!({ "action": "reply", "public_reply": "经核查，您家庭收入超标。" }),
    )
    .await;
    b.ok(
        &b.office,
        public,
        json!({ "action": "approve_reply", "private": true }),
    )
    .await;
    let item = b.app.get(&format!("/api/v1/board/{public}"), None).await;
    assert_eq!(
        (item.status, item.body["reply"].clone()),
        (200, Value::Null)
    );
    assert_eq!(
        b.get(&b.alice, public).await.body["reply"],
        "经核查，您家庭收入超标。"
    );
}

#[tokio::test]
async fn submissions_are_validated_field_by_field() {
    let b = county().await;
    let good = b.appeal("标题", "内容");
    let cases: Vec<(Value, &str)> = vec![
        (json!({"title": ""}), "title"),
        (json!({"title": "长".repeat(101)}), "title"),
        (json!({"content": "  "}), "content"),
        (json!({"content": "字".repeat(5001)}), "content"),
        (json!({"category_id": 999}), "category_id"),
        (json!({"village_id": 999}), "village_id"),
        (json!({"lat": 26.5}), "lng"),
        (json!({"lat": 95.0, "lng": 106.0}), "lat"),
        (json!({"contact_phone": "call me"}), "contact_phone"),
        (json!({"title": "bell\u{7}"}), "title"),
        (json!({"category_id": "water"}), "category_id"),
    ];
    for (patch, field) in cases {
        let mut body = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = b
            .submit_with_key(&b.alice, &uuid::Uuid::new_v4().to_string(), &body)
            .await;
        assert_eq!(
            (r.status, r.body["error"]["field"].as_str()),
            (422, Some(field)),
            "{patch}"
        );
    }
    let r = b
        .app
        .send(
            b.app
                .http
                .post(b.app.url("/api/v1/appeals"))
                .bearer_auth(&b.alice)
                .json(&good),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("Idempotency-Key"))
    );
    let r = b.submit_with_key(&b.alice, "键", &good).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("Idempotency-Key"))
    );
    let r = b.submit_with_key(&b.office, "k", &good).await;
    assert_eq!(
        (r.status, r.code()),
        (403, "forbidden"),
        "staff do not file appeals as residents"
    );
    let mine = b.app.get("/api/v1/my/appeals", Some(&b.alice)).await;
    assert!(
        mine.body["items"].as_array().unwrap().is_empty(),
        "nothing half-written"
    );
}

#[tokio::test]
async fn flagged_text_waits_for_the_office_and_is_never_dropped() {
    let b = county().await;
    let r = b
        .app
        .post(
            "/api/v1/sensitive-words",
            Some(&b.admin),
            json!({ "word": "法轮" }),
        )
        .await;
    assert_eq!(r.status, 204);
    let id = b
        .submit(&b.alice, &b.appeal("问题", "有人宣传法 轮功"))
        .await;
    let v = b.get(&b.alice, id).await;
    assert_eq!(
        (v.body["state"].as_str(), v.body["status"].as_str()),
        (Some("held_for_review"), Some("received"))
    );
    assert!(v.body.get("hold_reason").is_none());
    let inbox = b
        .app
        .get(
            "/api/v1/office/appeals?state=held_for_review",
            Some(&b.office),
        )
        .await;
    assert_eq!(inbox.body["items"][0]["id"].as_i64(), Some(id));
    assert!(b.get(&b.office, id).await.body["hold_reason"]
        .as_str()
        .unwrap()
        .contains("法轮"));
    let released = b.ok(&b.office, id, json!({ "action": "release" })).await;
    assert_eq!(released["state"], "submitted");
}

#[tokio::test]
async fn the_public_board_masks_filters_searches_and_pages() {
    let b = county().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let body = json!({
            "title": format!("第{i}组通村路塌方"), "category_id": b.category, "village_id": b.village,
            "content": format!("石门村第{i}组通村路塌方，联系人电话13812345678，身份证522123199001011234。"),
            "is_public": true,
        });
        let id = b.submit(&b.alice, &body).await;
        b.ok(
            &b.office,
            id,
            json!({ "action": "accept", "urgency": "general" }),
        )
        .await;
        ids.push(id);
    }
    let far = json!({ "title": "高坡村井水浑浊", "content": "高坡村的井水浑浊发黄。", "category_id": b.category,
        "village_id": b.far_village, "is_public": true });
    let far_id = b.submit(&b.bob, &far).await;
    b.ok(
        &b.office,
        far_id,
        json!({ "action": "accept", "urgency": "general" }),
    )
    .await;
    let unaccepted = b
        .submit(&b.bob, &b.appeal("还没受理的", "还没受理的诉求"))
        .await;

    let page = b.app.get("/api/v1/board?limit=4", None).await;
    assert_eq!(page.status, 200);
    let items = page.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["id"].as_i64(), Some(far_id), "newest first");
    let text = page.body.to_string();
    assert!(
        !text.contains("13812345678") && text.contains("138****5678"),
        "phones masked"
    );
    assert!(!text.contains("522123199001011234"), "ID numbers masked");
    assert!(!text.contains("author") && !text.contains("contact_phone"));
    assert!(
        !text.contains(&format!("\"id\":{unaccepted}")),
        "only accepted appeals"
    );
    let cursor = page.body["next_cursor"].as_i64().unwrap();
    let rest = b
        .app
        .get(&format!("/api/v1/board?limit=4&cursor={cursor}"), None)
        .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 2);
    assert!(rest.body["next_cursor"].is_null());

    let found = b.app.get("/api/v1/board?q=井水", None).await;
    let found: Vec<i64> = found.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(found, [far_id], "Chinese search without spaces");
    let found = b.app.get("/api/v1/board?q=通村路%20塌方", None).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 5);
    let by_village = b
        .app
        .get(&format!("/api/v1/board?village_id={}", b.far_village), None)
        .await;
    assert_eq!(by_village.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(by_village.body["items"][0]["township"], "高坡乡");
    let processing = b.app.get("/api/v1/board?status=processing", None).await;
    assert_eq!(processing.body["items"].as_array().unwrap().len(), 6);
    let closed = b.app.get("/api/v1/board?status=closed", None).await;
    assert!(closed.body["items"].as_array().unwrap().is_empty());
    for (q, field) in [
        ("status=done", "status"),
        ("limit=500", "limit"),
        ("q=水", "q"),
        ("cursor=abc", "query"),
    ] {
        let r = b.app.get(&format!("/api/v1/board?{q}"), None).await;
        assert_eq!(
            (r.status, r.body["error"]["field"].as_str()),
            (422, Some(field)),
            "{q}"
        );
    }
    // Similar appeals before submitting: the resident sees public ones, masked.
    let sim = b
        .app
        .post("/api/v1/appeals/similar", Some(&b.bob), json!({
            "title": "通村路塌方", "content": "石门村第3组通村路塌方了", "category_id": b.category, "village_id": b.village
        }))
        .await;
    assert_eq!(sim.status, 200, "{:?}", sim.body);
    assert!(!sim.body.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_working_day_calendar_is_data_an_admin_maintains() {
    let b = county().await;
    let r = b.app.get("/api/v1/calendar/days?year=2026", None).await;
    assert!(r
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["date"] == "2026-02-17" && d["kind"] == "holiday"));
    let r = b
        .app
        .post(
            "/api/v1/calendar/import",
            Some(&b.admin),
            json!({ "csv": "date,kind,name\n2027-02-30,holiday,x\n" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("csv"))
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2"),
        "{:?}",
        r.body
    );
    let put = b
        .app
        .send(
            b.app
                .http
                .put(b.app.url("/api/v1/calendar/days/2025-09-30"))
                .bearer_auth(&b.admin)
                .json(&json!({ "kind": "holiday", "name": "县庆" })),
        )
        .await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    // With Tuesday a holiday, an urgent appeal assigned Monday is due Thursday Oct 9.
    let id = b.submit(&b.alice, &b.appeal("急事", "急事急办")).await;
    b.to_signed(id, "urgent").await;
    assert_eq!(
        b.get(&b.office, id).await.body["deadline_at"],
        "2025-10-09T15:59:59Z"
    );
    let bad = b
        .app
        .send(
            b.app
                .http
                .put(b.app.url("/api/v1/calendar/days/30-09-2025"))
                .bearer_auth(&b.admin)
                .json(&json!({ "kind": "holiday" })),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (422, Some("date"))
    );
    let bad = b
        .app
        .send(
            b.app
                .http
                .put(b.app.url("/api/v1/calendar/days/2025-09-30"))
                .bearer_auth(&b.admin)
                .json(&json!({ "kind": "party" })),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (422, Some("kind"))
    );
    let del = b
        .app
        .send(
            b.app
                .http
                .delete(b.app.url("/api/v1/calendar/days/2025-09-30"))
                .bearer_auth(&b.admin),
        )
        .await;
    assert_eq!(del.status, 204);
    let del = b
        .app
        .send(
            b.app
                .http
                .delete(b.app.url("/api/v1/calendar/days/2025-09-30"))
                .bearer_auth(&b.admin),
        )
        .await;
    assert_eq!(del.status, 404);
}

/// Every action in every state reached here, tried by every role: what the transition table
/// does not admit is refused (403 for the wrong role, 409 for the wrong state, 404 for someone
/// with no part in the appeal), and a refusal changes nothing.
#[tokio::test]
async fn every_action_is_refused_to_every_role_the_table_does_not_admit() {
    use minxin::board::workflow::{ActionKind, ActorRole, AppealState, TRANSITIONS};
    let b = county().await;
    let (leader, _) = b.app.user_with_role(Role::Leader).await;
    let mut appeals: Vec<(AppealState, i64)> = Vec::new();
    let fresh = |t: &str| b.appeal(t, "石门村的问题需要处理。");
    let s = b.submit(&b.alice, &fresh("submitted")).await;
    appeals.push((AppealState::Submitted, s));
    let a = b.submit(&b.alice, &fresh("accepted")).await;
    b.ok(
        &b.office,
        a,
        json!({ "action": "accept", "urgency": "general" }),
    )
    .await;
    appeals.push((AppealState::Accepted, a));
    let x = b.submit(&b.alice, &fresh("assigned")).await;
    b.ok(
        &b.office,
        x,
        json!({ "action": "accept", "urgency": "general" }),
    )
    .await;
    b.ok(
        &b.office,
        x,
        json!({ "action": "assign", "lead_department_id": b.dept }),
    )
    .await;
    appeals.push((AppealState::Assigned, x));
    let g = b.submit(&b.alice, &fresh("signed")).await;
    b.to_signed(g, "general").await;
    appeals.push((AppealState::Signed, g));
    let r = b.submit(&b.alice, &fresh("replied")).await;
    b.to_signed(r, "general").await;
    b.ok(
        &b.handler,
        r,
        json!({ "action": "reply", "public_reply": "已处理" }),
    )
    .await;
    appeals.push((AppealState::Replied, r));
    let p = b.submit(&b.alice, &fresh("published")).await;
    b.to_signed(p, "general").await;
    b.ok(
        &b.handler,
        p,
        json!({ "action": "reply", "public_reply": "已处理" }),
    )
    .await;
    b.ok(&b.office, p, json!({ "action": "approve_reply" }))
        .await;
    appeals.push((AppealState::Published, p));
    let u = b.submit(&b.alice, &fresh("unsatisfied")).await;
    b.to_signed(u, "general").await;
    b.ok(
        &b.handler,
        u,
        json!({ "action": "reply", "public_reply": "已处理" }),
    )
    .await;
    b.ok(&b.office, u, json!({ "action": "approve_reply" }))
        .await;
    b.ok(
        &b.alice,
        u,
        json!({ "action": "rate", "rating": "unsatisfied", "solved": false }),
    )
    .await;
    appeals.push((AppealState::RatedUnsatisfied, u));
    let j = b.submit(&b.alice, &fresh("rejected")).await;
    b.ok(
        &b.office,
        j,
        json!({ "action": "reject", "reason": "不受理" }),
    )
    .await;
    appeals.push((AppealState::Rejected, j));

    let body = |k: ActionKind| -> Value {
        let mut v = match k {
            ActionKind::Accept => json!({ "urgency": "urgent" }),
            ActionKind::Reject | ActionKind::RequestExtension | ActionKind::SendBack => {
                json!({ "reason": "理由", "until": "2030-01-01" })
            }
            ActionKind::RequestInfo => json!({ "question": "哪里？" }),
            ActionKind::Merge => json!({ "master_id": s }),
            ActionKind::Assign | ActionKind::Reassign => json!({ "lead_department_id": b.dept }),
            ActionKind::Return => json!({ "reason": "other", "note": "x" }),
            ActionKind::Rate => json!({ "rating": "satisfied", "solved": true }),
            _ => json!({}),
        };
        v["action"] = json!(k);
        v
    };
    // Who tries, and as whom the table sees them (None: no part in the appeal).
    let tries: Vec<(&str, &String, Option<ActorRole>)> = vec![
        ("author", &b.alice, Some(ActorRole::Resident)),
        ("other resident", &b.bob, None),
        ("office", &b.office, Some(ActorRole::Office)),
        ("admin", &b.admin, Some(ActorRole::Office)),
        ("lead handler", &b.handler, Some(ActorRole::Handler)),
        ("other handler", &b.other_handler, None),
        ("leader", &leader, None),
    ];
    let mut refused = 0;
    for (state, id) in &appeals {
        let before = b.get(&b.office, *id).await.body["version"]
            .as_i64()
            .unwrap();
        for kind in <ActionKind as sea_orm::Iterable>::iter() {
            for (who, token, actor) in &tries {
                let lead_dept_set = !matches!(
                    state,
                    AppealState::Submitted | AppealState::Accepted | AppealState::Rejected
                );
                let rows: Vec<_> = TRANSITIONS
                    .iter()
                    .filter(|t| t.from == *state && t.action == kind)
                    .collect();
                let expected: (u16, &str) = match (*who, actor) {
                    ("leader", _) => (403, "forbidden"),
                    ("other resident", _) => (404, "not_found"),
                    ("lead handler", _) if !lead_dept_set => (404, "not_found"),
                    ("other handler", _) => (404, "not_found"),
                    (_, Some(role)) if rows.iter().any(|t| t.actor == *role) => continue,
                    _ if rows.is_empty() => (409, "invalid_transition"),
                    _ => (403, "action_not_permitted"),
                };
                let r = b.act_at(token, *id, before, body(kind)).await;
                assert_eq!(
                    (r.status, r.code()),
                    expected,
                    "{who} tried {kind} in {state}: {:?}",
                    r.body
                );
                refused += 1;
            }
        }
        let after = b.get(&b.office, *id).await.body["version"]
            .as_i64()
            .unwrap();
        assert_eq!(before, after, "refusals change nothing ({state})");
    }
    assert!(refused > 1000, "{refused}");
}
