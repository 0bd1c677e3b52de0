//! Repeated complaints: duplicates told in other words are suggested to the resident and to
//! the office, the office merges them into a master without losing them, and admins maintain
//! the synonym lexicon the suggestions read.
use minxin::auth::Role;
use serde_json::{json, Value};

use crate::common::{spawn_app, TestApp};

struct County {
    app: TestApp,
    admin: String,
    office: String,
    alice: String,
    bob: String,
    carol: String,
    water: i64,
    roads: i64,
    shiban: i64,
    far: i64,
}

async fn county() -> County {
    let app = spawn_app().await;
    let (admin, _) = app.user_with_role(Role::Admin).await;
    let (office, _) = app.user_with_role(Role::Office).await;
    let dept = app.department("水务局").await;
    let village = |name: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let v = app
                .post(
                    "/api/v1/villages",
                    Some(&admin),
                    json!({ "name": name, "township": "城关镇" }),
                )
                .await;
            assert_eq!(v.status, 201, "{:?}", v.body);
            v.body["id"].as_i64().unwrap()
        }
    };
    let shiban = village("石板村").await;
    let far = village("木瓜村").await;
    let category = |name: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let c = app
                .post(
                    "/api/v1/categories",
                    Some(&admin),
                    json!({ "name": name, "default_department_id": dept }),
                )
                .await;
            assert_eq!(c.status, 201, "{:?}", c.body);
            c.body["id"].as_i64().unwrap()
        }
    };
    let water = category("供水").await;
    let roads = category("道路").await;
    let (alice, _) = app.resident("alice").await;
    let (bob, _) = app.resident("bob").await;
    let (carol, _) = app.resident("carol").await;
    County {
        app,
        admin,
        office,
        alice,
        bob,
        carol,
        water,
        roads,
        shiban,
        far,
    }
}

impl County {
    async fn submit(
        &self,
        who: &str,
        category: i64,
        village: i64,
        title: &str,
        content: &str,
    ) -> i64 {
        let req = self
            .app
            .http
            .post(self.app.url("/api/v1/appeals"))
            .bearer_auth(who)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(
                &json!({ "title": title, "content": content, "category_id": category,
                "village_id": village, "is_public": true }),
            );
        let r = self.app.send(req).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_i64().unwrap()
    }

    async fn get(&self, token: &str, id: i64) -> Value {
        let r = self
            .app
            .get(&format!("/api/v1/appeals/{id}"), Some(token))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body
    }

    async fn act(&self, id: i64, mut action: Value) -> Value {
        action["version"] = self.get(&self.office, id).await["version"].clone();
        let r = self
            .app
            .post(
                &format!("/api/v1/appeals/{id}/actions"),
                Some(&self.office),
                action.clone(),
            )
            .await;
        assert_eq!(r.status, 200, "{action}: {:?}", r.body);
        r.body
    }

    /// What `/appeals/similar` suggests to `who`: (id, reason).
    async fn similar(
        &self,
        who: &str,
        category: i64,
        village: i64,
        title: &str,
        content: &str,
    ) -> Vec<(i64, String)> {
        let r = self
            .app
            .post(
                "/api/v1/appeals/similar",
                Some(who),
                json!({ "title": title, "content": content, "category_id": category,
                    "village_id": village }),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_i64().unwrap(),
                    s["reason"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

fn suggested(view: &Value) -> Vec<(i64, String)> {
    view["duplicates"]
        .as_array()
        .unwrap_or_else(|| panic!("no duplicates in {view}"))
        .iter()
        .map(|s| {
            (
                s["id"].as_i64().unwrap(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn paraphrased_repeats_are_suggested_and_merged_into_a_master_that_counts_them() {
    let c = county().await;
    // Alice reports the water cut in the mini-program; the office accepts it onto the board.
    let master = c
        .submit(&c.alice, c.water, c.shiban, "石板村停水五天了",
            "我们石板村已经停水五天了，村里的自来水管道爆了一直没人来修，老人小孩要到两公里外去挑水吃。")
        .await;
    c.act(master, json!({ "action": "accept", "urgency": "urgent" }))
        .await;
    // Same village and category, another problem: never suggested for the water cut.
    let fee = c
        .submit(
            &c.carol,
            c.water,
            c.shiban,
            "石板村水费太贵",
            "石板村的水费一吨要四块钱，比隔壁村贵一倍，想问问这个收费标准是怎么定的。",
        )
        .await;
    c.act(fee, json!({ "action": "accept", "urgency": "general" }))
        .await;

    // Bob tells the same matter in other words: no title word in common.
    let (bob_title, bob_text) = (
        "村里没水吃",
        "石板村这几天一直没有水，听说是水管子破了，到现在也没人管，家家户户只能去很远的井里背水。",
    );
    let before = c
        .similar(&c.bob, c.water, c.shiban, bob_title, bob_text)
        .await;
    assert_eq!(
        before,
        [(master, "similar_nearby".to_owned())],
        "resident before submitting"
    );
    let bobs = c
        .submit(&c.bob, c.water, c.shiban, bob_title, bob_text)
        .await;
    let seen = suggested(&c.get(&c.office, bobs).await);
    assert_eq!(
        seen.first(),
        Some(&(master, "similar_nearby".to_owned())),
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|(id, _)| *id == fee),
        "hard negative: {seen:?}"
    );

    // Alice repeats herself under another category, in the hotline's officialese: the same
    // person raising the same matter again.
    let again = c
        .submit(
            &c.alice,
            c.roads,
            c.shiban,
            "群众反映断水",
            "来电人反映石板村断水至今，供水管道破裂无人维修，要求尽快处理。",
        )
        .await;
    let seen = suggested(&c.get(&c.office, again).await);
    assert!(
        seen.contains(&(master, "same_author_recent".to_owned())),
        "{seen:?}"
    );

    // The office merges both into the master.
    let merged = c
        .act(bobs, json!({ "action": "merge", "master_id": master }))
        .await;
    assert_eq!(merged["state"], "merged");
    assert_eq!(merged["master_id"], master);
    c.act(again, json!({ "action": "merge", "master_id": master }))
        .await;

    // The children keep their record and history, and show their master.
    let child = c.get(&c.bob, bobs).await;
    assert_eq!(
        (child["status"].as_str(), child["master_id"].as_i64()),
        (Some("merged"), Some(master))
    );
    assert_eq!(child["title"], bob_title);
    let actions: Vec<&str> = child["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["submit", "merge"]);
    assert_eq!(child["raised_count"], 1);

    // The master counts how many times the matter was raised, and has an event per merge.
    let m = c.get(&c.office, master).await;
    assert_eq!(m["raised_count"], 3, "{m}");
    assert_eq!(m["merged_ids"], json!([bobs, again]));
    assert_eq!(
        m["state"], "accepted",
        "the master's own state is untouched"
    );
    let merges: Vec<&Value> = m["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "merge")
        .collect();
    assert_eq!(merges.len(), 2);
    assert_eq!(merges[0]["detail"]["merged_id"], bobs);
    assert_eq!(merges[1]["detail"]["raised_count"], 3);
    assert_eq!(merges[1]["from_state"], merges[1]["to_state"]);
    // Its author sees the count, not the other residents' appeals.
    let mine = c.get(&c.alice, master).await;
    assert_eq!(mine["raised_count"], 3);
    assert!(mine.get("merged_ids").is_none(), "{mine}");
    assert!(mine["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["detail"].get("merged_id").is_none()));

    // The matter is counted once: the board shows the master and not its children, and the
    // office's open list no longer holds them.
    let board = c
        .app
        .get(
            &format!("/api/v1/board?village_id={}&limit=50", c.shiban),
            None,
        )
        .await;
    let on_board: Vec<i64> = board.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert!(
        on_board.contains(&master) && !on_board.contains(&bobs),
        "{on_board:?}"
    );
    let accepted = c
        .app
        .get("/api/v1/office/appeals?state=accepted", Some(&c.office))
        .await;
    let row = accepted.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == master)
        .cloned();
    assert_eq!(
        row.map(|r| r["raised_count"].clone()),
        Some(json!(3)),
        "the office's list: {:?}",
        accepted.body
    );
    let inbox = c
        .app
        .get("/api/v1/office/appeals?state=submitted", Some(&c.office))
        .await;
    assert_eq!(inbox.status, 200, "{:?}", inbox.body);
    let waiting: Vec<i64> = inbox.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert!(
        !waiting.contains(&bobs) && !waiting.contains(&again),
        "{waiting:?}"
    );

    // A far village needs a closer text than the same village does.
    let far = c.similar(&c.bob, c.water, c.far, bob_title, bob_text).await;
    assert!(far.is_empty(), "{far:?}");
}

#[tokio::test]
async fn admins_maintain_the_synonym_lexicon_and_suggestions_follow_it() {
    let c = county().await;
    let list = c.app.get("/api/v1/synonyms", Some(&c.admin)).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let seeded = list.body.as_array().unwrap();
    assert!(seeded.len() >= 300, "{}", seeded.len());
    assert!(seeded
        .iter()
        .any(|s| s["term"] == "断水" && s["canonical"] == "停水" && s["source"] == "seed"));
    assert!(seeded
        .iter()
        .any(|s| s["term"] == "废弃物" && s["canonical"] == "垃圾"));
    assert_eq!(
        c.app.get("/api/v1/synonyms", Some(&c.office)).await.status,
        403
    );

    let ferry = c.submit(&c.alice, c.roads, c.shiban, "渡船", "渡船").await;
    c.act(ferry, json!({ "action": "accept", "urgency": "general" }))
        .await;
    let probe = || c.similar(&c.bob, c.roads, c.shiban, "划子", "划子");
    assert!(probe().await.is_empty(), "no word in common yet");

    let added = c
        .app
        .post(
            "/api/v1/synonyms",
            Some(&c.admin),
            json!({ "term": " 划子 ", "canonical": "渡船" }),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    assert_eq!(
        (added.body["term"].as_str(), added.body["source"].as_str()),
        (Some("划子"), Some("admin"))
    );
    assert_eq!(
        probe().await,
        [(ferry, "similar_nearby".to_owned())],
        "scored as one word now"
    );

    for (body, status, field) in [
        (json!({ "term": "划子", "canonical": "小船" }), 409, None),
        (
            json!({ "term": "", "canonical": "渡船" }),
            422,
            Some("term"),
        ),
        (
            json!({ "term": "小 船", "canonical": "渡船" }),
            422,
            Some("term"),
        ),
        (
            json!({ "term": "渡船", "canonical": "渡船" }),
            422,
            Some("canonical"),
        ),
        (
            json!({ "term": "船".repeat(21), "canonical": "渡船" }),
            422,
            Some("term"),
        ),
        (json!({ "term": "小船" }), 422, Some("canonical")),
    ] {
        let r = c
            .app
            .post("/api/v1/synonyms", Some(&c.admin), body.clone())
            .await;
        assert_eq!(r.status, status, "{body}: {:?}", r.body);
        if status == 409 {
            assert_eq!(r.code(), "synonym_exists");
        }
        assert_eq!(r.body["error"]["field"].as_str(), field, "{body}");
    }

    let delete = |term: &str| {
        c.app.send(
            c.app
                .http
                .delete(c.app.url(&format!("/api/v1/synonyms/{term}")))
                .bearer_auth(&c.admin),
        )
    };
    assert_eq!(delete("划子").await.status, 204);
    assert_eq!(delete("划子").await.status, 404);
    assert!(probe().await.is_empty(), "removed: no longer one word");
    // A seeded pair can be removed too.
    assert_eq!(delete("断水").await.status, 204);
    let list = c.app.get("/api/v1/synonyms", Some(&c.admin)).await;
    assert!(!list
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["term"] == "断水"));
}
