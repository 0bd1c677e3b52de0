//! Channels and office intake as typed records: the channel an appeal came in by, a resident
//! known only by name and phone, the other system's reference, and what an import reports per
//! row. Parsing only; no I/O.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::board::model::checked_text;
use crate::error::{AppError, AppResult};

/// The mini-program's own channel: every appeal a resident submits there.
pub const MINI_PROGRAM: &str = "mini_program";
pub const NAME_MAX: usize = 50;
pub const REF_MAX: usize = 64;

/// A channel from the configured list, other than the mini-program's own (the office registers
/// what came in elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel(String);

impl Channel {
    pub fn parse(field: &str, s: &str, configured: &[String]) -> AppResult<Channel> {
        let s = s.trim();
        if s == MINI_PROGRAM {
            return Err(AppError::validation(
                field,
                "mini-program appeals are submitted by residents themselves",
            ));
        }
        if !configured.iter().any(|c| c == s) {
            return Err(AppError::validation(
                field,
                format!("unknown channel; one of: {}", configured.join(", ")),
            ));
        }
        Ok(Channel(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number reduced to its digits (`+86`/`0086` dropped before a mobile number), so that
/// `138-1234-5678` given on the hotline and `13812345678` verified in the app are one number.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

// Hand-written: a phone number never reaches a log line.
impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Phone([redacted])")
    }
}

impl Phone {
    pub fn parse(s: &str) -> Option<Phone> {
        let s = s.trim();
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'))
        {
            return None;
        }
        let mut digits: String = s.chars().filter(char::is_ascii_digit).collect();
        for prefix in ["0086", "86"] {
            if digits.len() == 11 + prefix.len()
                && digits.starts_with(prefix)
                && digits[prefix.len()..].starts_with('1')
            {
                digits = digits[prefix.len()..].to_string();
            }
        }
        (7..=15).contains(&digits.len()).then_some(Phone(digits))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }
}

/// The other system's reference: printable, one line, at most [`REF_MAX`] characters.
pub fn external_ref(field: &str, s: &str) -> AppResult<String> {
    let r = checked_text(field, s, REF_MAX, false)?;
    Ok(r)
}

/// What the office types in when a resident calls or writes.
#[derive(Deserialize, Serialize, ToSchema, Clone)]
pub struct IntakeRequest {
    /// One of the configured channels other than `mini_program` (`hotline`, `mailbox`, …).
    pub channel: String,
    /// The other system's reference, e.g. the 12345 ticket number; unique per channel, so
    /// sending the same intake again finds the appeal registered the first time.
    #[schema(max_length = 64)]
    pub external_ref: Option<String>,
    /// The resident's name as given; stored encrypted, shown masked.
    #[schema(min_length = 1, max_length = 50)]
    pub resident_name: String,
    /// The resident's phone; stored encrypted, shown masked. When a resident verifies this
    /// phone in the mini-program, the appeal becomes theirs.
    pub resident_phone: String,
    /// When the other channel received it, if not now.
    pub received_at: Option<DateTime<Utc>>,
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    #[schema(min_length = 1, max_length = 5000)]
    pub content: String,
    pub category_id: i64,
    pub village_id: i64,
    pub address: Option<String>,
    /// Whether the resident agreed to publication on the board; `false` unless said.
    #[serde(default)]
    pub is_public: bool,
}

/// An appeal registered by the office, as staff see it: personal data masked.
#[derive(Serialize, ToSchema, Debug)]
pub struct IntakeView {
    pub appeal_id: i64,
    pub channel: String,
    pub external_ref: Option<String>,
    /// Masked: 张*.
    pub resident_name: String,
    /// Masked: 138****5678.
    pub resident_phone: String,
    pub received_at: Option<DateTime<Utc>>,
    pub filed_by: i64,
    pub import_job_id: Option<i64>,
    /// Whether a resident verified this phone and now follows the appeal in the mini-program.
    pub claimed: bool,
    pub claimed_at: Option<DateTime<Utc>>,
    /// The appeal's workflow state.
    pub state: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// The resident's verdict, given by phone, recorded by the office while the appeal is unclaimed.
#[derive(Deserialize, ToSchema)]
pub struct VerdictRequest {
    /// The appeal's `version` as the caller last read it.
    pub version: i32,
    pub rating: crate::board::workflow::Rating,
    pub solved: Option<bool>,
    pub comment: Option<String>,
}

/// `csv` or `xlsx`.
#[derive(Deserialize, Serialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// The import's parameters: the channel, the file's format, whether to write, and which column
/// of the file holds each field (the hotline's own headers by default).
#[derive(Deserialize, IntoParams, Clone, Debug)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    pub channel: String,
    pub format: Format,
    /// Report what would happen, write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Column of the reference (default `工单编号`).
    #[serde(default = "d_ref")]
    pub col_external_ref: String,
    /// Column of the title (default `标题`).
    #[serde(default = "d_title")]
    pub col_title: String,
    /// Column of the content (default `内容`).
    #[serde(default = "d_content")]
    pub col_content: String,
    /// Column of the category's name (default `类别`).
    #[serde(default = "d_category")]
    pub col_category: String,
    /// Column of the village: its name, or `乡镇/村` where names repeat (default `村`).
    #[serde(default = "d_village")]
    pub col_village: String,
    /// Column of the resident's name (default `姓名`).
    #[serde(default = "d_name")]
    pub col_resident_name: String,
    /// Column of the resident's phone (default `电话`).
    #[serde(default = "d_phone")]
    pub col_resident_phone: String,
    /// Optional column of the address (default `地址`; absent is fine).
    #[serde(default = "d_address")]
    pub col_address: String,
    /// Optional column of when the hotline received it, RFC 3339 or `YYYY-MM-DD HH:MM[:SS]`
    /// in Shanghai time (default `受理时间`; absent is fine).
    #[serde(default = "d_received")]
    pub col_received_at: String,
}

fn d_ref() -> String {
    "工单编号".into()
}
fn d_title() -> String {
    "标题".into()
}
fn d_content() -> String {
    "内容".into()
}
fn d_category() -> String {
    "类别".into()
}
fn d_village() -> String {
    "村".into()
}
fn d_name() -> String {
    "姓名".into()
}
fn d_phone() -> String {
    "电话".into()
}
fn d_address() -> String {
    "地址".into()
}
fn d_received() -> String {
    "受理时间".into()
}

/// What happened (or, in a dry run, would happen) to one row.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new appeal.
    Created,
    /// The reference was known; the resident's name or phone changed.
    Updated,
    /// The reference was known with the same content: nothing to do.
    Unchanged,
    /// The row is wrong; `reason` says why. One refused row refuses the whole file.
    Refused,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct RowReport {
    /// The row's line in the file (1 is the header).
    pub line: u64,
    pub external_ref: Option<String>,
    pub outcome: Outcome,
    pub appeal_id: Option<i64>,
    pub reason: Option<String>,
}

/// Which rows of the report to read.
#[derive(Deserialize, IntoParams, Debug, Default)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Only rows with this outcome.
    pub outcome: Option<Outcome>,
    /// Rows after this line (the previous page's `next_after_line`).
    pub after_line: Option<u64>,
}

/// Rows of the report on one page.
pub const REPORT_PAGE: usize = 500;

/// An import: its progress while it runs, its report once done.
#[derive(Serialize, ToSchema, Debug)]
pub struct ImportJobView {
    pub id: i64,
    pub channel: String,
    pub format: Format,
    pub dry_run: bool,
    /// `queued`, `validating` (rows checked so far in `rows_read`), `writing` (all rows in one
    /// transaction), `done`, `refused` (some row is wrong: nothing was written) or `failed`.
    pub status: String,
    pub rows_read: i32,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub refused: i32,
    /// Why a whole file was refused or failed, with the line where it applies.
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Up to 500 rows of the report, in line order.
    pub rows: Vec<RowReport>,
    /// Pass as `after_line` for the next page; absent on the last.
    pub next_after_line: Option<u64>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn phones_reduce_to_their_digits() {
        let p = |s| Phone::parse(s).map(|p| p.digits().to_string());
        assert_eq!(p("13812345678").as_deref(), Some("13812345678"));
        assert_eq!(p(" 138-1234-5678 ").as_deref(), Some("13812345678"));
        assert_eq!(p("+86 138 1234 5678").as_deref(), Some("13812345678"));
        assert_eq!(p("008613812345678").as_deref(), Some("13812345678"));
        assert_eq!(p("0851-2345678").as_deref(), Some("08512345678"));
        assert_eq!(p("12345"), None);
        assert_eq!(p("138x1234"), None);
        assert_eq!(p(""), None);
        assert_eq!(
            p("１３８１２３４５６７８"),
            None,
            "fullwidth digits are refused"
        );
    }

    #[test]
    fn channels_come_from_the_configured_list() {
        let list: Vec<String> = ["mini_program", "hotline", "mailbox"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            Channel::parse("channel", " hotline ", &list)
                .unwrap()
                .as_str(),
            "hotline"
        );
        assert!(Channel::parse("channel", "mini_program", &list).is_err());
        assert!(Channel::parse("channel", "fax", &list).is_err());
    }
}
