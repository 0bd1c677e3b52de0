//! Database connection: SQLite (embedded default) or PostgreSQL, chosen by URL.
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

/// How SQLite syncs a commit. The server always uses [`Durability::Full`]; `Normal` exists so
/// the cost of durability can be measured side by side (see the README's "Durability").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: the WAL is synced on every commit, so an acknowledged write survives
    /// power loss and OS crashes, not only a crash of the process.
    Full,
    /// `synchronous=NORMAL`: the WAL is synced only at checkpoints; the last commits before a
    /// power loss may be lost. Never used by the server.
    Normal,
}

pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, Durability::Full).await
}

pub async fn connect_with(url: &str, durability: Durability) -> anyhow::Result<DatabaseConnection> {
    let synchronous = match durability {
        // In WAL mode EXTRA adds nothing to FULL: its extra directory sync concerns the rollback
        // journal of DELETE mode, and SQLite already syncs the directory when it creates the WAL.
        Durability::Full => SqliteSynchronous::Full,
        Durability::Normal => SqliteSynchronous::Normal,
    };
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        if let Some(dir) = sqlite_parent_dir(url) {
            std::fs::create_dir_all(&dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        }
        // Per-connection settings, so every pooled connection gets them: foreign keys on,
        // WAL so readers never block the writer, a synced WAL so that an acknowledged commit
        // survives power loss, and a busy timeout instead of SQLITE_BUSY.
        opts.max_connections(8).map_sqlx_sqlite_opts(move |o| {
            o.foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(synchronous)
                .busy_timeout(Duration::from_secs(5))
        });
    } else {
        opts.max_connections(20).min_connections(1);
    }
    Ok(Database::connect(opts).await?)
}

/// Several instances start at once behind a load balancer; on PostgreSQL they take turns
/// through an advisory lock held by one pinned connection, so only one applies migrations and
/// the others find them done. SQLite serves one instance.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    if db.get_database_backend() != DbBackend::Postgres {
        Migrator::up(db, None).await?;
        return Ok(());
    }
    const LOCK: i64 = 0x6d69_6e78_696e; // "minxin"
    let pinned = db.begin().await?;
    let lock = |sql: &str| Statement::from_sql_and_values(DbBackend::Postgres, sql, [LOCK.into()]);
    pinned.execute(lock("SELECT pg_advisory_lock($1)")).await?;
    let result = Migrator::up(db, None).await;
    pinned
        .execute(lock("SELECT pg_advisory_unlock($1)"))
        .await?;
    pinned.commit().await?;
    result?;
    Ok(())
}

fn sqlite_parent_dir(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    std::path::Path::new(path).parent().map(|p| p.to_path_buf())
}

/// Within `txn`, waits for other transactions holding the same `key` to finish (PostgreSQL
/// transaction-scoped advisory lock). On SQLite the in-process write gate already serializes
/// writers, so there is nothing to do.
pub async fn serialize_on(
    txn: &sea_orm::DatabaseTransaction,
    key: i64,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [key.into()],
        ))
        .await?;
    }
    Ok(())
}

/// A write transaction that holds the SQLite write gate until it ends: every writer begins
/// with [`begin_write`], so none can skip the gate. Dropping it uncommitted rolls back.
pub struct Write<'a> {
    // Declared first so the transaction ends before the gate opens.
    pub txn: sea_orm::DatabaseTransaction,
    _gate: Option<tokio::sync::MutexGuard<'a, ()>>,
}

impl Write<'_> {
    pub async fn commit(self) -> crate::error::AppResult<()> {
        let Write { txn, _gate } = self;
        txn.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> crate::error::AppResult<()> {
        let Write { txn, _gate } = self;
        txn.rollback().await?;
        Ok(())
    }
}

/// Begins a write transaction under the SQLite write gate (see [`AppState::write_gate`]).
///
/// [`AppState::write_gate`]: crate::state::AppState::write_gate
pub async fn begin_write(state: &crate::state::AppState) -> crate::error::AppResult<Write<'_>> {
    use sea_orm::TransactionTrait;
    let gate = match &state.write_gate {
        Some(gate) => Some(gate.lock().await),
        None => None,
    };
    let txn = state.db.begin().await?;
    Ok(Write { txn, _gate: gate })
}
