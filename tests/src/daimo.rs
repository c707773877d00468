//! Daimo's own published code, driven from the tests: its REST client through `tests/daimo/sdk.mjs`,
//! answers type-checked against its `.d.ts` through `tests/daimo/typecheck.mjs`, and its `DaimoFrame`
//! served from `tests/daimo/frame` (all installed and bundled by `scripts/tools.sh`; see
//! `tests/daimo/README.md`).

use std::{net::SocketAddr, path::PathBuf};

use eyre::{WrapErr, bail};
use serde_json::Value;

/// `tests/daimo`.
pub fn kit() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("daimo")
}

fn installed() -> eyre::Result<PathBuf> {
    let kit = kit();
    eyre::ensure!(
        kit.join("node_modules/@daimo/sdk").exists() && kit.join("dist/frame-host.js").exists(),
        "Daimo's SDK is not installed in {}: run `bash scripts/tools.sh` (scripts/test does)",
        kit.display()
    );
    Ok(kit)
}

/// One call through `createDaimoClient(baseUrl)`: `Ok(answer)`, or `Err(error)` with the members of
/// the client's `DaimoRequestError` (`status`, `type`, `code`, `param`, `message`, `requestId`).
pub async fn client(base: &str, call: &str, args: &Value) -> eyre::Result<Result<Value, Value>> {
    let kit = installed()?;
    let out = tokio::process::Command::new("node")
        .arg(kit.join("sdk.mjs"))
        .args([base, call, &args.to_string()])
        .current_dir(&kit)
        .output()
        .await
        .wrap_err("running node")?;
    if !out.status.success() {
        bail!("sdk.mjs {call} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let line: Value = serde_json::from_slice(&out.stdout).wrap_err("sdk.mjs printed no JSON")?;
    match (line.get("ok"), line.get("error")) {
        (Some(ok), None) => Ok(Ok(ok.clone())),
        (None, Some(error)) => Ok(Err(error.clone())),
        _ => bail!("sdk.mjs printed {line}"),
    }
}

/// Checks live answers against the SDK's published types (`answers` maps a type name such as
/// `CreatePaymentMethodResponse` to a list of answers); fails with TypeScript's diagnostics.
pub async fn typecheck(answers: &Value) -> eyre::Result<()> {
    let kit = installed()?;
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), serde_json::to_vec(answers)?)?;
    let out = tokio::process::Command::new("node")
        .arg(kit.join("typecheck.mjs"))
        .arg(file.path())
        .current_dir(&kit)
        .output()
        .await
        .wrap_err("running node")?;
    if !out.status.success() {
        bail!(
            "the answers do not match @daimo/sdk's types:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// `tests/daimo` over HTTP on a port of its own, so the `DaimoFrame` host page has a real origin
/// (`http://127.0.0.1:<port>`), as an integrator's site would.
pub struct FrameHost {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl FrameHost {
    /// Starts serving.
    pub async fn start() -> eyre::Result<Self> {
        let kit = installed()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let kit = kit.clone();
            async move { serve(&kit, uri.path()) }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, task })
    }

    /// The host's origin.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The host page rendering `DaimoFrame` for a session of the relayer at `base`.
    pub fn page(&self, base: &str, session_id: &str, client_secret: &str) -> String {
        format!("{}/frame/index.html?baseUrl={base}&session={session_id}&cs={client_secret}", self.origin())
    }
}

impl Drop for FrameHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Only the page and its bundle (never `node_modules` or anything else under the folder).
fn serve(kit: &std::path::Path, path: &str) -> axum::response::Response {
    use axum::{http::StatusCode, response::IntoResponse};
    let (file, kind) = match path {
        "/frame/index.html" => ("frame/index.html", "text/html; charset=utf-8"),
        "/dist/frame-host.js" => ("dist/frame-host.js", "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match std::fs::read(kit.join(file)) {
        Ok(body) => ([(axum::http::header::CONTENT_TYPE, kind)], body).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
