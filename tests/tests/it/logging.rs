//! A failed login logs exactly one warning line carrying Kakao's error code.
//!
//! Other tests of this binary log at the same time into the same (global) subscriber, so
//! each check looks only at the lines that carry its own unique marker.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::TestApp;
use kakao_emulator::{Endpoint, Fault, UserChoice};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn a_failed_login_logs_one_warning_with_kakaos_error_code() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let app = TestApp::spawn().await;
    let body = r#"{"error":"invalid_grant","error_description":"authorization code not found for logging-test-marker","error_code":"KOE320"}"#;
    app.emulator().faults().set(
        Endpoint::Token,
        Fault::Status {
            status: 400,
            content_type: "application/json".into(),
            body: body.into(),
        },
    );
    let page = app
        .browser()
        .login(&app, UserChoice::Fixture(1001), None)
        .await;
    assert_eq!(
        page.location().as_deref(),
        Some("/login/error/?reason=invalid_code")
    );

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let failures: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("logging-test-marker"))
        .collect();
    assert_eq!(failures.len(), 1, "{text}");
    assert!(failures[0].contains("WARN"), "{}", failures[0]);
    assert!(failures[0].contains("login failed"), "{}", failures[0]);
    assert!(failures[0].contains("provider=kakao"), "{}", failures[0]);
    assert!(failures[0].contains("KOE320"), "{}", failures[0]);
    assert!(failures[0].contains("invalid_code"), "{}", failures[0]);
    assert!(!text.contains("test-access"), "no token in the logs");

    // A forged line break in the callback's `error` never starts a log line of its own.
    captured.0.lock().unwrap().clear();
    let page = app
        .browser()
        .get("/accounts/oauth/complete/kakao/?error=access_denied%0D%0A1999-01-01T00:00:00Z%20%20INFO%20forged%3A%20admin%20logged%20in&state=s")
        .await;
    assert_eq!(
        page.location().as_deref(),
        Some("/login/error/?reason=invalid_code")
    );
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("forged") || l.contains("admin logged in"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains("login failed provider=kakao"),
        "{}",
        lines[0]
    );
    assert!(!text.contains("\n1999"), "{text}");
    assert!(
        !text.lines().any(|l| l.starts_with("1999")),
        "a forged line: {text}"
    );
}
