//! What the public board may reveal: masked numbers stay hidden on the board, in search and in
//! the similar-appeals score; replies are searchable; public reads are bounded and rate-limited.
use minxin::auth::Role;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{json, Value};

use crate::common::{spawn_app, spawn_with, TestApp};

struct County {
    app: TestApp,
    admin: String,
    office: String,
    handler: String,
    dept: i64,
    alice: String,
    bob: String,
    category: i64,
    village: i64,
}

async fn county_of(app: TestApp) -> County {
    let (admin, _) = app.user_with_role(Role::Admin).await;
    let (office, _) = app.user_with_role(Role::Office).await;
    let (handler, h) = app.user_with_role(Role::Handler).await;
    let dept = h["department_id"].as_i64().unwrap();
    let v = app
        .post(
            "/api/v1/villages",
            Some(&admin),
            json!({ "name": "石门村", "township": "城关镇" }),
        )
        .await;
    assert_eq!(v.status, 201, "{:?}", v.body);
    let (alice, _) = app.resident("alice").await;
    let (bob, _) = app.resident("bob").await;
    let mut c = County {
        category: 0,
        village: v.body["id"].as_i64().unwrap(),
        app,
        admin,
        office,
        handler,
        dept,
        alice,
        bob,
    };
    c.category = c.new_category("路灯照明").await;
    c
}

impl County {
    async fn new_category(&self, name: &str) -> i64 {
        let r = self
            .app
            .post(
                "/api/v1/categories",
                Some(&self.admin),
                json!({ "name": name, "default_department_id": self.dept }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_i64().unwrap()
    }

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

    /// Alice's public appeal, accepted by the office: on the board.
    async fn on_board(&self, category: i64, title: &str, content: &str) -> i64 {
        let req = self
            .app
            .http
            .post(self.app.url("/api/v1/appeals"))
            .bearer_auth(&self.alice)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(
                &json!({ "title": title, "content": content, "category_id": category,
                "village_id": self.village, "is_public": true }),
            );
        let r = self.app.send(req).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let id = r.body["id"].as_i64().unwrap();
        self.act(
            &self.office,
            id,
            json!({ "action": "accept", "urgency": "general" }),
        )
        .await;
        id
    }

    /// Ids found by a board search, or `None` when the query is refused (422).
    async fn search(&self, q: &str) -> Option<Vec<i64>> {
        let r = self
            .app
            .send(
                self.app
                    .http
                    .get(self.app.url("/api/v1/board"))
                    .query(&[("q", q), ("limit", "50")]),
            )
            .await;
        if r.status == 422 {
            return None;
        }
        assert_eq!(r.status, 200, "{q}: {:?}", r.body);
        Some(ids(&r.body))
    }

    /// Bob's similar-appeals scores, by appeal id.
    async fn similar(&self, category: i64, title: &str, content: &str) -> Vec<(i64, f64)> {
        let r = self
            .app
            .post(
                "/api/v1/appeals/similar",
                Some(&self.bob),
                json!({ "title": title, "content": content, "category_id": category,
                    "village_id": self.village }),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["id"].as_i64().unwrap(), s["score"].as_f64().unwrap()))
            .collect()
    }
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

/// The README's "What the board masks" table: (written, shown) per row.
fn catalogue() -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let table = readme
        .split("### What the board masks")
        .nth(1)
        .expect("README has the masking table")
        .to_owned();
    let rows: Vec<(String, String)> = table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let spans: Vec<&str> = l.split('`').skip(1).step_by(2).collect();
            (spans.len() == 2).then(|| (spans[0].to_owned(), spans[1].to_owned()))
        })
        .collect();
    assert!(rows.len() >= 20, "table read: {rows:?}");
    rows
}

/// ASCII digits (fullwidth ones folded) of `s`, with an ID's X.
fn plain_digits(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '0'..='9' | 'X' => Some(c),
            '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_masked_number_is_never_found_or_scored_by_its_hidden_digits() {
    let c = county_of(spawn_app().await).await;
    let content = "路灯坏了三个月，请联系13912344321，身份证522422199001011234。";
    let id = c.on_board(c.category, "村口路灯不亮", content).await;
    let shown = c.app.get(&format!("/api/v1/board/{id}"), None).await;
    assert_eq!(
        shown.body["content"],
        "路灯坏了三个月，请联系139****4321，身份证522*************34。"
    );
    for hidden in ["13912344321", "522422199001011234", "1234432", "2244221990"] {
        assert_eq!(
            c.search(hidden).await,
            Some(vec![]),
            "{hidden} is not on the board"
        );
    }
    for visible in ["4321", "路灯", "联系139", "522"] {
        assert_eq!(c.search(visible).await, Some(vec![id]), "{visible}");
    }
    // The score of a probe with the real number equals that of one with other hidden digits.
    let real = c.similar(c.category, "村口路灯不亮", content).await;
    let other = c
        .similar(
            c.category,
            "村口路灯不亮",
            "路灯坏了三个月，请联系13900004321，身份证522000000000000034。",
        )
        .await;
    assert_eq!(real.len(), 1, "{real:?}");
    assert_eq!(real, other, "hidden digits change no score");
}

#[tokio::test]
async fn every_row_of_the_masking_table_on_the_board_in_search_and_in_similar() {
    let c = county_of(spawn_app().await).await;
    let mut rows = Vec::new();
    for (i, (written, shown)) in catalogue().into_iter().enumerate() {
        // A category each, so the similar-appeals probe meets this appeal alone.
        let cat = c.new_category(&format!("类别{i}")).await;
        let content = format!("漏水请联系{written}处理");
        let id = c.on_board(cat, &format!("第{i}户漏水"), &content).await;
        rows.push((id, cat, written, shown));
    }
    for (id, cat, written, shown) in &rows {
        let item = c.app.get(&format!("/api/v1/board/{id}"), None).await;
        assert_eq!(
            item.body["content"],
            format!("漏水请联系{shown}处理"),
            "board: {written}"
        );
        let masked = written != shown;
        let digits = plain_digits(written);
        let found = c.search(&digits).await.unwrap_or_default();
        assert_eq!(found.contains(id), !masked, "search {digits:?}: {written}");
        if masked {
            let as_written = c.search(written).await.unwrap_or_default();
            assert!(!as_written.contains(id), "search as written: {written}");
        }
        let exact = c
            .similar(
                *cat,
                &format!("第{id}户"),
                &format!("漏水请联系{written}处理"),
            )
            .await;
        let as_shown = c
            .similar(
                *cat,
                &format!("第{id}户"),
                &format!("漏水请联系{shown}处理"),
            )
            .await;
        assert_eq!(exact.len(), 1, "similar: {written}: {exact:?}");
        assert_eq!(exact, as_shown, "similar score: {written}");
    }
}

#[tokio::test]
async fn the_approved_public_reply_is_searchable_masked() {
    let c = county_of(spawn_app().await).await;
    let id = c.on_board(c.category, "路灯不亮", "村口路灯坏了").await;
    c.act(
        &c.office,
        id,
        json!({ "action": "assign", "lead_department_id": c.dept }),
    )
    .await;
    c.act(&c.handler, id, json!({ "action": "sign" })).await;
    c.act(
        &c.handler,
        id,
        json!({ "action": "reply",
        "public_reply": "已更换变压器，联系人13700001111。" }),
    )
    .await;
    assert_eq!(
        c.search("变压器").await,
        Some(vec![]),
        "not before approval"
    );
    c.act(&c.office, id, json!({ "action": "approve_reply" }))
        .await;
    assert_eq!(
        c.search("变压器").await,
        Some(vec![id]),
        "the answer's words"
    );
    assert_eq!(c.search("1111").await, Some(vec![id]));
    assert_eq!(c.search("13700001111").await, Some(vec![]));
}

#[tokio::test]
async fn search_work_is_bounded_and_resumes_from_its_cursor() {
    let c = county_of(spawn_app().await).await;
    let real = c.on_board(c.category, "路灯不亮", "村口路灯坏了").await;
    // 12,000 newer postings of 路灯 whose appeals are not on the board (a filter that
    // matches nothing for them), which an unbounded search would read in one request.
    for chunk in (1_000_000..1_012_000_i64).collect::<Vec<_>>().chunks(500) {
        entity::appeal_grams::Entity::insert_many(chunk.iter().map(|&appeal_id| {
            entity::appeal_grams::ActiveModel {
                gram: sea_orm::Set("路灯".into()),
                appeal_id: sea_orm::Set(appeal_id),
            }
        }))
        .exec_without_returning(&c.app.state.db)
        .await
        .unwrap();
    }
    let mut cursor: Option<i64> = None;
    let mut pages = Vec::new();
    loop {
        let mut path = "/api/v1/board?q=路灯".to_string();
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = c.app.get(&path, None).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        pages.push(ids(&r.body));
        cursor = r.body["next_cursor"].as_i64();
        if cursor.is_none() || pages.len() > 10 {
            break;
        }
    }
    assert!(pages.len() >= 3, "stops after 5,000 postings: {pages:?}");
    assert!(pages[..pages.len() - 1].iter().all(Vec::is_empty));
    assert_eq!(pages.last(), Some(&vec![real]), "the cursor leads on to it");
}

#[tokio::test]
async fn public_board_reads_are_rate_limited_per_address() {
    let c = county_of(spawn_with(|s| s.board.reads_per_minute = 3).await).await;
    let id = c.on_board(c.category, "路灯不亮", "村口路灯坏了").await;
    for path in [
        "/api/v1/board".to_string(),
        "/api/v1/board?q=路灯".into(),
        format!("/api/v1/board/{id}"),
    ] {
        assert_eq!(c.app.get(&path, None).await.status, 200);
    }
    for path in ["/api/v1/board".to_string(), format!("/api/v1/board/{id}")] {
        let r = c.app.get(&path, None).await;
        assert_eq!((r.status, r.code()), (429, "rate_limited"), "{path}");
        assert_eq!(
            r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
            Some("60")
        );
    }
    // Other reads and the staff's own views are not counted.
    assert_eq!(c.app.get("/api/v1/categories", None).await.status, 200);
    let mine = c.app.get("/api/v1/my/appeals", Some(&c.alice)).await;
    assert_eq!(mine.status, 200);
}

#[tokio::test]
async fn an_index_built_from_unmasked_text_is_rebuilt_masked_on_upgrade() {
    let c = county_of(spawn_app().await).await;
    let id = c
        .on_board(c.category, "路灯不亮", "请联系13912344321")
        .await;
    // The database as the old code left it: grams of the unmasked text, migration not run.
    let db = &c.app.state.db;
    entity::appeal_grams::Entity::insert_many(
        minxin::board::search::grams("路灯不亮\n请联系13912344321")
            .into_iter()
            .map(|g| entity::appeal_grams::ActiveModel {
                gram: sea_orm::Set(g),
                appeal_id: sea_orm::Set(id),
            }),
    )
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([
            entity::appeal_grams::Column::Gram,
            entity::appeal_grams::Column::AppealId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .unwrap();
    db.execute_unprepared(
        "DELETE FROM seaql_migrations WHERE version = 'm20261201_000005_masked_search_index'",
    )
    .await
    .unwrap();
    db.execute_unprepared("DROP INDEX idx_appeal_grams_appeal")
        .await
        .unwrap();
    assert_eq!(
        c.search("13912344321").await,
        Some(vec![id]),
        "the old leak"
    );

    // The upgraded server starts on that database.
    let settings = c.app.state.settings.clone();
    let upgraded = spawn_with(|s| {
        s.data_dir = settings.data_dir.clone();
        s.database_url = settings.database_url.clone();
    })
    .await;
    let search = |q: &'static str| {
        let app = &upgraded;
        async move {
            let r = app
                .send(app.http.get(app.url("/api/v1/board")).query(&[("q", q)]))
                .await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            ids(&r.body)
        }
    };
    assert_eq!(search("13912344321").await, Vec::<i64>::new());
    assert_eq!(search("路灯").await, vec![id]);
    assert_eq!(search("4321").await, vec![id]);
}
