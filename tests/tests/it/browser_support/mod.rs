//! A small WebDriver client for the browser test: it starts Debian's `chromedriver` on a
//! free loopback port, opens headless Chromium sessions with a fresh profile, and speaks the
//! W3C WebDriver HTTP API with the workspace's `reqwest` (no second HTTP stack, no browser
//! download: a missing Chromium or ChromeDriver is a skip, or a failure with
//! `REQUIRE_SERVICES=1`).
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use url::Url;

/// The key under which W3C WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a wait for a page, an element or the driver may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Desktop viewport of the screenshots.
pub const DESKTOP: (u32, u32) = (1024, 600);
/// Phone viewport (an iPhone 12-15 in CSS pixels).
pub const PHONE: (u32, u32) = (390, 844);

/// Chromium's command line: headless, no sandbox (the test may run as root), and nothing that
/// reaches out to Google's servers (this machine's network is closed).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--no-default-browser-check",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--password-store=basic",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--lang=ko-KR",
];

/// Where Chromium and ChromeDriver are.
#[derive(Debug, Clone)]
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// Finds Chromium and ChromeDriver (`CHROMIUM_BIN` / `CHROMEDRIVER_BIN`, default
/// `/usr/bin/chromium` / `/usr/bin/chromedriver`). When one is missing: `None` after a
/// `SKIP:` notice on stderr, or a panic when `REQUIRE_SERVICES=1`.
pub fn tools_or_skip(test: &str) -> Option<Tools> {
    let chromium = env_path("CHROMIUM_BIN", "/usr/bin/chromium");
    let chromedriver = env_path("CHROMEDRIVER_BIN", "/usr/bin/chromedriver");
    let missing: Vec<String> = [&chromium, &chromedriver]
        .into_iter()
        .filter(|p| !is_executable(p))
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return Some(Tools {
            chromium,
            chromedriver,
        });
    }
    let why = format!(
        "{test}: {} not found (install Debian's chromium and chromium-driver with \
         scripts/install-browser)",
        missing.join(" and ")
    );
    if std::env::var("REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("REQUIRE_SERVICES=1 but {why}");
    }
    // Straight to stderr: libtest captures `eprintln!`, and a skip should show.
    let _ = writeln!(std::io::stderr(), "SKIP: {why}");
    None
}

fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Where screenshots of a test go: `$SCREENSHOT_DIR/<test>` or `<target dir>/screenshots/<test>`,
/// emptied first so nothing stale is left beside this run's pictures.
pub fn artifact_dir(test: &str) -> PathBuf {
    let base = std::env::var_os("SCREENSHOT_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("screenshots"));
    let dir = base.join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The cargo target directory this test binary was built into (`<target>/debug/deps/<bin>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The workspace's `docs/` directory, when `UPDATE_SCREENSHOTS=1` asks for the README images
/// to be refreshed.
pub fn docs_dir_to_update() -> Option<PathBuf> {
    std::env::var("UPDATE_SCREENSHOTS")
        .is_ok_and(|v| v == "1")
        .then(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs"))
}

/// A running `chromedriver`, killed on drop.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    base: String,
    port: u16,
    client: reqwest::Client,
    tools: Tools,
}

impl Driver {
    /// Starts chromedriver on a free loopback port (its log goes to `log_dir`) and waits
    /// until it is ready.
    pub async fn start(tools: &Tools, log_dir: &Path) -> Driver {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let mut last_error = String::new();
        // A port found free may be taken before chromedriver binds it: try a few.
        for attempt in 0..5 {
            let port = free_port();
            let log = log_dir.join(format!("chromedriver-{attempt}.log"));
            let child = Command::new(&tools.chromedriver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", tools.chromedriver.display()));
            let mut driver = Driver {
                child,
                base: format!("http://127.0.0.1:{port}"),
                port,
                client: client.clone(),
                tools: tools.clone(),
            };
            match driver.wait_ready().await {
                Ok(()) => return driver,
                Err(e) => last_error = e, // dropping `driver` kills it
            }
        }
        panic!("chromedriver did not become ready: {last_error}");
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("chromedriver exited: {status}"));
            }
            if let Ok(response) = self
                .client
                .get(format!("{}/status", self.base))
                .send()
                .await
            {
                if let Ok(body) = response.json::<Value>().await {
                    if body["value"]["ready"] == json!(true) {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                return Err("no ready /status in time".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens a headless Chromium with a fresh profile directory and a `width`×`height` viewport.
    pub async fn session(&self, (width, height): (u32, u32)) -> Session {
        let profile = tempfile::Builder::new()
            .prefix("kakao-e2e-chromium-")
            .tempdir()
            .unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| (*s).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!("--window-size={width},{height}"));
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "implicit": 0, "pageLoad": 30_000, "script": 10_000 },
                    "goog:loggingPrefs": { "browser": "ALL" },
                    "goog:chromeOptions": {
                        "binary": self.tools.chromium.to_string_lossy(),
                        "args": args,
                        "prefs": { "intl.accept_languages": "ko-KR,ko,en-US,en" },
                    },
                }
            }
        });
        let value = command(
            &self.client,
            reqwest::Method::POST,
            &format!("{}/session", self.base),
            Some(capabilities),
        )
        .await
        .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}"));
        let id = value["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no sessionId in {value}"))
            .to_owned();
        let session = Session {
            client: self.client.clone(),
            driver_port: self.port,
            base: format!("{}/session/{id}", self.base),
            id,
            _profile: profile,
            closed: false,
        };
        session.set_viewport((width, height)).await;
        session
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// One WebDriver command; `value` of the answer, or the WebDriver error as text.
async fn command(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut request = client.request(method.clone(), url);
    if let Some(body) = body {
        request = request.json(&body);
    } else if method == reqwest::Method::POST {
        request = request.json(&json!({}));
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("{method} {url}: {status}, unreadable answer: {e}"))?;
    if status.is_success() {
        Ok(body["value"].clone())
    } else {
        Err(format!(
            "{method} {url}: {status} {}: {}",
            body["value"]["error"].as_str().unwrap_or("?"),
            body["value"]["message"]
                .as_str()
                .unwrap_or("?")
                .lines()
                .next()
                .unwrap_or("")
        ))
    }
}

/// A reference to an element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

/// One browser (one Chromium process with its own profile). Closed on drop.
#[derive(Debug)]
pub struct Session {
    client: reqwest::Client,
    driver_port: u16,
    base: String,
    id: String,
    _profile: tempfile::TempDir,
    closed: bool,
}

impl Session {
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        command(&self.client, method, &url, body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver: {e}"))
    }

    async fn try_cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        command(&self.client, method, &url, body).await
    }

    /// Sets the viewport (CSS pixels) through Chrome's device-metrics emulation, so a phone
    /// width smaller than any desktop window is exact. `mobile` follows the width.
    pub async fn set_viewport(&self, (width, height): (u32, u32)) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": width < 600,
            }),
        )
        .await;
    }

    /// A Chrome DevTools command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
        .await
    }

    /// Navigates to `url` and waits for the load.
    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The current URL.
    pub async fn url(&self) -> Url {
        let value = self.cmd(reqwest::Method::GET, "/url", None).await;
        Url::parse(value.as_str().unwrap()).unwrap()
    }

    /// Reloads the page.
    pub async fn refresh(&self) {
        self.cmd(reqwest::Method::POST, "/refresh", None).await;
    }

    /// The document title.
    pub async fn title(&self) -> String {
        let value = self.cmd(reqwest::Method::GET, "/title", None).await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the URL satisfies `ok`; panics with the last URL seen after [`TIMEOUT`].
    pub async fn wait_for_url(&self, what: &str, ok: impl Fn(&Url) -> bool) -> Url {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let url = self.url().await;
            if ok(&url) {
                // The URL changes at commit; let the document finish loading too.
                self.wait_loaded().await;
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the browser is at {url}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_loaded(&self) {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            let state = self
                .try_cmd(
                    reqwest::Method::POST,
                    "/execute/sync",
                    Some(json!({ "script": "return document.readyState", "args": [] })),
                )
                .await;
            if matches!(state, Ok(Value::String(ref s)) if s == "complete") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn find_by(&self, using: &str, value: &str) -> Option<Element> {
        let found = self
            .try_cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": using, "value": value })),
            )
            .await
            .ok()?;
        found[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned()))
    }

    /// Waits for the element matching a CSS selector.
    pub async fn find(&self, css: &str) -> Element {
        self.wait_for_element("css selector", css).await
    }

    /// Waits for the element matching an XPath expression.
    pub async fn find_xpath(&self, xpath: &str) -> Element {
        self.wait_for_element("xpath", xpath).await
    }

    /// Whether an element matches `css` right now.
    pub async fn exists(&self, css: &str) -> bool {
        self.find_by("css selector", css).await.is_some()
    }

    async fn wait_for_element(&self, using: &str, value: &str) -> Element {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(element) = self.find_by(using, value).await {
                return element;
            }
            if Instant::now() > deadline {
                panic!(
                    "no element matches {using} {value:?} on {}\n{}",
                    self.url().await,
                    self.text_of_body().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks an element (WebDriver scrolls it into view first).
    pub async fn click(&self, element: &Element) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/click", element.0),
            None,
        )
        .await;
    }

    /// The rendered text of an element.
    pub async fn text(&self, element: &Element) -> String {
        let value = self
            .cmd(
                reqwest::Method::GET,
                &format!("/element/{}/text", element.0),
                None,
            )
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// An attribute or property of an element.
    pub async fn property(&self, element: &Element, name: &str) -> Value {
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{}/property/{name}", element.0),
            None,
        )
        .await
    }

    /// Whether an element is displayed.
    pub async fn displayed(&self, element: &Element) -> bool {
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{}/displayed", element.0),
            None,
        )
        .await
            == json!(true)
    }

    /// The visible text of the whole page (for assertions and failure messages).
    pub async fn text_of_body(&self) -> String {
        match self.find_by("css selector", "body").await {
            Some(body) => self.text(&body).await,
            None => String::new(),
        }
    }

    /// Runs a script (WebDriver scripts are not subject to the page's CSP).
    pub async fn script(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Presses and releases keys (WebDriver key codes such as `"\u{E004}"` for Tab).
    pub async fn press(&self, keys: &[&str]) {
        let actions: Vec<Value> = keys
            .iter()
            .flat_map(|k| {
                [
                    json!({ "type": "keyDown", "value": k }),
                    json!({ "type": "keyUp", "value": k }),
                ]
            })
            .collect();
        self.cmd(
            reqwest::Method::POST,
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        )
        .await;
        self.cmd(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// The browser console's messages since the last call (chromedriver's log endpoint).
    pub async fn console(&self) -> Vec<String> {
        let entries = self
            .cmd(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({ "type": "browser" })),
            )
            .await;
        entries
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {}",
                            e["level"].as_str().unwrap_or("?"),
                            e["message"].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Saves a PNG of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let value = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        // Another run sharing the target directory may have emptied the folder meanwhile.
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    /// Closes the browser.
    pub async fn quit(mut self) {
        self.closed = true;
        let _ = self.try_cmd(reqwest::Method::DELETE, "", None).await;
    }
}

impl Drop for Session {
    /// A test that panics mid-way still closes its Chromium: a blocking `DELETE /session/{id}`
    /// (async is not available in `drop`; chromedriver answers without help from the app).
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.driver_port)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(15)));
        let request = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            self.id, self.driver_port
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            // chromedriver answers once Chromium is closed; it may keep the connection open,
            // so stop at the end of the headers rather than at EOF.
            let mut answer = Vec::new();
            let mut chunk = [0_u8; 1024];
            while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&chunk[..n]),
                }
            }
        }
    }
}
