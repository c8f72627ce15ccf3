//! Shared harness: a demo app started in-process on port 0 against the emulator.
#![allow(dead_code, clippy::unwrap_used)]

use demo_app::app::RunningApp;
use demo_app::config::DemoConfig;
use demo_app::store::DieselUserStore;
use kakao_emulator::KakaoEmulator;

#[allow(unused_imports)]
pub use kakao_auth_e2e::{params, Browser, Page};

/// A running demo app with its own SQLite file and emulator.
pub struct TestApp {
    pub app: RunningApp,
    pub store: DieselUserStore,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Emulator mode, fresh SQLite file, database sessions.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Like [`spawn`](Self::spawn), after `adjust` edits the configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut DemoConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = DemoConfig::on_free_port(&dir.path().join("test.sqlite3")).unwrap();
        adjust(&mut config);
        let mut app = demo_app::app::start(config).await.unwrap();
        app.spawn();
        let store = app.auth.store().clone();
        Self {
            app,
            store,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.url)
    }

    pub fn emulator(&self) -> &KakaoEmulator {
        self.app.emulator.as_ref().unwrap()
    }

    pub fn naver(&self) -> &kakao_emulator::naver::NaverEmulator {
        self.app.naver_emulator.as_ref().unwrap()
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.app.url)
    }

    pub async fn users(&self) -> i64 {
        self.store.count_users().await.unwrap()
    }

    pub async fn links(&self) -> i64 {
        self.store.count_links().await.unwrap()
    }
}

impl AsRef<KakaoEmulator> for TestApp {
    fn as_ref(&self) -> &KakaoEmulator {
        self.emulator()
    }
}
