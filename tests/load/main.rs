//! minxin-load: seeds a database with a realistic board and drives the running server with
//! many concurrent connections, reporting throughput and latency percentiles. Every loop is
//! bounded in time and count, and it only targets the URL it is given (loopback in practice).
//!
//!   minxin-load seed --appeals 50000            # DATABASE_URL or ./data/minxin.db
//!   minxin-load board --url http://127.0.0.1:8080 --connections 64 --seconds 30
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

mod live;

use clap::{Parser, Subcommand};
use entity::{appeal_grams, appeals, categories, departments, users, villages};
use rand::{Rng, SeedableRng};
use sea_orm::{EntityTrait, Set, TransactionTrait};

#[derive(Parser)]
#[command(name = "minxin-load")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Fill the database with accepted public appeals (and their search index).
    Seed {
        #[arg(long, default_value_t = 50_000)]
        appeals: usize,
        /// Defaults to DATABASE_URL, else the embedded SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Relay latency of `signal` messages between the leader and the resident on stage.
    LiveRelay {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// A second instance for the resident (relay across instances through Redis).
        #[arg(long)]
        url2: Option<String>,
        #[arg(long, default_value_t = 2000)]
        messages: usize,
    },
    /// Time for every waiting resident to get its new place after one "call next".
    LiveFanout {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value_t = 10_000)]
        waiting: usize,
        /// The server's process id, to report its memory.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Read the public board with many connections.
    Board {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Stop after this many requests in all, whatever the time.
        #[arg(long, default_value_t = 5_000_000)]
        max_requests: u64,
        /// `pages`: newest-first pages and cursors, status and category filters;
        /// `search`: Chinese full-text queries; `mixed`: 90% pages, 10% search.
        #[arg(long, default_value = "pages")]
        mix: String,
    },
}

const ISSUES: [(&str, &str); 8] = [
    (
        "自来水停水",
        "村里自来水已经停了{n}天，井水浑浊，老人孩子喝水困难，请尽快处理。",
    ),
    (
        "通村路塌方",
        "第{n}组通村路塌方，摩托车过不去，学生上学要绕很远的山路。",
    ),
    (
        "路灯不亮",
        "村口到学校的{n}盏路灯坏了一个多月，晚上出行很不安全。",
    ),
    (
        "低保申请",
        "家里老人生病，申请低保{n}个月了还没有结果，想问问进度。",
    ),
    (
        "校车问题",
        "村里{n}个孩子上学没有校车，每天走两个小时山路。",
    ),
    (
        "山体裂缝",
        "后山出现{n}米长的裂缝，下雨后更大了，担心滑坡。",
    ),
    ("耕地补贴", "今年的耕地地力保护补贴还没有到账，共{n}亩地。"),
    ("信号差", "村里手机信号很差，{n}户人家打电话要爬到山顶。"),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Seed {
            appeals,
            database_url,
        } => seed(appeals, database_url).await,
        Cmd::LiveRelay {
            url,
            url2,
            messages,
        } => live::relay(url, url2, messages).await,
        Cmd::LiveFanout {
            url,
            waiting,
            server_pid,
        } => live::fanout(url, waiting, server_pid).await,
        Cmd::Board {
            url,
            connections,
            seconds,
            limit,
            max_requests,
            mix,
        } => board(url, connections, seconds, limit, max_requests, mix).await,
    }
}

async fn seed(n: usize, url: Option<String>) -> anyhow::Result<()> {
    let settings = minxin::config::Settings::load()?;
    let url = url.unwrap_or_else(|| settings.effective_database_url());
    let db = minxin::db::connect(&url).await?;
    minxin::db::migrate(&db).await?;
    let now = chrono::Utc::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let dept = departments::Entity::insert(departments::ActiveModel {
        name: Set(format!("压测部门{}", now.timestamp())),
        created_at: Set(now),
        ..Default::default()
    })
    .exec(&db)
    .await?
    .last_insert_id;
    let mut cats = Vec::new();
    for (name, _) in ISSUES {
        let id = categories::Entity::insert(categories::ActiveModel {
            name: Set(format!("{name}{}", now.timestamp())),
            default_department_id: Set(dept),
            suggested_urgency: Set(None),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(&db)
        .await?
        .last_insert_id;
        cats.push(id);
    }
    let mut vils = Vec::new();
    for i in 0..200 {
        let id = villages::Entity::insert(villages::ActiveModel {
            name: Set(format!("压测{i}村")),
            township: Set(format!("压测{}乡{}", i / 10, now.timestamp())),
            lat: Set(None),
            lng: Set(None),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(&db)
        .await?
        .last_insert_id;
        vils.push(id);
    }
    let mut authors = Vec::new();
    for i in 0..500 {
        let id = users::Entity::insert(users::ActiveModel {
            openid: Set(format!("load_{}_{i}", now.timestamp())),
            role: Set("resident".into()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(&db)
        .await?
        .last_insert_id;
        authors.push(id);
    }
    let started = Instant::now();
    use minxin::board::workflow::AppealState as S;
    let states = [S::Accepted, S::Assigned, S::Signed, S::Published, S::Closed];
    let batch = 500;
    let mut done = 0;
    while done < n {
        let count = batch.min(n - done);
        let txn = db.begin().await?;
        let mut rows = Vec::with_capacity(count);
        let mut texts = Vec::with_capacity(count);
        for _ in 0..count {
            let k = rng.gen_range(0..ISSUES.len());
            let v = vils[rng.gen_range(0..vils.len())];
            let (title, body) = ISSUES[k];
            let content = body.replace("{n}", &rng.gen_range(2..40).to_string());
            let state = states[rng.gen_range(0..states.len())];
            let published = matches!(state, S::Published | S::Closed);
            let public = rng.gen_bool(0.9);
            let reply = published.then(|| "已安排人员处理，问题已解决，感谢您的反映。".to_string());
            // What the server indexes: the masked text and the reply the board shows.
            texts.push(minxin::board::search::public_text(
                title,
                &content,
                reply.as_deref(),
            ));
            rows.push(appeals::ActiveModel {
                author_id: Set(authors[rng.gen_range(0..authors.len())]),
                title: Set(format!("压测{v}村{title}")),
                content: Set(content),
                category_id: Set(cats[k]),
                village_id: Set(v),
                address: Set(None),
                lat: Set(None),
                lng: Set(None),
                contact_phone_enc: Set(None),
                is_public: Set(public),
                state: Set(state),
                on_board: Set(
                    public && minxin::board::queries::board_projection(true, state).is_some()
                ),
                board_status: Set(if public {
                    minxin::board::queries::board_projection(true, state)
                } else {
                    None
                }),
                urgency: Set(Some("general".into())),
                lead_department_id: Set(Some(dept)),
                deadline_at: Set(None),
                accepted_at: Set(Some(now)),
                assigned_at: Set(None),
                overdue_at: Set(None),
                escalated_at: Set(None),
                reopen_count: Set(0),
                master_id: Set(None),
                extension_requested_until: Set(None),
                extension_reason: Set(None),
                info_question: Set(None),
                reject_reason: Set(None),
                public_reply: Set(reply),
                internal_note: Set(None),
                reply_private: Set(false),
                replied_at: Set(None),
                published_at: Set(published.then_some(now)),
                rating: Set(None),
                solved: Set(None),
                rating_comment: Set(None),
                rated_at: Set(None),
                closed_at: Set(None),
                close_reason: Set(None),
                hold_reason: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
        let first = appeals::Entity::insert_many(rows)
            .exec(&txn)
            .await?
            .last_insert_id;
        // insert_many reports the last id; the batch's ids are consecutive in one transaction.
        let base = first - count as i64 + 1;
        let mut grams = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            for g in minxin::board::search::grams(text) {
                grams.push(appeal_grams::ActiveModel {
                    gram: Set(g),
                    appeal_id: Set(base + i as i64),
                });
            }
        }
        for chunk in grams.chunks(500) {
            appeal_grams::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        done += count;
        if done % 10_000 < batch {
            eprintln!("seeded {done}/{n} appeals ({:.0?})", started.elapsed());
        }
    }
    eprintln!("seeded {n} appeals in {:.1?}", started.elapsed());
    Ok(())
}

async fn board(
    url: String,
    connections: usize,
    seconds: u64,
    limit: u32,
    max_requests: u64,
    mix: String,
) -> anyhow::Result<()> {
    const SEARCHES: [&str; 4] = ["自来水", "通村路塌方", "路灯", "低保申请"];
    let search_share = match mix.as_str() {
        "pages" => 0,
        "search" => 10,
        "mixed" => 1,
        other => anyhow::bail!("--mix must be pages, search or mixed, not {other:?}"),
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(10))
        .build()?;
    let first: serde_json::Value = client
        .get(format!("{url}/api/v1/board?limit=1"))
        .send()
        .await?
        .json()
        .await?;
    let top = first["items"][0]["id"].as_i64().unwrap_or(1).max(2);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let budget = Arc::new(std::sync::atomic::AtomicU64::new(max_requests));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let client = client.clone();
        let url = url.clone();
        let budget = budget.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(c as u64);
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline
                && budget.fetch_sub(1, std::sync::atomic::Ordering::Relaxed) > 0
            {
                // Mostly newest-first browsing with cursors, some filtered and searched pages.
                let path = if rng.gen_range(0..10) < search_share {
                    let q = SEARCHES[rng.gen_range(0..SEARCHES.len())];
                    format!(
                        "/api/v1/board?limit={limit}&q={}",
                        url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
                    )
                } else {
                    match rng.gen_range(0..10) {
                        0..=3 => format!("/api/v1/board?limit={limit}"),
                        4..=7 => format!(
                            "/api/v1/board?limit={limit}&cursor={}",
                            rng.gen_range(2..=top)
                        ),
                        8 => format!("/api/v1/board?limit={limit}&status=replied"),
                        _ => format!(
                            "/api/v1/board?limit={limit}&category_id={}",
                            rng.gen_range(1..=8)
                        ),
                    }
                };
                let t = Instant::now();
                match client.get(format!("{url}{path}")).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "board ({mix}): {} ok, {} errors in {:.1?} with {} connections, {}-item pages",
        all.len(),
        errors,
        elapsed,
        connections,
        limit
    );
    println!(
        "throughput {:.0} req/s; latency p50 {:.1?} p90 {:.1?} p99 {:.1?} max {:.1?}",
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        all.last().copied().unwrap_or_default()
    );
    Ok(())
}
