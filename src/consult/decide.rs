//! The rules of consultations as plain functions over the typed records: the table of allowed
//! commands per phase, the checks of an authored draft, and the checks of a resident's answers
//! against the questions. No I/O; unit-tested below.
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::model::{
    Answer, Answers, Consultation, ConsultationInput, ConsultationState, Phase, Question,
    QuestionInput, QuestionKind, Scope, BODY_MAX, OPTIONS_MAX, OPTION_MAX, OTHER_MAX, PROMPT_MAX,
    QUESTIONS_MAX, REASON_MAX, STATEMENT_MAX, TEXT_DEFAULT_MAX, TEXT_LIMIT_MAX, TITLE_MAX,
};
use crate::board::model::{checked_text, optional_text};
use crate::error::{AppError, AppResult, ErrorCode};

/// What staff do to a consultation (answering is checked by [`check_answerable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Edit,
    Publish,
    Extend,
    Close,
    Withdraw,
    /// Review held free text, mark an opinion's outcome, feature it.
    HandleOpinion,
    PublishOutcome,
}

impl Command {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Publish => "publish",
            Self::Extend => "extend",
            Self::Close => "close",
            Self::Withdraw => "withdraw",
            Self::HandleOpinion => "handle_opinion",
            Self::PublishOutcome => "publish_outcome",
        }
    }
}

/// The allowed commands: (phase, command) → the stored state after it. Everything else is
/// refused. Published questions are never rewritten: `Edit` is allowed on drafts only.
pub const TRANSITIONS: &[(Phase, Command, ConsultationState)] = {
    use Command as C;
    use ConsultationState as S;
    use Phase as P;
    &[
        (P::Draft, C::Edit, S::Draft),
        (P::Draft, C::Publish, S::Published),
        (P::Draft, C::Withdraw, S::Withdrawn),
        (P::Upcoming, C::Extend, S::Published),
        (P::Upcoming, C::Withdraw, S::Withdrawn),
        (P::Open, C::Extend, S::Published),
        (P::Open, C::Close, S::Published),
        (P::Open, C::Withdraw, S::Withdrawn),
        (P::Open, C::HandleOpinion, S::Published),
        (P::Closed, C::Extend, S::Published),
        (P::Closed, C::Withdraw, S::Withdrawn),
        (P::Closed, C::HandleOpinion, S::Published),
        (P::Closed, C::PublishOutcome, S::Published),
    ]
};

/// The state `command` leads to from `phase`, or the refusal a client can switch on.
pub fn next_state(phase: Phase, command: Command) -> AppResult<ConsultationState> {
    if let Some((_, _, to)) = TRANSITIONS
        .iter()
        .find(|(p, c, _)| *p == phase && *c == command)
    {
        return Ok(*to);
    }
    if command == Command::Edit && phase != Phase::Withdrawn {
        return Err(AppError::StateConflict {
            code: ErrorCode::ConsultationPublished,
            message: "a published consultation is never rewritten: extend it, close it early or \
                      withdraw it"
                .into(),
            state: phase.as_str().into(),
            version: None,
        });
    }
    Err(AppError::StateConflict {
        code: ErrorCode::InvalidConsultationState,
        message: format!(
            "`{}` is not allowed while the consultation is `{}`",
            command.as_str(),
            phase.as_str()
        ),
        state: phase.as_str().into(),
        version: None,
    })
}

/// May a resident answer now? Before opening `consultation_not_open`, after closing (or
/// withdrawal) `consultation_closed`; a draft does not exist for residents.
pub fn check_answerable(c: &Consultation, now: DateTime<Utc>) -> AppResult<()> {
    let refuse = |code: ErrorCode, message: String, phase: Phase| AppError::StateConflict {
        code,
        message,
        state: phase.as_str().into(),
        version: None,
    };
    match c.phase(now) {
        Phase::Open => Ok(()),
        Phase::Draft => Err(AppError::NotFound),
        p @ Phase::Upcoming => Err(refuse(
            ErrorCode::ConsultationNotOpen,
            format!("the consultation opens at {}", c.row.opens_at.to_rfc3339()),
            p,
        )),
        p @ Phase::Closed => Err(refuse(
            ErrorCode::ConsultationClosed,
            format!(
                "the consultation closed at {}",
                c.row.closes_at.to_rfc3339()
            ),
            p,
        )),
        p @ Phase::Withdrawn => Err(refuse(
            ErrorCode::ConsultationClosed,
            "the consultation was withdrawn".into(),
            p,
        )),
    }
}

/// A checked draft, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub title: String,
    pub body: String,
    pub department_id: i64,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub scope: Scope,
    pub results_public: bool,
    pub questions: Vec<Question>,
}

/// Checks an authored consultation and numbers its questions.
pub fn check_draft(input: &ConsultationInput) -> AppResult<Draft> {
    let title = checked_text("title", &input.title, TITLE_MAX, false)?;
    let body = checked_text("body", &input.body, BODY_MAX, true)?;
    if input.closes_at <= input.opens_at {
        return Err(AppError::validation("closes_at", "must be after opens_at"));
    }
    if input.questions.is_empty() || input.questions.len() > QUESTIONS_MAX {
        return Err(AppError::validation(
            "questions",
            format!("between 1 and {QUESTIONS_MAX} questions"),
        ));
    }
    let questions = input
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| check_question(i, q))
        .collect::<AppResult<Vec<_>>>()?;
    let mut townships = Vec::new();
    for (i, t) in input.scope.townships.iter().enumerate() {
        let t = checked_text(&format!("scope.townships[{i}]"), t, 64, false)?;
        if !townships.contains(&t) {
            townships.push(t);
        }
    }
    let mut village_ids = input.scope.village_ids.clone();
    village_ids.sort_unstable();
    village_ids.dedup();
    Ok(Draft {
        title,
        body,
        department_id: input.department_id,
        opens_at: input.opens_at,
        closes_at: input.closes_at,
        scope: Scope {
            townships,
            village_ids,
        },
        results_public: input.results_public,
        questions,
    })
}

fn check_question(i: usize, q: &QuestionInput) -> AppResult<Question> {
    let field = |f: &str| format!("questions[{i}].{f}");
    let prompt = checked_text(&field("prompt"), &q.prompt, PROMPT_MAX, true)?;
    let mut options = Vec::new();
    if q.kind.is_choice() {
        let least = if q.allow_other { 1 } else { 2 };
        if q.options.len() < least || q.options.len() > OPTIONS_MAX {
            return Err(AppError::validation(
                field("options"),
                format!("a choice question has {least} to {OPTIONS_MAX} options"),
            ));
        }
        for (j, o) in q.options.iter().enumerate() {
            let o = checked_text(&format!("{}[{j}]", field("options")), o, OPTION_MAX, false)?;
            if options.contains(&o) {
                return Err(AppError::validation(
                    format!("{}[{j}]", field("options")),
                    "options must differ",
                ));
            }
            options.push(o);
        }
    } else if !q.options.is_empty() || q.allow_other {
        return Err(AppError::validation(
            field("options"),
            "only choice questions have options",
        ));
    }
    let picks_max = options.len() as u32 + u32::from(q.allow_other);
    let (min_picks, max_picks) = match q.kind {
        QuestionKind::MultipleChoice => {
            let min = q.min_picks.unwrap_or(1);
            let max = q.max_picks.unwrap_or(picks_max);
            if min < 1 || max < min || max > picks_max {
                return Err(AppError::validation(
                    field("max_picks"),
                    format!("need 1 ≤ min_picks ≤ max_picks ≤ {picks_max}"),
                ));
            }
            (Some(min), Some(max))
        }
        _ if q.min_picks.is_some() || q.max_picks.is_some() => {
            return Err(AppError::validation(
                field("min_picks"),
                "only multiple-choice questions have min_picks and max_picks",
            ));
        }
        _ => (None, None),
    };
    let max_length = match (q.kind, q.max_length) {
        (QuestionKind::FreeText, None) => Some(TEXT_DEFAULT_MAX),
        (QuestionKind::FreeText, Some(n)) if (1..=TEXT_LIMIT_MAX).contains(&n) => Some(n),
        (QuestionKind::FreeText, Some(_)) => {
            return Err(AppError::validation(
                field("max_length"),
                format!("between 1 and {TEXT_LIMIT_MAX}"),
            ));
        }
        (_, Some(_)) => {
            return Err(AppError::validation(
                field("max_length"),
                "only free-text questions have max_length",
            ));
        }
        (_, None) => None,
    };
    Ok(Question {
        id: format!("q{}", i + 1),
        kind: q.kind,
        prompt,
        required: q.required,
        options,
        min_picks,
        max_picks,
        allow_other: q.allow_other,
        max_length,
    })
}

/// Publishing needs a closing time still ahead.
pub fn check_publish(c: &Consultation, now: DateTime<Utc>) -> AppResult<ConsultationState> {
    let to = next_state(c.phase(now), Command::Publish)?;
    if c.row.closes_at <= now {
        return Err(AppError::validation(
            "closes_at",
            "the closing time has passed: edit the draft first",
        ));
    }
    Ok(to)
}

/// An extension moves the closing time later (reopening a closed consultation), never once
/// the outcome is published.
pub fn check_extend(
    c: &Consultation,
    closes_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<ConsultationState> {
    let to = next_state(c.phase(now), Command::Extend)?;
    if c.row.outcome_published_at.is_some() {
        return Err(outcome_published());
    }
    if closes_at <= c.row.closes_at || closes_at <= now {
        return Err(AppError::validation(
            "closes_at",
            "must be later than the current closing time and than now",
        ));
    }
    Ok(to)
}

/// The outcome statement is published once, after closing.
pub fn check_outcome(c: &Consultation, statement: &str, now: DateTime<Utc>) -> AppResult<String> {
    next_state(c.phase(now), Command::PublishOutcome)?;
    if c.row.outcome_published_at.is_some() {
        return Err(outcome_published());
    }
    checked_text("statement", statement, STATEMENT_MAX, true)
}

fn outcome_published() -> AppError {
    AppError::conflict(
        ErrorCode::OutcomePublished,
        "the outcome of this consultation is already published",
    )
}

/// A reason given with a withdrawal (required) or an opinion's outcome (optional).
pub fn check_reason(
    field: &str,
    reason: &Option<String>,
    required: bool,
) -> AppResult<Option<String>> {
    let r = optional_text(field, reason, REASON_MAX, true)?;
    if required && r.is_none() {
        return Err(AppError::validation(field, "a reason is required"));
    }
    Ok(r)
}

/// Checks the answers against the questions and returns them tidied (texts trimmed, choices
/// sorted, empty answers dropped). Every refusal is a 422 whose field names the question.
pub fn check_answers(questions: &[Question], answers: &Answers) -> AppResult<Answers> {
    if let Some(unknown) = answers
        .keys()
        .find(|k| !questions.iter().any(|q| &q.id == *k))
    {
        return Err(AppError::validation(
            format!("answers.{unknown}"),
            "no such question in this consultation",
        ));
    }
    let mut out = Answers::new();
    for q in questions {
        match answers.get(&q.id).filter(|a| !is_blank(a)) {
            None if q.required => {
                return Err(AppError::validation(
                    format!("answers.{}", q.id),
                    "this question requires an answer",
                ))
            }
            None => {}
            Some(a) => {
                out.insert(q.id.clone(), check_answer(q, a)?);
            }
        }
    }
    Ok(out)
}

fn is_blank(a: &Answer) -> bool {
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    a.choices.is_empty() && blank(&a.other) && blank(&a.text) && a.rating.is_none()
}

fn check_answer(q: &Question, a: &Answer) -> AppResult<Answer> {
    let field = format!("answers.{}", q.id);
    let bad = |m: String| AppError::validation(field.clone(), m);
    match q.kind {
        QuestionKind::SingleChoice | QuestionKind::MultipleChoice => {
            if a.text.is_some() || a.rating.is_some() {
                return Err(bad("a choice question takes `choices` (and `other`)".into()));
            }
            let mut choices: BTreeSet<u32> = BTreeSet::new();
            for &n in &a.choices {
                if n == 0 || n as usize > q.options.len() {
                    return Err(bad(format!("option {n} does not exist")));
                }
                choices.insert(n);
            }
            let other = match &a.other {
                Some(_) if !q.allow_other => {
                    return Err(bad("this question has no \"other\" answer".into()))
                }
                o => optional_text(&field, o, OTHER_MAX, false)?,
            };
            let picks = choices.len() as u32 + u32::from(other.is_some());
            let (min, max) = match q.kind {
                QuestionKind::SingleChoice => (1, 1),
                _ => (q.min_picks.unwrap_or(1), q.max_picks.unwrap_or(u32::MAX)),
            };
            if picks < min {
                return Err(bad(format!("pick at least {min}")));
            }
            if picks > max {
                return Err(bad(format!("pick at most {max}")));
            }
            Ok(Answer {
                choices: choices.into_iter().collect(),
                other,
                ..Answer::default()
            })
        }
        QuestionKind::FreeText => {
            if !a.choices.is_empty() || a.other.is_some() || a.rating.is_some() {
                return Err(bad("a free-text question takes `text`".into()));
            }
            let max = q.max_length.unwrap_or(TEXT_DEFAULT_MAX) as usize;
            let text = optional_text(&field, &a.text, max, true)?;
            Ok(Answer {
                text,
                ..Answer::default()
            })
        }
        QuestionKind::Rating => {
            if !a.choices.is_empty() || a.other.is_some() || a.text.is_some() {
                return Err(bad("a rating question takes `rating`".into()));
            }
            match a.rating {
                Some(r @ 1..=5) => Ok(Answer {
                    rating: Some(r),
                    ..Answer::default()
                }),
                Some(r) => Err(bad(format!("a rating is 1 to 5, not {r}"))),
                None => Err(bad("a rating is 1 to 5".into())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::consult::model::ConsultationInput;

    fn q(kind: QuestionKind) -> QuestionInput {
        QuestionInput {
            kind,
            prompt: "问题".into(),
            required: true,
            options: if kind.is_choice() {
                vec!["修路".into(), "建桥".into(), "通水".into()]
            } else {
                vec![]
            },
            min_picks: None,
            max_picks: None,
            allow_other: false,
            max_length: None,
        }
    }

    fn input() -> ConsultationInput {
        let opens = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        ConsultationInput {
            title: "村道建设意见征集".into(),
            body: "第一段\n\n第二段".into(),
            department_id: 1,
            opens_at: opens,
            closes_at: opens + Duration::days(10),
            scope: Scope::default(),
            results_public: true,
            questions: vec![
                q(QuestionKind::SingleChoice),
                QuestionInput {
                    min_picks: Some(1),
                    max_picks: Some(2),
                    allow_other: true,
                    ..q(QuestionKind::MultipleChoice)
                },
                QuestionInput {
                    max_length: Some(10),
                    required: false,
                    ..q(QuestionKind::FreeText)
                },
                q(QuestionKind::Rating),
            ],
        }
    }

    fn answers(pairs: &[(&str, Answer)]) -> Answers {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn pick(c: &[u32]) -> Answer {
        Answer {
            choices: c.to_vec(),
            ..Answer::default()
        }
    }

    fn rate(r: i64) -> Answer {
        Answer {
            rating: Some(r),
            ..Answer::default()
        }
    }

    fn field(e: AppError) -> String {
        match e {
            AppError::Validation { field, .. } => field,
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn drafts_are_numbered_and_checked() {
        let d = check_draft(&input()).unwrap();
        let ids: Vec<_> = d.questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids, ["q1", "q2", "q3", "q4"]);
        assert_eq!(d.questions[2].max_length, Some(10));
        assert_eq!(d.questions[1].max_picks, Some(2));
        let mut bad = input();
        bad.closes_at = bad.opens_at;
        assert_eq!(field(check_draft(&bad).unwrap_err()), "closes_at");
        let mut bad = input();
        bad.questions[0].options = vec!["只有一个".into()];
        assert_eq!(
            field(check_draft(&bad).unwrap_err()),
            "questions[0].options"
        );
        let mut bad = input();
        bad.questions[1].max_picks = Some(9);
        assert_eq!(
            field(check_draft(&bad).unwrap_err()),
            "questions[1].max_picks"
        );
        let mut bad = input();
        bad.questions[3].options = vec!["x".into()];
        assert_eq!(
            field(check_draft(&bad).unwrap_err()),
            "questions[3].options"
        );
        let mut bad = input();
        bad.title = "标".repeat(101);
        assert_eq!(field(check_draft(&bad).unwrap_err()), "title");
        bad.title = "标".repeat(100);
        assert!(check_draft(&bad).is_ok(), "100 Chinese characters fit");
    }

    #[test]
    fn answers_are_checked_against_the_questions() {
        let qs = check_draft(&input()).unwrap().questions;
        let ok = answers(&[("q1", pick(&[2])), ("q2", pick(&[3, 1])), ("q4", rate(5))]);
        let tidy = check_answers(&qs, &ok).unwrap();
        assert_eq!(tidy["q2"].choices, vec![1, 3]);
        assert!(!tidy.contains_key("q3"), "optional question left out");
        let with = |k: &str, a: Answer| {
            let mut x = ok.clone();
            x.insert(k.into(), a);
            field(check_answers(&qs, &x).unwrap_err())
        };
        assert_eq!(with("q9", pick(&[1])), "answers.q9", "unknown question");
        assert_eq!(with("q1", pick(&[4])), "answers.q1", "wrong option");
        assert_eq!(with("q1", pick(&[1, 2])), "answers.q1", "two picks of one");
        assert_eq!(with("q2", pick(&[1, 2, 3])), "answers.q2", "too many picks");
        let other = Answer {
            choices: vec![1, 2],
            other: Some("修水渠".into()),
            ..Answer::default()
        };
        assert_eq!(with("q2", other), "answers.q2", "other counts as a pick");
        assert_eq!(with("q4", rate(6)), "answers.q4", "rating out of range");
        assert_eq!(with("q4", rate(0)), "answers.q4");
        let long = Answer {
            text: Some("字".repeat(11)),
            ..Answer::default()
        };
        assert_eq!(with("q3", long), "answers.q3", "overlong text");
        let fits = Answer {
            text: Some("字".repeat(10)),
            ..Answer::default()
        };
        assert!(check_answers(&qs, &{
            let mut x = ok.clone();
            x.insert("q3".into(), fits);
            x
        })
        .is_ok());
        let mut missing = ok.clone();
        missing.remove("q4");
        assert_eq!(
            field(check_answers(&qs, &missing).unwrap_err()),
            "answers.q4"
        );
        assert_eq!(
            with("q1", Answer::default()),
            "answers.q1",
            "blank is missing"
        );
        let stray = Answer {
            other: Some("别的".into()),
            ..Answer::default()
        };
        assert_eq!(with("q1", stray), "answers.q1", "no other on q1");
    }

    #[test]
    fn the_table_freezes_published_consultations() {
        assert_eq!(
            next_state(Phase::Draft, Command::Publish).unwrap(),
            ConsultationState::Published
        );
        for p in [Phase::Upcoming, Phase::Open, Phase::Closed] {
            let e = next_state(p, Command::Edit).unwrap_err();
            assert_eq!(e.code(), "consultation_published");
        }
        assert_eq!(
            next_state(Phase::Open, Command::PublishOutcome)
                .unwrap_err()
                .code(),
            "invalid_consultation_state"
        );
        assert!(next_state(Phase::Withdrawn, Command::Extend).is_err());
        assert!(next_state(Phase::Closed, Command::Extend).is_ok());
    }
}
