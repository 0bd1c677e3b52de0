//! The `minxin` binary as an operator runs it.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_minxin");

fn base_command(data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MINXIN_DATA_DIR", data_dir)
        .env("RUST_LOG", "debug");
    c
}

#[test]
fn demo_mode_refuses_a_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let out = base_command(dir.path())
        .args(["serve", "--demo", "--bind", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--force-demo"), "{err}");
    assert!(err.contains("loopback"), "{err}");
}

#[test]
fn invite_prints_a_code_for_the_first_admin() {
    let dir = tempfile::tempdir().unwrap();
    let out = base_command(dir.path())
        .args(["invite", "--role", "admin"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Only the code on stdout, so `CODE=$(minxin invite …)` works; the rest went to stderr
    // (with RUST_LOG=debug the migrations log plenty there).
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {stdout:?}");
    let code = lines[0];
    assert!(code.len() >= 16, "{code:?}");
    assert!(
        code.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{code:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("single-use admin invitation"));
    let bad = base_command(dir.path())
        .args(["invite", "--role", "emperor"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("handler, leader, office, admin"));
}

/// `invite --demo` writes where `serve --demo` reads: `data/demo.db`, not the real database.
#[test]
fn invite_for_the_demo_goes_into_the_demo_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = base_command(dir.path())
        .args(["invite", "--demo", "--role", "leader"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("demo.db").exists());
    assert!(!dir.path().join("minxin.db").exists());
}

/// Start the real binary in demo mode, log in through the embedded fake WeChat, use the token,
/// then stop it with SIGTERM: it shuts down cleanly, and no token reached the logs.
#[tokio::test]
async fn demo_server_serves_logs_without_secrets_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut child = base_command(dir.path())
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .env("MINXIN_TRUSTED_PROXIES", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out_lines = read_lines(stdout);
    let err_lines = read_lines(stderr);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    wait_until_up(&http, &base).await;
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/wechat-login"))
        // As a trusted balancer would pass it on, after a client's forged entry.
        .header("x-forwarded-for", "198.51.100.9, 203.0.113.7")
        .json(&json!({ "code": "admin-1" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(login["user"]["role"], "admin", "{login}");
    let access = login["access_token"].as_str().unwrap().to_string();
    let refresh = login["refresh_token"].as_str().unwrap().to_string();
    let me = http
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    let _ = http
        .get(format!("{base}/api/v1/live/ws?ticket=secret-ticket-value"))
        .send()
        .await
        .unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let logs = [out_lines.join().unwrap(), err_lines.join().unwrap()]
        .concat()
        .join("\n");
    assert!(exit.success(), "exit {exit:?}\n{logs}");
    assert!(logs.contains("shut down cleanly"), "{logs}");
    assert!(
        logs.contains("request_id"),
        "request ids in the log lines: {logs}"
    );
    assert!(!logs.contains(&access), "access token leaked into logs");
    assert!(!logs.contains(&refresh), "refresh token leaked into logs");
    assert!(
        !logs.contains("secret-ticket-value"),
        "WebSocket tickets stay out of the logs"
    );
    assert!(!logs.contains("session_key\":"), "{logs}");
    // The log names the address the rate limit counted, never the forged one.
    assert!(
        logs.lines()
            .any(|l| l.contains("wechat login") && l.contains("203.0.113.7")),
        "{logs}"
    );
    assert!(!logs.contains("198.51.100.9"), "{logs}");
}

/// A client's mistakes are routine: at most INFO, naming the code; and logs written into a pipe
/// carry no ANSI colour codes, and go to stderr, leaving stdout to commands' output.
#[tokio::test]
async fn client_errors_log_at_info_without_colours_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut child = base_command(dir.path())
        .env("RUST_LOG", "info")
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out_lines = read_lines(stdout);
    let err_lines = read_lines(stderr);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    wait_until_up(&http, &base).await;
    let statuses = [
        http.get(format!("{base}/api/v1/me")).send().await.unwrap(),
        http.get(format!("{base}/api/v1/no-such-thing"))
            .send()
            .await
            .unwrap(),
        http.get(format!("{base}/api/v1/me"))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap(),
        http.post(format!("{base}/api/v1/auth/wechat-login"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    ]
    .map(|r| r.status().as_u16());
    assert_eq!(statuses, [401, 404, 401, 400]);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let out = out_lines.join().unwrap();
    let err = err_lines.join().unwrap().join("\n");
    assert!(out.is_empty(), "logs belong on stderr: {out:?}");
    assert!(!err.contains('\x1b'), "ANSI colours in a pipe: {err}");
    // Client errors are never WARN or ERROR. (A loaded machine may make sqlx warn of a slow
    // connection acquire; that is the pool's line, not ours.)
    let loud = |l: &&str| (l.contains(" WARN ") || l.contains(" ERROR ")) && l.contains("minxin");
    assert!(!err.lines().any(|l| loud(&l)), "{err}");
    for code in [
        "unauthenticated",
        "not_found",
        "invalid_token",
        "invalid_json",
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains(" INFO ") && l.contains(code)),
            "{code} at INFO: {err}"
        );
    }
}

/// Collects a child's output lines on a thread, so a full pipe never blocks the server.
fn read_lines(r: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        BufReader::new(r)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    })
}

/// Waits for `/healthz`: up to 60 s, as migrations and demo seeding sync every commit, slow on
/// a loaded disk.
async fn wait_until_up(http: &reqwest::Client, base: &str) {
    for _ in 0..600 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server did not come up");
}
