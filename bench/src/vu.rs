//! What a virtual user does: a complete Kakao login through the app and the emulator (each
//! login with a cookie jar of its own, no automatic redirects), or one protected-page request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng as _;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, RequestBuilder};

/// Where the login starts (the contract's `GET /login/`).
const LOGIN_PATH: &str = "/login/";
/// The begin route `/login/` forwards to.
const BEGIN_PATH: &str = "/accounts/oauth/login/kakao/";
/// The callback (redirect URI path).
const CALLBACK_PATH: &str = "/accounts/oauth/complete/kakao/";
/// The protected page.
pub const PAGE_PATH: &str = "/download-list/";

/// One browser's cookies for the app's origin.
#[derive(Debug, Default, Clone)]
pub struct Jar {
    cookies: Vec<(String, String)>,
}

impl Jar {
    /// The `Cookie` header value, if any cookie is set.
    pub fn header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn absorb(&mut self, response: &reqwest::Response) {
        for set in response.headers().get_all(SET_COOKIE) {
            let Ok(set) = set.to_str() else { continue };
            let pair = set.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            let removed = value.is_empty() || set.to_ascii_lowercase().contains("max-age=0");
            self.cookies.retain(|(k, _)| k != name);
            if !removed {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }
}

/// The six requests of a login, in order.
pub const STEPS: [&str; 6] = [
    "login",
    "begin",
    "authorize",
    "decision",
    "callback",
    "page",
];
/// Index of the callback (token exchange, user info, database, session) in [`STEPS`].
pub const CALLBACK_STEP: usize = 4;

/// Durations of one complete login.
#[derive(Debug, Clone, Copy)]
pub struct LoginTiming {
    /// Each request of [`STEPS`].
    pub steps: [Duration; 6],
}

/// An answer read to the end.
struct Answer {
    status: u16,
    location: Option<String>,
    body: reqwest::Result<actix_web::web::Bytes>,
}

/// State shared by every virtual user of a run.
#[derive(Debug)]
pub struct Users {
    client: Client,
    /// The app's base URL, no trailing slash.
    pub app: String,
    /// The emulator's base URL, no trailing slash.
    kakao: String,
    /// Makes nicknames unique to this run.
    run_tag: String,
    new_percent: u32,
    next_new: AtomicU64,
    /// First-time users whose login completed: candidates for returning logins.
    created: Mutex<Vec<u64>>,
    /// Successful logins so far (warm-ups included): the app's lifetime count.
    pub logins_ok: AtomicU64,
}

impl Users {
    pub fn new(app: &str, kakao: &str, new_percent: u32, run_tag: String) -> Result<Self, String> {
        Ok(Self {
            client: http_client()?,
            app: app.to_owned(),
            kakao: kakao.to_owned(),
            run_tag,
            new_percent,
            next_new: AtomicU64::new(0),
            created: Mutex::new(Vec::new()),
            logins_ok: AtomicU64::new(0),
        })
    }

    /// A new Kakao user (`new_percent` of the time, and whenever none exists yet) or one that
    /// logged in before. Returns the nickname typed on the consent page and, for a new user,
    /// its number.
    fn choose_user(&self) -> (String, Option<u64>) {
        let mut rng = rand::thread_rng();
        let returning = rng.gen_range(0..100) >= self.new_percent;
        if returning {
            let created = self.created.lock().unwrap_or_else(|e| e.into_inner());
            if !created.is_empty() {
                let n = created[rng.gen_range(0..created.len())];
                return (self.nickname(n), None);
            }
        }
        let n = self.next_new.fetch_add(1, Ordering::Relaxed);
        (self.nickname(n), Some(n))
    }

    fn nickname(&self, n: u64) -> String {
        format!("bench-{}-{n}", self.run_tag)
    }

    async fn send(&self, request: RequestBuilder, jar: Option<&mut Jar>) -> Result<Answer, String> {
        let request = match jar.as_ref().and_then(|j| j.header()) {
            Some(cookies) => request.header(COOKIE, cookies),
            None => request,
        };
        let response = request.send().await.map_err(|e| short(&e))?;
        if let Some(jar) = jar {
            jar.absorb(&response);
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // Read to the end so the connection goes back to the pool.
        let body = response.bytes().await;
        Ok(Answer {
            status,
            location,
            body,
        })
    }

    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{}{location}", self.app)
        }
    }

    /// One complete login by a fresh browser. Returns its timings and the logged-in jar.
    pub async fn login(&self) -> Result<(LoginTiming, Jar), String> {
        let (nickname, new_user) = self.choose_user();
        let mut jar = Jar::default();
        let mut steps = [Duration::ZERO; 6];
        let mut t = Instant::now();
        let mut lap = |i: usize| {
            steps[i] = t.elapsed();
            t = Instant::now();
        };

        // 1. The login page forwards to the begin route.
        let a = self
            .send(
                self.client.get(format!("{}{LOGIN_PATH}", self.app)),
                Some(&mut jar),
            )
            .await
            .map_err(|e| format!("GET /login/: {e}"))?;
        lap(0);
        let begin = redirect_to(&a, "GET /login/", |l| l.starts_with(BEGIN_PATH))?;

        // 2. Begin: a pending login in the session, a redirect to Kakao's authorize page.
        let a = self
            .send(self.client.get(self.absolute(&begin)), Some(&mut jar))
            .await
            .map_err(|e| format!("GET begin: {e}"))?;
        lap(1);
        let authorize = redirect_to(&a, "GET begin", |l| {
            l.starts_with(&format!("{}/oauth/authorize?", self.kakao))
        })?;

        // 3. Kakao's consent page (the emulator's): read the form.
        let a = self
            .send(self.client.get(&authorize), None)
            .await
            .map_err(|e| format!("GET authorize: {e}"))?;
        if a.status != 200 {
            return Err(format!("GET authorize: status {}", a.status));
        }
        let html = a
            .body
            .map_err(|e| format!("GET authorize body: {}", short(&e)))?;
        let html = String::from_utf8_lossy(&html);
        let action = attribute_after(&html, "<form method=\"post\" action=\"")
            .ok_or("authorize page: no consent form")?;
        let request_id = attribute_after(&html, "name=\"request_id\" value=\"")
            .ok_or("authorize page: no request_id")?;
        lap(2);

        // 4. Approve as the chosen user: Kakao redirects to the callback with a code.
        let form = [
            ("request_id", request_id.as_str()),
            ("action", "approve"),
            ("user", "custom"),
            ("nickname", nickname.as_str()),
        ];
        let action_url = if action.starts_with('/') {
            format!("{}{action}", self.kakao)
        } else {
            action
        };
        let a = self
            .send(self.client.post(action_url).form(&form), None)
            .await
            .map_err(|e| format!("POST decision: {e}"))?;
        lap(3);
        let callback = redirect_to(&a, "POST decision", |l| {
            l.starts_with(&format!("{}{CALLBACK_PATH}?", self.app)) && l.contains("code=")
        })?;

        // 5. The callback: token, user info, user row, session.
        let a = self
            .send(self.client.get(callback), Some(&mut jar))
            .await
            .map_err(|e| format!("GET callback: {e}"))?;
        lap(4);
        let page = redirect_to(&a, "GET callback", |l| l == PAGE_PATH)?;

        // 6. The protected page, logged in.
        let a = self
            .send(self.client.get(self.absolute(&page)), Some(&mut jar))
            .await
            .map_err(|e| format!("GET {PAGE_PATH}: {e}"))?;
        if a.status != 200 {
            return Err(format!("GET {PAGE_PATH} after login: status {}", a.status));
        }
        lap(5);
        if let Some(n) = new_user {
            self.created
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(n);
        }
        self.logins_ok.fetch_add(1, Ordering::Relaxed);
        Ok((LoginTiming { steps }, jar))
    }

    /// `GET url` with `cookie` (if any); `Ok` when it answers 200 with a body.
    pub async fn get_page(&self, url: &str, cookie: Option<&str>) -> Result<(), String> {
        let mut request = self.client.get(url);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        let a = self.send(request, None).await?;
        match (a.status, a.body) {
            (200, Ok(body)) if !body.is_empty() => Ok(()),
            (200, Ok(_)) => Err("200 with an empty body".into()),
            (200, Err(e)) => Err(format!("body: {}", short(&e))),
            (status, _) => Err(format!("status {status}")),
        }
    }

    /// The protected page's body for a logged-in jar, and its content type.
    pub async fn page_body(&self, jar: &Jar) -> Result<(Vec<u8>, String), String> {
        let mut request = self.client.get(format!("{}{PAGE_PATH}", self.app));
        if let Some(cookie) = jar.header() {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.map_err(|e| short(&e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.bytes().await.map_err(|e| short(&e))?;
        if status != 200 {
            return Err(format!("GET {PAGE_PATH}: status {status}"));
        }
        Ok((body.to_vec(), content_type))
    }
}

/// The load generator's HTTP client: loopback only, keep-alive, no redirects, no proxy.
pub fn http_client() -> Result<Client, String> {
    Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// The `Location` of a redirect that satisfies `ok`.
fn redirect_to(a: &Answer, step: &str, ok: impl Fn(&str) -> bool) -> Result<String, String> {
    if !(300..400).contains(&a.status) {
        return Err(format!("{step}: status {} instead of a redirect", a.status));
    }
    match &a.location {
        Some(location) if ok(location) => Ok(location.clone()),
        Some(location) => Err(format!(
            "{step}: unexpected redirect to {}",
            location.chars().take(100).collect::<String>()
        )),
        None => Err(format!("{step}: redirect without Location")),
    }
}

/// The text after `marker` up to the next `"`, with `&amp;` unescaped.
fn attribute_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let rest = html.get(start..)?;
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

/// A one-line error, without the URL reqwest puts in it.
fn short(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else if e.is_body() || e.is_decode() {
        "body error"
    } else {
        "request error"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut innermost = String::new();
    while let Some(s) = source {
        innermost = s.to_string();
        source = s.source();
    }
    if innermost.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {innermost}")
    }
}
