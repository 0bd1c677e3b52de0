//! The content check that submitted text passes before anyone else sees it. One trait: the
//! local sensitive-word list now, WeChat's content-security call later. A flagged text is held
//! for the office's review, never dropped.
use async_trait::async_trait;
use sea_orm::DatabaseConnection;

use super::catalog;
use crate::error::AppResult;

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
