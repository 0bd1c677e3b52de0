//! Text similarity of appeals, pure: Chinese word segmentation (jieba), an admin-maintained
//! synonym lexicon of the domain, and TF-IDF weights over the appeals being compared.
//! `board::duplicates` applies it to decide which open appeals may be the same matter;
//! `board::duplicates_eval` measures it on the labelled pairs in `tests/data/duplicates/`.
pub mod lexicon;
pub mod routes;
pub mod score;
pub mod store;
pub mod terms;

pub use lexicon::{Lexicon, SynonymPair};
pub use score::{cosine, Idf, Weighted};
pub use terms::terms;
