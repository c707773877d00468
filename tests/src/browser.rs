//! A real headless Chromium (Debian's `chromium`, installed by `scripts/tools.sh`), driven over the Chrome
//! DevTools Protocol from the tests: pages with a viewport, script evaluation, screenshots, and a record
//! of every request and every console error or exception each page produced.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use eyre::{WrapErr, bail, eyre};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{
    io::AsyncBufReadExt,
    sync::{broadcast, oneshot},
};
use tokio_tungstenite::tungstenite::Message;

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;
type Sink = futures::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;

/// The Chromium binary (`CHROMIUM` overrides).
pub fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// A running headless Chromium.
pub struct Browser {
    _child: tokio::process::Child,
    sink: tokio::sync::Mutex<Sink>,
    next: AtomicU64,
    pending: Pending,
    events: broadcast::Sender<Value>,
    _profile: tempfile::TempDir,
}

/// What a page did: every request URL (with whether it carried an `Authorization` header) and every
/// console error, exception or browser log error (CSP violations and failed loads among them).
#[derive(Debug, Default, Clone)]
pub struct PageLog {
    /// `(url, had Authorization)` per request.
    pub requests: Vec<(String, bool)>,
    /// Errors, as text.
    pub errors: Vec<String>,
}

/// One tab.
pub struct Page<'a> {
    browser: &'a Browser,
    session: String,
    log: Arc<Mutex<PageLog>>,
    loads: broadcast::Receiver<Value>,
}

impl Browser {
    /// Starts Chromium headless with a fresh profile.
    pub async fn launch() -> eyre::Result<Self> {
        let path = chromium_path();
        eyre::ensure!(
            path.exists(),
            "{} is missing: run `bash scripts/tools.sh` (scripts/test does)",
            path.display()
        );
        let profile = tempfile::tempdir()?;
        let mut child = tokio::process::Command::new(&path)
            .args([
                "--headless=new",
                "--remote-debugging-port=0",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--mute-audio",
                "--hide-scrollbars",
                "--force-color-profile=srgb",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .wrap_err("starting chromium")?;
        let stderr = child.stderr.take().ok_or_else(|| eyre!("no stderr"))?;
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    return eyre::Ok(url.trim().to_owned());
                }
            }
            bail!("chromium exited before listening")
        })
        .await
        .map_err(|_| eyre!("chromium did not start within 30 s"))??;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
        let (sink, mut stream) = ws.split();
        let pending: Pending = Arc::default();
        let (events, _) = broadcast::channel(4096);
        let (reader_pending, reader_events) = (Arc::clone(&pending), events.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else { continue };
                let Ok(value) = serde_json::from_str::<Value>(&text) else { continue };
                match value["id"].as_u64() {
                    Some(id) => {
                        let waiter = reader_pending.lock().ok().and_then(|mut p| p.remove(&id));
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(value);
                        }
                    }
                    None => {
                        let _ = reader_events.send(value);
                    }
                }
            }
        });
        Ok(Self {
            _child: child,
            sink: tokio::sync::Mutex::new(sink),
            next: AtomicU64::new(1),
            pending,
            events,
            _profile: profile,
        })
    }

    /// One CDP command (on a page's session, or the browser's); its `result`.
    pub async fn call(&self, session: Option<&str>, method: &str, params: Value) -> eyre::Result<Value> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().map_err(|_| eyre!("poisoned"))?.insert(id, tx);
        self.sink.lock().await.send(Message::Text(message.to_string().into())).await?;
        let answer = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .map_err(|_| eyre!("{method}: no answer in 30 s"))??;
        if let Some(error) = answer.get("error") {
            bail!("{method}: {error}");
        }
        Ok(answer["result"].clone())
    }

    /// A new tab of `width` × `height` CSS pixels (`mobile`: a phone's touch and viewport), in the light or
    /// dark system colour scheme, with `init` run before any page script of every document.
    pub async fn page(
        &self,
        width: u32,
        height: u32,
        mobile: bool,
        dark: bool,
        init: &str,
    ) -> eyre::Result<Page<'_>> {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" })).await?;
        let attached = self
            .call(None, "Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true }))
            .await?;
        let session = attached["sessionId"].as_str().ok_or_else(|| eyre!("no session"))?.to_owned();
        let log = Arc::new(Mutex::new(PageLog::default()));
        let (mut events, loads) = (self.events.subscribe(), self.events.subscribe());
        let (record, mine) = (Arc::clone(&log), session.clone());
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                if event["sessionId"] != mine.as_str() {
                    continue;
                }
                let p = &event["params"];
                let Ok(mut log) = record.lock() else { return };
                match event["method"].as_str().unwrap_or_default() {
                    "Network.requestWillBeSent" => {
                        let headers = p["request"]["headers"].as_object();
                        let auth = headers
                            .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("authorization")));
                        log.requests
                            .push((p["request"]["url"].as_str().unwrap_or_default().to_owned(), auth));
                    }
                    "Runtime.consoleAPICalled" if p["type"] == "error" => {
                        log.errors.push(format!("console.error: {}", p["args"]));
                    }
                    "Runtime.exceptionThrown" => {
                        log.errors.push(format!("exception: {}", p["exceptionDetails"]))
                    }
                    "Log.entryAdded" if p["entry"]["level"] == "error" => {
                        log.errors.push(format!("log: {} {}", p["entry"]["text"], p["entry"]["url"]));
                    }
                    _ => {}
                }
            }
        });
        let s = Some(session.as_str());
        for domain in ["Page.enable", "Runtime.enable", "Network.enable", "Log.enable"] {
            self.call(s, domain, json!({})).await?;
        }
        let metrics = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile });
        self.call(s, "Emulation.setDeviceMetricsOverride", metrics).await?;
        let scheme = if dark { "dark" } else { "light" };
        let media = json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] });
        self.call(s, "Emulation.setEmulatedMedia", media).await?;
        if !init.is_empty() {
            self.call(s, "Page.addScriptToEvaluateOnNewDocument", json!({ "source": init })).await?;
        }
        Ok(Page { browser: self, session, log, loads })
    }
}

impl Page<'_> {
    async fn call(&self, method: &str, params: Value) -> eyre::Result<Value> {
        self.browser.call(Some(&self.session), method, params).await
    }

    /// Opens `url` and waits for its `load` event.
    pub async fn goto(&mut self, url: &str) -> eyre::Result<()> {
        while self.loads.try_recv().is_ok() {}
        self.call("Page.navigate", json!({ "url": url })).await?;
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let event = self.loads.recv().await?;
                if event["sessionId"] == self.session.as_str() && event["method"] == "Page.loadEventFired" {
                    return eyre::Ok(());
                }
            }
        })
        .await
        .map_err(|_| eyre!("{url} did not load in 30 s"))?
    }

    /// Evaluates `expression` (awaiting a promise) and returns its JSON value.
    pub async fn eval(&self, expression: &str) -> eyre::Result<Value> {
        let params = json!({ "expression": expression, "returnByValue": true, "awaitPromise": true });
        let result = self.call("Runtime.evaluate", params).await?;
        if let Some(exception) = result.get("exceptionDetails") {
            bail!("{expression}: {exception}");
        }
        Ok(result["result"]["value"].clone())
    }

    /// Waits until `expression` is truthy, within `secs`.
    pub async fn wait_for(&self, expression: &str, secs: u64) -> eyre::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let value = self.eval(expression).await?;
            if !(value.is_null() || value == false || value == "" || value == 0) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                let body = self.eval("document.body.innerText").await.unwrap_or_default();
                bail!("timed out waiting for {expression}; the page says: {body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element `selector` finds.
    pub async fn click(&self, selector: &str) -> eyre::Result<()> {
        let found = self.eval(&format!("(() => {{ const e = document.querySelector({selector:?}); if (e) e.click(); return !!e; }})()")).await?;
        eyre::ensure!(found == true, "nothing matches {selector}");
        Ok(())
    }

    /// Presses `key` (`Tab`, `Enter`) as a keyboard would, on whatever has the focus.
    pub async fn press(&self, key: &str) -> eyre::Result<()> {
        let (code, text) = match key {
            "Tab" => (9, ""),
            "Enter" => (13, "\r"),
            other => bail!("no key code for {other}"),
        };
        for kind in ["keyDown", "keyUp"] {
            let mut event = json!({ "type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code });
            if kind == "keyDown" && !text.is_empty() {
                event["text"] = text.into();
            }
            self.call("Input.dispatchKeyEvent", event).await?;
        }
        Ok(())
    }

    /// A PNG screenshot of the whole page, written to `path`.
    pub async fn screenshot(&self, path: &Path) -> eyre::Result<()> {
        use base64::Engine;
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true }))
            .await?;
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap_or_default())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, bytes)?;
        Ok(())
    }

    /// What the page did so far.
    pub fn log(&self) -> PageLog {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Decodes the QR code of an SVG made of `rect.dot` unit squares (what `/checkout/qr.svg` serves), by
/// rasterizing it and running a real QR decoder (`rqrr`) over the pixels.
pub fn decode_qr_svg(svg: &str) -> eyre::Result<String> {
    let size: usize = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| eyre!("no viewBox"))?;
    let mut dark = vec![false; size * size];
    for rect in svg.split("<rect class=\"dot\" ").skip(1) {
        let attr = |name: &str| -> Option<usize> {
            rect.split(&format!("{name}=\"")).nth(1)?.split('"').next()?.parse().ok()
        };
        if let (Some(x), Some(y)) = (attr("x"), attr("y")) {
            dark[y * size + x] = true;
        }
    }
    let scale = 8;
    let pixels = size * scale;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(pixels, pixels, |x, y| {
        if dark[(y / scale) * size + x / scale] { 0 } else { 255 }
    });
    let grids = image.detect_grids();
    let grid = grids.first().ok_or_else(|| eyre!("no QR code found"))?;
    let (_, content) = grid.decode().map_err(|e| eyre!("QR decode: {e:?}"))?;
    Ok(content)
}
