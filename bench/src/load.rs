//! The load generator: `concurrency` virtual users in a closed loop, a warm-up, then a
//! measured window bounded by time and by a number of operations; CPU time of the server
//! process and of the bench itself read from `/proc` at the window's edges.

use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::Mode;
use crate::procfs;
use crate::vu::{Users, CALLBACK_STEP, STEPS};

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

/// What each operation is.
#[derive(Debug, Clone)]
pub enum Op {
    /// A complete login (six requests).
    Flow,
    /// `GET url`, virtual user `i` sending `cookies[i % len]`.
    Get {
        url: String,
        cookies: Arc<Vec<Option<String>>>,
    },
}

/// One measured point.
#[derive(Debug, Clone)]
pub struct Spec {
    pub label: String,
    pub mode: Mode,
    pub concurrency: usize,
    pub kakao_latency_ms: Option<u64>,
    pub warmup: Duration,
    pub duration: Duration,
    pub max_ops: u64,
    /// The process serving the requests (its CPU is the point's server CPU).
    pub server_pid: u32,
    /// Each virtual user starts an operation at most this often (`None`: back to back).
    pub pace: Option<Duration>,
}

/// Latency summary in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    fn of(mut micros: Vec<u64>) -> Self {
        if micros.is_empty() {
            return Self::default();
        }
        micros.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * micros.len() as f64).ceil() as usize).clamp(1, micros.len());
            micros[rank - 1] as f64 / 1000.0
        };
        Self {
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// The figures of one point.
#[derive(Debug, Clone)]
pub struct PointResult {
    pub spec: Spec,
    pub ops: u64,
    pub errors: u64,
    pub seconds: f64,
    pub rate: f64,
    pub latency: Latency,
    /// Flow only: the callback request alone.
    pub callback: Option<Latency>,
    /// Flow only: each request of the login ([`crate::vu::STEPS`]).
    pub steps: Option<Vec<Latency>>,
    /// CPU of the server process per successful operation, ms.
    pub server_cpu_ms_per_op: f64,
    /// CPU of the bench process (load generator, and the emulator in flow mode) per op, ms.
    pub bench_cpu_ms_per_op: f64,
    /// Cores the server process used during the window (1.0 = one core busy all along).
    pub server_cores: f64,
    /// Cores the bench process (load generator, emulator) used.
    pub bench_cores: f64,
    /// Cores busy on the whole machine (all processes), and stolen by the hypervisor.
    pub machine_cores: f64,
    pub steal_cores: f64,
    pub error_samples: Vec<String>,
}

struct Counters {
    phase: AtomicU8,
    ok: AtomicU64,
    errors: AtomicU64,
    warm: AtomicU64,
}

/// Runs one point and returns its figures.
pub async fn run(users: Arc<Users>, spec: Spec, op: Op, ticks: u64) -> PointResult {
    let counters = Arc::new(Counters {
        phase: AtomicU8::new(WARMUP),
        ok: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        warm: AtomicU64::new(0),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..spec.concurrency {
        let users = Arc::clone(&users);
        let counters = Arc::clone(&counters);
        let op = op.clone();
        let spec_pace = spec.pace;
        tasks.spawn(async move {
            let mut latencies: Vec<u64> = Vec::with_capacity(4096);
            let mut steps: Vec<Vec<u64>> = vec![Vec::new(); STEPS.len()];
            let mut samples: Vec<String> = Vec::new();
            let cookie = match &op {
                Op::Get { cookies, .. } if !cookies.is_empty() => {
                    cookies[i % cookies.len()].clone()
                }
                _ => None,
            };
            loop {
                if counters.phase.load(Ordering::Relaxed) == STOP {
                    break;
                }
                let started = Instant::now();
                let outcome = match &op {
                    Op::Flow => users.login().await.map(|(t, _)| Some(t.steps)),
                    Op::Get { url, .. } => {
                        users.get_page(url, cookie.as_deref()).await.map(|()| None)
                    }
                };
                let elapsed = started.elapsed();
                if let Some(pace) = spec_pace {
                    tokio::time::sleep_until((started + pace).into()).await;
                }
                match counters.phase.load(Ordering::Relaxed) {
                    MEASURE => match outcome {
                        Ok(timing) => {
                            latencies.push(elapsed.as_micros() as u64);
                            if let Some(timing) = timing {
                                for (all, one) in steps.iter_mut().zip(timing) {
                                    all.push(one.as_micros() as u64);
                                }
                            }
                            counters.ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            counters.errors.fetch_add(1, Ordering::Relaxed);
                            if samples.len() < 3 {
                                samples.push(e);
                            }
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    },
                    WARMUP => {
                        counters.warm.fetch_add(1, Ordering::Relaxed);
                        if outcome.is_err() {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                    _ => break,
                }
            }
            (latencies, steps, samples)
        });
    }

    let progress = Progress::new(&spec.label);
    let warm_start = Instant::now();
    while warm_start.elapsed() < spec.warmup {
        tokio::time::sleep(Duration::from_millis(100)).await;
        progress.show(&format!(
            "warm-up {:.1}/{:.1} s  {} ops",
            warm_start.elapsed().as_secs_f64(),
            spec.warmup.as_secs_f64(),
            counters.warm.load(Ordering::Relaxed)
        ));
    }

    let self_pid = std::process::id();
    let server0 = procfs::cpu_time(spec.server_pid, ticks);
    let bench0 = procfs::cpu_time(self_pid, ticks);
    let machine0 = procfs::machine_cpu();
    let start = Instant::now();
    counters.phase.store(MEASURE, Ordering::Relaxed);
    let mut last_print = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let done = counters.ok.load(Ordering::Relaxed) + counters.errors.load(Ordering::Relaxed);
        if start.elapsed() >= spec.duration || done >= spec.max_ops {
            break;
        }
        if last_print.elapsed() >= Duration::from_millis(500) {
            last_print = Instant::now();
            let secs = start.elapsed().as_secs_f64();
            progress.show(&format!(
                "measuring {secs:.1}/{:.1} s  ok {}  errors {}  {:.0}/s",
                spec.duration.as_secs_f64(),
                counters.ok.load(Ordering::Relaxed),
                counters.errors.load(Ordering::Relaxed),
                counters.ok.load(Ordering::Relaxed) as f64 / secs.max(1e-9)
            ));
        }
    }
    counters.phase.store(STOP, Ordering::Relaxed);
    let seconds = start.elapsed().as_secs_f64();
    let server1 = procfs::cpu_time(spec.server_pid, ticks);
    let bench1 = procfs::cpu_time(self_pid, ticks);
    let machine1 = procfs::machine_cpu();

    let mut latencies = Vec::new();
    let mut steps: Vec<Vec<u64>> = vec![Vec::new(); STEPS.len()];
    let mut error_samples = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((l, c, s)) = joined {
            latencies.extend(l);
            for (all, one) in steps.iter_mut().zip(c) {
                all.extend(one);
            }
            for sample in s {
                if error_samples.len() < 5 && !error_samples.contains(&sample) {
                    error_samples.push(sample);
                }
            }
        }
    }
    let ops = latencies.len() as u64;
    let errors = counters.errors.load(Ordering::Relaxed);
    let per_op = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) if ops > 0 => b.saturating_sub(a).as_secs_f64() * 1000.0 / ops as f64,
        _ => f64::NAN,
    };
    let server_cpu_ms_per_op = per_op(server0, server1);
    let bench_cpu_ms_per_op = per_op(bench0, bench1);
    let cores_of = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64() / seconds,
        _ => f64::NAN,
    };
    let server_cores = cores_of(server0, server1);
    let bench_cores = cores_of(bench0, bench1);
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let (machine_cores, steal_cores) = match (machine0, machine1) {
        (Some(a), Some(b)) if b.total > a.total => {
            let total = (b.total - a.total) as f64;
            (
                ncpu * b.busy.saturating_sub(a.busy) as f64 / total,
                ncpu * b.steal.saturating_sub(a.steal) as f64 / total,
            )
        }
        _ => (f64::NAN, f64::NAN),
    };
    let result = PointResult {
        ops,
        errors,
        seconds,
        rate: ops as f64 / seconds,
        latency: Latency::of(latencies),
        callback: matches!(op, Op::Flow).then(|| Latency::of(steps[CALLBACK_STEP].clone())),
        steps: matches!(op, Op::Flow).then(|| steps.into_iter().map(Latency::of).collect()),
        server_cpu_ms_per_op,
        bench_cpu_ms_per_op,
        server_cores,
        bench_cores,
        machine_cores,
        steal_cores,
        error_samples,
        spec,
    };
    progress.finish(&format!(
        "{:.0}/s  p50 {:.2} ms  p99 {:.2} ms  errors {}  server CPU {:.3} ms/op",
        result.rate,
        result.latency.p50,
        result.latency.p99,
        result.errors,
        result.server_cpu_ms_per_op
    ));
    result
}

/// The progress line on stderr: rewritten in place on a terminal, one line per update
/// otherwise.
pub struct Progress {
    label: String,
    tty: bool,
    last: std::cell::Cell<Option<Instant>>,
}

impl Progress {
    pub fn new(label: &str) -> Self {
        Self {
            label: label.to_owned(),
            tty: std::io::stderr().is_terminal(),
            last: std::cell::Cell::new(None),
        }
    }

    pub fn show(&self, text: &str) {
        // Not a terminal (a log file): at most one line a second.
        if !self.tty
            && self
                .last
                .get()
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.last.set(Some(Instant::now()));
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K[{}] {text}", self.label);
            let _ = err.flush();
        } else {
            let _ = writeln!(err, "[{}] {text}", self.label);
        }
    }

    pub fn finish(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = writeln!(err, "\r\x1b[2K[{}] {text}", self.label);
        } else {
            let _ = writeln!(err, "[{}] {text}", self.label);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let l = Latency::of((1..=100).map(|ms| ms * 1000).collect());
        assert_eq!((l.p50, l.p99, l.max), (50.0, 99.0, 100.0));
        let one = Latency::of(vec![2500]);
        assert_eq!((one.p50, one.max), (2.5, 2.5));
        assert_eq!(Latency::of(Vec::new()).max, 0.0);
    }
}
