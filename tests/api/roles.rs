//! Every endpoint refuses every caller its access rule does not admit.
use minxin::auth::invitations::{self, NewInvitation};
use minxin::auth::{Access, Role};
use sea_orm::Iterable;
use serde_json::json;

use crate::common::{spawn_app, Resp, TestApp};

#[tokio::test]
async fn every_endpoint_refuses_what_it_does_not_admit() {
    let app = spawn_app().await;
    let mut tokens = Vec::new();
    for role in Role::iter() {
        tokens.push((role, app.user_with_role(role).await.0));
    }
    let mut checked = 0;
    for ep in minxin::api::routes().endpoints {
        if matches!(ep.access, Access::Public) {
            continue;
        }
        let path = fill_params(&ep.path);
        let req = |token: Option<&str>| {
            let mut r = app
                .http
                .request(ep.method.as_str().parse().unwrap(), app.url(&path))
                .json(&json!({}));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            r
        };
        let anon = app.send(req(None)).await;
        assert_eq!(
            (anon.status, anon.code()),
            (401, "unauthenticated"),
            "{} {path}",
            ep.method
        );
        let forged = app.send(req(Some("eyJhbGciOiJIUzI1NiJ9.e30.x"))).await;
        assert_eq!(
            (forged.status, forged.code()),
            (401, "invalid_token"),
            "{} {path}",
            ep.method
        );
        for (role, token) in &tokens {
            let r = app.send(req(Some(token))).await;
            if ep.access.admits(*role) {
                assert!(
                    r.status != 401 && r.status != 403,
                    "{role} refused at {} {path}: {:?}",
                    ep.method,
                    r.body
                );
            } else {
                assert_eq!(
                    (r.status, r.code()),
                    (403, "forbidden"),
                    "{role} at {} {path}",
                    ep.method
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0);
}

#[tokio::test]
async fn expired_access_tokens_are_refused() {
    let app = spawn_app().await;
    let (token, _) = app.resident("old").await;
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status, 200);
    app.clock.advance(chrono::Duration::minutes(16));
    let r = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!((r.status, r.code()), (401, "invalid_token"));
    assert_eq!(r.headers["www-authenticate"], "Bearer");
}

/// Item 12: an admin redeeming an invitation for another role would leave the platform without
/// an admin when they are the only one: refused with `last_admin`, and the invitation is not
/// spent. With a second admin the change goes through; two admins demoting themselves at once
/// leave one.
#[tokio::test]
async fn the_last_admin_cannot_demote_themself() {
    let app = spawn_app().await;
    let (admin, me) = app.user_with_role(Role::Admin).await;
    let code = invite(&app, &admin).await;
    let r = redeem(&app, &admin, &code).await;
    assert_eq!((r.status, r.code()), (409, "last_admin"), "{:?}", r.body);
    let now = app.get("/api/v1/me", Some(&admin)).await;
    assert_eq!(
        (now.status, now.body["role"].as_str()),
        (200, Some("admin"))
    );

    // Another admin joins; now the first may step down, with the very same code.
    let (other, _) = app.user_with_role(Role::Admin).await;
    let r = redeem(&app, &admin, &code).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["user"]["role"], "leader");
    assert_eq!(r.body["user"]["id"], me["id"]);
    let r = redeem(&app, &other, &invite(&app, &other).await).await;
    assert_eq!((r.status, r.code()), (409, "last_admin"));

    // Two admins demoting themselves at the same moment: one wins, one admin is left.
    let (third, _) = app.user_with_role(Role::Admin).await;
    let (c1, c2) = (invite(&app, &other).await, invite(&app, &third).await);
    let (a, b) = tokio::join!(redeem(&app, &other, &c1), redeem(&app, &third, &c2));
    let mut got = [
        (a.status, a.code().to_string()),
        (b.status, b.code().to_string()),
    ];
    got.sort();
    assert_eq!(
        got,
        [(200, String::new()), (409, "last_admin".to_string())],
        "{:?} {:?}",
        a.body,
        b.body
    );
}

/// Item 13: a role change applies to every login of that user on the next request, not when
/// the other logins' access tokens expire.
#[tokio::test]
async fn a_role_change_reaches_other_logins_at_once() {
    let app = spawn_app().await;
    let (_, _) = app.user_with_role(Role::Admin).await;
    let name = format!("dual{}", uuid::Uuid::new_v4().simple());
    let phone = app.login(&format!("{name}-1")).await;
    let phone_token = phone.body["access_token"].as_str().unwrap().to_string();
    let code = staff_code(&app, Role::Admin).await;
    let r = app
        .post(
            "/api/v1/auth/invitations/redeem",
            Some(&phone_token),
            json!({ "code": code }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let phone_token = r.body["access_token"].as_str().unwrap().to_string();
    // The same person on a second device, as admin.
    let laptop = app.login(&format!("{name}-2")).await;
    assert_eq!(laptop.body["user"]["role"], "admin");
    let laptop_token = laptop.body["access_token"].as_str().unwrap().to_string();
    let laptop_refresh = laptop.body["refresh_token"].as_str().unwrap().to_string();
    let made = app
        .post(
            "/api/v1/invitations",
            Some(&laptop_token),
            json!({ "role": "office" }),
        )
        .await;
    assert_eq!(made.status, 201, "{:?}", made.body);

    // On the phone they step down to leader: the laptop's admin token stops at once.
    let code = staff_code(&app, Role::Leader).await;
    let r = app
        .post(
            "/api/v1/auth/invitations/redeem",
            Some(&phone_token),
            json!({ "code": code }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let made = app
        .post(
            "/api/v1/invitations",
            Some(&laptop_token),
            json!({ "role": "office" }),
        )
        .await;
    assert_eq!(
        (made.status, made.code()),
        (401, "invalid_token"),
        "{:?}",
        made.body
    );
    // The laptop refreshes as usual and now holds a leader's token.
    let r = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": laptop_refresh }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["user"]["role"].as_str()),
        (200, Some("leader"))
    );
    let token = r.body["access_token"].as_str().unwrap();
    let made = app
        .post(
            "/api/v1/invitations",
            Some(token),
            json!({ "role": "office" }),
        )
        .await;
    assert_eq!((made.status, made.code()), (403, "forbidden"));
}

async fn invite(app: &TestApp, admin: &str) -> String {
    let r = app
        .post(
            "/api/v1/invitations",
            Some(admin),
            json!({ "role": "leader" }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["code"].as_str().unwrap().to_string()
}

async fn redeem(app: &TestApp, token: &str, code: &str) -> Resp {
    app.post(
        "/api/v1/auth/invitations/redeem",
        Some(token),
        json!({ "code": code }),
    )
    .await
}

/// A staff invitation made the way the CLI makes it.
async fn staff_code(app: &TestApp, role: Role) -> String {
    invitations::create(
        &app.state.db,
        &NewInvitation {
            role,
            department_id: None,
            ttl_hours: None,
        },
        None,
        app.state.clock.now(),
        72,
    )
    .await
    .unwrap()
    .code
}

/// `/a/{id}/b/{word}` → `/a/1/b/1`.
fn fill_params(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => in_param = true,
            '}' => {
                in_param = false;
                out.push('1');
            }
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}
