//! Search in Chinese text without spaces: an inverted index of character bigrams, portable
//! across SQLite and PostgreSQL (neither's full-text search segments Chinese out of the box).
use std::collections::BTreeSet;

use super::masking::mask_text;

/// The text the index holds: what the board shows of an appeal, masked as the board masks it,
/// with the reply when the board shows one. Indexing anything more would let a search confirm
/// what the board hides.
pub fn public_text(title: &str, content: &str, shown_reply: Option<&str>) -> String {
    let mut text = format!("{}\n{}", mask_text(title), mask_text(content));
    if let Some(r) = shown_reply {
        text.push('\n');
        text.push_str(&mask_text(r));
    }
    text
}

/// Letters and digits lowercased; everything else breaks the text into runs.
fn runs(text: &str) -> Vec<Vec<char>> {
    let mut out = vec![Vec::new()];
    for c in text.chars() {
        if c.is_alphanumeric() {
            if let Some(run) = out.last_mut() {
                run.extend(c.to_lowercase());
            }
        } else if out.last().is_some_and(|r| !r.is_empty()) {
            out.push(Vec::new());
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

/// Distinct bigrams of `text`; a one-character run contributes itself.
pub fn grams(text: &str) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for run in runs(text) {
        if run.len() == 1 {
            set.insert(run[0].to_string());
        }
        for w in run.windows(2) {
            set.insert(w.iter().collect());
        }
    }
    set
}

/// The bigrams a query must all match; `None` when the query is too short to search.
pub fn query_grams(q: &str) -> Option<Vec<String>> {
    let g: Vec<String> = runs(q)
        .iter()
        .flat_map(|run| run.windows(2).map(|w| w.iter().collect::<String>()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    (!g.is_empty()).then_some(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigrams_of_chinese_without_spaces() {
        let g = grams("村里自来水停了，井水浑浊");
        assert!(g.contains("自来") && g.contains("来水") && g.contains("井水"));
        assert!(!g.contains("了，"), "punctuation breaks runs");
        assert_eq!(query_grams("井水").unwrap(), vec!["井水"]);
        assert_eq!(query_grams("自来水").unwrap(), vec!["来水", "自来"]);
        assert!(query_grams("水").is_none());
        assert!(query_grams("  ，").is_none());
        assert!(grams("Road 5").contains("ro"));
    }

    #[test]
    fn hidden_digits_are_not_indexed() {
        let g = grams(&public_text(
            "电话13812345678",
            "身份证522422199001011234",
            Some("已联系 0851-2345678"),
        ));
        let hidden = |q: &str| query_grams(q).unwrap().iter().all(|x| g.contains(x));
        assert!(!hidden("13812345678") && !hidden("522422199001011234"));
        assert!(!hidden("2345678") && !hidden("1234"));
        assert!(hidden("5678") && hidden("已联系") && hidden("电话138"));
        assert!(!grams(&public_text("t", "c", None)).contains("已联"));
    }
}
