//! Imports of the hotline's export: dry run, idempotence, all-or-nothing with line numbers,
//! XLSX like CSV, and a large file with its progress.
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{county, County};
use crate::common::Resp;

const HEADER: &str = "工单编号,受理时间,姓名,电话,村,类别,标题,内容\n";

fn csv_row(reference: &str, phone: &str, title: &str) -> String {
    format!(
        "{reference},2025-09-28 16:05,王五,{phone},石门村,饮水安全,{title},\"{title}，村民反映已经两天，\"\"急\"\"\"\n"
    )
}

impl County {
    async fn import(&self, query: &str, file: Vec<u8>) -> Resp {
        let req = self
            .app
            .http
            .post(self.app.url(&format!("/api/v1/office/imports?{query}")))
            .bearer_auth(&self.office)
            .header("Content-Type", "application/octet-stream")
            .body(file);
        self.app.send(req).await
    }

    /// Follows the job until it ends; answers every status seen on the way and the last view.
    async fn follow(&self, started: &Resp) -> (Vec<String>, Value) {
        assert_eq!(started.status, 202, "{:?}", started.body);
        let id = started.body["id"].as_i64().unwrap();
        let mut seen = vec![started.body["status"].as_str().unwrap().to_string()];
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            let r = self
                .app
                .get(&format!("/api/v1/office/imports/{id}"), Some(&self.office))
                .await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            let status = r.body["status"].as_str().unwrap().to_string();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            if matches!(status.as_str(), "done" | "refused" | "failed") {
                return (seen, r.body);
            }
            assert!(Instant::now() < deadline, "import still {status}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn office_count(&self) -> usize {
        let r = self
            .app
            .get(
                "/api/v1/office/appeals?state=submitted&limit=50",
                Some(&self.office),
            )
            .await;
        r.body["items"].as_array().unwrap().len()
    }
}

fn outcomes(job: &Value) -> Vec<(u64, String)> {
    job["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_import_run_twice_creates_nothing_new() {
    let c = county().await;
    let file = format!(
        "\u{feff}{HEADER}{}{}{}",
        csv_row("H-1", "13800000001", "停水"),
        csv_row("H-2", "13800000002", "水管漏水"),
        csv_row("H-3", "13800000003", "水质发黄"),
    );
    // A dry run says what would happen and writes nothing.
    let (_, dry) = c
        .follow(
            &c.import(
                "channel=hotline&format=csv&dry_run=true",
                file.clone().into_bytes(),
            )
            .await,
        )
        .await;
    assert_eq!(dry["status"], "done", "{dry:?}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        (dry["created"].as_i64(), dry["refused"].as_i64()),
        (Some(3), Some(0))
    );
    assert_eq!(c.office_count().await, 0, "a dry run writes nothing");

    let (_, first) = c
        .follow(
            &c.import("channel=hotline&format=csv", file.clone().into_bytes())
                .await,
        )
        .await;
    assert_eq!(first["status"], "done", "{first:?}");
    assert_eq!(
        outcomes(&first),
        [
            (2, "created".into()),
            (3, "created".into()),
            (4, "created".into())
        ]
    );
    let ids: Vec<i64> = first["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["appeal_id"].as_i64().unwrap())
        .collect();
    assert_eq!(c.office_count().await, 3);
    let intake = c
        .app
        .get(
            &format!("/api/v1/office/intakes/{}", ids[0]),
            Some(&c.office),
        )
        .await;
    assert_eq!(intake.body["external_ref"], "H-1");
    assert_eq!(intake.body["resident_phone"], "138****0001");
    assert_eq!(intake.body["received_at"], "2025-09-28T08:05:00Z");
    assert_eq!(intake.body["import_job_id"], first["id"]);
    let appeal = c
        .app
        .get(&format!("/api/v1/appeals/{}", ids[0]), Some(&c.office))
        .await;
    assert_eq!(appeal.body["channel"], "hotline");
    assert_eq!(appeal.body["content"], "停水，村民反映已经两天，\"急\"");
    assert_eq!(
        appeal.body["is_public"], false,
        "imported appeals stay off the board"
    );

    // The same file again: nothing new. A corrected phone updates the contact only.
    let (_, second) = c
        .follow(
            &c.import("channel=hotline&format=csv", file.clone().into_bytes())
                .await,
        )
        .await;
    assert_eq!(second["status"], "done");
    assert_eq!(
        (second["created"].as_i64(), second["unchanged"].as_i64()),
        (Some(0), Some(3))
    );
    assert_eq!(c.office_count().await, 3);
    let fixed = file.replace("13800000002", "13800000022");
    let (_, third) = c
        .follow(
            &c.import("channel=hotline&format=csv", fixed.into_bytes())
                .await,
        )
        .await;
    assert_eq!(
        outcomes(&third),
        [
            (2, "unchanged".into()),
            (3, "updated".into()),
            (4, "unchanged".into())
        ]
    );
    let intake = c
        .app
        .get(
            &format!("/api/v1/office/intakes/{}", ids[1]),
            Some(&c.office),
        )
        .await;
    assert_eq!(intake.body["resident_phone"], "138****0022");
    assert_eq!(c.office_count().await, 3);

    // The office's intake of a reference the import brought in finds it too.
    let mut body = c.intake("H-1", "13800000001", "停水");
    body["resident_name"] = "王五".into();
    body["content"] = "停水，村民反映已经两天，\"急\"".into();
    body["is_public"] = false.into();
    let again = c.register(&body).await;
    assert_eq!(
        (again.status, again.body["appeal_id"].as_i64()),
        (200, Some(ids[0])),
        "{:?}",
        again.body
    );
}

#[tokio::test]
async fn a_bad_file_is_refused_whole_with_line_numbers() {
    let c = county().await;
    let file = format!(
        "{HEADER}{}{}{}{}{}",
        csv_row("B-1", "13800000001", "停水"),
        csv_row("B-2", "13800000002", "修路").replace("饮水安全", "道路交通"),
        csv_row("B-3", "13800000003", "漏水"),
        csv_row("B-4", "12", "没水"),
        csv_row("B-1", "13800000005", "又停水"),
    );
    let (_, job) = c
        .follow(
            &c.import("channel=hotline&format=csv", file.into_bytes())
                .await,
        )
        .await;
    assert_eq!(job["status"], "refused", "{job:?}");
    assert_eq!(job["error"], "3 rows refused; nothing was written");
    let refused: Vec<(u64, String)> = job["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "refused")
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert_eq!(refused[0].0, 3);
    assert!(
        refused[0].1.contains("unknown category `道路交通`"),
        "{refused:?}"
    );
    assert_eq!(refused[1].0, 5);
    assert!(refused[1].1.starts_with("resident_phone"), "{refused:?}");
    assert_eq!(refused[2].0, 6);
    assert!(refused[2].1.contains("already on line 2"), "{refused:?}");
    assert_eq!(
        c.office_count().await,
        0,
        "the good rows were not written either"
    );
    let only = c
        .app
        .get(
            &format!("/api/v1/office/imports/{}?outcome=refused", job["id"]),
            Some(&c.office),
        )
        .await;
    assert_eq!(only.body["rows"].as_array().unwrap().len(), 3);

    // A missing column, a broken quote, bytes that are not UTF-8, a file that is not a workbook.
    let (_, job) = c
        .follow(
            &c.import(
                "channel=hotline&format=csv&col_title=主题",
                format!("{HEADER}{}", csv_row("X", "13800000001", "停水")).into_bytes(),
            )
            .await,
        )
        .await;
    assert_eq!(job["status"], "refused");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .starts_with("line 1: no column `主题`"),
        "{job:?}"
    );
    let mut gbk = format!("{HEADER}{}", csv_row("G-1", "13800000001", "停水")).into_bytes();
    gbk.extend(*b"G-2,\xB9\xDC\xB5\xC0\n"); // 管道 in GBK: not UTF-8
    let (_, job) = c
        .follow(&c.import("channel=hotline&format=csv", gbk).await)
        .await;
    assert_eq!(job["status"], "refused");
    let bad = &job["rows"].as_array().unwrap()[1];
    assert_eq!(
        (bad["line"].as_u64(), bad["outcome"].as_str()),
        (Some(3), Some("refused"))
    );
    assert!(bad["reason"].as_str().unwrap().contains("UTF-8"), "{bad}");
    let (_, job) = c
        .follow(
            &c.import("channel=hotline&format=xlsx", b"PK not really".to_vec())
                .await,
        )
        .await;
    assert_eq!(job["status"], "refused");
    assert!(job["error"].as_str().unwrap().contains("XLSX"), "{job:?}");
    let (_, job) = c
        .follow(
            &c.import("channel=hotline&format=csv", b"\n\n".to_vec())
                .await,
        )
        .await;
    assert_eq!(
        (job["status"].as_str(), job["error"].as_str()),
        (Some("refused"), Some("the file has no header row"))
    );

    // Refused before any job: an empty body, an unknown channel or format.
    let r = c.import("channel=hotline&format=csv", Vec::new()).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("body"))
    );
    let r = c.import("channel=fax&format=csv", b"a".to_vec()).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("channel"))
    );
    let r = c.import("channel=hotline&format=pdf", b"a".to_vec()).await;
    assert_eq!(r.status, 422);
    assert_eq!(c.office_count().await, 0);
}

/// A minimal XLSX workbook (one sheet of inline strings and numbers), as Excel would save it.
fn xlsx(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, cells) in rows.iter().enumerate() {
        sheet.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (col, v) in cells.iter().enumerate() {
            let at = format!("{}{}", (b'A' + col as u8) as char, r + 1);
            if r > 0 && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                // Ticket numbers and phones typed as numbers.
                sheet.push_str(&format!(r#"<c r="{at}"><v>{v}</v></c>"#));
            } else {
                sheet.push_str(&format!(
                    r#"<c r="{at}" t="inlineStr"><is><t>{v}</t></is></c>"#
                ));
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let files = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_string()),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string()),
        ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="工单" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_string()),
        ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_string()),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, text) in files {
            zip.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

#[tokio::test]
async fn an_xlsx_export_imports_like_a_csv() {
    let c = county().await;
    let file = xlsx(&[
        vec!["工单编号", "姓名", "电话", "村", "类别", "标题", "内容"],
        vec![
            "202509280001",
            "赵六",
            "13800000007",
            "城关镇/石门村",
            "饮水安全",
            "停水",
            "组里停水两天",
        ],
        vec![
            "202509280002",
            "钱七",
            "13800000008",
            "石门村",
            "饮水安全",
            "漏水",
            "主管道漏水",
        ],
    ]);
    let (_, job) = c
        .follow(&c.import("channel=hotline&format=xlsx", file.clone()).await)
        .await;
    assert_eq!(job["status"], "done", "{job:?}");
    assert_eq!(
        outcomes(&job),
        [(2, "created".into()), (3, "created".into())]
    );
    assert_eq!(
        job["rows"][0]["external_ref"], "202509280001",
        "a number cell reads without `.0`"
    );
    let id = job["rows"][0]["appeal_id"].as_i64().unwrap();
    let intake = c
        .app
        .get(&format!("/api/v1/office/intakes/{id}"), Some(&c.office))
        .await;
    assert_eq!(intake.body["resident_phone"], "138****0007");
    let (_, again) = c
        .follow(&c.import("channel=hotline&format=xlsx", file).await)
        .await;
    assert_eq!(again["unchanged"], 2);
}

/// `MINXIN_IMPORT_ROWS` rows (1,000 by default; the README's figures are for 10,000): the job
/// reports progress, finishes, and the report pages.
#[tokio::test]
async fn a_large_file_reports_progress_and_goes_in_whole() {
    let c = county().await;
    let n: usize = std::env::var("MINXIN_IMPORT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut file = String::from(HEADER);
    for i in 0..n {
        file.push_str(&csv_row(
            &format!("L-{i:06}"),
            &format!("139{i:08}"),
            &format!("第{i}组停水"),
        ));
    }
    let started = Instant::now();
    let (seen, job) = c
        .follow(
            &c.import("channel=hotline&format=csv", file.into_bytes())
                .await,
        )
        .await;
    let took = started.elapsed();
    eprintln!("import of {n} rows: {took:?}, statuses {seen:?}");
    assert_eq!(job["status"], "done", "{job:?}");
    assert_eq!(job["created"].as_u64(), Some(n as u64));
    assert_eq!(job["rows_read"].as_u64(), Some(n as u64));
    assert_eq!(
        job["rows"].as_array().unwrap().len(),
        500,
        "one page of the report"
    );
    let next = job["next_after_line"].as_u64().unwrap();
    let page = c
        .app
        .get(
            &format!("/api/v1/office/imports/{}?after_line={next}", job["id"]),
            Some(&c.office),
        )
        .await;
    assert_eq!(page.body["rows"][0]["line"].as_u64(), Some(next + 1));
    assert!(took < Duration::from_secs(600), "{took:?}");
}
