//! Faults an operator meets: a full disk. (Reorgs, SIGTERM and stuck transactions are in `e2e.rs`.)

use std::path::PathBuf;

use e2e::{API_KEY, Api, Auth, Chain, DEST, Settings, session_body, usdc, wait_until};
use reqwest::Method;

type Result = eyre::Result<()>;

/// A small tmpfs, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `mib` MiB, or `None` where this machine does not allow it (not root).
    fn mount(mib: u32) -> eyre::Result<Option<Self>> {
        let dir = tempfile::tempdir()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        Ok(mounted.then_some(Self { dir }))
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Fills the disk with a file; returns its path.
    fn fill(&self) -> eyre::Result<PathBuf> {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path)?;
        let chunk = vec![0u8; 256 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        Ok(path)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

async fn create(api: &Api) -> eyre::Result<e2e::Answer> {
    api.json(Method::POST, "/v1/sessions", &session_body(DEST, Some("1.00"), None, None), Auth::Key(API_KEY))
        .await
}

/// While the disk is full, writes fail in the API's envelope and `/readyz` says why (`/healthz`, the
/// liveness probe, still answers); once space is freed the same process writes again, becomes ready,
/// and delivers, with everything acknowledged before still there. Before, sled stayed failed until a
/// restart and `/healthz` said `ok` throughout.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_fails_writes_and_readiness_then_the_same_process_recovers() -> Result {
    let Some(disk) = SmallDisk::mount(24)? else {
        eprintln!(
            "SKIPPED a_full_disk_fails_writes_and_readiness_then_the_same_process_recovers: mounting a small tmpfs needs root here"
        );
        return Ok(());
    };
    let chain = Chain::start().await?;
    let (params, key, _) = e2e::relayer_config(&chain, disk.path().join("db"), &Settings::default()).await?;
    let node = relayer_node::start(relayer_devnet::config(&params, &key)?).await?;
    let api = Api::new(format!("http://{}", node.addr));
    let ready = async || Ok(api.send(Method::GET, "/readyz", None, None, Auth::None).await?.status == 200);
    wait_until(30, "ready", ready).await?;
    let before = create(&api).await?;
    assert_eq!(before.status, 201);

    let filler = disk.fill()?;
    wait_until(30, "a failing create", async || Ok(create(&api).await?.status == 500)).await?;
    let failed = create(&api).await?;
    assert_eq!(
        (failed.status, failed.body["error"]["type"].as_str()),
        (500, Some("api_error")),
        "{}",
        failed.body
    );
    let readyz = api.send(Method::GET, "/readyz", None, None, Auth::None).await?;
    assert_eq!(readyz.status, 503);
    assert!(readyz.body["problems"].to_string().contains("store cannot write"), "{}", readyz.body);
    assert_eq!(
        api.send(Method::GET, "/healthz", None, None, Auth::None).await?.status,
        200,
        "alive, not ready"
    );

    std::fs::remove_file(filler)?;
    wait_until(30, "creates succeeding again", async || Ok(create(&api).await?.status == 201)).await?;
    wait_until(30, "ready again", ready).await?;
    let id = before.body["session"]["sessionId"].as_str().unwrap_or_default().to_owned();
    assert_eq!(api.get(&id).await?["status"], "requires_payment_method", "acknowledged before, still there");
    let session = api.create(&session_body(DEST, Some("2.00"), None, None)).await?;
    let receiver = api.set_evm(&session).await?;
    chain.pay(receiver, usdc(2)).await?;
    api.wait_for(session["sessionId"].as_str().unwrap_or_default(), "succeeded", 30).await?;
    node.shutdown().await;
    Ok(())
}
