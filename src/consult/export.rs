//! Exports of a consultation for the office: CSV (UTF-8 with a byte-order mark so Excel and WPS
//! read the Chinese, every text that a spreadsheet would run as a formula defused) and XLSX
//! (rust_xlsxwriter: a summary sheet and a responses sheet, texts always written as strings).
//! Both are built from one table of typed cells, so they never disagree.
use std::collections::HashMap;

use entity::villages;
use rust_xlsxwriter::Workbook;

use super::model::{Consultation, Opinion, Question, QuestionKind, Review};
use super::tally::{tally, Results};
use super::views::{counted, opinions_with_places};
use crate::clock::TIMEZONE;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

pub struct Table {
    pub name: &'static str,
    pub rows: Vec<Vec<Cell>>,
}

/// The two sheets of an export: summary and responses.
pub async fn tables(state: &AppState, c: &Consultation) -> AppResult<[Table; 2]> {
    let (opinions, places) = opinions_with_places(&state.db, c.row.id).await?;
    let results = tally(&c.questions, &counted(&opinions, &places));
    Ok([
        summary(c, &results),
        responses(&c.questions, &opinions, &places),
    ])
}

fn summary(c: &Consultation, r: &Results) -> Table {
    let mut rows = vec![
        vec![t("意见征集"), t(c.row.title.clone())],
        vec![t("参与人数"), Cell::Number(r.respondents as f64)],
        vec![t("题号"), t("题目"), t("选项"), t("人数"), t("占比(%)")],
    ];
    for q in &r.questions {
        let head = |label: String, n: f64, pct: Option<f64>| {
            let mut row = vec![t(q.question_id.clone()), t(q.prompt.clone()), t(label)];
            row.push(Cell::Number(n));
            if let Some(p) = pct {
                row.push(Cell::Number(p));
            }
            row
        };
        rows.push(head(
            "作答人数".into(),
            q.answered as f64,
            Some((q.completion_rate * 1000.0).round() / 10.0),
        ));
        for o in q.options.iter().chain(q.other.as_ref()) {
            rows.push(head(o.label.clone(), o.count as f64, Some(o.percent)));
        }
        if let Some(rating) = &q.rating {
            for (i, n) in rating.distribution.iter().enumerate() {
                rows.push(head(format!("{}分", i + 1), *n as f64, None));
            }
            if let Some(mean) = rating.mean {
                rows.push(head("平均分".into(), mean, None));
            }
        }
    }
    rows.push(vec![]);
    rows.push(vec![t("乡镇"), t("人数")]);
    for g in &r.by_township {
        rows.push(vec![t(g.name.clone()), Cell::Number(g.respondents as f64)]);
    }
    rows.push(vec![]);
    rows.push(vec![
        t("意见处理"),
        t("采纳"),
        t("部分采纳"),
        t("已收悉"),
        t("未处理"),
    ]);
    let o = &r.outcomes;
    rows.push(vec![
        t(""),
        Cell::Number(o.adopted as f64),
        Cell::Number(o.partly_adopted as f64),
        Cell::Number(o.noted as f64),
        Cell::Number(o.unmarked as f64),
    ]);
    Table {
        name: "汇总", rows
    }
}

/// One answer as a cell: choices by their labels, texts only when the review let them through.
fn answer_cell(q: &Question, o: &Opinion) -> Cell {
    let Some(a) = o.answers.get(&q.id) else {
        return t("");
    };
    let shown = |s: &str| match o.review {
        Review::Visible => s.to_string(),
        Review::Held => "（待审核）".into(),
        Review::Rejected => "（未通过审核）".into(),
    };
    match q.kind {
        QuestionKind::Rating => a.rating.map_or(t(""), |r| Cell::Number(r as f64)),
        QuestionKind::FreeText => Cell::Text(a.text.as_deref().map(shown).unwrap_or_default()),
        QuestionKind::SingleChoice | QuestionKind::MultipleChoice => {
            let mut parts: Vec<String> = a
                .choices
                .iter()
                .filter_map(|n| q.options.get((*n as usize).wrapping_sub(1)).cloned())
                .collect();
            if let Some(other) = &a.other {
                parts.push(format!("其他：{}", shown(other)));
            }
            Cell::Text(parts.join("；"))
        }
    }
}

fn responses(
    questions: &[Question],
    opinions: &[Opinion],
    places: &HashMap<i64, villages::Model>,
) -> Table {
    let mut header = vec![t("编号"), t("提交时间"), t("版本"), t("乡镇"), t("村")];
    header.extend(
        questions
            .iter()
            .map(|q| t(format!("{} {}", q.id, q.prompt))),
    );
    header.extend([t("审核"), t("意见处理"), t("处理说明")]);
    let mut rows = vec![header];
    for o in opinions {
        let place = o.row.village_id.and_then(|v| places.get(&v));
        let mut row = vec![
            Cell::Number(o.row.id as f64),
            t(o.row
                .updated_at
                .with_timezone(&TIMEZONE)
                .format("%Y-%m-%d %H:%M")
                .to_string()),
            Cell::Number(f64::from(o.row.version)),
            t(place.map(|v| v.township.clone()).unwrap_or_default()),
            t(place.map(|v| v.name.clone()).unwrap_or_default()),
        ];
        row.extend(questions.iter().map(|q| answer_cell(q, o)));
        row.extend([
            t(o.review.as_str()),
            t(o.outcome.map(|x| x.label()).unwrap_or_default()),
            t(o.row.outcome_reason.clone().unwrap_or_default()),
        ]);
        rows.push(row);
    }
    Table {
        name: "意见", rows
    }
}

/// A text a spreadsheet would read as a formula gets a leading `'`.
pub fn defuse(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The responses sheet as CSV, preceded by a byte-order mark.
pub fn csv(table: &Table) -> AppResult<Vec<u8>> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .flexible(true)
            .from_writer(&mut out);
        for row in &table.rows {
            let fields: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(s) => defuse(s),
                    Cell::Number(n) => number(*n),
                })
                .collect();
            w.write_record(&fields).map_err(AppError::internal)?;
        }
        w.flush().map_err(AppError::internal)?;
    }
    Ok(out)
}

/// Both sheets as an XLSX workbook. Texts are written as strings, never formulas.
pub fn xlsx(tables: &[Table]) -> AppResult<Vec<u8>> {
    let mut wb = Workbook::new();
    for table in tables {
        let ws = wb.add_worksheet();
        ws.set_name(table.name).map_err(AppError::internal)?;
        for (r, row) in table.rows.iter().enumerate() {
            let r = u32::try_from(r).map_err(AppError::internal)?;
            for (c, cell) in row.iter().enumerate() {
                let c = u16::try_from(c).map_err(AppError::internal)?;
                match cell {
                    Cell::Text(s) => ws.write_string(r, c, s),
                    Cell::Number(n) => ws.write_number(r, c, *n),
                }
                .map_err(AppError::internal)?;
            }
        }
    }
    wb.save_to_buffer().map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn csv_has_a_bom_and_defuses_formulas() {
        let table = Table {
            name: "意见",
            rows: vec![
                vec![t("编号"), t("意见")],
                vec![Cell::Number(1.0), t("=HYPERLINK(\"x\")")],
                vec![Cell::Number(2.5), t("修路，建桥")],
            ],
        };
        let out = String::from_utf8(csv(&table).unwrap()).unwrap();
        assert!(out.starts_with('\u{feff}'));
        assert!(out.contains("1,\"'=HYPERLINK(\"\"x\"\")\"\r\n"), "{out}");
        assert!(out.contains("2.5,\"修路，建桥\"") || out.contains("2.5,修路，建桥"));
        assert_eq!(defuse("-1+2"), "'-1+2");
        assert_eq!(defuse("好"), "好");
    }
}
