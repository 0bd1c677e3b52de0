//! Builds the application from settings: database, migrations, broker, WeChat client, routes.
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::clock::SharedClock;
use crate::config::{Secret, Settings};
use crate::crypto::DataCipher;
use crate::error::AppError;
use crate::state::AppState;
use crate::telemetry::{observe, Metrics, RootSpan};
use crate::wechat::client::WechatClient;
use crate::wechat::fake::FakeWechat;
use crate::wechat::platform::Platform;
use crate::{api, broker, db, demo};

pub struct Application {
    port: u16,
    server: Server,
    pub state: AppState,
    /// Kept alive for demo mode.
    _fake_wechat: Option<FakeWechat>,
}

impl Application {
    pub async fn build(mut settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        settings.ensure_secrets()?;
        let fake_wechat = if settings.demo {
            let secret = crate::crypto::random_token(16);
            let fake = FakeWechat::start("wxdemo0000000000", &secret).await?;
            settings.wechat.base_url = fake.base_url.clone();
            settings.wechat.app_id = fake.app_id.clone();
            settings.wechat.app_secret = Secret::new(secret);
            Some(fake)
        } else {
            None
        };
        if settings.wechat.app_id.is_empty() {
            tracing::warn!("MINXIN_WECHAT_APP_ID is not set: WeChat login will answer 503");
        }
        crate::rota::default_config(&settings.rota)
            .map_err(|e| anyhow::anyhow!("invalid rota settings: {e}"))?;
        let url = settings.effective_database_url();
        let db = db::connect(&url).await?;
        db::migrate(&db).await?;
        crate::board::reindex::fill_missing(&db).await?;
        if settings.demo {
            demo::seed(&db, &clock).await?;
        }
        let broker = broker::connect(settings.redis_url.expose(), &settings.redis_prefix).await?;
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let wechat = WechatClient::new(&settings.wechat)?;
        let metrics = Arc::new(Metrics::new()?);
        let instance_id: Arc<str> = uuid::Uuid::new_v4().to_string().into();
        let platform = Arc::new(Platform::new(
            wechat.clone(),
            broker.clone(),
            clock.clone(),
            &settings.wechat,
            &instance_id,
            &metrics.registry,
        )?);
        let state = AppState {
            cipher: DataCipher::new(&settings.auth.data_key)?,
            wechat,
            platform,
            metrics,
            instance_id,
            write_gate: settings
                .is_sqlite()
                .then(|| Arc::new(tokio::sync::Mutex::new(()))),
            settings: Arc::new(settings),
            db,
            broker,
            clock,
        };
        tracing::info!(
            port,
            database = if state.settings.is_sqlite() {
                "sqlite"
            } else {
                "postgres"
            },
            broker = state.broker.kind(),
            demo = state.settings.demo,
            "minxin listening"
        );
        if state.settings.board.supervision_interval_secs > 0 {
            crate::board::supervision::spawn(state.clone());
        }
        if state.settings.wechat.notify_interval_ms > 0 {
            crate::notify::worker::spawn(state.clone());
        }
        if state.settings.rota.lifecycle_interval_secs > 0 {
            crate::rota::lifecycle::spawn(state.clone());
        }
        // Live's parts sit beside the state, not in it; the rota answers live's questions about
        // sessions, so live never imports rota.
        let live = crate::live::Live {
            hub: Arc::new(crate::live::hub::Hub::default()),
            sessions: Arc::new(crate::rota::directory::RotaDirectory),
        };
        let server = run(listener, state.clone(), live)?;
        Ok(Self {
            port,
            server,
            state,
            _fake_wechat: fake_wechat,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn run(listener: TcpListener, state: AppState, live: crate::live::Live) -> std::io::Result<Server> {
    let settings = state.settings.clone();
    // Telemetry reads these two on its own, so it does not depend on the state.
    let metrics = web::Data::from(state.metrics.clone());
    let http = web::Data::new(settings.http.clone());
    let data = web::Data::new(state);
    let live = web::Data::new(live);
    let openapi = web::Data::new(crate::openapi::document());
    // Verifying a phone claims the office's appeals under it; auth never imports channels.
    let phone_claims: web::Data<Arc<dyn crate::auth::phone::PhoneClaims>> =
        web::Data::new(Arc::new(crate::channels::VerifiedPhoneClaims));
    let max_body = settings.http.max_body_bytes;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(live.clone())
            .app_data(phone_claims.clone())
            .app_data(metrics.clone())
            .app_data(http.clone())
            .app_data(openapi.clone())
            .app_data(web::PayloadConfig::new(max_body))
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| AppError::validation("query", e.to_string()).into()),
            )
            .wrap(from_fn(observe))
            .wrap(TracingLogger::<RootSpan>::new())
            .configure(|cfg| api::routes().configure(cfg))
            .default_service(web::to(not_found))
    })
    .workers(settings.http.workers.max(1))
    .shutdown_timeout(settings.http.shutdown_timeout_secs)
    .listen(listener)?
    .run();
    Ok(server)
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}
