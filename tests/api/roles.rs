//! Every endpoint refuses every caller its access rule does not admit.
use minxin::auth::{Access, Role};
use serde_json::json;

use crate::common::spawn_app;

#[tokio::test]
async fn every_endpoint_refuses_what_it_does_not_admit() {
    let app = spawn_app().await;
    let mut tokens = Vec::new();
    for role in Role::ALL {
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
