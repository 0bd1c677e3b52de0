//! Exports read back: CSV (BOM, formulas defused) with the csv crate, XLSX with calamine, the
//! Chinese text and the numbers checked. An ignored test measures 10,000 responses.
use std::io::Cursor;
use std::time::Instant;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use chrono::Duration;
use entity::{consultation_responses, users};
use sea_orm::{EntityTrait, Set};
use serde_json::json;

use super::{answers, county, respondent, County};
use crate::common::TestApp;

async fn download(app: &TestApp, token: &str, path: &str) -> (String, Vec<u8>) {
    let res = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    let bytes = res.bytes().await.unwrap().to_vec();
    // The contract: this status and content type are declared for the route.
    crate::contract::check(&crate::contract::Exchange {
        method: "GET",
        path,
        request_json: None,
        status,
        content_type: Some(&ct),
        body: "(file)",
    });
    assert_eq!(status, 200);
    (ct, bytes)
}

fn cell(range: &calamine::Range<Data>, row: u32, col: u32) -> Data {
    range.get_value((row, col)).cloned().unwrap_or(Data::Empty)
}

#[tokio::test]
async fn both_exports_read_back_with_chinese_and_numbers() {
    let c = county().await;
    let app = &c.app;
    let id = c.open().await;
    let mut first = answers(1, 4);
    first["q3"] = json!({ "text": "=SUM(A1:A9)" });
    respondent(app, id, c.villages[0], first).await;
    let mut second = answers(2, 5);
    second["q1"] = json!({ "choices": [], "other": "修一座桥，方便过河" });
    respondent(app, id, c.villages[2], second).await;

    let (ct, csv_bytes) = download(
        app,
        &c.handler,
        &format!("/api/v1/consultations/{id}/export.csv"),
    )
    .await;
    assert!(ct.starts_with("text/csv"));
    assert!(
        csv_bytes.starts_with("\u{feff}".as_bytes()),
        "a BOM for Excel and WPS"
    );
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&csv_bytes[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(&rows[0][0], "编号");
    assert_eq!(&rows[0][5], "q1 您最希望先修哪条路？");
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[1][3], "城关镇");
    assert_eq!(&rows[1][4], "甲村");
    assert_eq!(&rows[1][5], "通组路");
    assert_eq!(&rows[1][6], "工期；质量");
    assert_eq!(&rows[1][7], "'=SUM(A1:A9)", "the formula is defused");
    assert_eq!(&rows[1][8], "4");
    assert_eq!(&rows[2][5], "其他：修一座桥，方便过河");
    assert_eq!(&rows[2][8], "5");

    let (ct, xlsx) = download(
        app,
        &c.office,
        &format!("/api/v1/consultations/{id}/export.xlsx"),
    )
    .await;
    assert_eq!(
        ct,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(xlsx)).unwrap();
    assert_eq!(
        wb.sheet_names(),
        vec!["汇总".to_string(), "意见".to_string()]
    );
    let summary = wb.worksheet_range("汇总").unwrap();
    assert_eq!(
        cell(&summary, 0, 1),
        Data::String("村道硬化工程意见征集".into())
    );
    assert_eq!(cell(&summary, 1, 0), Data::String("参与人数".into()));
    assert_eq!(cell(&summary, 1, 1), Data::Float(2.0));
    // q1: answered by 2, then 通组路 1 (50%), 产业路 0, 入户路 0, 其他 1 (50%).
    assert_eq!(cell(&summary, 3, 2), Data::String("作答人数".into()));
    assert_eq!(cell(&summary, 4, 2), Data::String("通组路".into()));
    assert_eq!(
        (cell(&summary, 4, 3), cell(&summary, 4, 4)),
        (Data::Float(1.0), Data::Float(50.0))
    );
    assert_eq!(cell(&summary, 7, 2), Data::String("其他".into()));
    let rows: Vec<Vec<Data>> = summary.rows().map(<[Data]>::to_vec).collect();
    let mean = rows
        .iter()
        .find(|r| r.get(2) == Some(&Data::String("平均分".into())))
        .unwrap();
    assert_eq!(mean[3], Data::Float(4.5));
    let responses = wb.worksheet_range("意见").unwrap();
    assert_eq!(responses.height(), 3);
    assert_eq!(cell(&responses, 1, 4), Data::String("甲村".into()));
    assert_eq!(cell(&responses, 1, 8), Data::Float(4.0));
    // A text cell, never a formula, in the workbook (so no quote is needed there).
    assert_eq!(cell(&responses, 1, 7), Data::String("=SUM(A1:A9)".into()));
    assert!(wb
        .worksheet_formula("意见")
        .unwrap()
        .used_cells()
        .next()
        .is_none());
    assert_eq!(
        cell(&responses, 2, 5),
        Data::String("其他：修一座桥，方便过河".into())
    );

    let (resident, _) = app.resident("nosy").await;
    let r = app
        .get(
            &format!("/api/v1/consultations/{id}/export.csv"),
            Some(&resident),
        )
        .await;
    assert_eq!(r.status, 403);
}

/// `cargo test --test api consult::exports::measure -- --ignored --nocapture`: seeds 10,000
/// opinions straight into the database, then times both exports over HTTP.
#[tokio::test]
#[ignore]
async fn measure_export_of_10000_responses() {
    let c: County = county().await;
    let app = &c.app;
    let id = c.open().await;
    let now = app.state.clock.now();
    const N: usize = 10_000;
    let seeded = Instant::now();
    for chunk in (0..N).collect::<Vec<_>>().chunks(500) {
        let rows = chunk.iter().map(|i| users::ActiveModel {
            openid: Set(format!("measure-{i}")),
            role: Set(entity::users::Role::Resident),
            created_at: Set(now),
            updated_at: Set(now),
            token_version: Set(0),
            ..Default::default()
        });
        users::Entity::insert_many(rows)
            .exec_without_returning(&app.state.db)
            .await
            .unwrap();
    }
    let first_user = users::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.openid == "measure-0")
        .unwrap()
        .id;
    for chunk in (0..N).collect::<Vec<_>>().chunks(500) {
        let rows = chunk.iter().map(|i| {
            let mut a = answers((*i % 3) as u32 + 1, (*i % 5) as i64 + 1);
            a["q3"] = json!({ "text": format!("第{i}条意见：希望村道加装路灯，排水沟一起修") });
            consultation_responses::ActiveModel {
                consultation_id: Set(id),
                user_id: Set(first_user + *i as i64),
                village_id: Set(Some(c.villages[*i % 4])),
                answers: Set(a.to_string()),
                version: Set(1),
                review: Set("visible".into()),
                featured: Set(false),
                created_at: Set(now - Duration::minutes(1)),
                updated_at: Set(now - Duration::minutes(1)),
                ..Default::default()
            }
        });
        consultation_responses::Entity::insert_many(rows)
            .exec_without_returning(&app.state.db)
            .await
            .unwrap();
    }
    eprintln!("seeded {N} opinions in {:?}", seeded.elapsed());
    for kind in ["csv", "xlsx"] {
        let t = Instant::now();
        let (_, bytes) = download(
            app,
            &c.office,
            &format!("/api/v1/consultations/{id}/export.{kind}"),
        )
        .await;
        eprintln!(
            "{{\"export\":\"{kind}\",\"responses\":{N},\"ms\":{},\"bytes\":{}}}",
            t.elapsed().as_millis(),
            bytes.len()
        );
    }
    let t = Instant::now();
    let r = app
        .get(
            &format!("/api/v1/consultations/{id}/results"),
            Some(&c.office),
        )
        .await;
    assert_eq!(r.body["respondents"], N);
    eprintln!("{{\"results\":{N},\"ms\":{}}}", t.elapsed().as_millis());
}
