//! Results: counts, percentages, ratings, completion, the breakdown with small groups folded,
//! residents' access only when the consultation shows results, and Chinese search over opinions.
use serde_json::{json, Value};

use super::{answers, county, respondent, sample};

fn groups(v: &Value) -> Vec<(String, i64, bool)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_string(),
                g["respondents"].as_i64().unwrap(),
                g["folded"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn results_fold_small_groups_so_no_village_is_singled_out() {
    let c = county().await;
    let app = &c.app;
    let now = app.state.clock.now();
    let mut body = sample(c.department, now - chrono::Duration::hours(1), 7);
    body["results_public"] = json!(true);
    let id = c.published(body).await;
    // 甲村 6, 乙村 5 (城关镇 11); 丙村 2, 丁村 3 (高山乡 5).
    let plan = [(0usize, 6usize), (1, 5), (2, 2), (3, 3)];
    let mut n = 0;
    let mut last = String::new();
    for (v, count) in plan {
        for _ in 0..count {
            let mut a = answers(if n % 3 == 0 { 2 } else { 1 }, (n % 5 + 1) as i64);
            if n == 0 {
                a["q3"] = json!({ "text": "希望村道加装路灯" });
            }
            if n == 1 {
                a["q3"] = json!({ "text": "排水沟要一起修" });
            }
            last = respondent(app, id, c.villages[v], a).await;
            n += 1;
        }
    }
    let r = app
        .get(
            &format!("/api/v1/consultations/{id}/results"),
            Some(&c.handler),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["respondents"], 16);
    // 丙村 (2) and 丁村 (3) fold together into 其他 (5).
    assert_eq!(
        groups(&r.body["by_village"]),
        vec![
            ("甲村".into(), 6, false),
            ("乙村".into(), 5, false),
            ("其他".into(), 5, true)
        ]
    );
    assert_eq!(
        groups(&r.body["by_township"]),
        vec![("城关镇".into(), 11, false), ("高山乡".into(), 5, false)]
    );
    let q1 = &r.body["questions"][0];
    // n = 0, 3, 6, 9, 12, 15 chose option 2: 6 of 16.
    assert_eq!(q1["options"][1]["count"], 6);
    assert_eq!(q1["options"][1]["percent"], 37.5);
    assert_eq!(q1["options"][0]["count"], 10);
    assert_eq!(q1["other"]["count"], 0);
    let q3 = &r.body["questions"][2];
    assert_eq!(
        (q3["answered"].as_i64(), q3["completion_rate"].as_f64()),
        (Some(2), Some(0.125))
    );
    let rating = &r.body["questions"][3]["rating"];
    assert_eq!(rating["distribution"], json!([4, 3, 3, 3, 3]));
    assert_eq!(rating["mean"], 2.88);
    assert_eq!(r.body["outcomes"]["unmarked"], 16);

    // Residents see the aggregate (it is public here), never who said what.
    let r = app
        .get(&format!("/api/v1/consultations/{id}/results"), Some(&last))
        .await;
    assert_eq!((r.status, r.body["respondents"].as_i64()), (200, Some(16)));
    let r = app
        .get(&format!("/api/v1/consultations/{id}/opinions"), Some(&last))
        .await;
    assert_eq!(r.status, 403);

    // Chinese search over free text: bigrams, no spaces needed; paging by cursor.
    let handler = &c.handler;
    let search = |q: &'static str| async move {
        app.get(
            &format!("/api/v1/consultations/{id}/opinions?q={q}"),
            Some(handler),
        )
        .await
    };
    let r = search("路灯").await;
    let texts: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["texts"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["希望村道加装路灯"]);
    assert_eq!(r.body["items"][0]["village"], "甲村");
    assert!(r.body["items"][0].get("user_id").is_none(), "no identities");
    let r = search("排水沟").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = search("修桥").await;
    assert!(r.body["items"].as_array().unwrap().is_empty());
    let r = search("灯").await;
    assert_eq!(r.status, 422, "one character is too short to search");
    let r = app
        .get(
            &format!("/api/v1/consultations/{id}/opinions?limit=1"),
            Some(&c.handler),
        )
        .await;
    assert_eq!(
        r.body["items"][0]["texts"][0]["text"], "排水沟要一起修",
        "newest first"
    );
    let cursor = r.body["next_cursor"].as_i64().unwrap();
    let r = app
        .get(
            &format!("/api/v1/consultations/{id}/opinions?limit=1&cursor={cursor}"),
            Some(&c.handler),
        )
        .await;
    assert_eq!(r.body["items"][0]["texts"][0]["text"], "希望村道加装路灯");
}

#[tokio::test]
async fn residents_see_no_results_unless_the_consultation_shows_them() {
    let c = county().await;
    let app = &c.app;
    let id = c.open().await;
    let alice = respondent(app, id, c.villages[0], answers(1, 5)).await;
    let r = app
        .get(&format!("/api/v1/consultations/{id}/results"), Some(&alice))
        .await;
    assert_eq!((r.status, r.code()), (403, "results_not_public"));
    let (handler_elsewhere, _) = app.user_with_role(minxin::auth::Role::Handler).await;
    let r = app
        .get(
            &format!("/api/v1/consultations/{id}/opinions"),
            Some(&handler_elsewhere),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "not_your_department"));
}
