//! WeChat platform services against the fake WeChat: the shared access token (one fetch under
//! load, one refresh and one retry on 40001, forced-refresh limits, bounded waits, configuration
//! errors on /readyz), phone numbers, and subscription messages sent from the outbox.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use minxin::auth::Role;
use minxin::config::{Secret, Settings, TemplateSettings};
use minxin::wechat::client::WechatError;
use minxin::wechat::fake::{Endpoint, Fault};
use minxin::wechat::platform::Idempotent;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use crate::common::{spawn_with, TestApp};

const REPLIED: &str = "TPL-replied-0001";
const ACCEPTED: &str = "TPL-accepted-0002";

fn with_templates(s: &mut Settings) {
    let fields = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    s.wechat.templates.insert(
        "appeal_replied".into(),
        TemplateSettings {
            template_id: REPLIED.into(),
            page: "pages/appeal/detail?id={id}".into(),
            fields: fields(&[
                ("thing1", "title"),
                ("phrase2", "status"),
                ("thing3", "note"),
                ("time4", "time"),
            ]),
        },
    );
    s.wechat.templates.insert(
        "appeal_accepted".into(),
        TemplateSettings {
            template_id: ACCEPTED.into(),
            page: "pages/appeal/detail?id={id}".into(),
            fields: fields(&[("thing1", "title"), ("phrase2", "status")]),
        },
    );
}

/// Logs a resident in with a code of our choosing, so the test knows their openid.
async fn resident(app: &TestApp, name: &str) -> (String, String, i64) {
    let who = format!("{name}{}", uuid::Uuid::new_v4().simple());
    let r = app.login(&format!("{who}-1")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    (
        r.body["access_token"].as_str().unwrap().to_string(),
        minxin::wechat::fake::openid_for(&who),
        r.body["user"]["id"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_and_the_call_retried_once() {
    let app = spawn_with(|s| {
        s.wechat.force_refresh_spacing_secs = 1;
        s.wechat.force_refresh_per_day = 2;
    })
    .await;
    let (token, openid, _) = resident(&app, "phone").await;
    let code = app.wechat.phone_code(&openid, "13812345678");
    let r = app
        .post("/api/v1/me/phone", Some(&token), json!({ "code": code }))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(app.wechat.calls_to(Endpoint::StableToken), 1);

    // WeChat invalidates the token: exactly one refresh, exactly one retry.
    app.wechat.revoke_token();
    let code = app.wechat.phone_code(&openid, "13812345678");
    let r = app
        .post("/api/v1/me/phone", Some(&token), json!({ "code": code }))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(app.wechat.calls_to(Endpoint::StableToken), 2);
    assert_eq!(app.wechat.calls_to(Endpoint::PhoneNumber), 3);
    assert_eq!(app.wechat.force_refreshes(), 0, "normal mode sufficed");

    // WeChat keeps refusing a token it hands out again in normal mode: one forced refresh,
    // one retry, then the error; never a loop.
    app.wechat
        .inject_at(Endpoint::PhoneNumber, Fault::ErrCode(40001));
    app.wechat
        .inject_at(Endpoint::PhoneNumber, Fault::ErrCode(40001));
    let code = app.wechat.phone_code(&openid, "13812345678");
    let r = app
        .post("/api/v1/me/phone", Some(&token), json!({ "code": code }))
        .await;
    assert_eq!((r.status, r.code()), (502, "wechat_error"), "{:?}", r.body);
    assert_eq!(app.wechat.calls_to(Endpoint::PhoneNumber), 5);
    assert_eq!(app.wechat.calls_to(Endpoint::StableToken), 4);
    assert_eq!(app.wechat.force_refreshes(), 1);

    // Forced refreshes keep WeChat's spacing and daily limit.
    let refused = app.state.platform.force_refresh().await;
    assert_eq!(refused, Err(WechatError::RateLimited), "too soon");
    assert_eq!(app.wechat.force_refreshes(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.state.platform.force_refresh().await.unwrap();
    assert_eq!(app.wechat.force_refreshes(), 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refused = app.state.platform.force_refresh().await;
    assert_eq!(refused, Err(WechatError::RateLimited), "daily limit");
    assert_eq!(app.wechat.force_refreshes(), 2);
    let metrics = app.get("/metrics", None).await;
    let text = metrics.body.as_str().unwrap();
    assert!(
        text.contains(r#"minxin_wechat_token_refreshes_total{mode="force",outcome="refused"} 2"#),
        "{text}"
    );
    for t in app.wechat.issued_tokens() {
        assert!(!text.contains(&t), "a token reached the metrics");
    }
}

#[tokio::test]
async fn concurrent_callers_fetch_the_token_once_and_waits_are_bounded() {
    let app = spawn_with(|s| s.wechat.token_wait_ms = 3000).await;
    app.wechat.inject_at(
        Endpoint::StableToken,
        Fault::Delay(Duration::from_millis(300)),
    );
    let platform = app.state.platform.clone();
    let calls = (0..20).map(|_| {
        let p = platform.clone();
        tokio::spawn(async move { p.token().await })
    });
    let tokens: Vec<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap().expose().to_string())
        .collect();
    assert_eq!(app.wechat.calls_to(Endpoint::StableToken), 1);
    assert!(tokens.iter().all(|t| t == &tokens[0]));

    // Refreshed ahead of expiry: close to it, the next caller fetches again.
    app.clock.advance(chrono::Duration::seconds(7200 - 200));
    platform.token().await.unwrap();
    assert_eq!(app.wechat.calls_to(Endpoint::StableToken), 2);

    // A refresh that hangs past the wait gives waiters a clear error in time, not a hang.
    let slow = spawn_with(|s| {
        s.wechat.token_wait_ms = 300;
        s.wechat.timeout_ms = 5000;
    })
    .await;
    slow.wechat
        .inject_at(Endpoint::StableToken, Fault::Delay(Duration::from_secs(3)));
    let start = Instant::now();
    let err = slow.state.platform.token().await.unwrap_err();
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(err, WechatError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn busy_is_retried_only_for_idempotent_calls_and_limits_open_a_breaker() {
    let app = spawn_with(|s| s.wechat.retry_backoff_ms = 10).await;
    let body = json!({"content": "村里的路", "version": 2, "scene": 1, "openid": "demo_x"});
    app.wechat
        .inject_at(Endpoint::MsgSecCheck, Fault::ErrCode(-1));
    let p = &app.state.platform;
    p.call(
        "msg_sec_check",
        "/wxa/msg_sec_check",
        &body,
        Idempotent::Yes,
    )
    .await
    .unwrap();
    assert_eq!(app.wechat.calls_to(Endpoint::MsgSecCheck), 2, "retried");
    app.wechat
        .inject_at(Endpoint::MsgSecCheck, Fault::ErrCode(-1));
    let err = p
        .call("msg_sec_check", "/wxa/msg_sec_check", &body, Idempotent::No)
        .await
        .unwrap_err();
    assert!(err.is_busy());
    assert_eq!(app.wechat.calls_to(Endpoint::MsgSecCheck), 3, "not retried");
    app.wechat
        .inject_at(Endpoint::MsgSecCheck, Fault::ErrCode(45011));
    let err = p
        .call(
            "msg_sec_check",
            "/wxa/msg_sec_check",
            &body,
            Idempotent::Yes,
        )
        .await
        .unwrap_err();
    assert_eq!(err, WechatError::RateLimited);
    let again = p
        .call(
            "msg_sec_check",
            "/wxa/msg_sec_check",
            &body,
            Idempotent::Yes,
        )
        .await
        .unwrap_err();
    assert_eq!(again, WechatError::RateLimited);
    assert_eq!(
        app.wechat.calls_to(Endpoint::MsgSecCheck),
        4,
        "the breaker answers without asking WeChat"
    );
}

#[tokio::test]
async fn a_wrong_secret_shows_on_readyz_and_metrics_and_is_not_retried_blindly() {
    let app = spawn_with(|s| s.wechat.app_secret = Secret::new("not-the-secret")).await;
    let r = app.get("/readyz", None).await;
    assert_eq!((r.status, r.body["wechat"].as_str()), (200, Some("ok")));
    let err = app.state.platform.token().await.unwrap_err();
    assert_eq!(err.config_errcode(), Some(40125), "{err:?}");
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "degraded");
    assert_eq!(r.body["wechat"], "config_error 40125");
    let m = app.get("/metrics", None).await;
    assert!(m
        .body
        .as_str()
        .unwrap()
        .contains("minxin_wechat_config_error 40125"));
    let again = app.state.platform.token().await.unwrap_err();
    assert_eq!(again.config_errcode(), Some(40125));
    assert_eq!(
        app.wechat.calls_to(Endpoint::StableToken),
        1,
        "not retried while the breaker holds"
    );
    assert!(!m.body.as_str().unwrap().contains("not-the-secret"));
}

#[tokio::test]
async fn a_verified_phone_is_stored_encrypted_and_answered_masked() {
    let app = spawn_with(|_| {}).await;
    let (token, openid, user_id) = resident(&app, "ph").await;
    let (_, other_openid, _) = resident(&app, "other").await;
    let theirs = app.wechat.phone_code(&other_openid, "13900001111");
    let r = app
        .post("/api/v1/me/phone", Some(&token), json!({ "code": theirs }))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("code")),
        "another user's code is refused"
    );
    assert_eq!(
        app.wechat.calls_to(Endpoint::PhoneNumber),
        1,
        "a used code is not retried"
    );
    for bad in [
        json!({ "code": "" }),
        json!({ "code": "x".repeat(129) }),
        json!({}),
    ] {
        let r = app.post("/api/v1/me/phone", Some(&token), bad).await;
        assert_eq!(r.status, 422, "{:?}", r.body);
    }
    let code = app.wechat.phone_code(&openid, "13812345678");
    let r = app
        .post("/api/v1/me/phone", Some(&token), json!({ "code": code }))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["phone_masked"], "138****5678");
    let row = entity::users::Entity::find_by_id(user_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let enc = row.phone_enc.unwrap();
    assert!(!enc.contains("13812345678") && !enc.contains("5678"));
    assert_eq!(
        minxin::auth::phone::users_by_phone(&app.state, "+86 138-1234-5678")
            .await
            .unwrap(),
        vec![user_id]
    );
    let v = minxin::auth::phone::verified_phone(&app.state, user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.number.expose(), "13812345678");
    // WeChat down: a clear 503, nothing stored twice, the code not burnt by a retry.
    app.wechat.set_outage(true);
    let code = app.wechat.phone_code(&openid, "13700000000");
    let r = app
        .post("/api/v1/me/phone", Some(&token), json!({ "code": code }))
        .await;
    assert_eq!((r.status, r.code()), (503, "wechat_unavailable"));
}

struct County {
    app: TestApp,
    office: String,
    handler: String,
    dept: i64,
    category: i64,
    village: i64,
}

async fn county(configure: impl FnOnce(&mut Settings)) -> County {
    let app = spawn_with(|s| {
        with_templates(s);
        // The tests run the worker's rounds themselves, at the moments they choose.
        s.wechat.notify_interval_ms = 0;
        configure(s);
    })
    .await;
    let (admin, _) = app.user_with_role(Role::Admin).await;
    let (office, _) = app.user_with_role(Role::Office).await;
    let (handler, h) = app.user_with_role(Role::Handler).await;
    let dept = h["department_id"].as_i64().unwrap();
    let c = app
        .post(
            "/api/v1/categories",
            Some(&admin),
            json!({ "name": "道路交通", "default_department_id": dept }),
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
    async fn act(&self, token: &str, id: i64, mut action: Value) {
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
    }

    async fn submit(&self, token: &str, title: &str) -> i64 {
        let req = self
            .app
            .http
            .post(self.app.url("/api/v1/appeals"))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({
                "title": title, "content": "路面塌陷，车辆无法通行，请尽快处理。",
                "category_id": self.category, "village_id": self.village, "is_public": true
            }));
        let r = self.app.send(req).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_i64().unwrap()
    }

    async fn to_published_reply(&self, id: i64, reply: &str) {
        self.act(
            &self.office,
            id,
            json!({"action": "accept", "urgency": "general"}),
        )
        .await;
        self.act(
            &self.office,
            id,
            json!({"action": "assign", "lead_department_id": self.dept}),
        )
        .await;
        self.act(&self.handler, id, json!({"action": "sign"})).await;
        self.act(
            &self.handler,
            id,
            json!({"action": "reply", "public_reply": reply}),
        )
        .await;
        self.act(&self.office, id, json!({"action": "approve_reply"}))
            .await;
    }

    async fn round(&self, worker: &str) -> minxin::notify::worker::RoundReport {
        minxin::notify::worker::round(&self.app.state, worker)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_published_reply_reaches_the_residents_inbox_with_trimmed_fields() {
    let c = county(|_| {}).await;
    let (token, openid, _) = resident(&c.app, "notify").await;
    // What wx.requestSubscribeMessage returned, passed on as is.
    let r = c
        .app
        .post(
            "/api/v1/my/subscriptions",
            Some(&token),
            json!({ REPLIED: "accept", ACCEPTED: "reject", "errMsg": "requestSubscribeMessage:ok" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let items = r.body["items"].as_array().unwrap();
    let replied = items
        .iter()
        .find(|i| i["kind"] == "appeal_replied")
        .unwrap();
    assert_eq!(replied["available"], 1);
    for bad in [json!({"TPL-unknown": "accept"}), json!({ REPLIED: "yes" })] {
        let r = c
            .app
            .post("/api/v1/my/subscriptions", Some(&token), bad)
            .await;
        assert_eq!(r.status, 422, "{:?}", r.body);
    }

    let title = "石门村到县城的公路路面塌陷已经三个多月了仍未修复";
    let id = c.submit(&token, title).await;
    let reply = "  已安排  公路养护中心于本周内完成塌陷路段的修复工作，并设置警示标志  ";
    c.to_published_reply(id, reply).await;
    let report = c.round("w1").await;
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(
        report.skipped, 1,
        "accepted: the resident refused that template"
    );
    let inbox = c.app.wechat.inbox();
    assert_eq!(inbox.len(), 1);
    let m = &inbox[0];
    assert_eq!(m["touser"], openid.as_str());
    assert_eq!(m["template_id"], REPLIED);
    assert_eq!(m["page"], format!("pages/appeal/detail?id={id}"));
    let thing1 = m["data"]["thing1"]["value"].as_str().unwrap();
    assert_eq!(thing1.chars().count(), 20);
    assert!(thing1.starts_with("石门村到县城") && thing1.ends_with('…'));
    assert_eq!(m["data"]["phrase2"]["value"], "已答复");
    let thing3 = m["data"]["thing3"]["value"].as_str().unwrap();
    assert!(thing3.starts_with("已安排 公路养护中心"), "{thing3}");
    assert_eq!(thing3.chars().count(), 20);
    let time4 = m["data"]["time4"]["value"].as_str().unwrap();
    assert_eq!(time4.len(), "2026-12-01 19:30".len(), "{time4}");

    // The consent is used up; the next round has nothing to send.
    let r = c.app.get("/api/v1/my/subscriptions", Some(&token)).await;
    let replied = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "appeal_replied")
        .unwrap()
        .clone();
    assert_eq!(replied["available"], 0);
    assert_eq!(c.round("w1").await, Default::default());

    let outbox = c
        .app
        .get("/api/v1/office/notifications", Some(&c.office))
        .await;
    assert_eq!(outbox.status, 200, "{:?}", outbox.body);
    let count = |kind: &str, status: &str| {
        outbox.body["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["kind"] == kind && x["status"] == status)
            .map(|x| x["count"].as_u64().unwrap())
    };
    assert_eq!(count("appeal_replied", "sent"), Some(1));
    assert_eq!(count("appeal_accepted", "skipped"), Some(1));
    let failure = &outbox.body["recent_failures"][0];
    assert_eq!(failure["last_error"], "no_consent");
    let r = c
        .app
        .get("/api/v1/office/notifications", Some(&token))
        .await;
    assert_eq!(r.status, 403);
    let m = c.app.get("/metrics", None).await;
    assert!(
        m.body.as_str().unwrap().contains(&format!(
            r#"minxin_notifications{{kind="appeal_replied",status="sent",template="{REPLIED}"}} 1"#
        )),
        "{}",
        m.body
    );
}

#[tokio::test]
async fn a_43101_is_not_retried_and_an_outage_loses_no_notification() {
    let c = county(|s| {
        s.wechat.notify_backoff_secs = 60;
        // The clock moves by hours here.
        s.auth.access_ttl_secs = 24 * 3600;
    })
    .await;
    let (token, _, _) = resident(&c.app, "outage").await;
    for _ in 0..2 {
        let r = c
            .app
            .post(
                "/api/v1/my/subscriptions",
                Some(&token),
                json!({ REPLIED: "accept" }),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let first = c.submit(&token, "路灯不亮").await;
    c.app
        .wechat
        .inject_at(Endpoint::SubscribeSend, Fault::ErrCode(43101));
    c.to_published_reply(first, "已修复").await;
    let r = c.round("w1").await;
    assert_eq!((r.failed, r.sent), (1, 0), "{r:?}");
    c.app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(c.round("w1").await.failed, 0, "a 43101 is never retried");
    assert_eq!(c.app.wechat.calls_to(Endpoint::SubscribeSend), 1);

    // WeChat is down when the second reply is published: kept, retried, sent on return.
    let second = c.submit(&token, "桥梁护栏损坏").await;
    c.app.wechat.set_outage(true);
    c.to_published_reply(second, "已更换护栏").await;
    assert_eq!(c.round("w1").await.retried, 1);
    c.app.wechat.set_outage(false);
    assert_eq!(c.round("w1").await.sent, 0, "backing off");
    c.app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(c.round("w1").await.sent, 1);
    assert_eq!(c.app.wechat.inbox().len(), 1);
    let rows = entity::notifications::Entity::find()
        .filter(entity::notifications::Column::SubjectId.eq(second))
        .filter(entity::notifications::Column::Kind.eq("appeal_replied"))
        .one(&c.app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((<&str>::from(rows.status), rows.attempts), ("sent", 2));
    let attempts = entity::notification_attempts::Entity::find()
        .filter(entity::notification_attempts::Column::NotificationId.eq(rows.id))
        .all(&c.app.state.db)
        .await
        .unwrap();
    let outcomes: Vec<&str> = attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["retry", "sent"]);
    assert!(attempts[0].error.as_deref().unwrap().contains("503"));
}

#[tokio::test]
async fn two_workers_send_each_notification_exactly_once() {
    let c = county(|_| {}).await;
    let (_, openid, user_id) = resident(&c.app, "many").await;
    const N: usize = 30;
    minxin::notify::store::add_consents(&c.app.state, user_id, &vec![REPLIED.to_string(); N], 50)
        .await
        .unwrap();
    let now = c.app.state.clock.now();
    for i in 0..N {
        minxin::notify::store::enqueue(
            &c.app.state.db,
            user_id,
            "appeal_replied",
            ("appeal", i as i64),
            &json!({"title": format!("第{i}件"), "status": "已答复", "note": "好", "time": now.to_rfc3339()}),
            now,
        )
        .await
        .unwrap();
    }
    // A slow WeChat keeps both workers busy at once.
    for _ in 0..N {
        c.app.wechat.inject_at(
            Endpoint::SubscribeSend,
            Fault::Delay(Duration::from_millis(20)),
        );
    }
    let mut sent = 0;
    for _ in 0..5 {
        let (a, b) = tokio::join!(c.round("worker-a"), c.round("worker-b"));
        sent += a.sent + b.sent;
    }
    assert_eq!(sent, N);
    let inbox = c.app.wechat.inbox();
    assert_eq!(inbox.len(), N);
    let mut titles: Vec<String> = inbox
        .iter()
        .map(|m| {
            assert_eq!(m["touser"], openid.as_str());
            m["data"]["thing1"]["value"].as_str().unwrap().to_string()
        })
        .collect();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), N, "each sent exactly once");
}

#[tokio::test]
async fn content_security_refuses_holds_and_never_loses_text_in_an_outage() {
    use minxin::board::moderation::{scene, ContentCheck, Verdict, WechatCheck};
    let app = spawn_with(|_| {}).await;
    app.wechat.flag_word("赌博", "risky", 20012);
    app.wechat.flag_word("上访", "review", 20001);
    let check = WechatCheck {
        platform: &app.state.platform,
        openid: "demo_author",
        scene: scene::FORUM,
        field: "content",
    };
    let db = &app.state.db;
    assert_eq!(
        check.check(db, "村口路灯坏了").await.unwrap(),
        Verdict::Pass
    );
    let err = check.check(db, "网上赌博").await.unwrap_err();
    assert_eq!(err.code(), "validation_failed");
    assert!(err.to_string().starts_with("content:"), "{err}");
    let Verdict::Hold(why) = check.check(db, "集体上访").await.unwrap() else {
        panic!("review is held");
    };
    assert!(why.contains("review (label 20001)"), "{why}");
    let sent = app.wechat.sec_checks();
    assert_eq!(sent[0]["version"], 2);
    assert_eq!(sent[0]["scene"], 3);
    assert_eq!(sent[0]["openid"], "demo_author");
    // WeChat down: held with the local list's verdict, never refused, never passed unchecked.
    app.wechat.set_outage(true);
    let Verdict::Hold(why) = check.check(db, "村口路灯坏了").await.unwrap() else {
        panic!("an outage holds");
    };
    assert!(why.contains("unavailable; local word list: pass"), "{why}");
    // The submission paths' entry point: off by default (word list only), WeChat when on.
    app.wechat.set_outage(false);
    let (_, _, author) = resident(&app, "sec").await;
    let off = minxin::board::moderation::check_text(&app.state, author, "content", 3, "网上赌博")
        .await
        .unwrap();
    assert_eq!(off, Verdict::Pass);
}

/// With `content_check` on, every submission path goes through WeChat for its resident author:
/// an appeal and a consultation's free text are refused on `risky` (naming the field), held for
/// the office on `review`, and held (kept, not lost) with the word list's verdict in an outage.
#[tokio::test]
async fn submissions_are_refused_held_or_kept_by_wechat_content_security() {
    let app = spawn_with(|s| s.wechat.content_check = true).await;
    app.wechat.flag_word("赌博", "risky", 20012);
    app.wechat.flag_word("上访", "review", 20001);
    let (admin, _) = app.user_with_role(Role::Admin).await;
    let (office, _) = app.user_with_role(Role::Office).await;
    let (handler, user) = app.user_with_role(Role::Handler).await;
    let dept = user["department_id"].as_i64().unwrap();
    let c = app
        .post(
            "/api/v1/categories",
            Some(&admin),
            json!({ "name": "道路", "default_department_id": dept }),
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
    let (category, village) = (
        c.body["id"].as_i64().unwrap(),
        v.body["id"].as_i64().unwrap(),
    );
    let (alice, openid, _) = resident(&app, "sec").await;
    let submit = |content: &'static str| {
        let req = app
            .http
            .post(app.url("/api/v1/appeals"))
            .bearer_auth(&alice)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({
                "title": "村里的事", "content": content, "category_id": category,
                "village_id": village, "is_public": true
            }));
        app.send(req)
    };
    let r = submit("有人网上赌博").await;
    assert_eq!(
        (r.status, r.code()),
        (422, "validation_failed"),
        "{:?}",
        r.body
    );
    assert_eq!(r.body["error"]["field"], "content", "{:?}", r.body);
    let checks = app.wechat.sec_checks();
    assert_eq!(checks.last().unwrap()["openid"], openid.as_str());
    let mine = app.get("/api/v1/my/appeals", Some(&alice)).await;
    assert!(mine.body["items"].as_array().unwrap().is_empty());

    let held_appeal = |r: crate::common::Resp, why: &'static str| {
        let app = &app;
        let office = office.clone();
        async move {
            assert_eq!(r.status, 201, "{:?}", r.body);
            let id = r.body["id"].as_i64().unwrap();
            let v = app
                .get(&format!("/api/v1/appeals/{id}"), Some(&office))
                .await;
            assert_eq!(v.body["state"], "held_for_review", "{:?}", v.body);
            let reason = v.body["hold_reason"].as_str().unwrap().to_string();
            assert!(reason.contains(why), "{reason}");
        }
    };
    held_appeal(submit("组织集体上访").await, "review (label 20001)").await;
    app.wechat.set_outage(true);
    held_appeal(
        submit("村口路灯坏了").await,
        "unavailable; local word list: pass",
    )
    .await;
    app.wechat.set_outage(false);
    let mine = app.get("/api/v1/my/appeals", Some(&alice)).await;
    assert_eq!(
        mine.body["items"].as_array().unwrap().len(),
        2,
        "nothing lost"
    );

    // A consultation's free text.
    let now = app.state.clock.now();
    let r = app
        .post(
            "/api/v1/consultations",
            Some(&handler),
            json!({
                "title": "村道硬化工程意见征集", "body": "请留下您的意见。",
                "department_id": dept,
                "opens_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
                "closes_at": (now + chrono::Duration::days(7)).to_rfc3339(),
                "results_public": false,
                "questions": [
                    { "kind": "free_text", "prompt": "其他建议", "required": true, "max_length": 50 }
                ]
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let cid = r.body["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/api/v1/consultations/{cid}/publish"),
            Some(&handler),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let answer = |token: String, text: &'static str| {
        let req = app
            .http
            .post(app.url(&format!("/api/v1/consultations/{cid}/responses")))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({ "answers": { "q1": { "text": text } }, "village_id": village }));
        app.send(req)
    };
    let (bob, _, _) = resident(&app, "bob").await;
    let r = answer(bob.clone(), "有人网上赌博").await;
    assert_eq!(
        (r.status, r.code()),
        (422, "validation_failed"),
        "{:?}",
        r.body
    );
    assert_eq!(r.body["error"]["field"], "answers", "{:?}", r.body);
    let r = answer(bob, "大家想集体上访").await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["my_opinion"]["review"], "held");
    let (carol, _, _) = resident(&app, "carol").await;
    app.wechat.set_outage(true);
    let r = answer(carol, "路面太窄").await;
    app.wechat.set_outage(false);
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["my_opinion"]["review"], "held");
    let held = app
        .get(
            &format!("/api/v1/consultations/{cid}/opinions?review=held"),
            Some(&office),
        )
        .await;
    let reasons: Vec<&str> = held.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["hold_reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{:?}", held.body);
    assert!(reasons.iter().any(|r| r.contains("review (label 20001)")));
    assert!(reasons.iter().any(|r| r.contains("unavailable")));
}

/// A consultation's outcome goes through the outbox like every other notification: with its
/// template configured and the respondent's consent, it reaches their WeChat inbox once.
#[tokio::test]
async fn a_consultation_outcome_reaches_the_respondents_inbox() {
    const OUTCOME: &str = "TPL-outcome-0003";
    let app = spawn_with(|s| {
        s.auth.access_ttl_secs = 30 * 24 * 3600;
        s.wechat.templates.insert(
            "consultation_outcome".into(),
            TemplateSettings {
                template_id: OUTCOME.into(),
                page: "pages/consult/detail?id={id}".into(),
                fields: [("thing1".to_string(), "title".to_string())].into(),
            },
        );
    })
    .await;
    let (admin, _) = app.user_with_role(Role::Admin).await;
    let (handler, user) = app.user_with_role(Role::Handler).await;
    let dept = user["department_id"].as_i64().unwrap();
    let v = app
        .post(
            "/api/v1/villages",
            Some(&admin),
            json!({ "name": "石门村", "township": "城关镇" }),
        )
        .await;
    let village = v.body["id"].as_i64().unwrap();
    let now = app.state.clock.now();
    let r = app
        .post(
            "/api/v1/consultations",
            Some(&handler),
            json!({
                "title": "村道硬化工程意见征集", "body": "请留下您的意见。",
                "department_id": dept,
                "opens_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
                "closes_at": (now + chrono::Duration::days(7)).to_rfc3339(),
                "results_public": false,
                "questions": [ { "kind": "rating", "prompt": "满意度" } ]
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let cid = r.body["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/api/v1/consultations/{cid}/publish"),
            Some(&handler),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let (token, openid, _) = resident(&app, "outcome").await;
    let r = app
        .post(
            "/api/v1/my/subscriptions",
            Some(&token),
            json!({ OUTCOME: "accept" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let req = app
        .http
        .post(app.url(&format!("/api/v1/consultations/{cid}/responses")))
        .bearer_auth(&token)
        .header("Idempotency-Key", "outcome-1")
        .json(&json!({ "answers": { "q1": { "rating": 4 } }, "village_id": village }));
    let r = app.send(req).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    app.clock.advance(chrono::Duration::days(8));
    let r = app
        .post(
            &format!("/api/v1/consultations/{cid}/outcome"),
            Some(&handler),
            json!({ "statement": "采纳意见，明年春季开工。" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let report = minxin::notify::worker::round(&app.state, "w")
        .await
        .unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    let inbox = app.wechat.inbox();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["touser"], openid.as_str());
    assert_eq!(inbox[0]["template_id"], OUTCOME);
    assert_eq!(inbox[0]["data"]["thing1"]["value"], "村道硬化工程意见征集");
    assert_eq!(
        minxin::notify::worker::round(&app.state, "w")
            .await
            .unwrap()
            .sent,
        0
    );
}
