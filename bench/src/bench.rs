//! One benchmark run: emulator, app and baseline processes, the measured points, clean-up.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::args::{Args, DatabaseKind, Mode, SessionKind};
use crate::child::{self, Child};
use crate::kakao::{self, Kakao};
use crate::load::{self, Op, PointResult, Spec};
use crate::procfs;
use crate::stores::{self, PgSchema};
use crate::vu::{Jar, Users, PAGE_PATH};

/// A 64-character session secret (the contract's minimum), fixed for repeatable runs.
const SESSION_SECRET: &str =
    "kakao-bench-session-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";

/// How the app and the machine were set up.
#[derive(Debug, Clone)]
pub struct Setup {
    pub cores: usize,
    pub clock_ticks: u64,
    pub app_bin: PathBuf,
    pub sessions: SessionKind,
    pub database: DatabaseKind,
    pub scope: Option<String>,
    pub rust_log: String,
    pub page_bytes: usize,
}

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub setup: Setup,
    pub args: Args,
    /// `/healthz` time to first 200 on a fresh SQLite file, per start.
    pub startup: Vec<Duration>,
    /// The main app's own start (its database, its session store).
    pub main_startup: Duration,
    pub points: Vec<PointResult>,
    /// The top-up to `rss_logins` logins, if one ran.
    pub rss_point: Option<PointResult>,
    /// The baseline paced to the request rate of the logins with Kakao +50 ms at the
    /// highest concurrency: what a bare request costs at that load.
    pub paced_baseline: Option<PointResult>,
    pub logins_total: u64,
    /// KiB: the app's `VmHWM` (peak) and `VmRSS` after the logins.
    pub app_peak_rss_kib: Option<u64>,
    pub app_rss_kib: Option<u64>,
    pub app_threads: Option<u64>,
    pub baseline_peak_rss_kib: Option<u64>,
    pub total_seconds: f64,
}

/// Removes the temp directory unless `--keep-temp`.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn run_tag() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}_{:x}", std::process::id(), nanos % 0xffff_ffff)
}

fn app_bin(args: &Args) -> Result<PathBuf, String> {
    let path = match &args.app_bin {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("current_exe: {e}"))?
            .parent()
            .ok_or("current_exe has no parent")?
            .join("demo-app"),
    };
    if path.is_file() && args.app_bin.is_none() {
        warn_if_stale(&path);
    }
    if !path.is_file() {
        return Err(format!(
            "{} not found: build it first with `cargo build --release -p kakao-bench -p demo-app` \
             (or pass --app-bin)",
            path.display()
        ));
    }
    Ok(path)
}

/// Warns when a source file of the app is newer than the binary (`cargo run -p kakao-bench`
/// does not rebuild `demo-app`).
fn warn_if_stale(bin: &Path) {
    fn newest(dir: &Path, acc: &mut Option<SystemTime>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                newest(&path, acc);
            } else if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
                if acc.is_none_or(|t| modified > t) {
                    *acc = Some(modified);
                }
            }
        }
    }
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut latest = None;
    for dir in [
        "demo-app/src",
        "demo-app/templates",
        "actix-kakao-auth/src",
        "migrations",
    ] {
        newest(&root.join(dir), &mut latest);
    }
    if latest.is_some_and(|t| t > built) {
        eprintln!(
            "warning: {} is older than its sources; rebuild it with \
             `cargo build --release -p kakao-bench -p demo-app`",
            bin.display()
        );
    }
}

/// The app's environment (the contract's variables), in "real Kakao" mode at the emulator.
fn app_env(
    bind: &str,
    database_url: &str,
    sessions: SessionKind,
    redis: Option<(&str, &str)>,
    kakao: &Kakao,
    args: &Args,
) -> Vec<(String, String)> {
    let mut env = vec![
        ("BIND", bind.to_owned()),
        ("KAKAO_CLIENT_ID", kakao::CLIENT_ID.to_owned()),
        ("KAKAO_CLIENT_SECRET", kakao::CLIENT_SECRET.to_owned()),
        ("KAKAO_AUTH_URL", kakao.base.clone()),
        ("KAKAO_API_URL", kakao.base.clone()),
        ("DATABASE_URL", database_url.to_owned()),
        ("SESSION_SECRET", SESSION_SECRET.to_owned()),
        ("SESSION_STORE", sessions.name().to_owned()),
        ("RUST_LOG", args.rust_log.clone()),
    ];
    if let Some((url, prefix)) = redis {
        env.push(("REDIS_URL", url.to_owned()));
        env.push(("REDIS_KEY_PREFIX", prefix.to_owned()));
    }
    if let Some(scope) = &args.scope {
        env.push(("KAKAO_SCOPE", scope.clone()));
    }
    env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Starts the app and waits for `/healthz`; returns it and the time to the first 200.
async fn start_app(
    bin: &Path,
    env: &[(String, String)],
    url: &str,
    log: &Path,
    name: &str,
) -> Result<(Child, Duration), String> {
    let since = Instant::now();
    let mut app = Child::spawn(name, bin, &[], env, log)?;
    let took = child::wait_for_200(
        &mut app,
        &format!("{url}/healthz"),
        since,
        Duration::from_secs(60),
    )
    .await?;
    Ok((app, took))
}

pub async fn run(args: Args) -> Result<Outcome, String> {
    let begun = Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let clock_ticks = procfs::clock_ticks();
    let bin = app_bin(&args)?;
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: kakao-bench is a debug build; use `cargo run --release -p kakao-bench`"
        );
    }
    let tag = run_tag();
    let temp = TempDir {
        path: std::env::temp_dir().join(format!("kakao-bench-{tag}")),
        keep: args.keep_temp,
    };
    std::fs::create_dir_all(&temp.path).map_err(|e| format!("{}: {e}", temp.path.display()))?;
    let note = |s: &str| eprintln!("kakao-bench: {s}");

    let port = child::free_port()?;
    let bind = format!("127.0.0.1:{port}");
    let app_url = format!("http://{bind}");
    let kakao = Kakao::start(
        format!("{app_url}/accounts/oauth/complete/kakao/"),
        cores.max(2),
    )?;
    note(&format!(
        "Kakao emulator at {} (in this process)",
        kakao.base
    ));

    // /healthz on a fresh SQLite file, migrations included.
    let mut startup = Vec::new();
    for i in 0..args.startup_runs {
        let port = child::free_port()?;
        let bind = format!("127.0.0.1:{port}");
        let db = temp.path.join(format!("startup-{i}.sqlite3"));
        let env = app_env(
            &bind,
            &db.to_string_lossy(),
            SessionKind::Db,
            None,
            &kakao,
            &args,
        );
        let (app, took) = start_app(
            &bin,
            &env,
            &format!("http://{bind}"),
            &temp.path.join(format!("startup-{i}.log")),
            "demo-app (start-up check)",
        )
        .await?;
        note(&format!(
            "start-up {}: /healthz 200 after {:.0} ms on a fresh SQLite file",
            i + 1,
            took.as_secs_f64() * 1000.0
        ));
        startup.push(took);
        app.stop(Duration::from_secs(10)).await;
    }

    // The app's database and session store for the run.
    let mut pg: Option<PgSchema> = None;
    let database_url = match args.database {
        DatabaseKind::Sqlite => temp.path.join("app.sqlite3").to_string_lossy().into_owned(),
        DatabaseKind::Postgres => {
            let schema = PgSchema::create(&args.database_url, &tag).await?;
            let url = schema.url.clone();
            pg = Some(schema);
            url
        }
    };
    let redis_prefix = format!("kakao-bench:{tag}:");
    if args.sessions == SessionKind::Redis {
        stores::redis_ping(&args.redis_url).await?;
    }
    let redis = (args.sessions == SessionKind::Redis)
        .then_some((args.redis_url.as_str(), redis_prefix.as_str()));

    let result = measure(
        &args,
        &bin,
        &temp.path,
        &kakao,
        &bind,
        &app_url,
        &database_url,
        redis,
        &tag,
        clock_ticks,
    )
    .await;

    if let Some(schema) = pg {
        if let Err(e) = schema.drop_schema().await {
            note(&format!("warning: {e}"));
        }
    }
    if args.sessions == SessionKind::Redis {
        match stores::redis_delete_prefix(&args.redis_url, &redis_prefix).await {
            Ok(n) => note(&format!("removed {n} Redis keys under {redis_prefix}")),
            Err(e) => note(&format!(
                "warning: removing Redis keys {redis_prefix}*: {e}"
            )),
        }
    }
    let mut measured = result?;
    measured.startup = startup;
    measured.setup = Setup {
        cores,
        clock_ticks,
        app_bin: bin,
        sessions: args.sessions,
        database: args.database,
        scope: args.scope.clone(),
        rust_log: args.rust_log.clone(),
        page_bytes: measured.setup.page_bytes,
    };
    measured.total_seconds = begun.elapsed().as_secs_f64();
    drop(temp);
    Ok(measured)
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    args: &Args,
    bin: &Path,
    temp: &Path,
    kakao: &Kakao,
    bind: &str,
    app_url: &str,
    database_url: &str,
    redis: Option<(&str, &str)>,
    tag: &str,
    ticks: u64,
) -> Result<Outcome, String> {
    let note = |s: &str| eprintln!("kakao-bench: {s}");
    let env = app_env(bind, database_url, args.sessions, redis, kakao, args);
    let (mut app, main_startup) =
        start_app(bin, &env, app_url, &temp.join("app.log"), "demo-app").await?;
    note(&format!(
        "demo-app pid {} at {app_url}: sessions {}, database {}; /healthz after {:.0} ms",
        app.pid,
        args.sessions.name(),
        args.database.name(),
        main_startup.as_secs_f64() * 1000.0
    ));

    let users = Arc::new(Users::new(
        app_url,
        &kakao.base,
        args.new_users_percent,
        tag.to_owned(),
    )?);
    kakao.set_latency_ms(0);
    // One login first: it must work before anything is measured.
    let (_, jar) = users.login().await.map_err(|e| {
        format!(
            "the first login failed: {e}\ndemo-app log:\n{}",
            app.log_tail(20)
        )
    })?;
    let (body, _content_type) = users.page_body(&jar).await?;
    let body_file = temp.join("page.html");
    std::fs::write(&body_file, &body).map_err(|e| format!("{}: {e}", body_file.display()))?;

    // The baseline: the same body from a bare Actix handler, a child process like the app.
    let baseline_port = child::free_port()?;
    let baseline_url = format!("http://127.0.0.1:{baseline_port}{}", crate::baseline::PATH);
    let self_exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut baseline = None;
    if args.modes.contains(&Mode::Baseline) {
        let since = Instant::now();
        let mut child = Child::spawn(
            "baseline",
            &self_exe,
            &[
                "--serve-baseline".to_owned(),
                format!("127.0.0.1:{baseline_port}"),
                "--body-file".to_owned(),
                body_file.to_string_lossy().into_owned(),
            ],
            &[],
            &temp.join("baseline.log"),
        )?;
        child::wait_for_200(&mut child, &baseline_url, since, Duration::from_secs(30)).await?;
        note(&format!("baseline pid {} at {baseline_url}", child.pid));
        baseline = Some(child);
    }

    let max_c = args.concurrency.iter().copied().max().unwrap_or(1);
    let mut points = Vec::new();
    let spec = |label: String, mode, c, latency, pid| Spec {
        label,
        mode,
        concurrency: c,
        kakao_latency_ms: latency,
        warmup: args.warmup,
        duration: args.duration,
        max_ops: args.max_requests,
        server_pid: pid,
        pace: None,
    };

    // Page and baseline, back to back at each concurrency so both see the same machine.
    if args.modes.contains(&Mode::Page) || args.modes.contains(&Mode::Baseline) {
        let mut cookies = Vec::new();
        if args.modes.contains(&Mode::Page) {
            let progress = load::Progress::new("page set-up");
            for i in 0..max_c {
                let (_, jar): (_, Jar) = users
                    .login()
                    .await
                    .map_err(|e| format!("page set-up login: {e}"))?;
                cookies.push(jar.header());
                progress.show(&format!("{} of {max_c} sessions logged in", i + 1));
            }
            progress.finish(&format!("{max_c} logged-in sessions"));
        }
        let cookies = Arc::new(cookies);
        for &c in &args.concurrency {
            if let Some(b) = &baseline {
                let op = Op::Get {
                    url: baseline_url.clone(),
                    cookies: Arc::new(Vec::new()),
                };
                let s = spec(format!("baseline c={c}"), Mode::Baseline, c, None, b.pid);
                points.push(load::run(Arc::clone(&users), s, op, ticks).await);
            }
            if args.modes.contains(&Mode::Page) {
                let op = Op::Get {
                    url: format!("{app_url}{PAGE_PATH}"),
                    cookies: Arc::clone(&cookies),
                };
                let s = spec(format!("page c={c}"), Mode::Page, c, None, app.pid);
                points.push(load::run(Arc::clone(&users), s, op, ticks).await);
            }
        }
    }

    if args.modes.contains(&Mode::Flow) {
        for &latency in &args.kakao_latency_ms {
            kakao.set_latency_ms(latency);
            for &c in &args.concurrency {
                let s = spec(
                    format!("flow c={c} kakao+{latency}ms"),
                    Mode::Flow,
                    c,
                    Some(latency),
                    app.pid,
                );
                points.push(load::run(Arc::clone(&users), s, Op::Flow, ticks).await);
            }
        }
        kakao.set_latency_ms(0);
    }

    // A bare request costs more CPU at a low request rate (nothing is batched, every
    // event wakes a thread): the baseline again, at the +50 ms logins' request rate.
    let slow_logins = points.iter().find(|p| {
        p.spec.mode == Mode::Flow
            && p.spec.concurrency == max_c
            && p.spec.kakao_latency_ms == Some(50)
    });
    let mut paced_baseline = None;
    if let (Some(b), Some(slow)) = (&baseline, slow_logins) {
        let request_rate = slow.rate * crate::vu::STEPS.len() as f64;
        if request_rate > 0.0 {
            let op = Op::Get {
                url: baseline_url.clone(),
                cookies: Arc::new(Vec::new()),
            };
            let mut s = spec(
                format!("baseline c={max_c} paced to {request_rate:.0} requests/s"),
                Mode::Baseline,
                max_c,
                None,
                b.pid,
            );
            s.pace = Some(Duration::from_secs_f64(max_c as f64 / request_rate));
            paced_baseline = Some(load::run(Arc::clone(&users), s, op, ticks).await);
        }
    }

    // Top up to `rss_logins` logins in the app's life, then read its peak RSS.
    let mut rss_point = None;
    let done = users.logins_ok.load(Ordering::Relaxed);
    if args.rss_logins > done {
        let left = args.rss_logins - done;
        let s = Spec {
            label: format!("rss top-up c={max_c}"),
            mode: Mode::Flow,
            concurrency: max_c,
            kakao_latency_ms: Some(0),
            warmup: Duration::ZERO,
            duration: Duration::from_secs(600),
            max_ops: left,
            server_pid: app.pid,
            pace: None,
        };
        rss_point = Some(load::run(Arc::clone(&users), s, Op::Flow, ticks).await);
    }
    let logins_total = users.logins_ok.load(Ordering::Relaxed);
    let memory = procfs::memory_kib(app.pid);
    let app_threads = procfs::threads(app.pid);
    let baseline_peak_rss_kib = baseline
        .as_ref()
        .and_then(|b| procfs::memory_kib(b.pid))
        .map(|(_, hwm)| hwm);
    if let Some(status) = app.exited() {
        return Err(format!(
            "demo-app exited during the run ({status}):\n{}",
            app.log_tail(20)
        ));
    }

    app.stop(Duration::from_secs(15)).await;
    if let Some(b) = baseline {
        b.stop(Duration::from_secs(5)).await;
    }
    Ok(Outcome {
        setup: Setup {
            cores: 0,
            clock_ticks: ticks,
            app_bin: bin.to_owned(),
            sessions: args.sessions,
            database: args.database,
            scope: None,
            rust_log: String::new(),
            page_bytes: body.len(),
        },
        args: args.clone(),
        startup: Vec::new(),
        main_startup,
        points,
        rss_point,
        paced_baseline,
        logins_total,
        app_peak_rss_kib: memory.map(|(_, hwm)| hwm),
        app_rss_kib: memory.map(|(rss, _)| rss),
        app_threads,
        baseline_peak_rss_kib,
        total_seconds: 0.0,
    })
}
