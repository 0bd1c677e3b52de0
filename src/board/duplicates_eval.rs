//! Precision and recall of the duplicate rules on the labelled pairs of
//! `tests/data/duplicates/pairs.jsonl` (see its `build.py`), for the tuned and the held-out
//! part separately:
//!
//! ```sh
//! cargo test --lib board::duplicates_eval -- --nocapture
//! ```
//!
//! The weights are counted over the texts of the same category in the same part, as the
//! server counts them over the category's open appeals. The pairs the rules get wrong are
//! printed for the tuned part only; `MINXIN_EVAL_SHOW_HELD_OUT=1` prints the held-out ones
//! too (look only after the thresholds and the lexicon are settled). While tuning,
//! `MINXIN_EVAL_TUNED_ONLY=1` hides the held-out figures and `MINXIN_EVAL_SCORES=1` prints every
//! tuned pair's score.
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Deserialize;

use super::duplicates::{reason, Candidate};
use crate::similar::{cosine, terms, Idf, Lexicon, Weighted};

const PAIRS: &str = include_str!("../../tests/data/duplicates/pairs.jsonl");

#[derive(Deserialize)]
struct Pair {
    id: String,
    part: String,
    duplicate: bool,
    new: Side,
    open: Side,
}

#[derive(Deserialize)]
struct Side {
    category: String,
    village: String,
    author: i64,
    days_ago: i64,
    title: String,
    content: String,
}

fn text(s: &Side) -> String {
    format!("{}\n{}", s.title, s.content)
}

#[derive(Default, Debug)]
pub struct Tally {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
    pub tn: u32,
}

impl Tally {
    pub fn precision(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
    }
    pub fn recall(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1))
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0)
        .single()
        .unwrap_or_default()
}

fn candidate(id: i64, s: &Side, categories: &mut HashMap<String, i64>) -> Candidate {
    let n = categories.len() as i64 + 1;
    Candidate {
        id,
        author_id: s.author,
        category_id: *categories.entry(s.category.clone()).or_insert(n),
        village: s.village.clone(),
        title: s.title.clone(),
        content: s.content.clone(),
        lat: None,
        lng: None,
        submitted_at: now() - Duration::days(s.days_ago),
    }
}

/// Scores every pair; returns the tally per part.
pub fn run(lex: &Lexicon, show_held_out: bool) -> BTreeMap<String, Tally> {
    let pairs: Vec<Pair> = PAIRS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(
        pairs.len(),
        PAIRS.lines().filter(|l| !l.trim().is_empty()).count(),
        "every line parses"
    );
    // The corpus of each (part, category): its distinct texts.
    let mut corpus: HashMap<(String, String), BTreeMap<String, Vec<String>>> = HashMap::new();
    for p in &pairs {
        for s in [&p.new, &p.open] {
            corpus
                .entry((p.part.clone(), s.category.clone()))
                .or_default()
                .entry(text(s))
                .or_insert_with(|| terms(&text(s), lex));
        }
    }
    let idf: HashMap<&(String, String), Idf> = corpus
        .iter()
        .map(|(k, docs)| (k, Idf::new(docs.values().map(Vec::as_slice))))
        .collect();
    let mut categories = HashMap::new();
    let mut out: BTreeMap<String, Tally> = BTreeMap::new();
    for p in &pairs {
        let key = (p.part.clone(), p.new.category.clone());
        let (Some(idf), Some(docs)) = (idf.get(&key), corpus.get(&key)) else {
            continue;
        };
        let weigh = |s: &Side| Weighted::new(&docs[&text(s)], idf);
        let score = cosine(&weigh(&p.new), &weigh(&p.open));
        let new = candidate(1, &p.new, &mut categories);
        let open = candidate(2, &p.open, &mut categories);
        let flagged = reason(&new, &open, score, now());
        if p.part == "tuned" && std::env::var("MINXIN_EVAL_SCORES").is_ok() {
            println!(
                "SCORE {} {score:.3} same_author={} village={} {} | {} | {}",
                p.duplicate,
                p.new.author == p.open.author,
                p.new.village == p.open.village,
                p.id,
                p.new.title,
                p.open.title
            );
        }
        let t = out.entry(p.part.clone()).or_default();
        let verdict = match (p.duplicate, flagged.is_some()) {
            (true, true) => {
                t.tp += 1;
                None
            }
            (false, false) => {
                t.tn += 1;
                None
            }
            (false, true) => {
                t.fp += 1;
                Some("FP")
            }
            (true, false) => {
                t.fn_ += 1;
                Some("FN")
            }
        };
        if let Some(v) = verdict {
            if p.part != "held_out" || show_held_out {
                println!(
                    "{v} {score:.3} {:?} {} | {} | {}",
                    flagged, p.id, p.new.title, p.open.title
                );
            }
        }
    }
    out
}

#[test]
fn precision_and_recall_on_the_labelled_pairs() {
    let show = std::env::var("MINXIN_EVAL_SHOW_HELD_OUT").is_ok_and(|v| v == "1");
    let tallies = run(&Lexicon::seed(), show);
    for (part, t) in &tallies {
        if part == "held_out" && std::env::var("MINXIN_EVAL_TUNED_ONLY").is_ok() {
            continue;
        }
        println!(
            "{part}: pairs={} tp={} fp={} fn={} tn={} precision={:.3} recall={:.3}",
            t.tp + t.fp + t.fn_ + t.tn,
            t.tp,
            t.fp,
            t.fn_,
            t.tn,
            t.precision(),
            t.recall()
        );
    }
    let total: u32 = tallies.values().map(|t| t.tp + t.fp + t.fn_ + t.tn).sum();
    assert!(total >= 200, "{total} pairs");
    let tuned = &tallies["tuned"];
    assert!(
        tuned.precision() >= 0.9 && tuned.recall() >= 0.9,
        "{tuned:?}"
    );
}
