//! The results: Markdown tables on stdout, then `SUMMARY {json}`.

use serde_json::{json, Value};

use crate::args::{DatabaseKind, Mode, SessionKind};
use crate::bench::Outcome;
use crate::load::PointResult;

const MIB: f64 = 1024.0;

/// A performance target and how this run did.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub measured: f64,
    pub limit: f64,
    /// `true`: measured must be ≥ limit; `false`: ≤ limit.
    pub at_least: bool,
    pub unit: &'static str,
}

impl Target {
    pub fn pass(&self) -> bool {
        if self.measured.is_nan() {
            return false;
        }
        if self.at_least {
            self.measured >= self.limit
        } else {
            self.measured <= self.limit
        }
    }

    /// How far from the limit, as a factor (> 1 when missed).
    pub fn miss_factor(&self) -> f64 {
        if self.at_least {
            self.limit / self.measured
        } else {
            self.measured / self.limit
        }
    }
}

/// Page/baseline figures at one concurrency.
#[derive(Debug, Clone, Copy)]
pub struct Ratio {
    pub concurrency: usize,
    pub page_rps: f64,
    pub baseline_rps: f64,
    pub rps_ratio: f64,
    /// Baseline CPU per request ÷ page CPU per request (the server-side cost ratio).
    pub cpu_ratio: f64,
}

pub fn ratios(outcome: &Outcome) -> Vec<Ratio> {
    let find = |mode: Mode, c: usize| {
        outcome
            .points
            .iter()
            .find(|p| p.spec.mode == mode && p.spec.concurrency == c)
    };
    outcome
        .args
        .concurrency
        .iter()
        .filter_map(|&c| {
            let page = find(Mode::Page, c)?;
            let base = find(Mode::Baseline, c)?;
            Some(Ratio {
                concurrency: c,
                page_rps: page.rate,
                baseline_rps: base.rate,
                rps_ratio: page.rate / base.rate,
                cpu_ratio: base.server_cpu_ms_per_op / page.server_cpu_ms_per_op,
            })
        })
        .collect()
}

/// The limits, each against the bare Actix baseline measured in the same run where it
/// is a ratio.
pub mod limits {
    /// App CPU per complete login ÷ the baseline's CPU per request, at most.
    pub const LOGIN_CPU_VS_BASELINE: f64 = 15.0;
    /// App CPU per login with Kakao +50 ms ÷ the same at +0 ms, at most (+20 %).
    pub const LATENCY_CPU_GROWTH: f64 = 1.2;
    /// Protected page rate ÷ the baseline's, at least (SQLite database sessions).
    pub const PAGE_VS_BASELINE: f64 = 0.75;
    /// Login p99 at c=64 with Kakao +50 ms per call, ms, at most.
    pub const LOGIN_P99_KAKAO_50_MS: f64 = 130.0;
    /// Peak RSS after the run's logins, MiB, at most.
    pub const PEAK_RSS_MIB: f64 = 64.0;
    /// `/healthz` after a start on a fresh SQLite file, ms, at most.
    pub const STARTUP_MS: f64 = 1000.0;
}

pub fn targets(outcome: &Outcome) -> Vec<Target> {
    let mut out = Vec::new();
    let setup = &outcome.setup;
    let find = |mode: Mode, c: usize, latency: Option<u64>| {
        outcome.points.iter().find(|p| {
            p.spec.mode == mode && p.spec.concurrency == c && p.spec.kakao_latency_ms == latency
        })
    };
    if (setup.sessions, setup.database) == (SessionKind::Db, DatabaseKind::Sqlite) {
        for r in ratios(outcome) {
            out.push(Target {
                name: format!("protected page / baseline rps, c={}", r.concurrency),
                measured: r.rps_ratio,
                limit: limits::PAGE_VS_BASELINE,
                at_least: true,
                unit: "×",
            });
        }
    }
    let flows: Vec<&PointResult> = outcome
        .points
        .iter()
        .filter(|p| p.spec.mode == Mode::Flow)
        .collect();
    for p in &flows {
        let c = p.spec.concurrency;
        let Some(base) = find(Mode::Baseline, c, None) else {
            continue;
        };
        out.push(Target {
            name: format!(
                "app CPU per login / baseline CPU per request, c={c}, Kakao +{} ms",
                p.spec.kakao_latency_ms.unwrap_or(0)
            ),
            measured: p.server_cpu_ms_per_op / base.server_cpu_ms_per_op,
            limit: limits::LOGIN_CPU_VS_BASELINE,
            at_least: false,
            unit: "×",
        });
    }
    for p in flows.iter().filter(|p| p.spec.kakao_latency_ms == Some(50)) {
        let c = p.spec.concurrency;
        let Some(fast) = find(Mode::Flow, c, Some(0)) else {
            continue;
        };
        out.push(Target {
            name: format!("app CPU per login, Kakao +50 ms / +0 ms, c={c}"),
            measured: p.server_cpu_ms_per_op / fast.server_cpu_ms_per_op,
            limit: limits::LATENCY_CPU_GROWTH,
            at_least: false,
            unit: "×",
        });
    }
    for p in flows
        .iter()
        .copied()
        .chain(outcome.rss_point.as_ref())
        .filter(|p| p.spec.concurrency >= 64)
    {
        out.push(Target {
            name: format!("failed logins, {}", p.spec.label),
            measured: p.errors as f64,
            limit: 0.0,
            at_least: false,
            unit: "",
        });
    }
    for p in flows
        .iter()
        .filter(|p| p.spec.kakao_latency_ms == Some(50) && p.spec.concurrency == 64)
    {
        out.push(Target {
            name: "login p99, c=64, Kakao +50 ms per call".to_owned(),
            measured: p.latency.p99,
            limit: limits::LOGIN_P99_KAKAO_50_MS,
            at_least: false,
            unit: "ms",
        });
    }
    if let Some(hwm) = outcome.app_peak_rss_kib {
        out.push(Target {
            name: format!("app peak RSS after {} logins", outcome.logins_total),
            measured: hwm as f64 / MIB,
            limit: limits::PEAK_RSS_MIB,
            at_least: false,
            unit: "MiB",
        });
    }
    if let Some(worst) = outcome.startup.iter().max() {
        out.push(Target {
            name: "/healthz after start, fresh SQLite (slowest start)".to_owned(),
            measured: worst.as_secs_f64() * 1000.0,
            limit: limits::STARTUP_MS,
            at_least: false,
            unit: "ms",
        });
    }
    out
}

/// The +50 ms logins against a bare request at the same request rate (not a target: how
/// much of the +50 ms cost is the low load itself).
fn paced_comparison(outcome: &Outcome) -> Option<String> {
    let paced = outcome.paced_baseline.as_ref()?;
    let c = paced.spec.concurrency;
    let slow = outcome.points.iter().find(|p| {
        p.spec.mode == Mode::Flow && p.spec.concurrency == c && p.spec.kakao_latency_ms == Some(50)
    })?;
    let full = outcome
        .points
        .iter()
        .find(|p| p.spec.mode == Mode::Baseline && p.spec.concurrency == c)?;
    Some(format!(
        "- Kakao +50 ms, c={c}: app CPU per login {:.3} ms = {:.1}× the baseline's CPU per \
         request at the same request rate ({:.0}/s: {:.4} ms, {:.2}× its cost at full load)",
        slow.server_cpu_ms_per_op,
        slow.server_cpu_ms_per_op / paced.server_cpu_ms_per_op,
        paced.rate,
        paced.server_cpu_ms_per_op,
        paced.server_cpu_ms_per_op / full.server_cpu_ms_per_op,
    ))
}

/// A KiB figure from `/proc` in MiB, or `n/a`.
fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_owned(), |k| format!("{:.1} MiB", k as f64 / MIB))
}

fn fmt(x: f64, decimals: usize) -> String {
    if x.is_nan() {
        "n/a".to_owned()
    } else {
        format!("{x:.decimals$}")
    }
}

fn point_row(p: &PointResult, note: &str) -> String {
    let callback = p
        .callback
        .map(|c| format!("{} / {}", fmt(c.p50, 1), fmt(c.p99, 1)))
        .unwrap_or_else(|| "".to_owned());
    format!(
        "| {}{note} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} / {} |",
        p.spec.mode.name(),
        p.spec.concurrency,
        p.spec
            .kakao_latency_ms
            .map(|l| format!("{l} ms"))
            .unwrap_or_else(|| "–".to_owned()),
        p.ops,
        fmt(p.rate, 0),
        fmt(p.latency.p50, 2),
        fmt(p.latency.p99, 2),
        fmt(p.latency.max, 1),
        p.errors,
        callback,
        fmt(p.server_cpu_ms_per_op, 3),
        fmt(p.bench_cpu_ms_per_op, 3),
        fmt(p.server_cores, 2),
        fmt(p.bench_cores, 2),
        fmt(p.machine_cores, 2),
    )
}

pub fn print(outcome: &Outcome) {
    let s = &outcome.setup;
    let a = &outcome.args;
    println!();
    println!(
        "## kakao-bench: {} cores, sessions `{}`, database `{}`{}, {:.0} s per point after {:.1} s warm-up, {} B page",
        s.cores,
        s.sessions.name(),
        s.database.name(),
        s.scope
            .as_ref()
            .map(|sc| format!(", scope `{sc}`"))
            .unwrap_or_default(),
        a.duration.as_secs_f64(),
        a.warmup.as_secs_f64(),
        s.page_bytes,
    );
    println!();
    println!("| mode | c | Kakao delay | ops | rate /s | p50 ms | p99 ms | max ms | errors | callback p50 / p99 ms | server CPU ms/op | bench CPU ms/op | cores used: server / bench / machine |");
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for p in &outcome.points {
        println!("{}", point_row(p, ""));
    }
    if let Some(p) = &outcome.rss_point {
        println!(
            "{}",
            point_row(p, &format!(" (top-up to {} logins)", a.rss_logins))
        );
    }
    if let Some(p) = &outcome.paced_baseline {
        println!(
            "{}",
            point_row(p, &format!(" (paced: {:.0} requests/s)", p.rate))
        );
    }
    println!();
    println!("Server: the baseline process for `baseline` rows, the app process otherwise; bench: this process (load generator, and the Kakao emulator); machine: all processes. CPU figures are user + system time from /proc.");
    let ratios = ratios(outcome);
    if !ratios.is_empty() {
        println!();
        println!("| c | page rps | baseline rps | page / baseline rps | server CPU per request, baseline / page |");
        println!("|--:|--:|--:|--:|--:|");
        for r in &ratios {
            println!(
                "| {} | {} | {} | {}× | {}× |",
                r.concurrency,
                fmt(r.page_rps, 0),
                fmt(r.baseline_rps, 0),
                fmt(r.rps_ratio, 2),
                fmt(r.cpu_ratio, 2)
            );
        }
    }
    println!();
    let startup: Vec<String> = outcome
        .startup
        .iter()
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
        .collect();
    println!(
        "- /healthz on a fresh SQLite file: {} ms (each start); the run's app: {:.0} ms",
        if startup.is_empty() {
            "not measured".to_owned()
        } else {
            startup.join(", ")
        },
        outcome.main_startup.as_secs_f64() * 1000.0
    );
    println!(
        "- app after {} logins: peak RSS {}, RSS {}, {} threads; baseline peak RSS {}",
        outcome.logins_total,
        mib(outcome.app_peak_rss_kib),
        mib(outcome.app_rss_kib),
        outcome
            .app_threads
            .map_or("n/a".to_owned(), |t| t.to_string()),
        mib(outcome.baseline_peak_rss_kib),
    );
    for p in outcome.points.iter().chain(outcome.rss_point.as_ref()) {
        if !p.error_samples.is_empty() {
            println!(
                "- errors in {}: {}",
                p.spec.label,
                p.error_samples.join("; ")
            );
        }
    }
    if let Some(line) = paced_comparison(outcome) {
        println!();
        println!("{line}");
    }
    let targets = targets(outcome);
    if !targets.is_empty() {
        println!();
        println!("| target | measured | limit | result |");
        println!("|---|--:|--:|---|");
        for t in &targets {
            let digits = if t.unit == "×" || t.unit == "ms" && t.limit < 10.0 {
                3
            } else {
                1
            };
            println!(
                "| {} | {}{} | {} {}{} | {} |",
                t.name,
                fmt(t.measured, if t.unit.is_empty() { 0 } else { digits }),
                if t.unit == "×" {
                    "×".to_owned()
                } else if t.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", t.unit)
                },
                if t.at_least { "≥" } else { "≤" },
                t.limit,
                if t.unit == "×" {
                    "×".to_owned()
                } else if t.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", t.unit)
                },
                if t.pass() {
                    "PASS".to_owned()
                } else if t.limit > 0.0 {
                    format!("**FAIL** ({:.2}× off)", t.miss_factor())
                } else {
                    "**FAIL**".to_owned()
                },
            );
        }
    }
    println!();
    println!("SUMMARY {}", summary(outcome, &ratios, &targets));
}

fn point_json(p: &PointResult) -> Value {
    json!({
        "label": p.spec.label,
        "mode": p.spec.mode.name(),
        "concurrency": p.spec.concurrency,
        "kakao_latency_ms": p.spec.kakao_latency_ms,
        "ops": p.ops,
        "errors": p.errors,
        "seconds": round(p.seconds, 3),
        "rate_per_s": round(p.rate, 1),
        "p50_ms": round(p.latency.p50, 3),
        "p99_ms": round(p.latency.p99, 3),
        "max_ms": round(p.latency.max, 3),
        "callback_p50_ms": p.callback.map(|c| round(c.p50, 3)),
        "callback_p99_ms": p.callback.map(|c| round(c.p99, 3)),
        "step_p50_ms": p.steps.as_ref().map(|steps| {
            crate::vu::STEPS
                .iter()
                .zip(steps)
                .map(|(name, l)| (name.to_string(), round(l.p50, 3)))
                .collect::<serde_json::Map<String, Value>>()
        }),
        "server": if p.spec.mode == Mode::Baseline { "baseline" } else { "app" },
        "server_cpu_ms_per_op": round(p.server_cpu_ms_per_op, 4),
        "server_cores_used": round(p.server_cores, 3),
        "bench_cores_used": round(p.bench_cores, 3),
        "machine_cores_busy": round(p.machine_cores, 3),
        "machine_cores_stolen": round(p.steal_cores, 3),
        "bench_cpu_ms_per_op": round(p.bench_cpu_ms_per_op, 4),
        "error_samples": p.error_samples,
    })
}

fn round(x: f64, decimals: i32) -> Value {
    if x.is_finite() {
        let f = 10f64.powi(decimals);
        json!((x * f).round() / f)
    } else {
        Value::Null
    }
}

fn summary(outcome: &Outcome, ratios: &[Ratio], targets: &[Target]) -> Value {
    let s = &outcome.setup;
    let a = &outcome.args;
    json!({
        "machine": { "cores": s.cores, "clock_ticks_per_s": s.clock_ticks },
        "config": {
            "sessions": s.sessions.name(),
            "database": s.database.name(),
            "scope": s.scope,
            "rust_log": s.rust_log,
            "concurrency": a.concurrency,
            "kakao_latency_ms": a.kakao_latency_ms,
            "duration_s": a.duration.as_secs_f64(),
            "warmup_s": a.warmup.as_secs_f64(),
            "new_users_percent": a.new_users_percent,
            "page_bytes": s.page_bytes,
            "app_bin": s.app_bin.to_string_lossy(),
        },
        "startup": {
            "healthz_fresh_sqlite_ms": outcome.startup.iter().map(|d| round(d.as_secs_f64() * 1000.0, 1)).collect::<Vec<_>>(),
            "main_app_healthz_ms": round(outcome.main_startup.as_secs_f64() * 1000.0, 1),
        },
        "points": outcome.points.iter().map(point_json).collect::<Vec<_>>(),
        "rss_top_up": outcome.rss_point.as_ref().map(point_json),
        "paced_baseline": outcome.paced_baseline.as_ref().map(point_json),
        "ratios": ratios.iter().map(|r| json!({
            "concurrency": r.concurrency,
            "page_rps": round(r.page_rps, 1),
            "baseline_rps": round(r.baseline_rps, 1),
            "page_over_baseline_rps": round(r.rps_ratio, 4),
            "baseline_over_page_cpu_per_request": round(r.cpu_ratio, 4),
        })).collect::<Vec<_>>(),
        "memory": {
            "logins": outcome.logins_total,
            "app_peak_rss_kib": outcome.app_peak_rss_kib,
            "app_rss_kib": outcome.app_rss_kib,
            "app_threads": outcome.app_threads,
            "baseline_peak_rss_kib": outcome.baseline_peak_rss_kib,
        },
        "targets": targets.iter().map(|t| json!({
            "name": t.name,
            "measured": round(t.measured, 4),
            "limit": t.limit,
            "at_least": t.at_least,
            "unit": t.unit,
            "result": if t.pass() { "PASS" } else { "FAIL" },
        })).collect::<Vec<_>>(),
        "all_targets_pass": targets.iter().all(Target::pass),
        "total_seconds": round(outcome.total_seconds, 1),
    })
}
