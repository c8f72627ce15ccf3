//! A demo-app process on a free loopback port, for the tests that run several instances
//! behind one URL. Killed when dropped.

use std::ffi::OsStr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use url::Url;

/// A running demo-app process.
pub struct Instance {
    child: Child,
    /// `http://127.0.0.1:{port}`.
    pub base: String,
}

impl Instance {
    /// Starts the demo binary with `env` (plus `BIND` on a free port) and waits until
    /// `/healthz` answers 200, at most 30 s.
    pub async fn start<K: AsRef<OsStr>, V: AsRef<OsStr>>(env: &[(K, V)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_demo-app"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::Client::new();
        while !client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            assert!(Instant::now() < deadline, "{base} did not become healthy");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, base }
    }

    /// `url` (on the public URL) as sent to this instance.
    pub fn at(&self, url: &Url) -> String {
        match url.query() {
            Some(q) => format!("{}{}?{q}", self.base, url.path()),
            None => format!("{}{}", self.base, url.path()),
        }
    }

    /// `path` on this instance.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the process now.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
