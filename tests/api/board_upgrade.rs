//! Upgrading a database whose assisting departments are still comma-separated lists in
//! `appeals.assisting_department_ids`: the migration moves every list into the join table, in
//! order, and the server reads them from there (details, inboxes, who may read), on SQLite and
//! PostgreSQL alike.
use migration::{Migrator, MigratorTrait};
use minxin::auth::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::common::{spawn_app, spawn_with, TestApp};

const MIGRATION: &str = "m20261201_220001_assisting_departments";

async fn act(app: &TestApp, token: &str, id: i64, office: &str, mut action: Value) {
    let v = app
        .get(&format!("/api/v1/appeals/{id}"), Some(office))
        .await;
    action["version"] = v.body["version"].clone();
    let r = app
        .post(
            &format!("/api/v1/appeals/{id}/actions"),
            Some(token),
            action,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

async fn column(app: &TestApp, id: i64) -> String {
    let db = &app.state.db;
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT assisting_department_ids FROM appeals WHERE id = {id}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "assisting_department_ids").unwrap()
}

async fn set_column(app: &TestApp, id: i64, list: &str) {
    app.state
        .db
        .execute_unprepared(&format!(
            "UPDATE appeals SET assisting_department_ids = '{list}' WHERE id = {id}"
        ))
        .await
        .unwrap();
}

fn ids_in(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn comma_lists_of_assisting_departments_move_to_the_join_table() {
    let app = spawn_app().await;
    let (admin, _) = app.user_with_role(Role::Admin).await;
    let (office, _) = app.user_with_role(Role::Office).await;
    let mut handlers = Vec::new();
    let mut depts = Vec::new();
    for _ in 0..4 {
        let (token, h) = app.user_with_role(Role::Handler).await;
        depts.push(h["department_id"].as_i64().unwrap());
        handlers.push(token);
    }
    let (d1, d2, d3, d4) = (depts[0], depts[1], depts[2], depts[3]);
    let category = app
        .post(
            "/api/v1/categories",
            Some(&admin),
            json!({ "name": "道路交通", "default_department_id": d1 }),
        )
        .await;
    let village = app
        .post(
            "/api/v1/villages",
            Some(&admin),
            json!({ "name": "石门村", "township": "城关镇" }),
        )
        .await;
    let (alice, _) = app.resident("alice").await;
    // Three assigned appeals: lead d1 with d2 and d3 assisting, lead d2 with d3, lead d1 alone.
    let mut appeals = Vec::new();
    for (lead, assisting) in [(d1, vec![d2, d3]), (d2, vec![d3]), (d1, vec![])] {
        let r = app
            .send(
                app.http
                    .post(app.url("/api/v1/appeals"))
                    .bearer_auth(&alice)
                    .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                    .json(&json!({
                        "title": "通村路塌方", "content": "通村路塌方一段，车辆无法通行。",
                        "category_id": category.body["id"], "village_id": village.body["id"]
                    })),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let id = r.body["id"].as_i64().unwrap();
        act(
            &app,
            &office,
            id,
            &office,
            json!({ "action": "accept", "urgency": "general" }),
        )
        .await;
        act(&app, &office, id, &office, json!({ "action": "assign", "lead_department_id": lead, "assisting_department_ids": assisting })).await;
        appeals.push(id);
    }
    let (a, b, c) = (appeals[0], appeals[1], appeals[2]);

    // The database as the code before the join table left it: the column, the migration not
    // run. Going down writes the lists the way the old code stored them.
    let db = &app.state.db;
    let all = Migrator::migrations();
    let pos = all.iter().position(|m| m.name() == MIGRATION).unwrap();
    Migrator::down(db, Some((all.len() - pos) as u32))
        .await
        .unwrap();
    assert_eq!(column(&app, a).await, format!(",{d2},{d3},"));
    assert_eq!(column(&app, b).await, format!(",{d3},"));
    assert_eq!(column(&app, c).await, "");
    // Lists spelled every way they may be found: without the delimiters and in another order,
    // with spaces and a repeat, and one department more.
    set_column(&app, a, &format!("{d3},{d2}")).await;
    set_column(&app, b, &format!(",{d3}, {d4},{d3},")).await;

    // The upgraded server starts on that database.
    let settings = app.state.settings.clone();
    let upgraded = spawn_with(|s| {
        s.data_dir = settings.data_dir.clone();
        s.database_url = settings.database_url.clone();
        s.auth = settings.auth.clone();
    })
    .await;
    let assisting = |id: i64| {
        let (app, office) = (&upgraded, &office);
        async move {
            let r = app
                .get(&format!("/api/v1/appeals/{id}"), Some(office))
                .await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            r.body["assisting_department_ids"].clone()
        }
    };
    assert_eq!(assisting(a).await, json!([d3, d2]));
    assert_eq!(assisting(b).await, json!([d3, d4]));
    assert_eq!(assisting(c).await, json!([]));
    // Each department's inbox holds what it leads and what it assists.
    let inbox = |token: &str| {
        let (app, token) = (&upgraded, token.to_string());
        async move {
            let r = app.get("/api/v1/department/appeals", Some(&token)).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            let mut ids = ids_in(&r.body);
            ids.sort();
            ids
        }
    };
    assert_eq!(inbox(&handlers[0]).await, vec![a, c]);
    assert_eq!(inbox(&handlers[1]).await, vec![a, b]);
    assert_eq!(inbox(&handlers[2]).await, vec![a, b]);
    assert_eq!(inbox(&handlers[3]).await, vec![b]);
    // An assisting department reads the appeal; one that is not involved does not.
    let read = |token: &str, id: i64| {
        let (app, token) = (&upgraded, token.to_string());
        async move {
            app.get(&format!("/api/v1/appeals/{id}"), Some(&token))
                .await
                .status
        }
    };
    assert_eq!(read(&handlers[3], b).await, 200);
    assert_eq!(read(&handlers[3], a).await, 404);
    // Reassigning replaces the rows: a return clears them, the new assignment writes its own.
    act(
        &upgraded,
        &handlers[1],
        b,
        &office,
        json!({ "action": "return", "reason": "not_our_remit" }),
    )
    .await;
    assert_eq!(assisting(b).await, json!([]));
    assert_eq!(inbox(&handlers[3]).await, Vec::<i64>::new());
    act(
        &upgraded,
        &office,
        b,
        &office,
        json!({ "action": "reassign", "lead_department_id": d4, "assisting_department_ids": [d1] }),
    )
    .await;
    assert_eq!(assisting(b).await, json!([d1]));
    assert_eq!(inbox(&handlers[0]).await, vec![a, b, c]);
    assert_eq!(inbox(&handlers[3]).await, vec![b]);
}
