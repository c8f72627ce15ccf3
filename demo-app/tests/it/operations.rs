//! For the people who run it: `demo-app doctor` against the emulator (all good, each
//! misconfiguration, an unreachable Kakao), and the Prometheus metrics at `METRICS_BIND`
//! moving with real logins, on a listener apart from the app's.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kakao_auth_e2e::Browser;
use kakao_emulator::{Endpoint, Fault, KakaoEmulator, UserChoice};

use crate::common::TempSqlite;

const APP_URL: &str = "http://127.0.0.1:8999";
const CALLBACK: &str = "http://127.0.0.1:8999/accounts/oauth/complete/kakao/";
const SECRET: &str = "the-right-client-secret";

/// Runs `demo-app doctor` with `env`; returns its exit code, its output and how long it took.
async fn doctor(env: Vec<(String, String)>) -> (i32, String, Duration) {
    tokio::task::spawn_blocking(move || {
        let db = TempSqlite::new();
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_demo-app"))
            .arg("doctor")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &db.url)
            .env("APP_URL", APP_URL)
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            started.elapsed(),
        )
    })
    .await
    .unwrap()
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// An emulator standing for a Kakao app with a client secret and one redirect URI.
async fn kakao() -> KakaoEmulator {
    KakaoEmulator::builder()
        .client_id("doctor-app")
        .client_secret(Some(SECRET.to_owned()))
        .redirect_uri(CALLBACK)
        .start()
        .await
        .unwrap()
}

fn env_for(kakao: &KakaoEmulator, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    let mut env = vars(&[
        ("KAKAO_CLIENT_ID", "doctor-app"),
        ("KAKAO_CLIENT_SECRET", SECRET),
        ("KAKAO_AUTH_URL", &base),
        ("KAKAO_API_URL", &base),
    ]);
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    env
}

#[actix_web::test]
async fn the_doctor_passes_against_the_built_in_emulator_and_says_so() {
    let (code, out, _) = doctor(vars(&[("KAKAO_SCOPE", "openid profile_nickname")])).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("내장 카카오 에뮬레이터"), "{out}");
    assert!(out.contains("built-in Kakao emulator"), "{out}");
    for check in ["Authorize", "Token", "discovery", "JWKS", "database"] {
        assert!(
            out.lines().any(|l| l.starts_with('✓') && l.contains(check)),
            "{check}: {out}"
        );
    }
    assert!(!out.contains('✗'), "{out}");
}

#[actix_web::test]
async fn the_doctor_passes_for_a_correct_app_and_names_each_misconfiguration() {
    let kakao = kakao().await;
    let (code, out, _) = doctor(env_for(&kakao, &[])).await;
    assert_eq!(code, 0, "{out}");

    for (change, code_expected, explanation) in [
        (
            ("KAKAO_CLIENT_ID", "not-this-app"),
            "KOE101",
            "REST API key",
        ),
        (
            ("APP_URL", "http://127.0.0.1:8998"),
            "KOE006",
            "Redirect URI",
        ),
        (
            ("KAKAO_CLIENT_SECRET", "a-wrong-secret"),
            "KOE010",
            "Client Secret",
        ),
        (("KAKAO_SCOPE", "friends"), "KOE205", "Consent Items"),
    ] {
        let (code, out, _) = doctor(env_for(&kakao, &[change])).await;
        assert_eq!(code, 1, "{change:?}: {out}");
        let failed: Vec<&str> = out.lines().filter(|l| l.starts_with('✗')).collect();
        assert!(
            failed
                .iter()
                .any(|l| l.contains(code_expected) && l.contains(explanation)),
            "{change:?} should explain {code_expected}: {out}"
        );
    }
    kakao.stop().await;
}

#[actix_web::test]
async fn the_doctor_reports_a_jwks_outage_and_an_unreachable_kakao_in_time() {
    let kakao = kakao().await;
    kakao.faults().set(Endpoint::Jwks, Fault::Html5xx(503));
    let (code, out, _) = doctor(env_for(&kakao, &[("KAKAO_SCOPE", "openid")])).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with('✗') && l.contains("JWKS")),
        "{out}"
    );
    kakao.stop().await;

    let (code, out, took) = doctor(vars(&[
        ("KAKAO_CLIENT_ID", "doctor-app"),
        ("KAKAO_AUTH_URL", "http://127.0.0.1:1"),
        ("KAKAO_API_URL", "http://127.0.0.1:1"),
    ]))
    .await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Could not reach Kakao"), "{out}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value of the first sample of `metric` whose labels contain every one of `labels`.
fn sample(text: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[actix_web::test]
async fn metrics_move_with_logins_and_are_served_only_at_metrics_bind() {
    let port = free_port();
    let metrics_port = free_port();
    let app_url = format!("http://127.0.0.1:{port}");
    let kakao = KakaoEmulator::builder()
        .client_id("metrics-app")
        .redirect_uri(format!("{app_url}/accounts/oauth/complete/kakao/"))
        .start()
        .await
        .unwrap();
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    let db = TempSqlite::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_demo-app"))
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("METRICS_BIND", format!("127.0.0.1:{metrics_port}"))
        .env("DATABASE_URL", &db.url)
        .env("KAKAO_CLIENT_ID", "metrics-app")
        .env("KAKAO_AUTH_URL", &base)
        .env("KAKAO_API_URL", &base)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(http.get(format!("{app_url}/healthz")).send().await, Ok(r) if r.status() == 200)
    {
        assert!(Instant::now() < deadline, "the app did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let scrape = || async {
        http.get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };

    let browser = Browser::new(&app_url);
    browser.login(&kakao, UserChoice::Fixture(1001), None).await;
    let forged = browser
        .get("/accounts/oauth/complete/kakao/?code=x&state=forged")
        .await;
    assert_eq!(
        forged.location().as_deref(),
        Some("/login/error/?reason=state_mismatch")
    );
    assert_eq!(browser.post("/logout/").await.status, 303);

    let text = scrape().await;
    assert_eq!(
        sample(
            &text,
            "kakao_logins_total",
            &["outcome=\"success\"", "via=\"web\""]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "kakao_logins_total", &["outcome=\"state_mismatch\""]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "kakao_sessions_ended_total", &["cause=\"logout\""]),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "kakao_api_request_duration_seconds_count",
            &["endpoint=\"/oauth/token\""]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    // A second login moves the counter.
    Browser::new(&app_url)
        .login(&kakao, UserChoice::Fixture(1002), None)
        .await;
    let text = scrape().await;
    assert_eq!(
        sample(&text, "kakao_logins_total", &["outcome=\"success\""]),
        Some(2.0),
        "{text}"
    );
    // The app's own address never serves them.
    let on_app = http.get(format!("{app_url}/metrics")).send().await.unwrap();
    assert_eq!(on_app.status(), 404);
    let _ = child.kill();
    let _ = child.wait();
    kakao.stop().await;
}

#[actix_web::test]
async fn the_doctor_checks_naver_and_names_a_wrong_secret_or_callback_url() {
    // Emulator mode: the built-in Naver emulator passes its four checks.
    let (code, out, _) = doctor(vars(&[])).await;
    assert_eq!(code, 0, "{out}");
    let naver_lines = |out: &str, mark: char| {
        out.lines()
            .filter(|l| l.starts_with(mark) && l.contains("Naver:"))
            .count()
    };
    assert_eq!(naver_lines(&out, '✓'), 4, "{out}");

    let naver = kakao_emulator::naver::NaverEmulator::builder()
        .redirect_uri(format!("{APP_URL}/accounts/oauth/complete/naver/"))
        .start()
        .await
        .unwrap();
    let kakao = kakao().await;
    let base = naver.base_url().as_str().trim_end_matches('/').to_owned();
    let with = |secret: &str| {
        env_for(
            &kakao,
            &[
                ("NAVER_CLIENT_ID", naver.client_id()),
                ("NAVER_CLIENT_SECRET", secret),
                ("NAVER_AUTH_URL", &base),
                ("NAVER_API_URL", &base),
            ],
        )
    };
    let (code, out, _) = doctor(with(naver.client_secret())).await;
    assert_eq!((code, naver_lines(&out, '✓')), (0, 4), "{out}");

    let (code, out, _) = doctor(with("not-the-secret")).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines().any(|l| l.starts_with('✗')
            && l.contains("Naver:")
            && l.contains("NAVER_CLIENT_SECRET")),
        "{out}"
    );

    let mut elsewhere = with(naver.client_secret());
    elsewhere.push(("APP_URL".into(), "http://127.0.0.1:9999".into()));
    let (code, out, _) = doctor(elsewhere).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with('✗') && l.contains("Naver:") && l.contains("Callback URL")),
        "{out}"
    );
}
