//! Both examples, end to end: their own `server` on a free port, against the emulator,
//! driven over HTTP like a browser (cookies kept, redirects followed by hand). The
//! example files are compiled in here as they are, so what runs is what the README
//! shows.

use std::collections::BTreeMap;
use std::net::TcpListener;

use actix_kakao_auth::session_store::SqlSessionStore;
use actix_web::cookie::Cookie;
use kakao_emulator::{KakaoEmulator, UserChoice};
use reqwest::header;

#[allow(dead_code)]
#[path = "../../examples/existing_users.rs"]
mod existing_users;
#[allow(dead_code)]
#[path = "../../examples/minimal.rs"]
mod minimal;

/// A cookie-keeping HTTP client that does not follow redirects.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

/// A status, the `Location` header and the body.
struct Answer {
    status: u16,
    location: String,
    body: String,
}

impl Browser {
    fn new(base: String) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base,
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request.header(header::COOKIE, cookie).send().await.unwrap();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let parsed = Cookie::parse(set.to_str().unwrap().to_owned()).unwrap();
            let gone = parsed.value().is_empty()
                || parsed.max_age() == Some(actix_web::cookie::time::Duration::ZERO);
            if gone {
                self.cookies.remove(parsed.name());
            } else {
                self.cookies
                    .insert(parsed.name().to_owned(), parsed.value().to_owned());
            }
        }
        Answer {
            status: response.status().as_u16(),
            location: response
                .headers()
                .get(header::LOCATION)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let request = self.http.get(url);
        self.send(request).await
    }

    async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let origin = self.base.clone();
        self.post_from(&origin, path, form).await
    }

    async fn post_from(&mut self, origin: &str, path: &str, form: &[(&str, &str)]) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::ORIGIN, origin)
            .form(form);
        self.send(request).await
    }

    /// From a page that needs a login to the page it lands on afterwards, through
    /// `/login/`, the begin route, Kakao's consent (as `user`) and the callback.
    async fn log_in_from(&mut self, kakao: &KakaoEmulator, start: &str, user: i64) -> Answer {
        let mut answer = self.get(start).await;
        let mut hops = 0;
        while answer.status == 302 && !answer.location.contains("/oauth/authorize") {
            hops += 1;
            assert!(hops < 5, "too many redirects before Kakao");
            answer = self.get(&answer.location.clone()).await;
        }
        assert!(
            answer.location.contains("/oauth/authorize"),
            "{}",
            answer.location
        );
        let authorize = url::Url::parse(&answer.location).unwrap();
        let callback = kakao
            .approve(&authorize, UserChoice::Fixture(user))
            .await
            .unwrap();
        let back = self.get(callback.as_str()).await;
        assert_eq!(back.status, 302, "{}", back.body);
        self.get(&back.location).await
    }
}

/// The value of the first `name="csrf_token" value="…"` in a page.
fn csrf_in(page: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = page.find(marker).expect("a CSRF field") + marker.len();
    page[start..][..page[start..].find('"').unwrap()].to_owned()
}

/// A free loopback port, its base URL and its redirect URI.
fn listener() -> (TcpListener, String, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect = format!("{base}/accounts/oauth/complete/kakao/");
    (listener, base, redirect)
}

#[actix_web::test]
async fn the_minimal_example_logs_in_and_out_against_the_emulator() {
    let (listener, base, redirect) = listener();
    let (config, kakao) = minimal::emulated(&redirect).await.unwrap();
    let auth = actix_kakao_auth::KakaoAuth::new(
        minimal::landing_on_members(config).build().unwrap(),
        minimal::MemoryStore::default(),
    )
    .unwrap();
    let sessions_file = TempDb::new();
    let sessions = SqlSessionStore::connect(sessions_file.path())
        .await
        .unwrap();
    let server = minimal::server(auth, sessions, listener).unwrap();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let mut browser = Browser::new(base);
    let first = browser.get("/members/").await;
    assert_eq!(
        (first.status, first.location.as_str()),
        (302, "/login/?next=%2Fmembers%2F")
    );
    let members = browser.log_in_from(&kakao, "/members/", 1001).await;
    assert_eq!(members.status, 200, "{}", members.body);
    assert!(
        members.body.contains("안녕하세요, 라이언!"),
        "{}",
        members.body
    );

    let csrf = csrf_in(&members.body);
    let copied = browser.cookies.clone();
    let out = browser
        .post_form("/logout/", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(browser.get("/members/").await.status, 302);
    the_copied_cookie_is_refused(&mut browser, copied, "/members/").await;

    let error = browser.get("/login/error/?reason=access_denied").await;
    assert_eq!(error.status, 400);
    assert!(
        error.body.contains("You cancelled the login"),
        "{}",
        error.body
    );
    handle.stop(true).await;
    kakao.stop().await;
}

/// After logout, a copy of the session cookie taken while logged in reaches nothing:
/// the example's sessions live on the server and logout deleted this one.
async fn the_copied_cookie_is_refused(
    browser: &mut Browser,
    copied: BTreeMap<String, String>,
    protected: &str,
) {
    assert!(
        copied.contains_key("sessionid"),
        "no session cookie in {copied:?}"
    );
    browser.cookies = copied;
    let replayed = browser.get(protected).await;
    assert_eq!(
        replayed.status, 302,
        "a copy of the logged-out session cookie still works"
    );
}

/// A fresh SQLite file for one test, removed at the end.
struct TempDb(std::path::PathBuf);

impl TempDb {
    fn path(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }

    fn new() -> Self {
        let name = format!(
            "existing-users-{}-{}.sqlite3",
            std::process::id(),
            rand::random::<u64>()
        );
        Self(std::env::temp_dir().join(name))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

#[actix_web::test]
async fn the_existing_users_store_passes_the_acceptance_suite() {
    let db = TempDb::new();
    let users = existing_users::Users::open(db.0.to_str().unwrap()).unwrap();
    actix_kakao_auth::testing::store_acceptance_suite(|| {
        let users = users.clone();
        async move { users }
    })
    .await;
}

#[actix_web::test]
async fn the_existing_users_example_logs_in_keeps_other_users_and_logs_out() {
    let db = TempDb::new();
    let users = existing_users::Users::open(db.0.to_str().unwrap()).unwrap();
    // A user the app had before Kakao login, with the name Kakao will send: never taken
    // over, the Kakao user gets another name.
    {
        use diesel::connection::SimpleConnection;
        let mut connection =
            <diesel::SqliteConnection as diesel::Connection>::establish(db.0.to_str().unwrap())
                .unwrap();
        connection
            .batch_execute("INSERT INTO users (username) VALUES ('라이언')")
            .unwrap();
    }
    let (listener, base, redirect) = listener();
    let (config, kakao) = existing_users::emulated(&redirect).await.unwrap();
    let auth = actix_kakao_auth::KakaoAuth::new(config.build().unwrap(), users).unwrap();
    let sessions = SqlSessionStore::connect(db.path()).await.unwrap();
    let server = existing_users::server(auth, sessions, listener).unwrap();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let mut browser = Browser::new(base);
    let home = browser.get("/").await;
    assert!(
        home.body.contains(r#"href="/login/?next=/""#),
        "{}",
        home.body
    );
    let downloads = browser.get("/download-list/").await;
    assert_eq!(downloads.status, 302);

    let home = browser.log_in_from(&kakao, "/login/?next=/", 1001).await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("<p>라이언-2</p>"), "{}", home.body);
    let downloads = browser.get("/download-list/").await;
    assert_eq!(
        (downloads.status, downloads.body.as_str()),
        (200, "downloads of 라이언-2")
    );

    let csrf = csrf_in(&home.body);
    let cross_site = browser
        .post_from("https://evil.example", "/logout/", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(cross_site.status, 403);
    assert_eq!(
        browser.get("/download-list/").await.status,
        200,
        "still logged in"
    );

    let copied = browser.cookies.clone();
    let out = browser
        .post_form("/logout/", &[("csrf_token", &csrf)])
        .await;
    assert_eq!((out.status, out.location.as_str()), (303, "/"));
    assert_eq!(browser.get("/download-list/").await.status, 302);
    the_copied_cookie_is_refused(&mut browser, copied, "/download-list/").await;

    // Again: the same local user, with a new CSRF token.
    let home = browser.log_in_from(&kakao, "/login/?next=/", 1001).await;
    assert!(
        home.body.contains("<p>라이언-2</p>"),
        "the same user: {}",
        home.body
    );
    assert_ne!(csrf_in(&home.body), csrf, "a new login, a new CSRF token");

    let error = browser.get("/login/error/?reason=state_mismatch").await;
    assert_eq!(error.status, 400);
    handle.stop(true).await;
    kakao.stop().await;
}

/// The `// ANCHOR: name` … `// ANCHOR_END: name` regions of a source file, dedented.
fn anchored_regions(source: &str) -> Vec<String> {
    let mut regions = Vec::new();
    let mut open: Option<(String, Vec<&str>)> = None;
    for line in source.lines() {
        let trimmed = line.trim_start();
        if let Some(name) = trimmed.strip_prefix("// ANCHOR: ") {
            open = Some((name.to_owned(), Vec::new()));
        } else if let Some(name) = trimmed.strip_prefix("// ANCHOR_END: ") {
            let (started, lines) = open.take().expect("ANCHOR_END without ANCHOR");
            assert_eq!(started, name, "anchors must not interleave");
            let indent = lines
                .iter()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.len() - l.trim_start().len())
                .min()
                .unwrap_or(0);
            let region: Vec<&str> = lines
                .iter()
                .map(|l| l.get(indent..).unwrap_or(""))
                .collect();
            regions.push(region.join("\n"));
        } else if let Some((_, lines)) = open.as_mut() {
            lines.push(line);
        }
    }
    assert!(open.is_none(), "an ANCHOR is never closed");
    regions
}

/// The bodies of the fenced blocks of `markdown` whose info string starts with `rust`, with
/// that info string.
fn rust_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    if info.starts_with("rust") {
                        current = Some((info.to_owned(), Vec::new()));
                    }
                }
            }
            Some((_, lines)) => {
                if line.starts_with("```") {
                    let (info, lines) = current.take().unwrap();
                    blocks.push((info, lines.join("\n")));
                } else {
                    lines.push(line);
                }
            }
        }
    }
    blocks
}

#[test]
fn every_rust_block_of_the_readmes_is_code_of_an_example() {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let regions: Vec<String> = ["examples/existing_users.rs", "examples/minimal.rs"]
        .iter()
        .flat_map(|file| anchored_regions(&std::fs::read_to_string(manifest.join(file)).unwrap()))
        .collect();
    assert!(regions.len() >= 6, "{} regions", regions.len());
    for (readme, at_least) in [("../README.md", 6), ("README.md", 2)] {
        let text = std::fs::read_to_string(manifest.join(readme)).unwrap();
        let blocks = rust_blocks(&text);
        assert!(
            blocks.len() >= at_least,
            "{readme}: {} rust blocks",
            blocks.len()
        );
        for (info, body) in blocks {
            assert_eq!(
                info, "rust",
                "{readme}: no ignored or untested blocks:\n{body}"
            );
            assert!(
                regions.contains(&body),
                "{readme}: this block is not an ANCHOR region of an example:\n{body}"
            );
        }
    }
}

#[test]
fn the_readme_check_notices_a_block_that_drifted() {
    let source = "fn a() {}\n// ANCHOR: x\n    let y = 1;\n// ANCHOR_END: x\n";
    let regions = anchored_regions(source);
    assert_eq!(regions, ["let y = 1;"]);
    let markdown = "text\n```rust\nlet y = 2;\n```\n```toml\n[x]\n```\n";
    let blocks = rust_blocks(markdown);
    assert_eq!(blocks, [("rust".to_owned(), "let y = 2;".to_owned())]);
    assert!(!regions.contains(&blocks[0].1));
}
