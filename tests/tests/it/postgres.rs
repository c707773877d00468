//! The relayer on PostgreSQL, end to end: a real anvil, the contracts, the real relayer, real HTTP, and a
//! real PostgreSQL server the test starts (initdb into a temporary folder, removed afterwards).

use e2e::{Chain, DEST, Relayer, Settings, session_body, usdc};
use relayer_store::{PgStore, Store, local_postgres::LocalPostgres};
use relayer_types::{SessionId, SessionStatus};

type Result = eyre::Result<()>;

async fn postgres() -> eyre::Result<LocalPostgres> {
    tokio::task::spawn_blocking(|| {
        let server = LocalPostgres::start()?;
        server.create_database("relayer")?;
        eyre::Ok(server)
    })
    .await?
}

/// A relayer whose store is PostgreSQL creates, watches and delivers a session; the state is in the
/// database (read back by a store of our own), and another relayer started on the same database, with
/// another key and no state of its own, answers for the session as the first one would.
#[tokio::test(flavor = "multi_thread")]
async fn a_relayer_on_postgres_delivers_and_another_one_on_the_database_answers_for_the_session() -> Result {
    let server = postgres().await?;
    let url = server.url("relayer");
    let chain = Chain::start().await?;
    let settings = Settings { database_url: Some(url.clone()), ..Settings::default() };
    let first = Relayer::start(&chain, settings.clone()).await?;
    let session = first.api.create(&session_body(DEST, Some("10.00"), None, None)).await?;
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();
    let receiver = first.api.set_evm(&session).await?;
    chain.pay(receiver, usdc(10)).await?;
    let done = first.api.wait_for(&id, "succeeded", 30).await?;
    assert_eq!(chain.balance(DEST).await?, usdc(10), "delivered on chain");
    first.node.shutdown().await;

    let stored = tokio::task::spawn_blocking({
        let (url, id) = (url.clone(), id.parse::<SessionId>()?);
        move || eyre::Ok(PgStore::connect(&url)?.session(&id)?)
    })
    .await??;
    let stored = stored.ok_or_else(|| eyre::eyre!("the session is not in PostgreSQL"))?;
    assert_eq!(stored.value.status, SessionStatus::Succeeded);

    let second = Relayer::start(&chain, settings).await?;
    let answered = second.api.get(&id).await?;
    assert_eq!(answered["status"], "succeeded");
    assert_eq!(answered["destination"]["delivery"], done["destination"]["delivery"], "the same delivery");
    assert_eq!(chain.balance(DEST).await?, usdc(10), "and nothing delivered twice");
    second.node.shutdown().await;
    drop(server);
    Ok(())
}

// Several real relayer processes on one database, one key: the signing lease under failures.

use std::time::{Duration, Instant};

use e2e::{Api, Auth, wait_until};

/// The signing lease's lifetime in these tests (the production default is 15 s).
const LEASE_SECS: u64 = 3;

/// One relayer process of several sharing the database.
struct Instance {
    api: Api,
    config: std::path::PathBuf,
    log: std::path::PathBuf,
    /// Its environment: the key, and the URL it reaches the database at.
    env: Vec<(&'static str, String)>,
    child: Option<tokio::process::Child>,
}

/// A cluster of relayer processes on one database and one funded key.
struct Cluster {
    instances: Vec<Instance>,
    signer: alloy::primitives::Address,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn start(chain: &Chain, url: &str, size: usize) -> eyre::Result<Self> {
        Self::start_with(chain, &vec![url.to_owned(); size], LEASE_SECS).await
    }

    /// One instance per URL (each reaches the same database at its own URL), leases of `lease_secs`.
    async fn start_with(chain: &Chain, urls: &[String], lease_secs: u64) -> eyre::Result<Self> {
        let dir = tempfile::tempdir()?;
        let settings = Settings { database_url: Some(urls[0].clone()), ..Settings::default() };
        let (mut params, key, signer) = e2e::relayer_config(chain, dir.path().join("db"), &settings).await?;
        let mut cluster = Self { instances: vec![], signer, _dir: dir };
        for (i, url) in urls.iter().enumerate() {
            params.port = e2e::free_port()?;
            let mut file = relayer_devnet::config_file(&params);
            if let Some(store) = file.store.as_mut() {
                store.lease_secs = Some(lease_secs);
            }
            let config = cluster._dir.path().join(format!("relayer-{i}.toml"));
            std::fs::write(&config, toml::to_string(&file)?)?;
            let log = cluster._dir.path().join(format!("relayer-{i}.log"));
            let api = Api::new(format!("http://127.0.0.1:{}", params.port));
            let env =
                vec![(relayer_devnet::KEY_VAR, key.clone()), (relayer_devnet::DATABASE_VAR, url.clone())];
            cluster.instances.push(Instance { api, config, log, env, child: None });
            cluster.spawn(i).await?;
        }
        Ok(cluster)
    }

    async fn spawn(&mut self, i: usize) -> eyre::Result<()> {
        let bin = std::path::Path::new(env!("CARGO_BIN_EXE_relayer-under-test"));
        let instance = &mut self.instances[i];
        let env: Vec<(&str, &str)> = instance.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        instance.child =
            Some(e2e::spawn_relayer_with(bin, &instance.config, &env, &instance.log, &instance.api).await?);
        Ok(())
    }

    /// Which live instance holds the signing lease, by its `/metrics`.
    async fn holder(&self) -> eyre::Result<Option<usize>> {
        for (i, instance) in self.instances.iter().enumerate().filter(|(_, i)| i.child.is_some()) {
            let metrics = instance.api.send(reqwest::Method::GET, "/metrics", None, None, Auth::None).await;
            if metrics.is_ok_and(|m| m.text.lines().any(|l| l == "relayer_lease_held{} 1")) {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    async fn wait_for_holder(&self, other_than: Option<usize>) -> eyre::Result<usize> {
        let mut found = None;
        wait_until(30, "an instance holding the lease", async || {
            found = self.holder().await?.filter(|h| Some(*h) != other_than);
            Ok(found.is_some())
        })
        .await?;
        found.ok_or_else(|| eyre::eyre!("no holder"))
    }

    fn pid(&self, i: usize) -> eyre::Result<String> {
        let child = self.instances[i].child.as_ref().ok_or_else(|| eyre::eyre!("instance {i} is down"))?;
        Ok(child.id().ok_or_else(|| eyre::eyre!("no pid"))?.to_string())
    }

    /// A session created through instance `via`, its payment method set there, paid 1.00 on chain.
    async fn paid_session(
        &self,
        chain: &Chain,
        via: usize,
    ) -> eyre::Result<(String, alloy::primitives::Address)> {
        let api = &self.instances[via].api;
        let session = api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
        let receiver = api.set_evm(&session).await?;
        chain.pay(receiver, usdc(1)).await?;
        Ok((session["sessionId"].as_str().unwrap_or_default().to_owned(), receiver))
    }

    /// Every session succeeded (asked through another instance than the one that created it), each
    /// delivered exactly once, and the key sent one transaction per session in all, none left pending.
    async fn check_every_delivery(
        &self,
        chain: &Chain,
        sessions: &[(String, alloy::primitives::Address)],
    ) -> Result {
        let live: Vec<&Instance> = self.instances.iter().filter(|i| i.child.is_some()).collect();
        for (n, (id, receiver)) in sessions.iter().enumerate() {
            live[(n + 1) % live.len()].api.wait_for(id, "succeeded", 60).await?;
            assert_eq!(chain.settled_events(*receiver).await?, 1, "session {id} settled once");
        }
        let count = u64::try_from(sessions.len())?;
        assert_eq!(chain.balance(DEST).await?, usdc(count), "0 lost, 0 delivered twice");
        assert_eq!(
            chain.nonce(self.signer, false).await?,
            count,
            "one transaction per session: no double send"
        );
        assert_eq!(chain.nonce(self.signer, true).await?, count, "nothing pending: no nonce gap");
        Ok(())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).copied().unwrap_or_default()
}

/// Three relayer processes on one PostgreSQL, requests spread over all three, sessions paid while the
/// lease holder is SIGKILLed again and again (each time restarted, as a standby): every session is
/// delivered exactly once, the key's nonces have no gap, and the failover times are printed. The full
/// run (100 sessions, 10 kills) is `RELAYER_FAILOVER_SESSIONS=100 RELAYER_FAILOVER_KILLS=10 cargo test
/// -p e2e --test it postgres::three_instances -- --nocapture`.
#[tokio::test(flavor = "multi_thread")]
async fn three_instances_fail_over_under_sigkill_without_losing_or_doubling_a_delivery() -> Result {
    let env =
        |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (total, kills) = (env("RELAYER_FAILOVER_SESSIONS", 12), env("RELAYER_FAILOVER_KILLS", 2));
    let server = postgres().await?;
    let chain = Chain::start().await?;
    let mut cluster = Cluster::start(&chain, &server.url("relayer"), 3).await?;
    cluster.wait_for_holder(None).await?;
    let (mut sessions, mut failovers) = (vec![], vec![]);
    let per_round = total.div_ceil(kills + 1);
    for round in 0..=kills {
        for n in 0..per_round.min(total - sessions.len()) {
            sessions.push(cluster.paid_session(&chain, n % 3).await?);
        }
        if round == kills {
            break;
        }
        let holder = cluster.wait_for_holder(None).await?;
        let killed = Instant::now();
        if let Some(mut child) = cluster.instances[holder].child.take() {
            child.start_kill()?; // SIGKILL: no shutdown path, the lease is not released
            child.wait().await?;
        }
        cluster.wait_for_holder(Some(holder)).await?;
        failovers.push(killed.elapsed());
        cluster.spawn(holder).await?; // back as a standby
    }
    cluster.check_every_delivery(&chain, &sessions).await?;
    failovers.sort();
    println!(
        "failover after SIGKILL of the lease holder ({} kills, lease {LEASE_SECS} s): p50 {:?}, p99 {:?}; {} sessions, 0 lost, 0 double",
        failovers.len(),
        percentile(&failovers, 0.5),
        percentile(&failovers, 0.99),
        sessions.len()
    );
    Ok(())
}

/// The lease holder SIGSTOPped past its lease while payments keep coming: another instance takes over
/// and delivers them. Resumed, the former holder finds its lease gone: it stops signing by its own
/// clock, the database refuses its writes, it exits to start again as a standby, and nothing was sent
/// twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_holder_paused_past_its_lease_sends_nothing_when_it_resumes() -> Result {
    let server = postgres().await?;
    let chain = Chain::start().await?;
    let mut cluster = Cluster::start(&chain, &server.url("relayer"), 2).await?;
    let holder = cluster.wait_for_holder(None).await?;
    let other = 1 - holder;
    let mut sessions = vec![cluster.paid_session(&chain, other).await?];
    let pid = cluster.pid(holder)?;
    // Paid, then paused at once: the holder may be in the middle of delivering it.
    sessions.push(cluster.paid_session(&chain, holder).await?);
    eyre::ensure!(std::process::Command::new("kill").args(["-STOP", &pid]).status()?.success());
    for _ in 0..3 {
        sessions.push(cluster.paid_session(&chain, other).await?);
    }
    cluster.wait_for_holder(Some(holder)).await?;
    tokio::time::sleep(Duration::from_secs(LEASE_SECS)).await;
    eyre::ensure!(std::process::Command::new("kill").args(["-CONT", &pid]).status()?.success());
    let mut child = cluster.instances[holder].child.take().ok_or_else(|| eyre::eyre!("holder"))?;
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await??;
    assert!(!status.success(), "the former holder exits once it finds its lease lost");
    let log = std::fs::read_to_string(&cluster.instances[holder].log)?;
    assert!(log.contains("signing lease lost"), "{log}");
    cluster.check_every_delivery(&chain, &sessions).await?;
    Ok(())
}

/// An engine whose store no longer lets this instance sign (a former lease holder, paused and resumed
/// with a batch in hand) applies no chain event, reorg or report: the holder applies them, and would
/// otherwise find them applied already and schedule nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_former_holders_engine_applies_no_chain_event() -> Result {
    use relayer_chain::EventSink;
    use relayer_store::SigningLease;
    let server = postgres().await?;
    let url = server.url("relayer");
    let store = tokio::task::spawn_blocking(move || PgStore::connect(&url)).await??;
    let lease = store.signing_lease("relayer", Duration::from_secs(30));
    let settings = relayer_core::engine::EngineSettings {
        session_lifetime: Duration::from_secs(60),
        retry: relayer_core::engine::RetryPolicy::default(),
    };
    let engine = relayer_core::engine::Engine::new(std::sync::Arc::new(store), vec![], settings)?;
    assert!(engine.apply(8453, vec![]).await.is_err(), "not the holder: refused");
    assert!(engine.reorg(8453, 1).await.is_err(), "not the holder: refused");
    let taken = tokio::task::spawn_blocking(move || lease.acquire().map(|e| (e, lease))).await??;
    assert_eq!(taken.0, Some(1));
    engine.apply(8453, vec![]).await?;
    Ok(())
}

/// A TCP hop between one instance and the database that can be cut silently: once cut, nothing more
/// crosses it in either direction, but no connection is closed (a partition, not a refusal: the instance's
/// queries hang until their deadlines).
struct Partition {
    port: u16,
    cut: tokio_util::sync::CancellationToken,
}

impl Partition {
    async fn to(target_port: u16) -> eyre::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let cut = tokio_util::sync::CancellationToken::new();
        let stop = cut.clone();
        tokio::spawn(async move {
            let mut held = vec![];
            while let Ok((mut inbound, _)) = listener.accept().await {
                if stop.is_cancelled() {
                    held.push(inbound); // accepted, never answered
                    continue;
                }
                let stop = stop.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", target_port)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = stop.cancelled() => {
                            // Hold both ends open and silent until the test ends.
                            std::future::pending::<()>().await;
                        }
                    }
                });
            }
        });
        Ok(Self { port, cut })
    }
}

/// The database unreachable from the holder only (a silent partition): it stops signing by its own clock
/// before its lease runs out, finds it lost and exits; the other instance takes over and delivers what
/// is paid meanwhile; nothing is sent twice.
#[tokio::test(flavor = "multi_thread")]
async fn the_holder_cut_off_from_the_database_stops_signing_and_another_takes_over() -> Result {
    let server = postgres().await?;
    let chain = Chain::start().await?;
    let partition = Partition::to(server.port()).await?;
    let through = format!("postgres://postgres@127.0.0.1:{}/relayer", partition.port);
    let mut cluster = Cluster::start_with(&chain, &[through, server.url("relayer")], LEASE_SECS).await?;
    // The instance behind the partition must be the holder: stop the other until it is.
    let holder = cluster.wait_for_holder(None).await?;
    if holder != 0 {
        if let Some(mut child) = cluster.instances[1].child.take() {
            child.start_kill()?;
            child.wait().await?;
        }
        cluster.wait_for_holder(Some(1)).await?;
        cluster.spawn(1).await?;
    }
    let mut sessions = vec![cluster.paid_session(&chain, 0).await?];
    cluster.instances[0].api.wait_for(&sessions[0].0, "succeeded", 30).await?;
    partition.cut.cancel();
    for _ in 0..3 {
        sessions.push(cluster.paid_session(&chain, 1).await?);
    }
    cluster.wait_for_holder(Some(0)).await?;
    let mut cut_off = cluster.instances[0].child.take().ok_or_else(|| eyre::eyre!("instance 0"))?;
    let status = tokio::time::timeout(Duration::from_secs(60), cut_off.wait()).await??;
    assert!(!status.success(), "the cut-off holder exits once it cannot renew in time");
    let log = std::fs::read_to_string(&cluster.instances[0].log)?;
    assert!(log.contains("signing lease lost"), "{log}");
    cluster.check_every_delivery(&chain, &sessions).await?;
    Ok(())
}

/// PostgreSQL restarted under two running instances: meanwhile both say on `/readyz` that the store
/// cannot write, payments made during the outage wait, and once the database is back both recover by
/// themselves (no restart), the holder keeps its lease, and every payment is delivered once.
#[tokio::test(flavor = "multi_thread")]
async fn instances_recover_by_themselves_when_the_database_restarts() -> Result {
    let mut server = postgres().await?;
    let chain = Chain::start().await?;
    let url = server.url("relayer");
    let cluster = Cluster::start_with(&chain, &[url.clone(), url], 10).await?;
    let holder = cluster.wait_for_holder(None).await?;
    let mut sessions = vec![cluster.paid_session(&chain, 1 - holder).await?];
    // Sessions created (and their receivers handed out) before, paid while the database is down.
    let api = &cluster.instances[1 - holder].api;
    let mut unpaid = vec![];
    for _ in 0..2 {
        let session = api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
        let receiver = api.set_evm(&session).await?;
        unpaid.push((session["sessionId"].as_str().unwrap_or_default().to_owned(), receiver));
    }
    server = tokio::task::spawn_blocking(move || {
        server.stop()?;
        eyre::Ok(server)
    })
    .await??;
    for (_, receiver) in &unpaid {
        chain.pay(*receiver, usdc(1)).await?;
    }
    for instance in &cluster.instances {
        wait_until(10, "/readyz to say the store cannot write", async || {
            let ready = instance.api.send(reqwest::Method::GET, "/readyz", None, None, Auth::None).await?;
            Ok(ready.status == 503 && ready.text.contains("store cannot write"))
        })
        .await?;
    }
    server = tokio::task::spawn_blocking(move || {
        server.resume()?;
        eyre::Ok(server)
    })
    .await??;
    for instance in &cluster.instances {
        wait_until(30, "/readyz to recover", async || {
            Ok(instance.api.send(reqwest::Method::GET, "/readyz", None, None, Auth::None).await?.status
                == 200)
        })
        .await?;
    }
    sessions.extend(unpaid);
    sessions.push(cluster.paid_session(&chain, holder).await?);
    cluster.check_every_delivery(&chain, &sessions).await?;
    assert_eq!(cluster.holder().await?, Some(holder), "the holder kept its lease");
    drop(server);
    Ok(())
}

/// Webhooks across instances. An endpoint registered through a standby, a test event and a redelivery
/// asked for there: the holder (the only instance that delivers) sends them at once, told by the
/// database's change notifications. A session created and paid through the standby: its events arrive
/// too, each once.
#[tokio::test(flavor = "multi_thread")]
async fn webhooks_registered_tested_and_redelivered_through_a_standby_are_delivered() -> Result {
    use e2e::{API_KEY, WebhookReceiver};
    use reqwest::Method;
    let server = postgres().await?;
    let chain = Chain::start().await?;
    let cluster = Cluster::start(&chain, &server.url("relayer"), 2).await?;
    let holder = cluster.wait_for_holder(None).await?;
    let standby = 1 - holder;
    let api = &cluster.instances[standby].api;
    let receiver = WebhookReceiver::start().await?;
    let endpoint = receiver.register(api, &["*"]).await?;
    let id = endpoint["id"].as_str().unwrap_or_default().to_owned();

    let body = serde_json::json!({ "eventType": "session.succeeded" });
    let test = api.json(Method::POST, &format!("/v1/webhooks/{id}/test"), &body, Auth::Key(API_KEY)).await?;
    assert_eq!(test.status, 200, "{}", test.body);
    let event = test.body["event"]["id"].as_str().unwrap_or_default().to_owned();
    let copies = |r: &[e2e::Received]| r.iter().filter(|x| x.webhook_id == event).count();
    receiver.wait(20, "the test event asked for on the standby", |r| copies(r) == 1).await?;
    let path = format!("/v1/webhooks/{id}/events/{event}/redeliver");
    let again = api.send(Method::POST, &path, None, None, Auth::Key(API_KEY)).await?;
    assert_eq!(again.status, 200, "{}", again.body);
    receiver.wait(20, "the redelivery asked for on the standby", |r| copies(r) == 2).await?;

    let (session, _) = cluster.paid_session(&chain, standby).await?;
    let received = receiver
        .wait(60, "the session's succeeded event", |r| {
            r.iter().any(|x| {
                x.body["type"] == "session.succeeded"
                    && x.body["data"]["session"]["sessionId"] == session.as_str()
            })
        })
        .await?;
    let mut ids: Vec<&str> = received.iter().map(|r| r.webhook_id.as_str()).filter(|i| *i != event).collect();
    let all = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all, "each of the session's events delivered once");
    assert!(received.iter().all(|r| r.verified), "every delivery signed with the endpoint's secret");
    // Both instances list the test event as delivered.
    for instance in &cluster.instances {
        let path = format!("/v1/webhooks/{id}/events");
        let list = instance.api.send(Method::GET, &path, None, None, Auth::Key(API_KEY)).await?;
        let listed = list.body.to_string();
        assert!(listed.contains(&event), "{listed}");
    }
    Ok(())
}

/// Every metric the shipped alerting rules (`ops/prometheus/relayer-alerts.yml`) and the Grafana
/// dashboard (`ops/grafana/relayer-dashboard.json`) use is one a running relayer exports: scraped from a
/// lease holder on PostgreSQL, so the lease's metrics are there too.
/// The EVM key's balance is among them, with the floor from the config, and `/readyz` names it while
/// the balance is below the floor.
#[tokio::test(flavor = "multi_thread")]
async fn every_metric_the_alerting_rules_use_is_exported_and_a_low_balance_is_not_ready() -> Result {
    use std::collections::BTreeSet;
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ops/prometheus/relayer-alerts.yml"
    ))?;
    let dashboard = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ops/grafana/relayer-dashboard.json"
    ))?;
    let names = |text: &str| -> BTreeSet<String> {
        let words = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
        words.filter(|w| w.starts_with("relayer_")).map(str::to_owned).collect()
    };
    let mut used = names(&rules);
    assert!(used.len() >= 15, "the rules name the metrics they use: {used:?}");
    let charted = names(&dashboard);
    assert!(charted.len() >= 25, "the dashboard names the metrics it charts: {charted:?}");
    // Solana's fees are counted by its family only: no Solana cluster here.
    used.extend(charted.into_iter().filter(|m| !m.ends_with("fees_paid_total")));

    let server = postgres().await?;
    let chain = Chain::start().await?;
    let dir = tempfile::tempdir()?;
    let settings = Settings { database_url: Some(server.url("relayer")), ..Settings::default() };
    let (mut params, key, _) = e2e::relayer_config(&chain, dir.path().join("db"), &settings).await?;
    params.port = e2e::free_port()?;
    let mut file = relayer_devnet::config_file(&params);
    // A floor far above what the devnet funds the key with (whole coins).
    for section in &mut file.chains {
        if let relayer_node::config::ChainSection::Evm(c) = section {
            c.min_native_balance = Some("1000000".into());
            c.max_daily_fees = Some("10".into()); // so the cap is exported
            c.costly_fee = Some("1".into());
        }
    }
    let config = dir.path().join("relayer.toml");
    std::fs::write(&config, toml::to_string(&file)?)?;
    let api = Api::new(format!("http://127.0.0.1:{}", params.port));
    let url = server.url("relayer");
    let env = [(relayer_devnet::KEY_VAR, key.as_str()), (relayer_devnet::DATABASE_VAR, url.as_str())];
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_relayer-under-test"));
    let _relayer = e2e::spawn_relayer_with(bin, &config, &env, &dir.path().join("relayer.log"), &api).await?;

    let balance = format!(
        "relayer_account_resource{{chain_id=\"{}\",role=\"settle\",resource=\"native_gwei\"}} ",
        chain.desc.chain_id
    );
    let mut metrics = String::new();
    wait_until(30, "the lease held and the key's balance read", async || {
        metrics = api.send(reqwest::Method::GET, "/metrics", None, None, Auth::None).await?.text;
        let read = metrics.lines().filter_map(|l| l.strip_prefix(&balance)).any(|v| v != "0");
        Ok(read && metrics.lines().any(|l| l == "relayer_lease_held{} 1"))
    })
    .await?;
    let exported: BTreeSet<String> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_owned)
        .collect();
    let missing: Vec<&String> = used.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "metrics the alerts or the dashboard use but the relayer does not export: {missing:?}"
    );
    // Counters the rules take the increase of are there from the start, at 0: the first event counts.
    let orphaned = format!(
        "relayer_deliveries_orphaned_total{{chain_id=\"{}\",outcome=\"delivered\"}} 0",
        chain.desc.chain_id
    );
    assert!(metrics.lines().any(|l| l == orphaned), "{orphaned}:\n{metrics}");
    let floor = format!(
        "relayer_account_resource_floor{{chain_id=\"{}\",role=\"settle\",resource=\"native_gwei\"}} 1000000000000000",
        chain.desc.chain_id
    );
    assert!(metrics.lines().any(|l| l == floor), "the floor, in gwei:\n{metrics}");

    let ready = api.send(reqwest::Method::GET, "/readyz", None, None, Auth::None).await?;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert!(ready.text.contains("native_gwei left, below the floor"), "{}", ready.text);
    Ok(())
}
