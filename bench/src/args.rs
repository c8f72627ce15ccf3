//! Command-line flags (no parser crate: a handful of `--flag value` pairs).

use std::path::PathBuf;
use std::time::Duration;

pub const HELP: &str = "\
kakao-bench: complete Kakao logins per second and protected-page throughput of demo-app,
against a bare Actix baseline, in one run.

USAGE:
    cargo build --release -p kakao-bench -p demo-app
    cargo run --release -p kakao-bench -- [FLAGS]

It starts a Kakao emulator inside this process, target/release/demo-app as a child process
in \"real Kakao\" mode pointed at that emulator, and a bare Actix server (this binary with
--serve-baseline) as a second child process, then drives virtual users over loopback.
CPU and memory figures are read from /proc for each child process.

FLAGS:
    --sessions db|cookie|redis   session store of the app (default db)
    --database sqlite|postgres   the app's database (default sqlite: a fresh temp file)
    --database-url URL           PostgreSQL server for --database postgres; a fresh schema is
                                 created and dropped (default $DATABASE_URL, else
                                 postgres://postgres@127.0.0.1:5432/test)
    --redis-url URL              Redis for --sessions redis (default $REDIS_URL, else
                                 redis://127.0.0.1:6379); keys use a per-run prefix, removed after
    --concurrency LIST           virtual users per point, comma separated (default 8,64)
    --kakao-latency-ms LIST      emulator delay on each token and user-info answer; the flow mode
                                 runs once per value (default 0,50)
    --modes LIST                 any of flow,page,baseline (default all three)
    --duration SECS              measured time per point (default 5)
    --warmup SECS                unmeasured warm-up before each point (default 1)
    --max-requests N             cap on operations per measured point (default 1000000)
    --rss-logins N               logins the app has served in all before its peak RSS is read
                                 (default 100000; 0 skips the top-up)
    --new-users PERCENT          share of logins by first-time Kakao users (default 50)
    --startup-runs N             fresh-SQLite starts timed for /healthz (default 3; 0 skips)
    --scope SCOPES               KAKAO_SCOPE for the app (default unset; \"openid ...\" adds OIDC)
    --rust-log FILTER            RUST_LOG for the app (default info, the app's own default)
    --app-bin PATH               demo-app binary (default: demo-app next to this binary)
    --quick                      short smoke run: --duration 1 --warmup 0.3 --rss-logins 1000
                                 --startup-runs 1 (flags given with it still win)
    --keep-temp                  keep the temp directory (app log, SQLite file)
    -h, --help                   this text

OUTPUT:
    a progress line on stderr while it runs; a table on stdout, then one line
    `SUMMARY {json}` with every figure (machine-readable).

INTERNAL:
    --serve-baseline ADDR --body-file PATH   the bare Actix baseline server (started by the bench)
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Db,
    Cookie,
    Redis,
}

impl SessionKind {
    pub fn name(self) -> &'static str {
        match self {
            SessionKind::Db => "db",
            SessionKind::Cookie => "cookie",
            SessionKind::Redis => "redis",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    pub fn name(self) -> &'static str {
        match self {
            DatabaseKind::Sqlite => "sqlite",
            DatabaseKind::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Flow,
    Page,
    Baseline,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Flow => "flow",
            Mode::Page => "page",
            Mode::Baseline => "baseline",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Args {
    pub sessions: SessionKind,
    pub database: DatabaseKind,
    pub database_url: String,
    pub redis_url: String,
    pub concurrency: Vec<usize>,
    pub kakao_latency_ms: Vec<u64>,
    pub modes: Vec<Mode>,
    pub duration: Duration,
    pub warmup: Duration,
    pub max_requests: u64,
    pub rss_logins: u64,
    pub new_users_percent: u32,
    pub startup_runs: usize,
    pub scope: Option<String>,
    pub rust_log: String,
    pub app_bin: Option<PathBuf>,
    pub keep_temp: bool,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Help,
    Bench(Box<Args>),
    ServeBaseline { addr: String, body_file: PathBuf },
}

/// Flags that take a value.
const VALUE_FLAGS: &[&str] = &[
    "--sessions",
    "--database",
    "--database-url",
    "--redis-url",
    "--concurrency",
    "--kakao-latency-ms",
    "--modes",
    "--duration",
    "--warmup",
    "--max-requests",
    "--rss-logins",
    "--new-users",
    "--startup-runs",
    "--scope",
    "--rust-log",
    "--app-bin",
    "--serve-baseline",
    "--body-file",
];

fn list<T: std::str::FromStr>(flag: &str, value: &str) -> Result<Vec<T>, String> {
    let items: Result<Vec<T>, _> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect();
    match items {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(format!(
            "{flag}: expected a comma-separated list, got {value:?}"
        )),
    }
}

fn secs(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{flag}: expected seconds, got {value:?}"))
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: expected a number, got {value:?}"))
}

pub fn parse(raw: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut database_url: Option<String> = None;
    let mut args = Args {
        sessions: SessionKind::Db,
        database: DatabaseKind::Sqlite,
        database_url: String::new(),
        redis_url: env("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned()),
        concurrency: vec![8, 64],
        kakao_latency_ms: vec![0, 50],
        modes: vec![Mode::Flow, Mode::Page, Mode::Baseline],
        duration: Duration::from_secs(5),
        warmup: Duration::from_secs(1),
        max_requests: 1_000_000,
        rss_logins: 100_000,
        new_users_percent: 50,
        startup_runs: 3,
        scope: None,
        rust_log: "info".to_owned(),
        app_bin: None,
        keep_temp: false,
    };
    let mut serve_baseline: Option<String> = None;
    let mut body_file: Option<PathBuf> = None;
    let raw: Vec<String> = raw.into_iter().collect();
    // `--quick` sets shorter defaults; flags given with it still win.
    if raw.iter().any(|a| a == "--quick") {
        args.duration = Duration::from_secs(1);
        args.warmup = Duration::from_millis(300);
        args.rss_logins = 1_000;
        args.startup_runs = 1;
    }
    let mut it = raw.into_iter();
    while let Some(flag) = it.next() {
        // `--flag=value` and `--flag value` both work.
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (flag, None),
        };
        let is_switch = matches!(flag.as_str(), "-h" | "--help" | "--quick" | "--keep-temp");
        if !is_switch && !VALUE_FLAGS.contains(&flag.as_str()) {
            return Err(format!("unknown flag {flag:?} (see --help)"));
        }
        let value = if is_switch {
            String::new()
        } else {
            match inline.or_else(|| it.next()) {
                Some(v) => v,
                None => return Err(format!("{flag}: missing value (see --help)")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--quick" => {}
            "--keep-temp" => args.keep_temp = true,
            "--sessions" => {
                args.sessions = match value.as_str() {
                    "db" => SessionKind::Db,
                    "cookie" => SessionKind::Cookie,
                    "redis" => SessionKind::Redis,
                    other => {
                        return Err(format!("--sessions: {other:?} is not db, cookie or redis"))
                    }
                }
            }
            "--database" => {
                args.database = match value.as_str() {
                    "sqlite" => DatabaseKind::Sqlite,
                    "postgres" | "postgresql" => DatabaseKind::Postgres,
                    other => {
                        return Err(format!("--database: {other:?} is not sqlite or postgres"))
                    }
                }
            }
            "--database-url" => database_url = Some(value),
            "--redis-url" => args.redis_url = value,
            "--concurrency" => {
                args.concurrency = list::<usize>(&flag, &value)?;
                if args.concurrency.contains(&0) {
                    return Err("--concurrency: must be at least 1".into());
                }
            }
            "--kakao-latency-ms" => args.kakao_latency_ms = list(&flag, &value)?,
            "--modes" => {
                args.modes = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|m| match m {
                        "flow" => Ok(Mode::Flow),
                        "page" => Ok(Mode::Page),
                        "baseline" => Ok(Mode::Baseline),
                        other => Err(format!("--modes: unknown mode {other:?}")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--duration" => args.duration = secs(&flag, &value)?,
            "--warmup" => args.warmup = secs(&flag, &value)?,
            "--max-requests" => args.max_requests = number(&flag, &value)?,
            "--rss-logins" => args.rss_logins = number(&flag, &value)?,
            "--new-users" => {
                args.new_users_percent = number(&flag, &value)?;
                if args.new_users_percent > 100 {
                    return Err("--new-users: a percentage, 0 to 100".into());
                }
            }
            "--startup-runs" => args.startup_runs = number(&flag, &value)?,
            "--scope" => args.scope = Some(value),
            "--rust-log" => args.rust_log = value,
            "--app-bin" => args.app_bin = Some(PathBuf::from(value)),
            "--serve-baseline" => serve_baseline = Some(value),
            "--body-file" => body_file = Some(PathBuf::from(value)),
            other => return Err(format!("unknown flag {other:?} (see --help)")),
        }
    }
    if let Some(addr) = serve_baseline {
        let body_file = body_file.ok_or("--serve-baseline needs --body-file")?;
        return Ok(Command::ServeBaseline { addr, body_file });
    }
    args.database_url = match args.database {
        DatabaseKind::Postgres => database_url
            .or_else(|| env("DATABASE_URL").filter(|u| u.starts_with("postgres")))
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
        DatabaseKind::Sqlite => String::new(),
    };
    Ok(Command::Bench(Box::new(args)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults_and_flags() {
        let Ok(Command::Bench(a)) = parse_args(&[]) else {
            panic!("no flags is a bench run");
        };
        assert_eq!(a.concurrency, vec![8, 64]);
        assert_eq!(a.kakao_latency_ms, vec![0, 50]);
        assert_eq!(a.sessions, SessionKind::Db);
        let Ok(Command::Bench(a)) = parse_args(&[
            "--sessions=cookie",
            "--kakao-latency-ms",
            "50",
            "--concurrency",
            "64",
            "--quick",
            "--duration",
            "2",
        ]) else {
            panic!("valid flags");
        };
        assert_eq!(a.sessions, SessionKind::Cookie);
        assert_eq!(a.kakao_latency_ms, vec![50]);
        assert_eq!(a.concurrency, vec![64]);
        assert_eq!(a.duration, Duration::from_secs(2), "flags win over --quick");
        assert_eq!(a.rss_logins, 1_000);
    }

    #[test]
    fn bad_flags_are_refused_with_their_name() {
        for bad in [
            &["--bogus"][..],
            &["--sessions", "memcached"],
            &["--concurrency", "0"],
            &["--duration"],
            &["--new-users", "101"],
        ] {
            let err = parse_args(bad).expect_err("refused");
            assert!(err.contains(bad[0]), "{err}");
        }
    }

    #[test]
    fn the_baseline_server_needs_a_body() {
        assert!(parse_args(&["--serve-baseline", "127.0.0.1:1"]).is_err());
        assert!(matches!(
            parse_args(&["--serve-baseline", "127.0.0.1:1", "--body-file", "x"]),
            Ok(Command::ServeBaseline { .. })
        ));
    }
}
