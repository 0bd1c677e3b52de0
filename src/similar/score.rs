//! Term weights and the similarity of two appeals. A term's weight is TF-IDF: (1 + ln tf)
//! times its inverse document frequency among the appeals compared (the open appeals of the
//! category and the new one), so the words every appeal of a kind uses (村, 水 among water
//! appeals) count little and the ones that tell matters apart count much. Cosine of the
//! weighted vectors, so a short second telling is not punished for its length.
use std::collections::{BTreeMap, HashMap};

/// What a character term weighs beside a word: enough to join paraphrases that share
/// characters (开裂 / 裂缝), too little to join appeals that share only their topic's
/// characters.
/// (0.15 to 0.6 scored alike on the tuned pairs; 0.3 is in the middle.)
pub const CHAR_WEIGHT: f64 = 0.3;

/// Document frequencies over the appeals being compared.
#[derive(Debug, Clone, Default)]
pub struct Idf {
    docs: usize,
    df: HashMap<String, usize>,
}

impl Idf {
    pub fn new<'a>(docs: impl IntoIterator<Item = &'a [String]>) -> Self {
        let mut idf = Self::default();
        for d in docs {
            idf.docs += 1;
            let mut seen: Vec<&String> = d.iter().collect();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                *idf.df.entry(t.clone()).or_default() += 1;
            }
        }
        idf
    }

    /// Smoothed: never below 1, so in a handful of appeals every term still counts.
    pub fn weight(&self, term: &str) -> f64 {
        let df = self.df.get(term).copied().unwrap_or(0) as f64;
        let n = self.docs as f64;
        ((n + 1.0) / (df + 1.0)).ln().max(0.0) + 1.0
    }
}

/// A weighted term vector. Ordered, so that sums run in one order and the same texts always
/// score exactly the same (a hash map's order would change the last bits).
#[derive(Debug, Clone, Default)]
pub struct Weighted {
    weights: BTreeMap<String, f64>,
    norm: f64,
}

impl Weighted {
    pub fn new(terms: &[String], idf: &Idf) -> Self {
        let mut tf: HashMap<&str, u32> = HashMap::new();
        for t in terms {
            *tf.entry(t.as_str()).or_default() += 1;
        }
        let weights: BTreeMap<String, f64> = tf
            .into_iter()
            .map(|(t, n)| {
                let kind = if t.starts_with(super::terms::CHAR_MARK) {
                    CHAR_WEIGHT
                } else {
                    1.0
                };
                (
                    t.to_owned(),
                    kind * (1.0 + f64::from(n).ln()) * idf.weight(t),
                )
            })
            .collect();
        let norm = weights.values().map(|w| w * w).sum::<f64>().sqrt();
        Self { weights, norm }
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }
}

/// Cosine similarity in [0, 1]; 0 when either side has no terms.
pub fn cosine(a: &Weighted, b: &Weighted) -> f64 {
    if a.norm == 0.0 || b.norm == 0.0 {
        return 0.0;
    }
    let (small, large) = if a.weights.len() <= b.weights.len() {
        (a, b)
    } else {
        (b, a)
    };
    let dot: f64 = small
        .weights
        .iter()
        .filter_map(|(t, w)| large.weights.get(t).map(|v| w * v))
        .sum();
    (dot / (a.norm * b.norm)).clamp(0.0, 1.0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn common_terms_weigh_less_and_identical_texts_score_one() {
        let docs = [v("村 停水"), v("村 路灯"), v("村 低保"), v("村 停水 水管")];
        let idf = Idf::new(docs.iter().map(Vec::as_slice));
        assert!(idf.weight("村") < idf.weight("停水"));
        assert!(idf.weight("停水") < idf.weight("unseen"));
        let a = Weighted::new(&docs[0], &idf);
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-9);
        let b = Weighted::new(&docs[1], &idf);
        let d = Weighted::new(&docs[3], &idf);
        assert!(cosine(&a, &d) > cosine(&a, &b));
        assert_eq!(cosine(&a, &Weighted::new(&[], &idf)), 0.0);
    }
}
