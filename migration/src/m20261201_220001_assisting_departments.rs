//! Assisting departments in a join table (issue 16): `appeals.assisting_department_ids` was a
//! comma-separated string (`,3,5,`) searched with `LIKE`. Each id becomes a row of
//! `appeal_assisting_departments` keeping its place in the list, then the column goes. The lists
//! are parsed here in Rust, not with SQL string functions, so the same code runs on SQLite and
//! PostgreSQL; any spelling the old code could leave (`,3,5,`, `3,5`, spaces, repeats) is read.
use std::collections::HashSet;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, QueryResult};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Appeals {
    Table,
    Id,
    AssistingDepartmentIds,
}

#[derive(DeriveIden)]
enum Departments {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AppealAssistingDepartments {
    Table,
    AppealId,
    DepartmentId,
    Position,
}

/// The ids of an old list, in order, without repeats.
fn parse_list(s: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for id in s.split(',').filter_map(|p| p.trim().parse::<i64>().ok()) {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

async fn rows(m: &SchemaManager<'_>, stmt: SelectStatement) -> Result<Vec<QueryResult>, DbErr> {
    let db = m.get_connection();
    db.query_all(db.get_database_backend().build(&stmt)).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AppealAssistingDepartments::Table)
                .col(
                    ColumnDef::new(AppealAssistingDepartments::AppealId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AppealAssistingDepartments::DepartmentId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AppealAssistingDepartments::Position)
                        .integer()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(AppealAssistingDepartments::AppealId)
                        .col(AppealAssistingDepartments::DepartmentId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            AppealAssistingDepartments::Table,
                            AppealAssistingDepartments::AppealId,
                        )
                        .to(Appeals::Table, Appeals::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            AppealAssistingDepartments::Table,
                            AppealAssistingDepartments::DepartmentId,
                        )
                        .to(Departments::Table, Departments::Id),
                )
                .to_owned(),
        )
        .await?;
        // A department's inbox: the appeals it assists.
        m.create_index(
            Index::create()
                .name("idx_appeal_assisting_department")
                .table(AppealAssistingDepartments::Table)
                .col(AppealAssistingDepartments::DepartmentId)
                .col(AppealAssistingDepartments::AppealId)
                .to_owned(),
        )
        .await?;

        // The old code only stored departments that existed, and departments are never
        // deleted; an id that names none all the same cannot satisfy the foreign key, so it is
        // left out rather than failing the upgrade.
        let known: HashSet<i64> = rows(
            m,
            Query::select()
                .column(Departments::Id)
                .from(Departments::Table)
                .to_owned(),
        )
        .await?
        .iter()
        .map(|r| r.try_get::<i64>("", "id"))
        .collect::<Result<_, _>>()?;
        let lists = rows(
            m,
            Query::select()
                .column(Appeals::Id)
                .column(Appeals::AssistingDepartmentIds)
                .from(Appeals::Table)
                .and_where(Expr::col(Appeals::AssistingDepartmentIds).ne(""))
                .order_by(Appeals::Id, Order::Asc)
                .to_owned(),
        )
        .await?;
        let mut pending: Vec<(i64, i64, i32)> = Vec::new();
        for r in &lists {
            let appeal_id: i64 = r.try_get("", "id")?;
            let list: String = r.try_get("", "assisting_department_ids")?;
            let ids = parse_list(&list).into_iter().filter(|d| known.contains(d));
            for (pos, dept) in ids.enumerate() {
                pending.push((
                    appeal_id,
                    dept,
                    <i32 as TryFrom<usize>>::try_from(pos).unwrap_or(i32::MAX),
                ));
            }
        }
        for chunk in pending.chunks(300) {
            let mut insert = Query::insert()
                .into_table(AppealAssistingDepartments::Table)
                .columns([
                    AppealAssistingDepartments::AppealId,
                    AppealAssistingDepartments::DepartmentId,
                    AppealAssistingDepartments::Position,
                ])
                .to_owned();
            for &(appeal_id, dept, pos) in chunk {
                insert.values_panic([appeal_id.into(), dept.into(), pos.into()]);
            }
            m.exec_stmt(insert).await?;
        }

        m.alter_table(
            Table::alter()
                .table(Appeals::Table)
                .drop_column(Appeals::AssistingDepartmentIds)
                .to_owned(),
        )
        .await
    }

    /// Back to the column, in the stored form the old code wrote (`,3,5,`, empty for none).
    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Appeals::Table)
                .add_column(
                    ColumnDef::new(Appeals::AssistingDepartmentIds)
                        .string_len(200)
                        .not_null()
                        .default(""),
                )
                .to_owned(),
        )
        .await?;
        let links = rows(
            m,
            Query::select()
                .columns([
                    AppealAssistingDepartments::AppealId,
                    AppealAssistingDepartments::DepartmentId,
                ])
                .from(AppealAssistingDepartments::Table)
                .order_by(AppealAssistingDepartments::AppealId, Order::Asc)
                .order_by(AppealAssistingDepartments::Position, Order::Asc)
                .to_owned(),
        )
        .await?;
        let mut lists: Vec<(i64, Vec<i64>)> = Vec::new();
        for r in &links {
            let appeal_id: i64 = r.try_get("", "appeal_id")?;
            let dept: i64 = r.try_get("", "department_id")?;
            match lists.last_mut() {
                Some((id, ids)) if *id == appeal_id => ids.push(dept),
                _ => lists.push((appeal_id, vec![dept])),
            }
        }
        for (appeal_id, ids) in lists {
            let column = format!(
                ",{},",
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            );
            m.exec_stmt(
                Query::update()
                    .table(Appeals::Table)
                    .value(Appeals::AssistingDepartmentIds, column)
                    .and_where(Expr::col(Appeals::Id).eq(appeal_id))
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(
            Table::drop()
                .table(AppealAssistingDepartments::Table)
                .to_owned(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::parse_list;

    #[test]
    fn reads_every_spelling_of_the_old_lists() {
        assert_eq!(parse_list(",3,5,"), [3, 5]);
        assert_eq!(parse_list("3,5"), [3, 5]);
        assert_eq!(parse_list(" 12 , 11,12,"), [12, 11]);
        assert_eq!(parse_list(""), Vec::<i64>::new());
        assert_eq!(parse_list(",,x,7"), [7]);
    }
}
