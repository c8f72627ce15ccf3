//! `demo-app doctor`: checks the setup before a user finds the mistake. One line per check,
//! ✓ or ✗, Korean then English, with what to fix; exit status 0 when every check passes.
//! With `KAKAO_CLIENT_ID` unset it checks the built-in emulator and says so. Every check
//! together has [`TIME_LIMIT`].

use std::time::Duration;

use actix_kakao_auth::kakao::preflight::{self, CheckResult};
use actix_kakao_auth::kakao::KakaoClient;

use crate::config::DemoConfig;
use crate::db::Db;
use actix_kakao_auth::session_store::RedisSessionStore;

/// All checks together.
pub const TIME_LIMIT: Duration = Duration::from_secs(10);
/// One check against Kakao.
const PER_CHECK: Duration = Duration::from_secs(3);

/// One printed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Passed.
    pub ok: bool,
    /// Korean, then English.
    pub text: String,
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", if self.ok { "✓" } else { "✗" }, self.text)
    }
}

fn line(ok: bool, korean: &str, english: &str) -> Line {
    Line {
        ok,
        text: format!("{korean} · {english}"),
    }
}

impl From<CheckResult> for Line {
    fn from(result: CheckResult) -> Self {
        line(result.ok, &result.korean, &result.english)
    }
}

/// Runs every check and returns the lines, in order; the caller prints them.
pub async fn run(config: &DemoConfig) -> Vec<Line> {
    match tokio::time::timeout(TIME_LIMIT, checks(config)).await {
        Ok(lines) => lines,
        Err(_) => vec![line(
            false,
            &format!("검사가 {}초 안에 끝나지 않았습니다", TIME_LIMIT.as_secs()),
            &format!(
                "The checks did not finish within {} s",
                TIME_LIMIT.as_secs()
            ),
        )],
    }
}

async fn checks(config: &DemoConfig) -> Vec<Line> {
    let mut lines = Vec::new();
    lines.push(database(config).await);
    if let Some(url) = &config.redis_url {
        lines.push(redis(url).await);
    }
    let emulator = match &config.kakao_client_id {
        Some(_) => None,
        None => match crate::app::start_emulator(config).await {
            Ok(emulator) => {
                lines.push(line(
                    true,
                    &format!(
                        "KAKAO_CLIENT_ID가 없어 내장 카카오 에뮬레이터({})를 검사합니다",
                        emulator.base_url()
                    ),
                    &format!(
                        "KAKAO_CLIENT_ID is unset: checking the built-in Kakao emulator ({})",
                        emulator.base_url()
                    ),
                ));
                Some(emulator)
            }
            Err(error) => {
                lines.push(line(
                    false,
                    &format!("내장 카카오 에뮬레이터를 시작하지 못했습니다: {error}"),
                    &format!("The built-in Kakao emulator did not start: {error}"),
                ));
                return lines;
            }
        },
    };
    let client_id = config
        .kakao_client_id
        .clone()
        .or_else(|| emulator.as_ref().map(|e| e.client_id().to_owned()))
        .unwrap_or_default();
    let kakao = crate::app::kakao_config(config, client_id, emulator.as_ref())
        .and_then(actix_kakao_auth::KakaoAuthConfigBuilder::build)
        .map_err(|e| e.to_string())
        .and_then(|kakao| {
            KakaoClient::new(std::sync::Arc::clone(kakao.client()))
                .map(|client| (kakao, client))
                .map_err(|e| e.to_string())
        });
    match kakao {
        Ok((kakao, client)) => {
            for result in preflight::run(&kakao, &client, PER_CHECK).await {
                lines.push(result.into());
            }
        }
        Err(error) => lines.push(line(
            false,
            &format!("카카오 설정이 올바르지 않습니다: {error}"),
            &format!("The Kakao configuration is invalid: {error}"),
        )),
    }
    if let Some(emulator) = emulator {
        naver(config, true, &mut lines).await;
        emulator.stop().await;
    } else {
        naver(config, false, &mut lines).await;
    }
    lines
}

/// With Naver configured (or in emulator mode, against a built-in Naver emulator): its
/// discovery, JWKS, authorize and token checks, one line each.
async fn naver(config: &DemoConfig, emulator_mode: bool, lines: &mut Vec<Line>) {
    let emulator = if emulator_mode && config.naver_client_id.is_none() {
        match kakao_emulator::naver::NaverEmulator::builder()
            .client_id("demo-app-naver-emulator")
            .redirect_uri(config.naver_redirect_uri())
            .start()
            .await
        {
            Ok(naver) => Some(naver),
            Err(error) => {
                lines.push(line(
                    false,
                    &format!("내장 네이버 에뮬레이터를 시작하지 못했습니다: {error}"),
                    &format!("The built-in Naver emulator did not start: {error}"),
                ));
                return;
            }
        }
    } else {
        None
    };
    let settings = match crate::app::naver_settings(config, emulator.as_ref()) {
        Ok(Some(settings)) => settings,
        Ok(None) => return,
        Err(error) => {
            lines.push(line(
                false,
                &format!("네이버 설정이 올바르지 않습니다: {error}"),
                &format!("The Naver configuration is invalid: {error}"),
            ));
            return;
        }
    };
    match actix_kakao_auth::naver::NaverClient::new(settings) {
        Ok(client) => {
            for result in actix_kakao_auth::naver::preflight::run(&client, PER_CHECK).await {
                lines.push(line(
                    result.ok,
                    &format!("네이버: {}", result.korean),
                    &format!("Naver: {}", result.english),
                ));
            }
        }
        Err(error) => lines.push(line(
            false,
            &format!("네이버 클라이언트를 만들지 못했습니다: {error}"),
            &format!("The Naver client could not be built: {error}"),
        )),
    }
    if let Some(emulator) = emulator {
        emulator.stop().await;
    }
}

async fn database(config: &DemoConfig) -> Line {
    let checked = async {
        let db = Db::connect(&config.database_url)
            .await
            .map_err(|e| e.to_string())?;
        db.ping().await.map_err(|e| e.to_string())
    };
    match tokio::time::timeout(PER_CHECK, checked).await {
        Ok(Ok(())) => line(
            true,
            "데이터베이스에 연결했고 마이그레이션이 적용되었습니다",
            "The database answers and its migrations are applied",
        ),
        Ok(Err(error)) => line(
            false,
            &format!("데이터베이스에 연결하지 못했습니다: {error}. DATABASE_URL을 확인하세요"),
            &format!("The database does not answer: {error}. Check DATABASE_URL"),
        ),
        Err(_) => line(
            false,
            "데이터베이스가 제때 응답하지 않았습니다. DATABASE_URL을 확인하세요",
            "The database did not answer in time. Check DATABASE_URL",
        ),
    }
}

async fn redis(url: &str) -> Line {
    let checked = async {
        let store = RedisSessionStore::connect(url)
            .await
            .map_err(|e| e.to_string())?;
        store.ping().await.map_err(|e| e.to_string())
    };
    match tokio::time::timeout(PER_CHECK, checked).await {
        Ok(Ok(())) => line(true, "Redis가 응답합니다", "Redis answers"),
        Ok(Err(error)) => line(
            false,
            &format!("Redis에 연결하지 못했습니다: {error}. REDIS_URL을 확인하세요"),
            &format!("Redis does not answer: {error}. Check REDIS_URL"),
        ),
        Err(_) => line(
            false,
            "Redis가 제때 응답하지 않았습니다. REDIS_URL을 확인하세요",
            "Redis did not answer in time. Check REDIS_URL",
        ),
    }
}
