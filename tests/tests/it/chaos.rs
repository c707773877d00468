//! Chaos against the chain itself: RPC faults between the relayer and its node (errors, hangs, delays,
//! replies lost after the request took effect), a full RPC outage, random reorgs before and after the
//! confirmations, and random SIGKILLs and SIGTERMs of the real binary during deliveries. Every run checks
//! what the chain says: exactly one `Settled` per receiver, nothing left in any receiver, the destination
//! paid exactly once per session, no nonce gap, and one transaction per settlement where no reorg made a
//! re-sent one revert.
//!
//! CI runs a reduced, seeded version. The larger run (figures for the README):
//! `CHAOS_SESSIONS=60 CHAOS_MAX_HANG_MS=12000 CHAOS_KILL_SESSIONS=100 CHAOS_KILLS=10 CHAOS_OUTAGE_SECS=30
//! CHAOS_REORGS=20 cargo test -p e2e --test it -- chaos:: --nocapture --test-threads 1` (`CHAOS_SEED` picks
//! another seed).

use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
};
use e2e::{
    Api, Chain, DEST, Settings,
    chaos::{Fault, Faults, FaultyRpc},
    session_body, usdc,
};

use rand::{Rng, SeedableRng, rngs::StdRng};

type Result = eyre::Result<()>;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A relayer on `chain` whose only RPC endpoint is `rpc` (the proxy); its API and signer.
async fn relayer_behind(
    chain: &Chain,
    rpc: &str,
) -> eyre::Result<(relayer_core::Node, Api, Address, tempfile::TempDir)> {
    relayer_behind_with(chain, rpc, |_| {}).await
}

/// [`relayer_behind`], with its config changed by `tune` first.
async fn relayer_behind_with(
    chain: &Chain,
    rpc: &str,
    tune: impl FnOnce(&mut relayer_node::Config),
) -> eyre::Result<(relayer_core::Node, Api, Address, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let (mut params, key, signer) =
        e2e::relayer_config(chain, dir.path().join("db"), &Settings::default()).await?;
    params.rpc_url = rpc.to_owned();
    let mut config = relayer_devnet::config(&params, &key)?;
    tune(&mut config);
    let node = relayer_node::start(config).await?;
    let api = Api::new(format!("http://{}", node.addr));
    Ok((node, api, signer, dir))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied().unwrap_or(0.0)
}

/// `n` new sessions waiting for payment: (id, receiver).
async fn open_sessions(api: &Api, n: usize) -> eyre::Result<Vec<(String, Address)>> {
    let mut sessions = vec![];
    for _ in 0..n {
        let s = api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
        let receiver = api.set_evm(&s).await?;
        sessions.push((s["sessionId"].as_str().unwrap_or_default().to_owned(), receiver));
    }
    Ok(sessions)
}

/// Waits until every session succeeded; returns seconds from `paid` to each delivery being seen.
async fn all_delivered(
    api: &Api,
    sessions: &[(String, Address)],
    paid: Instant,
    deadline: Duration,
) -> eyre::Result<Vec<f64>> {
    let mut seconds = vec![];
    let mut open: Vec<usize> = (0..sessions.len()).collect();
    while !open.is_empty() {
        eyre::ensure!(
            paid.elapsed() < deadline,
            "{} of {} sessions not delivered within {deadline:?}",
            open.len(),
            sessions.len()
        );
        // All open sessions are asked at once and often, so the figures are not the poll's own delay.
        let statuses = futures::future::join_all(
            open.iter().map(|&i| async move { (i, api.get(&sessions[i].0).await) }),
        )
        .await;
        let now = paid.elapsed().as_secs_f64();
        let mut still = vec![];
        for (i, session) in statuses {
            if session?["status"] == "succeeded" {
                seconds.push(now);
            } else {
                still.push(i);
            }
        }
        open = still;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    seconds.sort_by(f64::total_cmp);
    Ok(seconds)
}

/// What the chain must say after `sessions` were delivered by `signer`, from its nonce and the
/// destination's balance `before`: one `Settled` each, empty receivers, the destination paid once per
/// session, nothing pending behind a gap, and (if `one_each`) one transaction per settlement. Returns
/// how many transactions the key sent.
async fn chain_agrees(
    chain: &Chain,
    sessions: &[(String, Address)],
    signer: Address,
    before: (u64, U256),
    one_each: bool,
) -> eyre::Result<u64> {
    for (id, receiver) in sessions {
        // A settlement a reorg took away leaves the session `succeeded` (a terminal status never changes)
        // while the relayer settles again: wait for the chain to show it, never for a second one.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut settled = chain.settled_events(*receiver).await?;
        while settled == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            settled = chain.settled_events(*receiver).await?;
        }
        if settled != 1 {
            let history = chain.receiver_history(*receiver).await?;
            eyre::bail!(
                "session {id}: {settled} Settled, not exactly one; the receiver's history:\n{history}"
            );
        }
        eyre::ensure!(
            chain.balance(*receiver).await? == U256::ZERO,
            "session {id}: funds left in the receiver"
        );
    }
    let n = sessions.len() as u64;
    eyre::ensure!(
        chain.balance(DEST).await? - before.1 == usdc(n),
        "the destination was not paid exactly once per session"
    );
    let sent = chain.nonce(signer, false).await? - before.0;
    eyre::ensure!(
        !one_each || sent == n,
        "{sent} transactions for {n} settlements: a double or a missing one"
    );
    eyre::ensure!(
        chain.nonce(signer, true).await? == chain.nonce(signer, false).await?,
        "a nonce gap is left pending"
    );
    Ok(sent)
}

/// Pays `n` sessions at once and waits for all of them; checks the chain; returns payment → delivery
/// seconds, sorted.
async fn deliver(
    chain: &Chain,
    api: &Api,
    signer: Address,
    n: usize,
    deadline: Duration,
) -> eyre::Result<Vec<f64>> {
    let before = (chain.nonce(signer, false).await?, chain.balance(DEST).await?);
    let sessions = open_sessions(api, n).await?;
    let receivers: Vec<Address> = sessions.iter().map(|s| s.1).collect();
    chain.pay_many(&receivers, usdc(1)).await?;
    let seconds = all_delivered(api, &sessions, Instant::now(), deadline).await?;
    chain_agrees(chain, &sessions, signer, before, true).await?;
    Ok(seconds)
}

#[tokio::test(flavor = "multi_thread")]
async fn rpc_faults_slow_deliveries_down_but_never_lose_or_double_one() -> Result {
    let n = env("CHAOS_SESSIONS", 10) as usize;
    let seed = env("CHAOS_SEED", 7);
    let max_hang_ms = env("CHAOS_MAX_HANG_MS", 3000);
    let chain = Chain::start().await?;
    let proxy = FaultyRpc::start(chain.rpc_url(), Faults { rate: 0.0, max_hang_ms }, seed).await?;
    let (node, api, signer, _dir) = relayer_behind(&chain, &proxy.url).await?;

    let calm = deliver(&chain, &api, signer, n, Duration::from_secs(120)).await?;
    proxy.set_faults(Faults { rate: 0.3, max_hang_ms });
    let faulty = deliver(&chain, &api, signer, n, Duration::from_secs(300)).await?;
    let (injected, forwarded) = proxy.counts();
    let (p50, p99) = (percentile(&calm, 50.0), percentile(&calm, 99.0));
    let (f50, f99) = (percentile(&faulty, 50.0), percentile(&faulty, 99.0));
    println!(
        "chaos (seed {seed}): {n} sessions each way; payment → delivery p50 {p50:.2} s / p99 {p99:.2} s without faults, \
         p50 {f50:.2} s / p99 {f99:.2} s with 30% RPC faults (hangs up to {max_hang_ms} ms): p50 ×{:.1}, p99 ×{:.1}; \
         {injected} faults injected, {forwarded} requests passed",
        f50 / p50.max(1e-3),
        f99 / p99.max(1e-3),
    );
    eyre::ensure!(injected > 0, "the proxy injected no fault: the test proved nothing");
    node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_simulation_that_hangs_holds_up_no_other_delivery() -> Result {
    let chain = Chain::start().await?;
    let proxy = FaultyRpc::clean(chain.rpc_url()).await?;
    // No timeout to speak of, and as many hanging tries as race at once: a hung call really hangs.
    let (node, api, _, _dir) = relayer_behind_with(&chain, &proxy.url, |config| {
        config.chains[0].rpc_timeout = Duration::from_secs(3600);
    })
    .await?;
    let racing = relayer_evm::chain::RPC_RACING;
    proxy.script_method("eth_estimateGas", vec![Fault::Hang(Duration::from_secs(3600)); racing]);
    let open = |amount| {
        let api = &api;
        async move {
            let session = api.create(&session_body(DEST, Some(amount), None, None)).await?;
            let receiver = api.set_evm(&session).await?;
            eyre::Ok((session["sessionId"].as_str().unwrap_or_default().to_owned(), receiver))
        }
    };
    let (stuck, stuck_receiver) = open("1.00").await?;
    chain.pay(stuck_receiver, usdc(1)).await?;
    api.wait_for(&stuck, "processing", 60).await?;
    e2e::wait_until(30, "the first simulation to hang", async || Ok(proxy.counts().0 == racing as u64))
        .await?;

    let (next, next_receiver) = open("2.00").await?;
    chain.pay(next_receiver, usdc(2)).await?;
    api.wait_for(&next, "succeeded", 60).await?;
    let status = api.get(&stuck).await?["status"].clone();
    eyre::ensure!(status == "processing", "the hung one is still under way, not {status}");
    eyre::ensure!(chain.settled_events(next_receiver).await? == 1);
    node.shutdown().await;
    Ok(())
}

/// A node that answers a simulation with an error object of its own (an internal error, a rate limit) says
/// nothing about the delivery: it is asked again, and the payment is delivered. Only a revert is final.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_error_answered_to_a_simulation_is_asked_again_not_taken_as_a_revert() -> Result {
    let chain = Chain::start().await?;
    let proxy = FaultyRpc::clean(chain.rpc_url()).await?;
    let (node, api, _, _dir) = relayer_behind(&chain, &proxy.url).await?;
    let faults = [
        Fault::Answer(-32603, "internal error"),
        Fault::Answer(-32005, "limit exceeded"),
        Fault::Answer(-32000, "header not found"),
        Fault::Answer(-32603, "internal error"),
    ];
    let scripted = faults.len() as u64;
    proxy.script_method("eth_estimateGas", faults);
    let session = api.create(&session_body(DEST, Some("3.00"), None, None)).await?;
    let receiver = api.set_evm(&session).await?;
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();
    chain.pay(receiver, usdc(3)).await?;
    api.wait_for(&id, "succeeded", 90).await?;
    eyre::ensure!(proxy.counts().0 == scripted, "every scripted error was answered: {:?}", proxy.counts());
    eyre::ensure!(chain.settled_events(receiver).await? == 1);
    node.shutdown().await;
    Ok(())
}

/// A provider that caps `eth_getLogs` ranges below the relayer's configured one (Tron's nodes at 5,000
/// blocks, hosted endpoints lower) refuses every range: the watcher asks for fewer blocks until answered,
/// and a deposit far behind the head is still seen and delivered.
#[tokio::test(flavor = "multi_thread")]
async fn a_provider_capping_log_ranges_below_the_configured_one_is_read_in_smaller_ranges() -> Result {
    let chain = Chain::start().await?;
    let proxy = FaultyRpc::clean(chain.rpc_url()).await?;
    // The relayer cannot reach the chain until the deposit sits among 120 blocks it has not read.
    proxy.set_down(true);
    let (node, api, _, _dir) = relayer_behind_with(&chain, &proxy.url, |config| {
        config.chains[0].start_block = Some(0);
        config.chains[0].max_block_range = 1000;
    })
    .await?;
    let session = api.create(&session_body(DEST, Some("2.00"), None, None)).await?;
    let receiver = api.set_evm(&session).await?;
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();
    for _ in 0..60 {
        chain.mine().await?;
    }
    chain.pay(receiver, usdc(2)).await?;
    for _ in 0..60 {
        chain.mine().await?;
    }
    proxy.cap_log_range(8);
    proxy.set_down(false);
    api.wait_for(&id, "succeeded", 120).await?;
    eyre::ensure!(proxy.counts().0 > 0, "the cap refused a range: the test proved something");
    node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn after_an_rpc_outage_pending_work_completes_within_seconds() -> Result {
    let outage = Duration::from_secs(env("CHAOS_OUTAGE_SECS", 8));
    let chain = Chain::start().await?;
    let proxy = FaultyRpc::clean(chain.rpc_url()).await?;
    let (node, api, _, _dir) = relayer_behind(&chain, &proxy.url).await?;
    let session = api.create(&session_body(DEST, Some("2.00"), None, None)).await?;
    let receiver = api.set_evm(&session).await?;
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();

    proxy.set_down(true);
    chain.pay(receiver, usdc(2)).await?; // paid while the relayer's RPC is down
    tokio::time::sleep(outage).await;
    eyre::ensure!(
        api.get(&id).await?["status"] == "waiting_payment",
        "nothing can be seen during the outage"
    );
    proxy.set_down(false);
    let back = Instant::now();
    api.wait_for(&id, "succeeded", 60).await?;
    let recovery = back.elapsed().as_secs_f64();
    println!(
        "chaos: after a {}-second RPC outage, the pending payment was delivered {recovery:.1} s after the RPC returned",
        outage.as_secs()
    );
    eyre::ensure!(chain.settled_events(receiver).await? == 1);
    node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkills_and_sigterms_during_deliveries_lose_nothing_and_double_nothing() -> Result {
    let n = env("CHAOS_KILL_SESSIONS", 12) as usize;
    let kills = env("CHAOS_KILLS", 3) as usize;
    let seed = env("CHAOS_SEED", 7);
    let mut rng = StdRng::seed_from_u64(seed);
    let chain = Chain::start_with_block_time(Some(1)).await?;
    let process = e2e::RelayerProcess::prepare(&chain, &Settings::default()).await?;
    let (api, signer) = (&process.api, process.signer);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_relayer-under-test"));
    let before = (chain.nonce(signer, false).await?, chain.balance(DEST).await?);

    let mut relayer = process.spawn(bin).await?;
    let mut sessions = vec![];
    let per_round = n.div_ceil(kills + 1);
    let started = Instant::now();
    let mut sigterms = 0;
    for round in 0..=kills {
        let batch = open_sessions(api, per_round.min(n - sessions.len())).await?;
        let receivers: Vec<Address> = batch.iter().map(|s| s.1).collect();
        chain.pay_many(&receivers, usdc(1)).await?;
        sessions.extend(batch);
        if round < kills {
            // Somewhere in the middle of those deliveries: between simulation, signing, persisting,
            // broadcast and receipt.
            tokio::time::sleep(Duration::from_millis(rng.random_range(100..1500))).await;
            if rng.random_bool(0.5) {
                relayer.start_kill()?; // SIGKILL
                relayer.wait().await?;
            } else {
                // A graceful stop under load, as `docker stop` or Kubernetes does it.
                let pid = relayer.id().ok_or_else(|| eyre::eyre!("no pid"))?.to_string();
                eyre::ensure!(std::process::Command::new("kill").args(["-TERM", &pid]).status()?.success());
                let status = tokio::time::timeout(Duration::from_secs(15), relayer.wait())
                    .await
                    .map_err(|_| eyre::eyre!("no exit within 15 s of SIGTERM under load"))??;
                eyre::ensure!(
                    status.code() == Some(0),
                    "SIGTERM under load: not a graceful exit: {status:?}"
                );
                sigterms += 1;
            }
            relayer = process.spawn(bin).await?;
        }
    }
    all_delivered(api, &sessions, started, Duration::from_secs(180)).await?;
    chain_agrees(&chain, &sessions, signer, before, true).await?;
    println!(
        "chaos (seed {seed}): {n} sessions through {} SIGKILLs and {sigterms} SIGTERMs: 0 lost, 0 double, no nonce gap",
        kills - sigterms
    );
    relayer.start_kill()?;
    Ok(())
}

/// Blocks keep coming (one every `every`) until the returned task is aborted.
fn keep_mining(chain: &Chain, every: Duration) -> tokio::task::JoinHandle<()> {
    let node = chain.deployer.clone();
    tokio::spawn(async move {
        loop {
            let _ = node.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await;
            tokio::time::sleep(every).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn random_reorgs_before_and_after_confirmations_strand_nothing() -> Result {
    let rounds = env("CHAOS_REORGS", 8) as usize;
    let per_round = env("CHAOS_REORG_SESSIONS", 3) as usize;
    let seed = env("CHAOS_SEED", 7);
    let mut rng = StdRng::seed_from_u64(seed);
    let chain = Chain::start().await?;
    let relayer = e2e::Relayer::start(&chain, Settings { confirmations: 2, ..Settings::default() }).await?;
    let (api, signer) = (&relayer.api, relayer.signer);
    let before = (chain.nonce(signer, false).await?, chain.balance(DEST).await?);
    let miner = keep_mining(&chain, Duration::from_millis(400));

    // (session, receiver, its payment on the chain now)
    let mut sessions: Vec<(String, Address, B256)> = vec![];
    let (mut depths, mut repaid) = (vec![], 0);
    for _ in 0..rounds {
        for (id, receiver) in open_sessions(api, per_round).await? {
            let paid = chain.pay(receiver, usdc(1)).await?;
            sessions.push((id, receiver, paid));
        }
        // Somewhere in the deliveries: before the deposits count, between a settlement and its
        // finality, or after it (a reorg deeper than the confirmations).
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..1200))).await;
        let depth: u64 = rng.random_range(1..=4);
        if rng.random_bool(0.5) {
            // The last `depth` blocks are replaced by as many empty ones.
            chain
                .deployer
                .raw_request::<_, serde_json::Value>("anvil_reorg".into(), (depth, [(); 0]))
                .await?;
        } else {
            chain.deployer.raw_request::<_, serde_json::Value>("anvil_rollback".into(), (depth,)).await?;
        }
        depths.push(depth);
        // A payment the reorg took away is made again, as a real chain would re-include it.
        for (_, receiver, paid) in &mut sessions {
            if chain.deployer.get_transaction_receipt(*paid).await?.is_none() {
                *paid = chain.pay(*receiver, usdc(1)).await?;
                repaid += 1;
            }
        }
    }
    let pairs: Vec<(String, Address)> = sessions.iter().map(|(id, r, _)| (id.clone(), *r)).collect();
    if let Err(error) = all_delivered(api, &pairs, Instant::now(), Duration::from_secs(120)).await {
        // Say what each stuck session looks like, from the API and from the chain.
        for (id, receiver) in &pairs {
            let session = api.get(id).await?;
            if session["status"] != "succeeded" {
                eprintln!(
                    "stuck {id}: receiver holds {}, {} Settled; {session}",
                    chain.balance(*receiver).await?,
                    chain.settled_events(*receiver).await?
                );
            }
        }
        return Err(error);
    }
    // Let the last settlements become final and anything re-sent land before checking the chain.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Re-sent transactions that found their deposit gone revert: more transactions than settlements
    // is expected here, a gap or a double payment is not. Blocks keep coming while the chain is read,
    // so a settlement sent again after the last reorg lands.
    let sent = chain_agrees(&chain, &pairs, signer, before, false).await;
    miner.abort();
    let sent = sent?;
    let metrics = reqwest::get(format!("{}/metrics", api.base)).await?.text().await?;
    let counter = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or("0")
            .to_owned()
    };
    println!(
        "chaos (seed {seed}): {} sessions through {rounds} reorgs of depths {depths:?} (confirmations 2), {repaid} payments \
         made again: 0 lost, 0 double, {sent} transactions, no nonce gap; re-sent after a reorg {}, nonce gaps filled {}, \
         deliveries orphaned {}",
        pairs.len(),
        counter("relayer_resent_after_reorg_total"),
        counter("relayer_nonce_gaps_filled_total"),
        counter("relayer_deliveries_orphaned_total"),
    );
    relayer.node.shutdown().await;
    Ok(())
}
