//! Child processes: the demo app and the baseline server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every variable of the demo-app contract: removed from the inherited environment so only
/// what the bench sets reaches the app.
const CONTRACT_VARS: &[&str] = &[
    "BIND",
    "APP_URL",
    "KAKAO_CLIENT_ID",
    "KAKAO_CLIENT_SECRET",
    "KAKAO_AUTH_URL",
    "KAKAO_API_URL",
    "KAKAO_SCOPE",
    "KAKAO_ADMIN_KEY",
    "KAKAO_APP_ID",
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "SESSION_STORE",
    "SESSION_SECRET",
    "RUST_LOG",
];

/// A running child process, killed when dropped.
#[derive(Debug)]
pub struct Child {
    pub name: String,
    pub pid: u32,
    pub log: PathBuf,
    process: std::process::Child,
}

impl Child {
    /// Starts `program` with `args` and `env` (on top of the inherited environment minus the
    /// contract's variables), stdout and stderr appended to `log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        log: &Path,
    ) -> Result<Child, String> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for var in CONTRACT_VARS {
            command.env_remove(var);
        }
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let process = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        Ok(Child {
            name: name.to_owned(),
            pid: process.id(),
            log: log.to_owned(),
            process,
        })
    }

    /// `Some(description)` once the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.process.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    /// The last lines of the child's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM (graceful shutdown), then SIGKILL after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        let termed = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if termed {
            let until = Instant::now() + grace;
            while Instant::now() < until {
                if self.exited().is_some() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.process.try_wait() {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
    }
}

/// Polls `url` until it answers 200; returns the time from `since`. Fails when the child
/// exits or `timeout` passes.
pub async fn wait_for_200(
    child: &mut Child,
    url: &str,
    since: Instant,
    timeout: Duration,
) -> Result<Duration, String> {
    // A client of its own: no pooled connection from before the process started.
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(2))
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| e.to_string())?;
    loop {
        if let Some(status) = child.exited() {
            return Err(format!(
                "{} exited ({status}) before answering {url}; its log:\n{}",
                child.name,
                child.log_tail(20)
            ));
        }
        if let Ok(response) = client.get(url).send().await {
            if response.status().as_u16() == 200 {
                return Ok(since.elapsed());
            }
        }
        if since.elapsed() > timeout {
            return Err(format!(
                "{} did not answer 200 on {url} within {timeout:?}; its log:\n{}",
                child.name,
                child.log_tail(20)
            ));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A loopback port that is free right now.
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}
