//! Imports of another system's export as a job: the file is checked row by row first (progress
//! in the job's `rows_read`), and only a file without a refused row is written, in one
//! transaction, so a file goes in whole or not at all. Idempotent by (channel, reference):
//! a row already imported is `unchanged`, and importing a file twice creates nothing new.
use std::collections::HashMap;

use actix_web::web::Bytes;
use chrono::{DateTime, Utc};
use entity::{categories, import_jobs, villages};
use sea_orm::{ActiveModelTrait, ActiveValue::NotSet, EntityTrait, Set, SqlErr};

use super::decide::{columns, outcome_for_known, row_intake, Lookups};
use super::import::rows;
use super::model::{Channel, ImportJobView, ImportQuery, Outcome, ReportQuery, RowReport};
use super::store::{insert_intake, known, prepare_appeal, seal, update_contact, Sealed};
use super::views;
use crate::auth::Caller;
use crate::board::service::Prepared;
use crate::db::begin_write;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;

/// Rows checked between two progress updates.
const PROGRESS_EVERY: usize = 500;

/// Records the job and starts it in the background; the answer is the queued job, whose
/// status `GET /office/imports/{id}` follows.
pub async fn start(
    state: &AppState,
    caller: &Caller,
    q: ImportQuery,
    file: Bytes,
) -> AppResult<ImportJobView> {
    Channel::parse("channel", &q.channel, &state.settings.channels.names)?;
    if file.is_empty() {
        return Err(AppError::validation("body", "the file is empty"));
    }
    let now = state.clock.now();
    let w = begin_write(state).await?;
    let job = import_jobs::ActiveModel {
        id: NotSet,
        channel: Set(q.channel.trim().to_string()),
        format: Set(q.format.as_str().into()),
        dry_run: Set(q.dry_run),
        status: Set("queued".into()),
        rows_read: Set(0),
        created: Set(0),
        updated: Set(0),
        unchanged: Set(0),
        refused: Set(0),
        report: Set(None),
        error: Set(None),
        created_by: Set(caller.user_id),
        created_at: Set(now),
        finished_at: Set(None),
    }
    .insert(&w.txn)
    .await?;
    w.commit().await?;
    tracing::info!(
        job_id = job.id,
        bytes = file.len(),
        format = q.format.as_str(),
        dry_run = q.dry_run,
        "import queued"
    );
    let task_state = state.clone();
    let filer = caller.user_id;
    let job_id = job.id;
    tokio::spawn(async move {
        if let Err(e) = run(&task_state, filer, job_id, &q, &file).await {
            tracing::error!(job_id, error = %e, "import failed");
            let message = match e {
                AppError::Internal(_) => "internal error; see the server's log".to_string(),
                other => other.to_string(),
            };
            if let Err(e) = finish(&task_state, job_id, "failed", Some(message), &[]).await {
                tracing::error!(job_id, error = %e, "import failure not recorded");
            }
        }
    });
    views::job(state, job.id, &ReportQuery::default()).await
}

/// A row to write once the whole file passed.
struct Planned {
    line: u64,
    sealed: Sealed,
    /// The intake already under this reference (an update).
    intake_id: Option<i64>,
    prepared: Option<Prepared>,
}

async fn run(
    state: &AppState,
    filer: i64,
    job_id: i64,
    q: &ImportQuery,
    file: &[u8],
) -> AppResult<()> {
    progress(state, job_id, "validating", 0).await?;
    let channel = q.channel.trim();
    let channels = &state.settings.channels.names;
    let max_rows = state.settings.channels.import_max_rows;
    let mut it = match rows(q.format, file) {
        Ok(it) => it,
        Err(e) => return refuse_file(state, job_id, e).await,
    };
    let header = match it.next() {
        None => return refuse_file(state, job_id, "the file has no header row".into()).await,
        Some(Err((line, why))) => {
            return refuse_file(state, job_id, format!("line {line}: {why}")).await
        }
        Some(Ok((_, h))) => h,
    };
    let cols = match columns(&header, q) {
        Ok(c) => c,
        Err(e) => return refuse_file(state, job_id, e).await,
    };
    let lookups = lookups(state).await?;
    let mut report: Vec<RowReport> = Vec::new();
    let mut planned: Vec<Planned> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (n, row) in it.enumerate() {
        if n >= max_rows {
            return refuse_file(
                state,
                job_id,
                format!("more than {max_rows} rows; split the file"),
            )
            .await;
        }
        if n % PROGRESS_EVERY == 0 && n > 0 {
            progress(state, job_id, "validating", n).await?;
        }
        let (line, cells) = match row {
            Ok(r) => r,
            Err((line, why)) => {
                report.push(refused(line, None, why));
                continue;
            }
        };
        let intake = match row_intake(&cells, &cols, channel, channels, &lookups) {
            Ok(i) => i,
            Err(why) => {
                let reference = cells.first().filter(|s| !s.trim().is_empty()).cloned();
                report.push(refused(line, reference, why));
                continue;
            }
        };
        let reference = intake.external_ref.clone().unwrap_or_default();
        if let Some(first) = seen.insert(reference.clone(), line) {
            report.push(refused(
                line,
                Some(reference),
                format!("reference repeated: already on line {first}"),
            ));
            continue;
        }
        let sealed = seal(&state.cipher, intake)?;
        let (outcome, intake_id, appeal_id) = match known(&state.db, channel, &reference).await? {
            None => (Ok(Outcome::Created), None, None),
            Some((row, k)) => (
                outcome_for_known(&k, &sealed.appeal_hash, &sealed.contact_hash),
                Some(row.id),
                Some(row.appeal_id),
            ),
        };
        match outcome {
            Err(why) => report.push(refused(line, Some(reference), why)),
            Ok(outcome) => {
                report.push(RowReport {
                    line,
                    external_ref: Some(reference),
                    outcome,
                    appeal_id,
                    reason: None,
                });
                if outcome != Outcome::Unchanged {
                    planned.push(Planned {
                        line,
                        sealed,
                        intake_id,
                        prepared: None,
                    });
                }
            }
        }
    }
    progress(state, job_id, "validating", report.len()).await?;
    let refused_rows = report
        .iter()
        .filter(|r| r.outcome == Outcome::Refused)
        .count();
    if refused_rows > 0 {
        let msg = format!("{refused_rows} rows refused; nothing was written");
        return finish(state, job_id, "refused", Some(msg), &report).await;
    }
    if q.dry_run {
        return finish(state, job_id, "done", None, &report).await;
    }
    // The board's checks and content check of each new appeal, before the write transaction
    // so that it holds the write gate no longer than the writes take.
    for p in planned.iter_mut().filter(|p| p.intake_id.is_none()) {
        p.prepared = Some(
            prepare_appeal(state, &p.sealed.intake)
                .await
                .map_err(|e| at_line(p.line, e))?,
        );
    }
    progress(state, job_id, "writing", report.len()).await?;
    let now = state.clock.now();
    let w = begin_write(state).await?;
    let mut created_ids: HashMap<u64, i64> = HashMap::new();
    for p in planned {
        match (p.intake_id, p.prepared) {
            (Some(id), _) => update_contact(&w.txn, id, &p.sealed, now).await?,
            (None, Some(prepared)) => {
                let a = insert_intake(&w.txn, filer, &p.sealed, prepared, Some(job_id), now)
                    .await
                    .map_err(|e| at_line(p.line, e))?;
                created_ids.insert(p.line, a.id);
            }
            (None, None) => {
                return Err(AppError::internal(anyhow::anyhow!("row not prepared")));
            }
        }
    }
    for r in &mut report {
        if let Some(id) = created_ids.get(&r.line) {
            r.appeal_id = Some(*id);
        }
    }
    // The job's result commits with the rows: a reader never sees one without the other.
    job_result(job_id, "done", None, &report, now)?
        .update(&w.txn)
        .await?;
    w.commit().await?;
    tracing::info!(job_id, created = created_ids.len(), "import written");
    Ok(())
}

fn refused(line: u64, external_ref: Option<String>, why: String) -> RowReport {
    RowReport {
        line,
        external_ref,
        outcome: Outcome::Refused,
        appeal_id: None,
        reason: Some(why),
    }
}

/// Names the line in an error met while writing a row; a reference registered meanwhile (by
/// another import or an intake) is said as such.
fn at_line(line: u64, e: AppError) -> AppError {
    let unique = matches!(&e, AppError::Internal(err) if err
        .downcast_ref::<sea_orm::DbErr>()
        .and_then(sea_orm::DbErr::sql_err)
        .is_some_and(|e| matches!(e, SqlErr::UniqueConstraintViolation(_))));
    if unique {
        return AppError::conflict(
            ErrorCode::ExternalRefTaken,
            format!("line {line}: the reference was registered meanwhile; run the import again"),
        );
    }
    match e {
        AppError::Validation { field, message } => {
            AppError::validation(field, format!("line {line}: {message}"))
        }
        other => other,
    }
}

async fn lookups(state: &AppState) -> AppResult<Lookups> {
    let mut l = Lookups::default();
    for c in categories::Entity::find().all(&state.db).await? {
        l.categories.insert(c.name.trim().to_string(), c.id);
    }
    for v in villages::Entity::find().all(&state.db).await? {
        l.add_village(v.id, &v.township, &v.name);
    }
    Ok(l)
}

async fn refuse_file(state: &AppState, job_id: i64, why: String) -> AppResult<()> {
    finish(state, job_id, "refused", Some(why), &[]).await
}

async fn progress(state: &AppState, job_id: i64, status: &str, rows_read: usize) -> AppResult<()> {
    let w = begin_write(state).await?;
    import_jobs::ActiveModel {
        id: Set(job_id),
        status: Set(status.into()),
        rows_read: Set(count(rows_read)),
        ..Default::default()
    }
    .update(&w.txn)
    .await?;
    w.commit().await
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn job_result(
    job_id: i64,
    status: &str,
    error: Option<String>,
    report: &[RowReport],
    now: DateTime<Utc>,
) -> AppResult<import_jobs::ActiveModel> {
    let n = |o: Outcome| count(report.iter().filter(|r| r.outcome == o).count());
    Ok(import_jobs::ActiveModel {
        id: Set(job_id),
        status: Set(status.into()),
        rows_read: Set(count(report.len())),
        created: Set(n(Outcome::Created)),
        updated: Set(n(Outcome::Updated)),
        unchanged: Set(n(Outcome::Unchanged)),
        refused: Set(n(Outcome::Refused)),
        report: Set(Some(
            serde_json::to_string(report).map_err(AppError::internal)?,
        )),
        error: Set(error),
        finished_at: Set(Some(now)),
        ..Default::default()
    })
}

async fn finish(
    state: &AppState,
    job_id: i64,
    status: &str,
    error: Option<String>,
    report: &[RowReport],
) -> AppResult<()> {
    let now = state.clock.now();
    let w = begin_write(state).await?;
    job_result(job_id, status, error, report, now)?
        .update(&w.txn)
        .await?;
    w.commit().await?;
    tracing::info!(job_id, status, rows = report.len(), "import finished");
    Ok(())
}
