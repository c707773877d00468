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
