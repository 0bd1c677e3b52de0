//! The synonym lexicon: each term is scored as its canonical word (断水 and 没水 as 停水), so
//! two tellings of one matter in other words share terms. Pairs live in the `synonyms` table
//! (seeded from `migration/seed/synonyms.txt`); admins add and remove them.
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The seed file, also read by the migration that fills the table.
pub const SEED: &str = include_str!("../../migration/seed/synonyms.txt");

/// Longest term, in characters, an admin may add.
pub const TERM_MAX: usize = 20;

/// One entry: `term` is scored as `canonical`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SynonymPair {
    /// 1–20 characters, no spaces.
    #[schema(min_length = 1, max_length = 20)]
    pub term: String,
    /// 1–20 characters, no spaces; not the term itself.
    #[schema(min_length = 1, max_length = 20)]
    pub canonical: String,
}

/// Why a pair is refused: the field and a message.
pub type PairError = (&'static str, String);

impl SynonymPair {
    /// Trims both words and checks them.
    pub fn parse(term: &str, canonical: &str) -> Result<Self, PairError> {
        let term = check_word("term", term)?;
        let canonical = check_word("canonical", canonical)?;
        if term == canonical {
            return Err(("canonical", "a term cannot be its own synonym".into()));
        }
        Ok(Self { term, canonical })
    }
}

fn check_word(field: &'static str, w: &str) -> Result<String, PairError> {
    let w = normalize(w.trim());
    let n = w.chars().count();
    if n == 0 || n > TERM_MAX {
        return Err((field, format!("1 to {TERM_MAX} characters")));
    }
    if w.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err((field, "one word, without spaces".into()));
    }
    Ok(w)
}

/// The form terms are compared in: fullwidth ASCII folded, Latin letters lower-cased.
pub fn normalize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The pairs of the seed file: every word of a line after the first names the first.
pub fn seed_pairs() -> Vec<SynonymPair> {
    parse_groups(SEED)
}

/// Lines of whitespace-separated words, `#` comments; the first word of a line is the canonical
/// one. A term met again on a later line keeps its first meaning.
pub fn parse_groups(text: &str) -> Vec<SynonymPair> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(head) = words.next() else { continue };
        seen.insert(head.to_owned());
        for w in words {
            if seen.insert(w.to_owned()) {
                if let Ok(p) = SynonymPair::parse(w, head) {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// Terms and their canonical words, ready for scoring.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    canonical: HashMap<String, String>,
    /// Every term and canonical word, for joining the pieces a segmenter split them into.
    words: std::collections::HashSet<String>,
    longest: usize,
}

impl Lexicon {
    /// Chains (a → b, b → c) resolve to the end of the chain; a loop stops where it closes.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = &'a SynonymPair>) -> Self {
        let direct: HashMap<&str, &str> = pairs
            .into_iter()
            .map(|p| (p.term.as_str(), p.canonical.as_str()))
            .collect();
        let mut canonical = HashMap::new();
        let mut words = std::collections::HashSet::new();
        for (&term, &first) in &direct {
            let mut to = first;
            let mut hops = 0;
            while let Some(&next) = direct.get(to) {
                hops += 1;
                if next == term || hops > 8 {
                    break;
                }
                to = next;
            }
            canonical.insert(term.to_owned(), to.to_owned());
            words.insert(term.to_owned());
            words.insert(to.to_owned());
        }
        let longest = words.iter().map(|w| w.chars().count()).max().unwrap_or(0);
        Self {
            canonical,
            words,
            longest,
        }
    }

    /// The seed lexicon, as shipped.
    pub fn seed() -> Self {
        Self::from_pairs(&seed_pairs())
    }

    /// The word `term` is scored as.
    pub fn canonical<'a>(&'a self, term: &'a str) -> &'a str {
        self.canonical.get(term).map_or(term, String::as_str)
    }

    pub fn contains(&self, word: &str) -> bool {
        self.words.contains(word)
    }

    /// Length in characters of the longest word.
    pub fn longest(&self) -> usize {
        self.longest
    }

    pub fn len(&self) -> usize {
        self.canonical.len()
    }

    pub fn is_empty(&self) -> bool {
        self.canonical.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_has_a_few_hundred_pairs_each_term_once() {
        let pairs = seed_pairs();
        assert!(pairs.len() >= 300, "{}", pairs.len());
        let mut terms: Vec<&str> = pairs.iter().map(|p| p.term.as_str()).collect();
        terms.sort_unstable();
        let n = terms.len();
        terms.dedup();
        assert_eq!(terms.len(), n, "a term appears twice in the seed");
        let lex = Lexicon::seed();
        assert_eq!(lex.canonical("断水"), "停水");
        assert_eq!(lex.canonical("没水"), "停水");
        assert_eq!(lex.canonical("废弃物"), "垃圾");
        assert_eq!(lex.canonical("吵闹"), "噪音");
        assert_eq!(lex.canonical("停水"), "停水");
        assert_eq!(lex.canonical("路灯"), "路灯");
    }

    #[test]
    fn chains_resolve_and_loops_stop() {
        let p = |a: &str, b: &str| SynonymPair::parse(a, b).unwrap();
        let lex = Lexicon::from_pairs(&[p("水荒", "断水"), p("断水", "停水")]);
        assert_eq!(lex.canonical("水荒"), "停水");
        let looped = Lexicon::from_pairs(&[p("甲", "乙"), p("乙", "甲")]);
        assert!(["甲", "乙"].contains(&looped.canonical("甲")));
    }

    #[test]
    fn bad_pairs_are_refused_with_their_field() {
        assert_eq!(SynonymPair::parse(" ", "停水").unwrap_err().0, "term");
        assert_eq!(SynonymPair::parse("停 水", "断水").unwrap_err().0, "term");
        assert_eq!(
            SynonymPair::parse("停水", "停水").unwrap_err().0,
            "canonical"
        );
        let long = "水".repeat(TERM_MAX + 1);
        assert_eq!(
            SynonymPair::parse("断水", &long).unwrap_err().0,
            "canonical"
        );
        // Twenty characters are characters, not bytes.
        assert!(SynonymPair::parse(&"水".repeat(TERM_MAX), "停水").is_ok());
        assert_eq!(SynonymPair::parse("ＷＩＦＩ", "宽带").unwrap().term, "wifi");
    }
}
