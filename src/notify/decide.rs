//! Pure rules of the notification worker: filling a template's fields within WeChat's limits,
//! which errors are worth another attempt, and when.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::model::Outcome;
use crate::clock::TIMEZONE;
use crate::wechat::client::WechatError;

/// Fills `{key}` placeholders from the payload; a spec without braces names one payload key.
pub fn render(spec: &str, payload: &Value) -> String {
    let value = |k: &str| match &payload[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if !spec.contains('{') {
        return value(spec);
    }
    let mut out = String::new();
    let mut rest = spec;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push_str(&value(&after[..close]));
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Cuts to `max` characters (not bytes), marking the cut with an ellipsis.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One field's value within WeChat's rule for the field's type (its key's prefix: `thing1` is
/// a `thing`). Whitespace runs become one space. An error names what cannot be repaired.
pub fn fit_field(key: &str, raw: &str) -> Result<String, String> {
    let squeezed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let v = match kind {
        "thing" => cut(&squeezed, 20),
        "name" => cut(&squeezed, 10),
        // A phrase is at most five characters, no digits or letters: cut, never padded.
        "phrase" => {
            let only: String = squeezed
                .chars()
                .filter(|c| !c.is_ascii_alphanumeric() && !c.is_whitespace())
                .take(5)
                .collect();
            only
        }
        "character_string" | "letter" | "symbol" => squeezed.chars().take(32).collect(),
        "number" => {
            if !squeezed.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return Err(format!("{key} must be a number"));
            }
            squeezed.chars().take(32).collect()
        }
        "time" => local_time(&squeezed, "%Y-%m-%d %H:%M").ok_or(format!("{key} is not a time"))?,
        "date" => local_time(&squeezed, "%Y-%m-%d").ok_or(format!("{key} is not a date"))?,
        _ => cut(&squeezed, 20),
    };
    if v.is_empty() {
        return Err(format!("{key} is empty"));
    }
    Ok(v)
}

/// An RFC 3339 instant written in Asia/Shanghai time; local text (`2026-12-01 19:30`) kept.
fn local_time(s: &str, fmt: &str) -> Option<String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&TIMEZONE).format(fmt).to_string());
    }
    let date_like = s.len() >= 10 && s.as_bytes().get(4) == Some(&b'-');
    date_like.then(|| s.to_string())
}

/// The `data` object of `subscribeMessage.send`: every configured field rendered and fitted.
pub fn build_data(fields: &BTreeMap<String, String>, payload: &Value) -> Result<Value, String> {
    let mut data = Map::new();
    for (key, spec) in fields {
        let v = fit_field(key, &render(spec, payload))?;
        data.insert(key.clone(), serde_json::json!({ "value": v }));
    }
    Ok(Value::Object(data))
}

/// The template ids a resident accepted, from what `wx.requestSubscribeMessage` returned
/// (`{"<template id>": "accept" | "reject" | "ban" | "filter", "errMsg": …}`). Unknown
/// templates and answers are refused (as `(field, message)`), so a typo is not silently lost.
pub fn accepted(
    results: &BTreeMap<String, Value>,
    configured: &[&str],
) -> Result<Vec<String>, (String, String)> {
    if results.len() > 21 {
        return Err(("body".into(), "at most 20 templates at once".into()));
    }
    let mut out = Vec::new();
    for (tid, answer) in results {
        if tid == "errMsg" {
            continue;
        }
        if !configured.contains(&tid.as_str()) {
            return Err((tid.clone(), "not a template this server sends".into()));
        }
        match answer.as_str() {
            Some("accept") => out.push(tid.clone()),
            Some("reject" | "ban" | "filter") => {}
            _ => return Err((tid.clone(), "must be accept, reject, ban or filter".into())),
        }
    }
    Ok(out)
}

/// The template's page with `{id}` replaced by the subject's id.
pub fn page(template_page: &str, subject_id: i64) -> String {
    template_page.replace("{id}", &subject_id.to_string())
}

/// Whether another attempt may succeed: outages, busy answers, limits, token trouble and our
/// own configuration errors (fixable without losing the message) are transient; 43101 (no
/// consent, or it was used up) and any other errcode about the message are not.
pub fn transient(e: &WechatError) -> bool {
    match e {
        WechatError::Unavailable(_) | WechatError::RateLimited | WechatError::NotConfigured => true,
        other => other.is_token_invalid() || other.config_errcode().is_some(),
    }
}

/// Delay before attempt `attempts + 1`: `base` doubled per attempt made, at most an hour.
pub fn backoff(base_secs: i64, attempts: i32) -> Duration {
    let shift = attempts.saturating_sub(1).clamp(0, 12) as u32;
    Duration::seconds(base_secs.max(1).saturating_mul(1i64 << shift).min(3600))
}

/// What a failed attempt leads to.
pub fn after_failure(
    e: &WechatError,
    attempts: i32,
    max_attempts: i32,
    base_secs: i64,
    now: DateTime<Utc>,
) -> (Outcome, Option<DateTime<Utc>>) {
    if transient(e) && attempts < max_attempts {
        (Outcome::Retry, Some(now + backoff(base_secs, attempts)))
    } else {
        (Outcome::Failed, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_follow_wechat_rules_in_characters() {
        let long = "村里的道路年久失修，下雨天无法通行，请尽快安排维修";
        let v = fit_field("thing1", long).unwrap();
        assert_eq!(v.chars().count(), 20);
        assert!(v.ends_with('…'));
        assert_eq!(fit_field("thing2", "  路  灯 坏了 ").unwrap(), "路 灯 坏了");
        assert_eq!(fit_field("phrase3", "已受理完毕了").unwrap(), "已受理完毕");
        assert_eq!(fit_field("phrase3", "OK已答复").unwrap(), "已答复");
        assert!(fit_field("phrase3", "OK").is_err());
        assert!(fit_field("thing1", "   ").is_err());
        assert_eq!(
            fit_field("time4", "2026-12-01T11:30:00Z").unwrap(),
            "2026-12-01 19:30",
            "Asia/Shanghai"
        );
        assert!(fit_field("time4", "tomorrow").is_err());
        assert!(fit_field("number5", "12a").is_err());
        assert_eq!(
            fit_field("character_string6", &"x".repeat(40))
                .unwrap()
                .len(),
            32
        );
    }

    #[test]
    fn templates_render_from_the_payload() {
        let p = json!({"title": "路灯", "date": "2026-12-01", "start": "19:30", "id": 7});
        assert_eq!(render("title", &p), "路灯");
        assert_eq!(render("{date} {start}", &p), "2026-12-01 19:30");
        assert_eq!(render("No.{id}", &p), "No.7");
        assert_eq!(render("{missing}x", &p), "x");
        let fields = BTreeMap::from([
            ("thing1".to_string(), "title".to_string()),
            ("time2".to_string(), "{date} {start}".to_string()),
        ]);
        let d = build_data(&fields, &p).unwrap();
        assert_eq!(d["thing1"]["value"], "路灯");
        assert_eq!(d["time2"]["value"], "2026-12-01 19:30");
        assert_eq!(
            page("pages/appeal/detail?id={id}", 42),
            "pages/appeal/detail?id=42"
        );
    }

    #[test]
    fn consents_from_the_mini_program() {
        let configured = ["T1", "T2"];
        let r: BTreeMap<String, Value> = serde_json::from_value(
            json!({"T1": "accept", "T2": "reject", "errMsg": "requestSubscribeMessage:ok"}),
        )
        .unwrap();
        assert_eq!(accepted(&r, &configured).unwrap(), vec!["T1"]);
        let r: BTreeMap<String, Value> = serde_json::from_value(json!({"T9": "accept"})).unwrap();
        assert_eq!(accepted(&r, &configured).unwrap_err().0, "T9");
        let r: BTreeMap<String, Value> = serde_json::from_value(json!({"T1": "yes"})).unwrap();
        assert!(accepted(&r, &configured).is_err());
    }

    #[test]
    fn permanent_errors_are_not_retried() {
        let now = Utc::now();
        let no_consent = WechatError::from_code(43101, "user refuse to accept the msg");
        assert_eq!(after_failure(&no_consent, 1, 6, 30, now).0, Outcome::Failed);
        let bad_data = WechatError::from_code(47003, "argument invalid");
        assert_eq!(after_failure(&bad_data, 1, 6, 30, now).0, Outcome::Failed);
        let down = WechatError::Unavailable("HTTP 503".into());
        let (o, at) = after_failure(&down, 1, 6, 30, now);
        assert_eq!(o, Outcome::Retry);
        assert_eq!(at, Some(now + Duration::seconds(30)));
        assert_eq!(after_failure(&down, 6, 6, 30, now).0, Outcome::Failed);
        assert_eq!(backoff(30, 3), Duration::seconds(120));
        assert_eq!(backoff(30, 30), Duration::seconds(3600));
        assert!(transient(&WechatError::from_code(40125, "bad secret")));
        assert!(transient(&WechatError::from_code(-1, "busy")));
    }
}
