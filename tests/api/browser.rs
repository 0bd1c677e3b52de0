//! The live room in real browsers: Debian's Chromium, driven by `tests/browser/webrtc.mjs`
//! (playwright-core), opens the leader's console and a resident's H5 page served by the app; the
//! leader calls the resident, and both pages must reach ICE `connected` and decode each other's
//! video. Runs only with `MINXIN_TEST_BROWSER=1` (CI sets it); then a missing Chromium or
//! `tests/browser/node_modules` fails the test rather than skipping it.
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::live::live_room;

/// The script gives up after 60 s on its own; this bounds a hung node or browser.
const TIMEOUT: Duration = Duration::from_secs(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_and_resident_see_each_other_in_chromium() {
    if std::env::var("MINXIN_TEST_BROWSER").ok().as_deref() != Some("1") {
        eprintln!(
            "note: browser test skipped; set MINXIN_TEST_BROWSER=1 to run it \
             (needs /usr/bin/chromium and `npm ci --prefix tests/browser`)"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let chromium = std::env::var("MINXIN_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "MINXIN_TEST_BROWSER=1 but {chromium} is missing: apt-get install -y chromium chromium-driver"
    );
    assert!(
        root.join("tests/browser/node_modules/playwright-core").is_dir(),
        "MINXIN_TEST_BROWSER=1 but tests/browser/node_modules is missing: npm ci --prefix tests/browser"
    );

    // The fixture's ICE servers (a TURN/STUN address with coturn-style credentials, nothing
    // listening) are handed to the pages as they are: host candidates on this machine connect.
    let room = live_room(|_| {}).await;
    let (resident, _) = room.resident("browser").await;

    // The pages are served with their security headers.
    let console = room.app.get("/live/console", None).await;
    assert_eq!(console.status, 200);
    assert!(console.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(console.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));

    let leader_ticket = room.ticket(&room.leader).await;
    assert_eq!(leader_ticket.status, 200, "{:?}", leader_ticket.body);
    assert_eq!(leader_ticket.body["role"], "leader");
    let resident_ticket = room.ticket(&resident).await;
    assert_eq!(resident_ticket.status, 200, "{:?}", resident_ticket.body);
    assert_eq!(resident_ticket.body["role"], "resident");

    let child = tokio::process::Command::new("node")
        .arg(root.join("tests/browser/webrtc.mjs"))
        .arg(&room.app.addr)
        .arg(leader_ticket.body["ticket"].as_str().unwrap())
        .arg(resident_ticket.body["ticket"].as_str().unwrap())
        .env("MINXIN_CHROMIUM", &chromium)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (is Node.js installed?)");
    let out = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .expect("the browser test did not finish in time")
        .expect("node ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    println!("browser test: {line}");
    assert!(
        out.status.success(),
        "webrtc.mjs failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let figures: Value = serde_json::from_str(line).expect("one JSON line of figures");
    assert_eq!(figures["ok"], true, "{figures}");
    for side in ["leader", "resident"] {
        let s = &figures[side];
        let ice = s["ice"].as_str().unwrap_or("");
        assert!(
            ice == "connected" || ice == "completed",
            "{side} ICE {ice}: {figures}"
        );
        assert!(
            s["framesDecoded"].as_u64().unwrap_or(0) > 0,
            "{side} decoded no video: {figures}"
        );
        assert!(
            s["framesSent"].as_u64().unwrap_or(0) > 0,
            "{side} sent no video: {figures}"
        );
    }
    assert!(
        figures["connect_ms"].as_i64().unwrap_or(-1) >= 0,
        "{figures}"
    );
}

/// Without a browser: the pages and their assets are served, with their security headers.
#[tokio::test]
async fn h5_pages_and_assets_are_served_with_security_headers() {
    let app = crate::common::spawn_app().await;
    for (path, page) in [
        ("/live/console", "data-page=\"console\""),
        ("/live/resident", "data-page=\"resident\""),
    ] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, 200, "{path}");
        let header = |name: &str| {
            r.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        assert_eq!(header("content-type"), "text/html; charset=utf-8");
        let csp = header("content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(header("cache-control"), "no-store");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert_eq!(header("x-content-type-options"), "nosniff");
        let html = r.body.as_str().unwrap();
        assert!(html.contains(page), "{path}");
        assert!(html.contains("src=\"assets/live.js\""), "{path}");
        // No inline script or style for the policy to refuse.
        assert!(
            !html.contains("<script>") && !html.contains("<style"),
            "{path}"
        );
    }
    let js = app.get("/live/assets/live.js", None).await;
    assert_eq!(js.status, 200);
    assert_eq!(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert!(js.body.as_str().unwrap().contains("window.minxinLive"));
    let css = app.get("/live/assets/live.css", None).await;
    assert_eq!(css.status, 200);
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    let missing = app.get("/live/assets/secrets.env", None).await;
    assert_eq!((missing.status, missing.code()), (404, "not_found"));
    let escape = app.get("/live/assets/..%2FCargo.toml", None).await;
    assert_eq!(escape.status, 404);
}
