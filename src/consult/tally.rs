//! Results derived from the opinions themselves (never from counters): counts and percentages
//! per option, rating mean and distribution, completion per question, the figures of the loop,
//! and the breakdown by township and village with small groups folded. Pure; unit-tested.
use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::model::{Answers, OpinionOutcome, Question, QuestionKind, MIN_GROUP};

/// The label of the folded group and of opinions without a village.
pub const OTHER: &str = "其他";
pub const UNKNOWN: &str = "未填写";

/// One opinion as the tally sees it.
pub struct Counted<'a> {
    pub answers: &'a Answers,
    /// (village, township) names, if the resident said where they live.
    pub place: Option<(&'a str, &'a str)>,
    pub outcome: Option<OpinionOutcome>,
}

#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct Results {
    pub respondents: u64,
    pub questions: Vec<QuestionResult>,
    /// Respondents per township; groups under 5 folded into `其他`.
    pub by_township: Vec<Group>,
    /// Respondents per village; groups under 5 folded into `其他`.
    pub by_village: Vec<Group>,
    pub outcomes: OutcomeFigures,
}

#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct QuestionResult {
    pub question_id: String,
    pub kind: QuestionKind,
    pub prompt: String,
    /// Respondents who answered it.
    pub answered: u64,
    /// `answered / respondents`, 0 to 1 (0 with no respondents).
    pub completion_rate: f64,
    /// Choice questions: every option, in order, with its count and share of those who
    /// answered (percent, one decimal).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionCount>,
    /// Choice questions with "other": how many wrote one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<OptionCount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<RatingSummary>,
}

#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct OptionCount {
    /// 1-based option number; 0 for "other".
    pub option: u32,
    pub label: String,
    pub count: u64,
    pub percent: f64,
}

#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct RatingSummary {
    /// Two decimals; absent without ratings.
    pub mean: Option<f64>,
    /// Counts of 1, 2, 3, 4 and 5.
    pub distribution: [u64; 5],
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Group {
    pub name: String,
    /// The village's township (village breakdown only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub township: Option<String>,
    pub respondents: u64,
    /// The `其他` group of folded small groups.
    pub folded: bool,
}

#[derive(Debug, Default, Serialize, ToSchema, PartialEq)]
pub struct OutcomeFigures {
    pub adopted: u64,
    pub partly_adopted: u64,
    pub noted: u64,
    /// Not yet marked.
    pub unmarked: u64,
}

fn percent(n: u64, of: u64) -> f64 {
    if of == 0 {
        return 0.0;
    }
    (n as f64 * 1000.0 / of as f64).round() / 10.0
}

pub fn tally(questions: &[Question], opinions: &[Counted<'_>]) -> Results {
    let respondents = opinions.len() as u64;
    let questions = questions
        .iter()
        .map(|q| question(q, opinions, respondents))
        .collect();
    let mut townships: BTreeMap<(String, Option<String>), u64> = BTreeMap::new();
    let mut villages: BTreeMap<(String, Option<String>), u64> = BTreeMap::new();
    let mut outcomes = OutcomeFigures::default();
    for o in opinions {
        let (t, v) = match o.place {
            Some((village, township)) => (
                (township.to_string(), None),
                (village.to_string(), Some(township.to_string())),
            ),
            None => ((UNKNOWN.to_string(), None), (UNKNOWN.to_string(), None)),
        };
        *townships.entry(t).or_default() += 1;
        *villages.entry(v).or_default() += 1;
        match o.outcome {
            Some(OpinionOutcome::Adopted) => outcomes.adopted += 1,
            Some(OpinionOutcome::PartlyAdopted) => outcomes.partly_adopted += 1,
            Some(OpinionOutcome::Noted) => outcomes.noted += 1,
            None => outcomes.unmarked += 1,
        }
    }
    Results {
        respondents,
        questions,
        by_township: fold(townships),
        by_village: fold(villages),
        outcomes,
    }
}

fn question(q: &Question, opinions: &[Counted<'_>], respondents: u64) -> QuestionResult {
    let answers: Vec<_> = opinions
        .iter()
        .filter_map(|o| o.answers.get(&q.id))
        .collect();
    let answered = answers.len() as u64;
    let mut result = QuestionResult {
        question_id: q.id.clone(),
        kind: q.kind,
        prompt: q.prompt.clone(),
        answered,
        completion_rate: if respondents == 0 {
            0.0
        } else {
            (answered as f64 * 1000.0 / respondents as f64).round() / 1000.0
        },
        options: Vec::new(),
        other: None,
        rating: None,
    };
    match q.kind {
        QuestionKind::SingleChoice | QuestionKind::MultipleChoice => {
            result.options = q
                .options
                .iter()
                .enumerate()
                .map(|(i, label)| {
                    let n = i as u32 + 1;
                    let count = answers.iter().filter(|a| a.choices.contains(&n)).count() as u64;
                    OptionCount {
                        option: n,
                        label: label.clone(),
                        count,
                        percent: percent(count, answered),
                    }
                })
                .collect();
            if q.allow_other {
                let count = answers.iter().filter(|a| a.other.is_some()).count() as u64;
                result.other = Some(OptionCount {
                    option: 0,
                    label: OTHER.into(),
                    count,
                    percent: percent(count, answered),
                });
            }
        }
        QuestionKind::Rating => {
            let mut distribution = [0u64; 5];
            let mut sum = 0i64;
            for r in answers.iter().filter_map(|a| a.rating) {
                if let Some(slot) = usize::try_from(r - 1)
                    .ok()
                    .and_then(|i| distribution.get_mut(i))
                {
                    *slot += 1;
                    sum += r;
                }
            }
            let n: u64 = distribution.iter().sum();
            result.rating = Some(RatingSummary {
                mean: (n > 0).then(|| (sum as f64 * 100.0 / n as f64).round() / 100.0),
                distribution,
            });
        }
        QuestionKind::FreeText => {}
    }
    result
}

/// Groups of at least [`MIN_GROUP`] respondents, largest first, and the rest folded into one
/// `其他` group. Should that group itself be smaller than the minimum, the smallest shown
/// groups join it until it is not (or nothing is left): otherwise subtracting the shown groups
/// from the total would reveal the one small group behind it.
pub fn fold(groups: BTreeMap<(String, Option<String>), u64>) -> Vec<Group> {
    let mut shown: Vec<Group> = Vec::new();
    let mut other = 0u64;
    for ((name, township), n) in groups {
        if n >= MIN_GROUP {
            shown.push(Group {
                name,
                township,
                respondents: n,
                folded: false,
            });
        } else {
            other += n;
        }
    }
    shown.sort_by(|a, b| b.respondents.cmp(&a.respondents).then(a.name.cmp(&b.name)));
    while other > 0 && other < MIN_GROUP {
        match shown.pop() {
            Some(g) => other += g.respondents,
            None => break,
        }
    }
    if other > 0 {
        shown.push(Group {
            name: OTHER.into(),
            township: None,
            respondents: other,
            folded: true,
        });
    }
    shown
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::consult::model::Answer;

    fn groups(pairs: &[(&str, u64)]) -> BTreeMap<(String, Option<String>), u64> {
        pairs
            .iter()
            .map(|(k, n)| ((k.to_string(), None), *n))
            .collect()
    }

    fn names(gs: &[Group]) -> Vec<(String, u64)> {
        gs.iter().map(|g| (g.name.clone(), g.respondents)).collect()
    }

    #[test]
    fn small_groups_fold_into_other() {
        let g = fold(groups(&[
            ("甲村", 12),
            ("乙村", 3),
            ("丙村", 4),
            ("丁村", 5),
        ]));
        assert_eq!(
            names(&g),
            vec![("甲村".into(), 12), ("丁村".into(), 5), (OTHER.into(), 7)]
        );
        assert!(g[2].folded);
    }

    #[test]
    fn a_lone_small_group_is_never_left_alone_in_other() {
        // 乙村 alone would be "other = 3 = total − 甲村": 丙村 joins it.
        let g = fold(groups(&[("甲村", 12), ("乙村", 3), ("丙村", 6)]));
        assert_eq!(names(&g), vec![("甲村".into(), 12), (OTHER.into(), 9)]);
        let g = fold(groups(&[("甲村", 2)]));
        assert_eq!(
            names(&g),
            vec![(OTHER.into(), 2)],
            "too few overall: all folded"
        );
        assert!(fold(groups(&[])).is_empty());
    }

    #[test]
    fn counts_percentages_and_ratings() {
        let qs = vec![
            Question {
                id: "q1".into(),
                kind: QuestionKind::MultipleChoice,
                prompt: "选哪些".into(),
                required: true,
                options: vec!["修路".into(), "建桥".into()],
                min_picks: Some(1),
                max_picks: Some(3),
                allow_other: true,
                max_length: None,
            },
            Question {
                id: "q2".into(),
                kind: QuestionKind::Rating,
                prompt: "打分".into(),
                required: false,
                options: vec![],
                min_picks: None,
                max_picks: None,
                allow_other: false,
                max_length: None,
            },
        ];
        let a = |c: &[u32], other: bool, r: Option<i64>| {
            let mut m = Answers::new();
            m.insert(
                "q1".into(),
                Answer {
                    choices: c.to_vec(),
                    other: other.then(|| "别的".into()),
                    ..Answer::default()
                },
            );
            if let Some(r) = r {
                m.insert(
                    "q2".into(),
                    Answer {
                        rating: Some(r),
                        ..Answer::default()
                    },
                );
            }
            m
        };
        let set = [
            a(&[1], false, Some(5)),
            a(&[1, 2], true, Some(4)),
            a(&[2], false, None),
        ];
        let counted: Vec<Counted<'_>> = set
            .iter()
            .map(|answers| Counted {
                answers,
                place: Some(("甲村", "城关镇")),
                outcome: Some(OpinionOutcome::Adopted),
            })
            .collect();
        let r = tally(&qs, &counted);
        assert_eq!(r.respondents, 3);
        assert_eq!(r.questions[0].options[0].count, 2);
        assert_eq!(r.questions[0].options[0].percent, 66.7);
        assert_eq!(r.questions[0].other.as_ref().unwrap().count, 1);
        let rating = r.questions[1].rating.as_ref().unwrap();
        assert_eq!(rating.mean, Some(4.5));
        assert_eq!(rating.distribution, [0, 0, 0, 1, 1]);
        assert_eq!(r.questions[1].completion_rate, 0.667);
        assert_eq!(r.outcomes.adopted, 3);
        assert_eq!(names(&r.by_village), vec![(OTHER.into(), 3)]);
    }
}
