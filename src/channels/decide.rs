//! The pure rules of intake and import: checking an intake, finding the mapped columns in a
//! file's header, turning one row into an intake, and what a known reference means. No I/O;
//! unit-tested below.
use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;

use super::model::{external_ref, Channel, ImportQuery, IntakeRequest, Outcome, Phone, NAME_MAX};
use crate::board::model::{checked_text, optional_text, CONTENT_MAX, TITLE_MAX};
use crate::calendar::workdays::TIMEZONE;
use crate::error::{AppError, AppResult};

/// An intake whose fields passed their checks (the category and village are checked when the
/// appeal is prepared, as for any appeal).
#[derive(Debug, Clone)]
pub struct CheckedIntake {
    pub channel: Channel,
    pub external_ref: Option<String>,
    pub resident_name: String,
    pub phone: Phone,
    pub received_at: Option<DateTime<Utc>>,
    pub title: String,
    pub content: String,
    pub category_id: i64,
    pub village_id: i64,
    pub address: Option<String>,
    pub is_public: bool,
}

impl CheckedIntake {
    /// The appeal's own fields in a canonical form: two registrations with the same form are
    /// the same appeal sent twice.
    pub fn appeal_form(&self) -> String {
        #[derive(Serialize)]
        struct Form<'a> {
            title: &'a str,
            content: &'a str,
            category_id: i64,
            village_id: i64,
            address: Option<&'a str>,
            is_public: bool,
        }
        serde_json::to_string(&Form {
            title: &self.title,
            content: &self.content,
            category_id: self.category_id,
            village_id: self.village_id,
            address: self.address.as_deref(),
            is_public: self.is_public,
        })
        .unwrap_or_default()
    }

    /// The resident's name and phone in a canonical form.
    pub fn contact_form(&self) -> String {
        format!("{}\n{}", self.resident_name, self.phone.digits())
    }
}

pub fn check_intake(req: &IntakeRequest, channels: &[String]) -> AppResult<CheckedIntake> {
    let channel = Channel::parse("channel", &req.channel, channels)?;
    let external_ref = match req.external_ref.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => Some(external_ref("external_ref", r)?),
    };
    let resident_name = checked_text("resident_name", &req.resident_name, NAME_MAX, false)?;
    let phone = Phone::parse(&req.resident_phone).ok_or_else(|| {
        AppError::validation("resident_phone", "must be a phone number (7 to 15 digits)")
    })?;
    Ok(CheckedIntake {
        channel,
        external_ref,
        resident_name,
        phone,
        received_at: req.received_at,
        title: checked_text("title", &req.title, TITLE_MAX, false)?,
        content: checked_text("content", &req.content, CONTENT_MAX, true)?,
        category_id: req.category_id,
        village_id: req.village_id,
        address: optional_text("address", &req.address, 200, false)?,
        is_public: req.is_public,
    })
}

/// What is already registered under a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub appeal_id: i64,
    pub appeal_hash: String,
    pub contact_hash: String,
}

/// A registration under a reference that is already known: the same appeal again changes
/// nothing (or only the resident's contact details); a different appeal is refused, since the
/// appeal is already in the workflow and changes go through it.
pub fn outcome_for_known(
    known: &Known,
    appeal_hash: &str,
    contact_hash: &str,
) -> Result<Outcome, String> {
    if known.appeal_hash != appeal_hash {
        return Err(format!(
            "this reference is already appeal {} with another title, content, category, village \
             or address; change that appeal through the workflow, not by import",
            known.appeal_id
        ));
    }
    Ok(if known.contact_hash == contact_hash {
        Outcome::Unchanged
    } else {
        Outcome::Updated
    })
}

/// Where each mapped field is in the file's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    external_ref: usize,
    title: usize,
    content: usize,
    category: usize,
    village: usize,
    resident_name: usize,
    resident_phone: usize,
    address: Option<usize>,
    received_at: Option<usize>,
}

/// Finds the mapped columns in the header row; a missing required one refuses the file.
pub fn columns(header: &[String], q: &ImportQuery) -> Result<Columns, String> {
    let find = |name: &str| header.iter().position(|h| h.trim() == name.trim());
    let need = |name: &str| {
        find(name).ok_or_else(|| {
            format!(
                "line 1: no column `{name}`; the header has: {}",
                header.join(", ")
            )
        })
    };
    Ok(Columns {
        external_ref: need(&q.col_external_ref)?,
        title: need(&q.col_title)?,
        content: need(&q.col_content)?,
        category: need(&q.col_category)?,
        village: need(&q.col_village)?,
        resident_name: need(&q.col_resident_name)?,
        resident_phone: need(&q.col_resident_phone)?,
        address: find(&q.col_address),
        received_at: find(&q.col_received_at),
    })
}

/// Names of the catalogue, to read the category and village a row names.
#[derive(Debug, Default)]
pub struct Lookups {
    pub categories: HashMap<String, i64>,
    /// Village name → ids (names repeat across townships), and `乡镇/村` → id.
    pub villages: HashMap<String, Vec<i64>>,
}

impl Lookups {
    pub fn add_village(&mut self, id: i64, township: &str, name: &str) {
        self.villages
            .entry(name.trim().to_string())
            .or_default()
            .push(id);
        self.villages
            .entry(format!("{}/{}", township.trim(), name.trim()))
            .or_default()
            .push(id);
    }

    fn village(&self, name: &str) -> Result<i64, String> {
        match self.villages.get(name.trim()).map(Vec::as_slice) {
            Some([id]) => Ok(*id),
            Some(ids) if ids.len() > 1 => Err(format!(
                "village `{name}` is in {} townships; write it as `乡镇/村`",
                ids.len()
            )),
            _ => Err(format!("unknown village `{name}`")),
        }
    }
}

/// Reads one row into an intake, or says what is wrong with it (without the line: the caller
/// knows it).
pub fn row_intake(
    cells: &[String],
    cols: &Columns,
    channel: &str,
    channels: &[String],
    lookups: &Lookups,
) -> Result<CheckedIntake, String> {
    let cell = |i: usize| cells.get(i).map(|s| s.trim()).unwrap_or("");
    let reference = cell(cols.external_ref);
    if reference.is_empty() {
        return Err("no reference: every imported row needs one".into());
    }
    let category = cell(cols.category);
    let category_id = *lookups
        .categories
        .get(category)
        .ok_or_else(|| format!("unknown category `{category}`"))?;
    let village_id = lookups.village(cell(cols.village))?;
    let received_at = match cols.received_at.map(cell).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(parse_time(s).ok_or_else(|| {
            format!("received time `{s}` is not `YYYY-MM-DD HH:MM[:SS]` or RFC 3339")
        })?),
    };
    let req = IntakeRequest {
        channel: channel.to_string(),
        external_ref: Some(reference.to_string()),
        resident_name: cell(cols.resident_name).to_string(),
        resident_phone: cell(cols.resident_phone).to_string(),
        received_at,
        title: cell(cols.title).to_string(),
        content: cell(cols.content).to_string(),
        category_id,
        village_id,
        address: cols.address.map(|i| cell(i).to_string()),
        is_public: false,
    };
    check_intake(&req, channels).map_err(|e| match e {
        AppError::Validation { field, message } => format!("{field}: {message}"),
        other => other.to_string(),
    })
}

/// RFC 3339, or a Shanghai wall-clock time as hotline systems export it.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .and_then(|n| TIMEZONE.from_local_datetime(&n).single())
    .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::channels::model::Format;

    fn channels() -> Vec<String> {
        ["mini_program", "hotline"].map(String::from).to_vec()
    }

    fn query() -> ImportQuery {
        serde_json::from_value(serde_json::json!({"channel": "hotline", "format": "csv"})).unwrap()
    }

    fn header() -> Vec<String> {
        [
            "工单编号",
            "标题",
            "内容",
            "类别",
            "村",
            "姓名",
            "电话",
            "受理时间",
        ]
        .map(String::from)
        .to_vec()
    }

    fn lookups() -> Lookups {
        let mut l = Lookups::default();
        l.categories.insert("饮水安全".into(), 7);
        l.add_village(3, "城关镇", "石门村");
        l.add_village(4, "城关镇", "高坡村");
        l.add_village(5, "高坡乡", "高坡村");
        l
    }

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_good_row_becomes_an_intake() {
        let cols = columns(&header(), &query()).unwrap();
        let i = row_intake(
            &row(&[
                "12345-1",
                "停水",
                "三天没水了",
                "饮水安全",
                "石门村",
                "张三",
                "138 1234 5678",
                "2025-09-29 09:30",
            ]),
            &cols,
            "hotline",
            &channels(),
            &lookups(),
        )
        .unwrap();
        assert_eq!(i.external_ref.as_deref(), Some("12345-1"));
        assert_eq!((i.category_id, i.village_id), (7, 3));
        assert_eq!(i.phone.digits(), "13812345678");
        assert_eq!(
            i.received_at.unwrap().to_rfc3339(),
            "2025-09-29T01:30:00+00:00"
        );
        assert!(!i.is_public, "imported appeals stay private");
    }

    #[test]
    fn bad_rows_say_what_is_wrong() {
        let cols = columns(&header(), &query()).unwrap();
        let err = |cells: &[&str]| {
            row_intake(&row(cells), &cols, "hotline", &channels(), &lookups()).unwrap_err()
        };
        assert!(
            err(&["", "t", "c", "饮水安全", "石门村", "张三", "13812345678"]).contains("reference")
        );
        assert!(
            err(&["1", "t", "c", "道路", "石门村", "张三", "13812345678"])
                .contains("category `道路`")
        );
        assert!(
            err(&["1", "t", "c", "饮水安全", "高坡村", "张三", "13812345678"]).contains("乡镇/村")
        );
        assert!(
            err(&["1", "t", "c", "饮水安全", "无名村", "张三", "13812345678"])
                .contains("unknown village")
        );
        assert!(
            err(&["1", "t", "c", "饮水安全", "石门村", "张三", "12"]).starts_with("resident_phone")
        );
        assert!(
            err(&["1", "", "c", "饮水安全", "石门村", "张三", "13812345678"]).starts_with("title")
        );
        assert!(err(&[
            "1",
            "t",
            "c",
            "饮水安全",
            "石门村",
            "张三",
            "13812345678",
            "昨天"
        ])
        .contains("received time"));
        let long = "长".repeat(101);
        assert!(err(&[
            "1",
            long.as_str(),
            "c",
            "饮水安全",
            "石门村",
            "张三",
            "13812345678"
        ])
        .contains("100 characters"));
        // A township-qualified village is unambiguous; a short row reads missing cells as empty.
        let ok = row_intake(
            &row(&[
                "1",
                "t",
                "c",
                "饮水安全",
                "高坡乡/高坡村",
                "张三",
                "13812345678",
            ]),
            &cols,
            "hotline",
            &channels(),
            &lookups(),
        )
        .unwrap();
        assert_eq!(ok.village_id, 5);
    }

    #[test]
    fn a_missing_column_refuses_the_file_at_line_one() {
        let mut q = query();
        q.col_title = "主题".into();
        let e = columns(&header(), &q).unwrap_err();
        assert!(e.starts_with("line 1: no column `主题`"), "{e}");
        assert_eq!(q.format, Format::Csv);
    }

    #[test]
    fn a_known_reference_is_unchanged_updated_or_refused() {
        let known = Known {
            appeal_id: 9,
            appeal_hash: "a".into(),
            contact_hash: "c".into(),
        };
        assert_eq!(outcome_for_known(&known, "a", "c"), Ok(Outcome::Unchanged));
        assert_eq!(outcome_for_known(&known, "a", "d"), Ok(Outcome::Updated));
        assert!(outcome_for_known(&known, "b", "c")
            .unwrap_err()
            .contains("appeal 9"));
    }

    #[test]
    fn intakes_are_checked_field_by_field() {
        let req = IntakeRequest {
            channel: "hotline".into(),
            external_ref: Some("  ".into()),
            resident_name: "李四".into(),
            resident_phone: "+86 13912345678".into(),
            received_at: None,
            title: "路灯不亮".into(),
            content: "村口路灯坏了一个月".into(),
            category_id: 1,
            village_id: 2,
            address: None,
            is_public: false,
        };
        let ok = check_intake(&req, &channels()).unwrap();
        assert_eq!(ok.external_ref, None, "a blank reference is none");
        assert_eq!(ok.contact_form(), "李四\n13912345678");
        let field = |r: IntakeRequest| match check_intake(&r, &channels()) {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(IntakeRequest {
                channel: "mini_program".into(),
                ..req.clone()
            }),
            "channel"
        );
        assert_eq!(
            field(IntakeRequest {
                resident_name: " ".into(),
                ..req.clone()
            }),
            "resident_name"
        );
        assert_eq!(
            field(IntakeRequest {
                resident_phone: "call me".into(),
                ..req.clone()
            }),
            "resident_phone"
        );
        assert_eq!(
            field(IntakeRequest {
                external_ref: Some("x".repeat(65)),
                ..req.clone()
            }),
            "external_ref"
        );
        assert_eq!(
            field(IntakeRequest {
                content: String::new(),
                ..req
            }),
            "content"
        );
    }
}
