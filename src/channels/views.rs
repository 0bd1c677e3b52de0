//! Reading intakes and imports for staff: personal data decrypted only to be masked.
use entity::{appeal_intakes, appeals, import_jobs};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::model::{Format, ImportJobView, IntakeView, ReportQuery, RowReport, REPORT_PAGE};
use crate::board::masking::{mask_name, mask_phone};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub async fn intake(state: &AppState, appeal_id: i64) -> AppResult<IntakeView> {
    let i = appeal_intakes::Entity::find()
        .filter(appeal_intakes::Column::AppealId.eq(appeal_id))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let a = appeals::Entity::find_by_id(appeal_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let open = |enc: &str| {
        state
            .cipher
            .decrypt(enc)
            .map(|s| s.expose().to_string())
            .map_err(AppError::internal)
    };
    Ok(IntakeView {
        appeal_id,
        channel: i.channel,
        external_ref: i.external_ref,
        resident_name: mask_name(&open(&i.resident_name_enc)?),
        resident_phone: mask_phone(&open(&i.phone_enc)?),
        received_at: i.received_at,
        filed_by: i.filed_by,
        import_job_id: i.import_job_id,
        claimed: i.claimed_user_id.is_some(),
        claimed_at: i.claimed_at,
        state: a.state.to_string(),
        version: a.version,
        created_at: i.created_at,
    })
}

pub async fn job(state: &AppState, id: i64, q: &ReportQuery) -> AppResult<ImportJobView> {
    let j = import_jobs::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let report: Vec<RowReport> = match &j.report {
        Some(r) => serde_json::from_str(r).map_err(AppError::internal)?,
        None => Vec::new(),
    };
    let mut rows: Vec<RowReport> = report
        .into_iter()
        .filter(|r| q.outcome.is_none_or(|o| r.outcome == o))
        .filter(|r| q.after_line.is_none_or(|l| r.line > l))
        .take(REPORT_PAGE + 1)
        .collect();
    let next_after_line = if rows.len() > REPORT_PAGE {
        rows.truncate(REPORT_PAGE);
        rows.last().map(|r| r.line)
    } else {
        None
    };
    Ok(ImportJobView {
        id: j.id,
        channel: j.channel,
        format: if j.format == "xlsx" {
            Format::Xlsx
        } else {
            Format::Csv
        },
        dry_run: j.dry_run,
        status: j.status,
        rows_read: j.rows_read,
        created: j.created,
        updated: j.updated,
        unchanged: j.unchanged,
        refused: j.refused,
        error: j.error,
        created_at: j.created_at,
        finished_at: j.finished_at,
        rows,
        next_after_line,
    })
}
