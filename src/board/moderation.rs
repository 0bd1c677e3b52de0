//! The content check that submitted text passes before anyone else sees it. One trait: the
//! local sensitive-word list now, WeChat's content-security call later. A flagged text is held
//! for the office's review, never dropped.
use async_trait::async_trait;
use sea_orm::DatabaseConnection;

use super::catalog;
use crate::error::{AppError, AppResult};
use crate::wechat::platform::{Idempotent, Platform};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Held for review, with the reason the office sees.
    Hold(String),
}

#[async_trait]
pub trait ContentCheck: Send + Sync {
    async fn check(&self, db: &DatabaseConnection, text: &str) -> AppResult<Verdict>;
}

/// The admin-maintained word list, matched case-insensitively, ignoring whitespace that could
/// be used to split a word.
pub struct LocalWordList;

pub fn matches(words: &[String], text: &str) -> Vec<String> {
    let squeezed: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    words
        .iter()
        .filter(|w| {
            let w: String = w.chars().flat_map(char::to_lowercase).collect();
            !w.is_empty() && squeezed.contains(&w)
        })
        .cloned()
        .collect()
}

#[async_trait]
impl ContentCheck for LocalWordList {
    async fn check(&self, db: &DatabaseConnection, text: &str) -> AppResult<Verdict> {
        let words = catalog::list_words(db).await?;
        let hits = matches(&words, text);
        Ok(if hits.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Hold(format!("sensitive words: {}", hits.join(", ")))
        })
    }
}

/// `msg_sec_check` scenes (WeChat's numbering).
pub mod scene {
    /// Comments: replies and live-session topics.
    pub const COMMENT: u8 = 2;
    /// Forum posts: appeals and consultation opinions.
    pub const FORUM: u8 = 3;
}

/// WeChat's content security (v2) for one author's text, with the local word list beside it.
/// `risky` is refused (422 on `field`, with WeChat's label); `review` is held; `pass` leaves the
/// word list's verdict. When WeChat is down, slow or refuses us, the text is held with the
/// word list's verdict in the reason: accepted and kept, never published unchecked.
pub struct WechatCheck<'a> {
    pub platform: &'a Platform,
    pub openid: &'a str,
    pub scene: u8,
    /// The request field named when the text is refused.
    pub field: &'a str,
}

/// The check a submission should pass: WeChat's content security for the author when
/// `wechat.content_check` is on (and the author has an openid), else the local word list.
/// The hook for submission paths (appeals, public replies, opinions, live topics).
pub async fn check_text(
    state: &crate::state::AppState,
    author_id: i64,
    field: &str,
    scene: u8,
    text: &str,
) -> AppResult<Verdict> {
    use sea_orm::EntityTrait;
    if !state.settings.wechat.content_check {
        return LocalWordList.check(&state.db, text).await;
    }
    let author = entity::users::Entity::find_by_id(author_id)
        .one(&state.db)
        .await?;
    match author {
        Some(u) if !u.openid.is_empty() => {
            WechatCheck {
                platform: &state.platform,
                openid: &u.openid,
                scene,
                field,
            }
            .check(&state.db, text)
            .await
        }
        _ => LocalWordList.check(&state.db, text).await,
    }
}

/// What WeChat's answer means for the text.
pub fn wechat_verdict(answer: &serde_json::Value) -> Option<(String, i64)> {
    let r = &answer["result"];
    Some((
        r["suggest"].as_str()?.to_string(),
        r["label"].as_i64().unwrap_or(0),
    ))
}

#[async_trait]
impl ContentCheck for WechatCheck<'_> {
    async fn check(&self, db: &DatabaseConnection, text: &str) -> AppResult<Verdict> {
        let local = LocalWordList.check(db, text).await?;
        let body = serde_json::json!({
            "content": text, "version": 2, "scene": self.scene, "openid": self.openid,
        });
        let answer = self
            .platform
            .call(
                "msg_sec_check",
                "/wxa/msg_sec_check",
                &body,
                Idempotent::Yes,
            )
            .await;
        let local_says = |v: &Verdict| match v {
            Verdict::Pass => "pass".to_string(),
            Verdict::Hold(why) => why.clone(),
        };
        match answer.as_ref().ok().and_then(wechat_verdict) {
            Some((s, label)) if s == "risky" => Err(AppError::validation(
                self.field,
                format!(
                    "WeChat content security refused this text (label {label}); please rewrite it"
                ),
            )),
            Some((s, label)) if s == "review" => Ok(Verdict::Hold(format!(
                "WeChat content security: review (label {label}); local word list: {}",
                local_says(&local)
            ))),
            Some((s, _)) if s == "pass" => Ok(local),
            _ => {
                let why = match &answer {
                    Err(e) => e.to_string(),
                    Ok(_) => "unreadable answer".into(),
                };
                tracing::warn!(reason = %why, "content check: WeChat unavailable, text held");
                Ok(Verdict::Hold(format!(
                    "WeChat content security unavailable; local word list: {}",
                    local_says(&local)
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_words_split_by_spaces_and_case() {
        let words = vec!["暴力".to_string(), "Scam".to_string()];
        assert_eq!(super::matches(&words, "这是 暴 力 事件"), vec!["暴力"]);
        assert_eq!(super::matches(&words, "a SCAM here"), vec!["Scam"]);
        assert!(super::matches(&words, "村里的路坏了").is_empty());
    }
}
