//! A failed login logs exactly one warning line carrying Kakao's error code.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use actix_kakao_auth::emulator::{Endpoint, Fault, UserChoice};
use common::TestApp;

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
    let body = r#"{"error":"invalid_grant","error_description":"authorization code not found for code=x","error_code":"KOE320"}"#;
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
        .filter(|l| l.contains("Kakao login failed"))
        .collect();
    assert_eq!(failures.len(), 1, "{text}");
    assert!(failures[0].contains("WARN"), "{}", failures[0]);
    assert!(failures[0].contains("KOE320"), "{}", failures[0]);
    assert!(failures[0].contains("invalid_code"), "{}", failures[0]);
    assert!(!text.contains("test-access"), "no token in the logs");
}
