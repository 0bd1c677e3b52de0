use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use minxin::auth::invitations::{self, NewInvitation};
use minxin::auth::Role;
use minxin::clock::SystemClock;
use minxin::config::Settings;
use minxin::startup::Application;

#[derive(Parser)]
#[command(
    name = "minxin",
    version,
    about = "Backend of a county's online mass-work platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve {
        /// Start with demo data and an embedded fake WeChat login.
        #[arg(long)]
        demo: bool,
        /// Allow demo mode on a non-loopback address.
        #[arg(long, requires = "demo")]
        force_demo: bool,
        /// Address to listen on (overrides MINXIN_BIND).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print a single-use staff invitation code (only the code on stdout).
    Invite {
        /// Write it into the demo database (`data/demo.db`) that `serve --demo` uses.
        #[arg(long)]
        demo: bool,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        department_id: Option<i64>,
        #[arg(long)]
        ttl_hours: Option<i64>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse::<Role>()
        .map_err(|_| "one of: handler, leader, office, admin".to_string())
}

#[actix_web::main]
async fn main() -> ExitCode {
    minxin::telemetry::init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "minxin stopped");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::load()?;
    match cli.command.unwrap_or(Command::Serve {
        demo: false,
        force_demo: false,
        bind: None,
    }) {
        Command::Serve {
            demo,
            force_demo,
            bind,
        } => {
            if let Some(b) = bind {
                settings.bind = b;
            }
            settings.demo |= demo;
            if settings.demo {
                minxin::demo::check_bind(&settings.bind, force_demo).map_err(anyhow::Error::msg)?;
            }
            let clock = clock_of(&settings);
            if settings.clock_offset_secs != 0 {
                tracing::warn!(
                    offset_secs = settings.clock_offset_secs,
                    "MINXIN_CLOCK_OFFSET_SECS is set: this server's clock is shifted"
                );
            }
            let app = Application::build(settings, clock).await?;
            app.run_until_stopped().await?;
            tracing::info!("shut down cleanly");
        }
        Command::Migrate => {
            let db = minxin::db::connect(&settings.effective_database_url()).await?;
            minxin::db::migrate(&db).await?;
            println!("migrations applied");
        }
        Command::Invite {
            demo,
            role,
            department_id,
            ttl_hours,
        } => {
            settings.demo |= demo;
            let db = minxin::db::connect(&settings.effective_database_url()).await?;
            minxin::db::migrate(&db).await?;
            let req = NewInvitation {
                role,
                department_id,
                ttl_hours,
            };
            let inv = invitations::create(
                &db,
                &req,
                None,
                clock_of(&settings).now(),
                settings.auth.invitation_ttl_hours,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", inv.code);
            eprintln!(
                "single-use {} invitation, valid until {}; redeem it with POST /api/v1/auth/invitations/redeem after logging in",
                inv.role, inv.expires_at
            );
        }
    }
    Ok(())
}

/// The system clock, shifted when `MINXIN_CLOCK_OFFSET_SECS` asks for it (rehearsals, tests).
fn clock_of(settings: &Settings) -> minxin::clock::SharedClock {
    if settings.clock_offset_secs == 0 {
        return Arc::new(SystemClock);
    }
    let c = minxin::clock::OffsetClock::default();
    c.advance(chrono::Duration::seconds(settings.clock_offset_secs));
    Arc::new(c)
}
