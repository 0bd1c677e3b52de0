//! What every handler can reach.
use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::broker::SharedBroker;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::crypto::DataCipher;
use crate::telemetry::Metrics;
use crate::wechat::client::WechatClient;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub broker: SharedBroker,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    pub cipher: DataCipher,
    pub wechat: WechatClient,
    pub metrics: Arc<Metrics>,
    /// Identifies this process in leases and logs.
    pub instance_id: Arc<str>,
    /// SQLite allows one writer, and a transaction that reads before it writes fails with
    /// SQLITE_BUSY (not a wait) when another writer got in between. Such transactions take this
    /// gate on SQLite through `db::begin_write`; PostgreSQL needs none (`None`).
    pub write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
}
