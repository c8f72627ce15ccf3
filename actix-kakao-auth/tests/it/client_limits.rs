//! The shared Kakao HTTP client against a raw local server: it follows no redirect (an OAuth
//! client that does can be steered at internal hosts) and reads no body past the limit,
//! whether the size is announced or streamed.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_kakao_auth::error::KakaoApiError;
use actix_kakao_auth::kakao::client::KakaoClient;
use actix_kakao_auth::KakaoAuthConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves `response` (raw HTTP) to every connection; returns its base URL and a hit counter.
async fn raw_server(response: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (url, hits)
}

fn client(base: &str, limit: usize) -> KakaoClient {
    let config = KakaoAuthConfig::builder("client", "http://127.0.0.1:9/cb/")
        .auth_base_url(base)
        .api_base_url(base)
        .http(actix_kakao_auth::config::HttpOptions {
            max_response_bytes: limit,
            ..Default::default()
        })
        .session_secret("s".repeat(64))
        .build()
        .unwrap();
    KakaoClient::new(Arc::clone(config.client())).unwrap()
}

/// The default JWKS URL under the client's kauth base.
fn jwks_url(kakao: &KakaoClient) -> url::Url {
    kakao
        .settings()
        .auth_base_url()
        .join(".well-known/jwks.json")
        .unwrap()
}

#[tokio::test]
async fn redirects_from_kakao_are_never_followed() {
    let (target, target_hits) =
        raw_server("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".into())
            .await;
    let (base, _) = raw_server(format!(
        "HTTP/1.1 302 Found\r\nlocation: {target}/internal\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    ))
    .await;
    let kakao = client(&base, 1024);
    let jwks = kakao.fetch_jwks(&jwks_url(&kakao)).await.unwrap_err();
    assert!(
        matches!(jwks, KakaoApiError::InvalidResponse { status: 302, .. }),
        "{jwks:?}"
    );
    let tokens = kakao.exchange_code("code", "verifier").await.unwrap_err();
    assert!(
        !matches!(tokens, KakaoApiError::Transport { .. }),
        "{tokens:?}"
    );
    assert_eq!(
        target_hits.load(Ordering::SeqCst),
        0,
        "the redirect target was never called"
    );
}

#[tokio::test]
async fn an_announced_oversized_body_is_refused_unread() {
    let (base, _) = raw_server(format!(
        "HTTP/1.1 200 OK\r\ncontent-length: 5000\r\nconnection: close\r\n\r\n{}",
        "x".repeat(5000)
    ))
    .await;
    let error = client(&base, 4096)
        .fetch_jwks(&format!("{base}/.well-known/jwks.json").parse().unwrap())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("larger than 4096"), "{error}");
}

#[tokio::test]
async fn a_streamed_oversized_body_is_cut_at_the_limit() {
    let chunk = "x".repeat(1000);
    let mut body = String::new();
    for _ in 0..6 {
        body.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    body.push_str("0\r\n\r\n");
    let (base, _) = raw_server(format!(
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{body}"
    ))
    .await;
    let kakao = client(&base, 4096);
    let error = kakao.fetch_jwks(&jwks_url(&kakao)).await.unwrap_err();
    assert!(error.to_string().contains("larger than 4096"), "{error}");
}
