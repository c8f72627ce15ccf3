//! Test support shared by the end-to-end tests: a cookie-keeping HTTP "browser" that
//! follows no redirects, so every hop of a login can be asserted.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kakao_emulator::{KakaoEmulator, UserChoice};
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use url::Url;

/// One HTTP answer, fully read.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<String> {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    #[track_caller]
    pub fn expect_redirect(&self) -> String {
        assert!(
            (300..400).contains(&self.status),
            "expected a redirect, got {} {}",
            self.status,
            self.body
        );
        self.location().expect("redirect without Location")
    }
}

/// A cookie-keeping client for the app's origin; follows no redirects.
#[derive(Debug, Clone)]
pub struct Browser {
    base: String,
    client: reqwest::Client,
    jar: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            base: base.to_owned(),
            client,
            jar: Arc::default(),
        }
    }

    fn absolute(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    pub fn clear_cookies(&self) {
        self.jar.lock().unwrap().clear();
    }

    fn cookie_header(&self) -> Option<String> {
        let jar = self.jar.lock().unwrap();
        (!jar.is_empty()).then(|| {
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let request = match self.cookie_header() {
            Some(cookies) => request.header(COOKIE, cookies),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for set in headers.get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = set.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
            let mut jar = self.jar.lock().unwrap();
            if removed {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path_or_url: &str) -> Page {
        self.send(self.client.get(self.absolute(path_or_url))).await
    }

    /// A form post as a browser sends it from the app's own page (with `Origin`).
    pub async fn post(&self, path_or_url: &str) -> Page {
        self.post_with(path_or_url, &[("Origin", &self.origin())])
            .await
    }

    /// A post with no `Origin`, `Sec-Fetch-Site` or body: what a script or an old
    /// browser might send.
    pub async fn post_bare(&self, path_or_url: &str) -> Page {
        self.send(self.client.post(self.absolute(path_or_url)))
            .await
    }

    /// A header-less post of an urlencoded form.
    pub async fn post_form(&self, path_or_url: &str, form: &[(&str, &str)]) -> Page {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.send(
            self.client
                .post(self.absolute(path_or_url))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    /// The app's origin (`scheme://host:port`).
    pub fn origin(&self) -> String {
        Url::parse(&self.base)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| self.base.clone())
    }

    pub async fn post_with(&self, path_or_url: &str, headers: &[(&str, &str)]) -> Page {
        let mut request = self.client.post(self.absolute(path_or_url));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.send(request).await
    }

    /// Sends `GET path` byte for byte (no URL normalisation of `..` or `%2e%2e`, unlike
    /// any URL-parsing client) and returns the status code.
    pub async fn raw_get_status(&self, path: &str) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = self.base.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
        let cookies = self
            .cookie_header()
            .map(|c| format!("Cookie: {c}\r\n"))
            .unwrap_or_default();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{cookies}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let text = String::from_utf8_lossy(&response);
        text.split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap()
    }

    /// Starts a login at the begin route and returns Kakao's authorize URL.
    pub async fn begin(&self, next: Option<&str>) -> Url {
        let path = match next {
            Some(next) => format!(
                "/accounts/oauth/login/kakao/?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            ),
            None => "/accounts/oauth/login/kakao/".to_owned(),
        };
        Url::parse(&self.get(&path).await.expect_redirect()).unwrap()
    }

    /// A whole login as `user` through `kakao`'s consent page; returns the callback's answer.
    pub async fn login<K: AsRef<KakaoEmulator>>(
        &self,
        kakao: &K,
        user: UserChoice,
        next: Option<&str>,
    ) -> Page {
        let authorize = self.begin(next).await;
        let callback = kakao.as_ref().approve(&authorize, user).await.unwrap();
        self.get(callback.as_str()).await
    }
}

/// The query parameters of a URL.
pub fn params(url: &Url) -> BTreeMap<String, String> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
