//! The WeChat login exchange, tokens and invitations.
use std::time::{Duration, Instant};

use entity::users;
use minxin::auth::Role;
use minxin::wechat::fake::Fault;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::common::{spawn_app, spawn_with, APP_SECRET};

#[tokio::test]
async fn login_upserts_the_user_and_keeps_the_session_key_on_the_server() {
    let app = spawn_app().await;
    let r = app.login("alice-1").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["user"]["role"], "resident");
    let id = r.body["user"]["id"].as_i64().unwrap();
    let token = r.body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/me", Some(token)).await;
    assert_eq!((me.status, me.body["id"].as_i64()), (200, Some(id)));

    // Same WeChat user on a later login: same account, unionid kept.
    let again = app.login("alice-2").await;
    assert_eq!(again.body["user"]["id"].as_i64(), Some(id));
    let row = users::Entity::find()
        .filter(users::Column::Openid.eq("demo_alice"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.unionid.as_deref(), Some("union_demo_alice"));

    // The session key never leaves the server and is not stored in the clear.
    let keys = app.wechat.issued_session_keys();
    assert_eq!(keys.len(), 2);
    let sealed = row.session_key_enc.clone().unwrap();
    assert!(!sealed.contains(&keys[1]));
    assert_eq!(app.state.cipher.decrypt(&sealed).unwrap().expose(), keys[1]);
    for body in [
        r.body.to_string(),
        again.body.to_string(),
        me.body.to_string(),
    ] {
        assert!(!body.contains("session_key"));
        assert!(keys.iter().all(|k| !body.contains(k.as_str())));
        assert!(!body.contains("demo_alice"), "openid is not echoed");
    }
}

#[tokio::test]
async fn code2session_is_called_without_access_token_and_with_encoded_parameters() {
    let app = spawn_app().await;
    let code = "bob-x+y/z=&";
    let r = app.login(code).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let q = &app.wechat.queries()[0];
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(
        get("secret"),
        Some(APP_SECRET),
        "secret survives the trip intact"
    );
    assert_eq!(get("js_code"), Some(code));
    assert_eq!(get("grant_type"), Some("authorization_code"));
    assert_eq!(get("access_token"), None);
    let raw = &app.wechat.raw_queries()[0];
    assert!(!raw.contains('&') || raw.matches('&').count() == 3, "{raw}");
    assert!(!raw.contains(' ') && !raw.contains('#'), "{raw}");
}

#[tokio::test]
async fn a_retried_code_gets_the_same_login_not_code_been_used() {
    let app = spawn_app().await;
    let first = app.login("carol-1").await;
    let retry = app.login("carol-1").await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    assert_eq!(first.body["user"]["id"], retry.body["user"]["id"]);
    assert_eq!(app.wechat.calls(), 1, "the retry is answered from memory");

    // Two concurrent requests with one code: WeChat is asked once and both succeed.
    let (a, b) = tokio::join!(app.login("dave-1"), app.login("dave-1"));
    assert_eq!(
        (a.status, b.status),
        (200, 200),
        "{:?} {:?}",
        a.body,
        b.body
    );
    assert_eq!(a.body["user"]["id"], b.body["user"]["id"]);
    assert_eq!(app.wechat.calls(), 2);

    // After the code's life WeChat would say 40163; we pass that on as "log in again".
    app.state
        .broker
        .delete(&format!(
            "wx:code:{}",
            minxin::auth::crypto::sha256_hex("carol-1")
        ))
        .await
        .unwrap();
    let late = app.login("carol-1").await;
    assert_eq!((late.status, late.code()), (401, "wechat_code_invalid"));
}

#[tokio::test]
async fn wechat_errors_map_to_clear_answers() {
    let app = spawn_app().await;
    let cases: Vec<(Fault, u16, &str, bool)> = vec![
        (Fault::ErrCode(40029), 401, "wechat_code_invalid", false),
        (Fault::ErrCode(40163), 401, "wechat_code_invalid", false),
        (Fault::ErrCode(40226), 403, "wechat_user_blocked", false),
        (Fault::ErrCode(45011), 429, "wechat_rate_limited", true),
        (Fault::ErrCode(-1), 503, "wechat_unavailable", true),
        (Fault::Status(500), 503, "wechat_unavailable", true),
        (Fault::Status(502), 503, "wechat_unavailable", true),
        (Fault::Garbage, 503, "wechat_unavailable", true),
        (Fault::ErrCode(40013), 502, "wechat_error", false),
    ];
    for (i, (fault, status, code, retry_after)) in cases.into_iter().enumerate() {
        app.wechat.inject(fault.clone());
        let r = app.login(&format!("err{i}-1")).await;
        assert_eq!(
            (r.status, r.code()),
            (status, code),
            "{fault:?}: {:?}",
            r.body
        );
        assert_eq!(
            r.headers.contains_key("retry-after"),
            retry_after,
            "{fault:?}"
        );
        assert!(!r.body.to_string().contains(APP_SECRET));
    }
    // A failed exchange is not remembered: the same code works once WeChat recovers.
    app.wechat.inject(Fault::ErrCode(-1));
    assert_eq!(app.login("flaky-1").await.status, 503);
    assert_eq!(app.login("flaky-1").await.status, 200);
}

#[tokio::test]
async fn a_hanging_wechat_is_cut_off_at_the_configured_timeout() {
    let app = spawn_with(|s| s.wechat.timeout_ms = 300).await;
    app.wechat.inject(Fault::Delay(Duration::from_secs(5)));
    let started = Instant::now();
    let r = app.login("slow-1").await;
    assert_eq!((r.status, r.code()), (503, "wechat_unavailable"));
    assert!(r.headers.contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unconfigured_wechat_answers_503() {
    let app = spawn_with(|s| s.wechat.app_id.clear()).await;
    let r = app.login("x-1").await;
    assert_eq!((r.status, r.code()), (503, "wechat_not_configured"));
}

#[tokio::test]
async fn login_is_rate_limited_per_client_address() {
    let app = spawn_with(|s| s.auth.login_per_minute = 3).await;
    for i in 0..3 {
        assert_eq!(app.login(&format!("rl{i}-1")).await.status, 200);
    }
    let r = app.login("rl9-1").await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"));
    assert_eq!(r.headers["retry-after"], "60");
    assert_eq!(app.wechat.calls(), 3, "refused before WeChat is asked");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let login = app.login("erin-1").await;
    let r0 = login.body["refresh_token"].as_str().unwrap().to_string();
    let next = app
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": r0 }))
        .await;
    assert_eq!(next.status, 200, "{:?}", next.body);
    let r1 = next.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r0, r1);
    let access = next.body["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", Some(access)).await.status, 200);

    // Someone replays the spent token: the whole family dies, including r1.
    let replay = app
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": r0 }))
        .await;
    assert_eq!(
        (replay.status, replay.code()),
        (401, "refresh_token_reused")
    );
    let r1_after = app
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": r1 }))
        .await;
    assert_eq!(
        (r1_after.status, r1_after.code()),
        (401, "invalid_refresh_token")
    );

    let junk = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": "nope" }),
        )
        .await;
    assert_eq!((junk.status, junk.code()), (401, "invalid_refresh_token"));
    // Tokens are stored hashed.
    let stored = entity::refresh_tokens::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(stored
        .iter()
        .all(|t| t.token_hash != r0 && t.token_hash != r1));
}

#[tokio::test]
async fn logout_and_expiry_end_refresh() {
    let app = spawn_app().await;
    let login = app.login("frank-1").await;
    let access = login.body["access_token"].as_str().unwrap();
    let refresh = login.body["refresh_token"].as_str().unwrap();
    let out = app
        .post(
            "/api/v1/auth/logout",
            Some(access),
            json!({ "refresh_token": refresh }),
        )
        .await;
    assert_eq!(out.status, 204);
    let r = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh }),
        )
        .await;
    assert_eq!(r.status, 401);

    let login = app.login("frank-2").await;
    let refresh = login.body["refresh_token"].as_str().unwrap();
    app.clock.advance(chrono::Duration::days(31));
    let r = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh }),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "invalid_refresh_token"));
}

#[tokio::test]
async fn invitations_grant_roles_once_and_expire() {
    let app = spawn_app().await;
    let (admin, _) = app.user_with_role(Role::Admin).await;
    let r = app
        .post(
            "/api/v1/invitations",
            Some(&admin),
            json!({ "role": "handler" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("department_id"))
    );
    let r = app
        .post(
            "/api/v1/invitations",
            Some(&admin),
            json!({ "role": "handler", "department_id": 999 }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("department_id"))
    );
    let r = app
        .post(
            "/api/v1/invitations",
            Some(&admin),
            json!({ "role": "resident" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("role"))
    );
    let r = app
        .post(
            "/api/v1/invitations",
            Some(&admin),
            json!({ "role": "emperor" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("role"))
    );
    let r = app
        .post(
            "/api/v1/invitations",
            Some(&admin),
            json!({ "role": "leader", "ttl_hours": 0 }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("ttl_hours"))
    );

    let dept = app
        .post(
            "/api/v1/departments",
            Some(&admin),
            json!({ "name": "县水务局" }),
        )
        .await;
    assert_eq!(dept.status, 201, "{:?}", dept.body);
    let dup = app
        .post(
            "/api/v1/departments",
            Some(&admin),
            json!({ "name": "县水务局" }),
        )
        .await;
    assert_eq!((dup.status, dup.code()), (409, "department_exists"));
    let dept_id = dept.body["id"].as_i64().unwrap();
    let inv = app
        .post(
            "/api/v1/invitations",
            Some(&admin),
            json!({ "role": "handler", "department_id": dept_id }),
        )
        .await;
    assert_eq!(inv.status, 201, "{:?}", inv.body);
    let code = inv.body["code"].as_str().unwrap().to_string();

    let (alice, _) = app.resident("alice").await;
    let red = app
        .post(
            "/api/v1/auth/invitations/redeem",
            Some(&alice),
            json!({ "code": code }),
        )
        .await;
    assert_eq!(red.status, 200, "{:?}", red.body);
    assert_eq!(red.body["user"]["role"], "handler");
    assert_eq!(red.body["user"]["department_id"].as_i64(), Some(dept_id));
    let new_token = red.body["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/me", Some(new_token)).await.body["role"],
        "handler"
    );

    let (bob, _) = app.resident("bob").await;
    let again = app
        .post(
            "/api/v1/auth/invitations/redeem",
            Some(&bob),
            json!({ "code": code }),
        )
        .await;
    assert_eq!((again.status, again.code()), (400, "invitation_invalid"));
    let unknown = app
        .post(
            "/api/v1/auth/invitations/redeem",
            Some(&bob),
            json!({ "code": "guess" }),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (400, "invitation_invalid")
    );

    let inv = app
        .post(
            "/api/v1/invitations",
            Some(&admin),
            json!({ "role": "leader", "ttl_hours": 1 }),
        )
        .await;
    app.clock.advance(chrono::Duration::hours(2));
    let (carol, _) = app.resident("carol").await;
    let late = app
        .post(
            "/api/v1/auth/invitations/redeem",
            Some(&carol),
            json!({ "code": inv.body["code"] }),
        )
        .await;
    assert_eq!((late.status, late.code()), (400, "invitation_invalid"));
    assert!(late.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
}

#[tokio::test]
async fn demo_mode_logs_in_seeded_staff() {
    let app = spawn_with(|s| s.demo = true).await;
    let r = app.login("admin-1").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["user"]["role"], "admin");
    let r = app.login("handler-1").await;
    assert_eq!(r.body["user"]["role"], "handler");
    assert!(r.body["user"]["department_id"].is_i64());
    let r = app.login("someone-1").await;
    assert_eq!(r.body["user"]["role"], "resident");
    let token = r.body["access_token"].as_str().unwrap();
    let depts = app.get("/api/v1/departments", Some(token)).await;
    assert_eq!(depts.body.as_array().map(Vec::len), Some(4));
}

/// Item 13: logging out ends the login's access token on the very next request, not when it
/// expires 15 minutes later.
#[tokio::test]
async fn logout_ends_the_access_token_on_the_next_request() {
    let app = spawn_app().await;
    let login = app.login("gina-1").await;
    let access = login.body["access_token"].as_str().unwrap();
    let refresh = login.body["refresh_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", Some(access)).await.status, 200);
    let out = app
        .post(
            "/api/v1/auth/logout",
            Some(access),
            json!({ "refresh_token": refresh }),
        )
        .await;
    assert_eq!(out.status, 204, "{:?}", out.body);
    let me = app.get("/api/v1/me", Some(access)).await;
    assert_eq!((me.status, me.code()), (401, "invalid_token"));
    // Logging in again works as before.
    let again = app.login("gina-2").await;
    let access = again.body["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", Some(access)).await.status, 200);
}

/// Item 13: once a spent refresh token comes back, every access token of that login stops
/// working at once: the thief's and the owner's.
#[tokio::test]
async fn a_reused_refresh_token_ends_the_stolen_access_tokens_at_once() {
    let app = spawn_app().await;
    let login = app.login("hank-1").await;
    let a0 = login.body["access_token"].as_str().unwrap().to_string();
    let r0 = login.body["refresh_token"].as_str().unwrap().to_string();
    // The thief refreshes with the stolen token first…
    let stolen = app
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": r0 }))
        .await;
    assert_eq!(stolen.status, 200, "{:?}", stolen.body);
    let a1 = stolen.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.get("/api/v1/me", Some(&a1)).await.status, 200);
    // …then the owner's client presents the same token: reuse.
    let replay = app
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": r0 }))
        .await;
    assert_eq!(
        (replay.status, replay.code()),
        (401, "refresh_token_reused")
    );
    for token in [&a0, &a1] {
        let me = app.get("/api/v1/me", Some(token)).await;
        assert_eq!((me.status, me.code()), (401, "invalid_token"));
    }
    let fresh = app.login("hank-2").await;
    let access = fresh.body["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", Some(access)).await.status, 200);
}

/// Item 13: spending a refresh token and issuing the next happen in one transaction, so two
/// concurrent refreshes with one token are one success and one reuse, and the reuse revokes the
/// winner's new token too (it cannot slip in after the revocation).
#[tokio::test]
async fn concurrent_refreshes_with_one_token_leave_nothing_alive() {
    let app = spawn_app().await;
    for i in 0..8 {
        let login = app.login(&format!("ivan{i}-1")).await;
        let r0 = login.body["refresh_token"].as_str().unwrap().to_string();
        let body = json!({ "refresh_token": r0 });
        let (a, b) = tokio::join!(
            app.post("/api/v1/auth/refresh", None, body.clone()),
            app.post("/api/v1/auth/refresh", None, body.clone())
        );
        let mut codes = [a.code().to_string(), b.code().to_string()];
        codes.sort();
        assert_eq!(
            codes,
            ["".to_string(), "refresh_token_reused".to_string()],
            "{:?} {:?}",
            a.body,
            b.body
        );
        let winner = if a.status == 200 { &a } else { &b };
        let r1 = winner.body["refresh_token"].as_str().unwrap();
        let again = app
            .post("/api/v1/auth/refresh", None, json!({ "refresh_token": r1 }))
            .await;
        assert_eq!(
            (again.status, again.code()),
            (401, "invalid_refresh_token"),
            "round {i}: the winner's token outlived the revocation"
        );
        let access = winner.body["access_token"].as_str().unwrap();
        assert_eq!(app.get("/api/v1/me", Some(access)).await.status, 401);
    }
}

/// Item 14: behind one trusted load balancer, the client address is the right-most
/// `X-Forwarded-For` entry (the one the balancer appended); whatever the client put to its
/// left, or in a `Forwarded:` header, does not give it a fresh rate-limit bucket.
#[tokio::test]
async fn login_rate_limit_counts_the_address_the_trusted_proxy_saw() {
    let app = spawn_with(|s| {
        s.auth.login_per_minute = 3;
        s.http.trusted_proxies = 1;
    })
    .await;
    let login = |i: usize, real: &'static str| {
        let req = app
            .http
            .post(app.url("/api/v1/auth/wechat-login"))
            .header("x-forwarded-for", format!("198.51.100.{i}, {real}"))
            .header("forwarded", format!("for=198.51.100.{i}"))
            .json(&json!({ "code": format!("xff{i}-1") }));
        app.send(req)
    };
    for i in 0..3 {
        assert_eq!(login(i, "203.0.113.7").await.status, 200);
    }
    let r = login(3, "203.0.113.7").await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"));
    // Another client behind the same balancer has a bucket of its own.
    assert_eq!(login(4, "203.0.113.8").await.status, 200);
}

/// Item 14: with no trusted proxy (the default) forwarding headers are ignored entirely.
#[tokio::test]
async fn without_trusted_proxies_forwarding_headers_are_ignored() {
    let app = spawn_with(|s| s.auth.login_per_minute = 2).await;
    for i in 0..3 {
        let req = app
            .http
            .post(app.url("/api/v1/auth/wechat-login"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .header("forwarded", format!("for=198.51.100.{i}"))
            .json(&json!({ "code": format!("direct{i}-1") }));
        let r = app.send(req).await;
        let want = if i < 2 { 200 } else { 429 };
        assert_eq!(r.status, want, "{i}: {:?}", r.body);
    }
}

/// Item 14: a balancer that writes RFC 7239 `Forwarded:` instead: the right-most `for=` counts,
/// and an `X-Forwarded-For` sent by the client is ignored.
#[tokio::test]
async fn forwarded_header_mode_counts_the_right_most_for() {
    let app = spawn_with(|s| {
        s.auth.login_per_minute = 2;
        s.http.trusted_proxies = 1;
        s.http.forwarded_header = minxin::config::ForwardedHeader::Forwarded;
    })
    .await;
    for i in 0..3 {
        let req = app
            .http
            .post(app.url("/api/v1/auth/wechat-login"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .header(
                "forwarded",
                format!("for=198.51.100.{i};proto=https, for=\"[2001:db8::7]:4711\""),
            )
            .json(&json!({ "code": format!("fwd{i}-1") }));
        let r = app.send(req).await;
        let want = if i < 2 { 200 } else { 429 };
        assert_eq!(r.status, want, "{i}: {:?}", r.body);
    }
}
