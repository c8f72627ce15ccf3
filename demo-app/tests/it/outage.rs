//! An instance whose Redis or database goes away answers errors cleanly and recovers
//! when they come back, without a restart. Redis is a private `redis-server` started by
//! the test; PostgreSQL is reached through a TCP proxy the test can cut.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use demo_app::app::RunningApp;
use demo_app::config::DemoConfig;
use kakao_auth_e2e::Browser;
use kakao_emulator::UserChoice;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

async fn start_app(adjust: impl FnOnce(&mut DemoConfig)) -> (RunningApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DemoConfig::on_free_port(&dir.path().join("app.sqlite3")).unwrap();
    adjust(&mut config);
    let mut app = demo_app::app::start(config).await.unwrap();
    app.spawn();
    (app, dir)
}

/// Polls `path` until it answers `status` (or fails after 20 s).
async fn wait_for(browser: &Browser, path: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if browser.get(path).await.status == status {
            return;
        }
        assert!(Instant::now() < deadline, "{path} never answered {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct RedisServer(Child);

impl RedisServer {
    fn start(port: u16) -> Option<Self> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        Some(Self(child))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn redis_answers(port: u16) -> bool {
    let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}")) else {
        return false;
    };
    client.get_multiplexed_async_connection().await.is_ok()
}

#[actix_web::test]
async fn the_app_survives_a_redis_outage_and_recovers_without_restart() {
    let test = "the_app_survives_a_redis_outage_and_recovers_without_restart";
    if common::redis_url(test).is_none() {
        return;
    }
    let port = free_port();
    let Some(redis) = RedisServer::start(port) else {
        assert!(
            std::env::var("REQUIRE_SERVICES").as_deref() != Ok("1"),
            "{test}: redis-server not installed"
        );
        eprintln!("SKIP: redis-server not installed ({test})");
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !redis_answers(port).await {
        assert!(
            Instant::now() < deadline,
            "private redis-server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("redis://127.0.0.1:{port}");
    let (app, _dir) = start_app(|c| {
        c.redis_url = Some(url.clone());
        c.session_backend = demo_app::config::SessionBackend::Redis;
    })
    .await;
    let kakao = app.emulator.as_ref().unwrap();
    let browser = Browser::new(&app.url);
    browser.login(kakao, UserChoice::Fixture(1001), None).await;
    assert_eq!(browser.get("/download-list/").await.status, 200);
    let health = Browser::new(&app.url).get("/healthz").await;
    assert!(health.body.contains("redis: ok"), "{}", health.body);

    drop(redis);
    let health = Browser::new(&app.url).get("/healthz").await;
    assert_eq!(health.status, 503);
    assert!(
        health.body.contains("redis: unavailable"),
        "{}",
        health.body
    );
    let started = Instant::now();
    let page = browser.get("/download-list/").await;
    assert_eq!(page.status, 500, "a session store outage is an opaque 500");
    assert!(
        !page.body.to_lowercase().contains("redis"),
        "the body leaks nothing: {}",
        page.body
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it fails fast instead of hanging"
    );

    let _redis = RedisServer::start(port).unwrap();
    wait_for(&Browser::new(&app.url), "/healthz", 200).await;
    // The sessions were lost with that Redis (no persistence): log in again.
    let page = browser.login(kakao, UserChoice::Fixture(1001), None).await;
    assert_eq!(page.location().as_deref(), Some("/download-list/"));
    assert_eq!(browser.get("/download-list/").await.status, 200);
    app.stop().await;
}

/// A TCP proxy to PostgreSQL that can be cut (every connection dropped, port closed)
/// and restored on the same port.
struct CuttableProxy {
    port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl CuttableProxy {
    async fn start(target: &str) -> Self {
        let proxy = Self {
            port: free_port(),
            target: target.to_owned(),
            tasks: Arc::default(),
        };
        proxy.open().await;
        proxy
    }

    async fn open(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let (target, tasks) = (self.target.clone(), Arc::clone(&self.tasks));
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[actix_web::test]
async fn the_app_survives_a_database_outage_and_recovers_without_restart() {
    let test = "the_app_survives_a_database_outage_and_recovers_without_restart";
    let Some(pg) = common::postgres_url(test) else {
        return;
    };
    let schema = common::PgSchema::create(&pg).await;
    let direct = url::Url::parse(&pg).unwrap();
    let target = format!(
        "{}:{}",
        direct.host_str().unwrap(),
        direct.port().unwrap_or(5432)
    );
    let proxy = CuttableProxy::start(&target).await;
    let mut through_proxy = url::Url::parse(&schema.url).unwrap();
    through_proxy.set_port(Some(proxy.port)).unwrap();
    let (app, _dir) = start_app(|c| c.database_url = through_proxy.to_string()).await;
    let kakao = app.emulator.as_ref().unwrap();
    let browser = Browser::new(&app.url);
    browser.login(kakao, UserChoice::Fixture(1001), None).await;
    assert_eq!(browser.get("/download-list/").await.status, 200);

    proxy.cut();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let health = Browser::new(&app.url).get("/healthz").await;
    assert_eq!(health.status, 503, "{}", health.body);
    assert!(health.body.contains("database: unavailable"));
    let page = browser.get("/download-list/").await;
    assert_eq!(page.status, 500);
    assert!(
        !page.body.to_lowercase().contains("postgres"),
        "{}",
        page.body
    );
    // A login begins without the database (the pending login lives in its cookie), and
    // its completion fails cleanly: no 5xx, no session.
    let newcomer = Browser::new(&app.url);
    let page = newcomer.login(kakao, UserChoice::Fixture(1002), None).await;
    assert_eq!(
        page.location().as_deref(),
        Some("/login/error/?reason=internal"),
        "{} {}",
        page.status,
        page.body
    );
    assert_eq!(newcomer.cookie("sessionid"), None);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "failures come quickly"
    );

    proxy.open().await;
    wait_for(&Browser::new(&app.url), "/healthz", 200).await;
    wait_for(&browser, "/download-list/", 200).await;
    let page = Browser::new(&app.url)
        .login(kakao, UserChoice::Fixture(1002), None)
        .await;
    assert_eq!(page.location().as_deref(), Some("/download-list/"));
    app.stop().await;
}
