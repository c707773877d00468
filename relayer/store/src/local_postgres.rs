//! A throwaway PostgreSQL server for tests and `relayer devnet --store postgres`: `initdb` into a
//! temporary directory, the server on a free loopback port, trust authentication for the `postgres`
//! user. Nothing about it is fit for production (no password; `fsync` off for speed unless started with
//! [`LocalPostgres::start_durable`]).
//!
//! The server runs under a small shell supervisor that reads commands on its standard input (`stop`,
//! `start`, `kill`, so tests can restart or crash the database) and, when that input closes (this
//! handle dropped, or the process holding it gone, however it died), stops the server and deletes its
//! directory. Run as root, the server runs as the `postgres` user (PostgreSQL refuses root).
//!
//! The binaries are looked for in `RELAYER_PG_BINDIR`, then beside an `initdb` on `PATH`, then in
//! Debian's `/usr/lib/postgresql/<version>/bin` (the project's `scripts/tools.sh` installs Debian's
//! `postgresql-15` where none is found).

use std::{
    io::{BufRead, BufReader, Write},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    time::{Duration, Instant},
};

/// What went wrong starting or driving the server.
#[derive(Debug, thiserror::Error)]
#[error("local PostgreSQL: {0}")]
pub struct LocalPostgresError(String);

fn err(what: impl Into<String>) -> LocalPostgresError {
    LocalPostgresError(what.into())
}

/// A running throwaway server; dropping it stops the server and removes its files.
#[derive(Debug)]
pub struct LocalPostgres {
    port: u16,
    bindir: PathBuf,
    dir: PathBuf,
    supervisor: Child,
    /// `None` only while dropping.
    commands: Option<ChildStdin>,
    acks: BufReader<ChildStdout>,
}

/// The supervisor: `$1` the command that runs the server, `$2` its directory. Answers every command
/// with a line once it is done.
const SUPERVISOR: &str = r#"
server="$1" dir="$2"
start() { sh -c "$server" >>"$dir/server.log" 2>&1 & pid=$!; }
halt() { kill "-$1" "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
# Ctrl-C is for the process that holds our input: it stops first, then its input closes and we clean up.
trap '' INT
trap 'halt QUIT; rm -rf "$dir"; exit 0' TERM HUP
start
while read -r command; do
  case "$command" in
    stop) halt INT ;;
    kill) halt KILL ;;
    start) start ;;
  esac
  echo "$command done"
done
halt QUIT
rm -rf "$dir"
"#;

impl LocalPostgres {
    /// Initialises and starts a server; returns once it accepts connections.
    pub fn start() -> Result<Self, LocalPostgresError> {
        Self::start_with(false)
    }

    /// [`LocalPostgres::start`] with `fsync` on and full-page writes, as a production server runs: what a
    /// benchmark of durable writes must measure against.
    pub fn start_durable() -> Result<Self, LocalPostgresError> {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Result<Self, LocalPostgresError> {
        let bindir = bindir()?;
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "relayer-pg-{}-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            relayer_types::unix_now_ms()
        ));
        std::fs::create_dir(&dir).map_err(|e| err(format!("creating {}: {e}", dir.display())))?;
        Self::start_in(dir.clone(), bindir, durable).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&dir);
        })
    }

    fn start_in(dir: PathBuf, bindir: PathBuf, durable: bool) -> Result<Self, LocalPostgresError> {
        let owner = server_user()?;
        if let Some((uid, gid)) = owner {
            let chown = Command::new("chown")
                .arg(format!("{uid}:{gid}"))
                .arg(&dir)
                .status()
                .map_err(|e| err(format!("chown: {e}")))?;
            if !chown.success() {
                return Err(err(format!("chown of {} failed", dir.display())));
            }
        }
        let data = dir.join("data");
        let mut initdb = Command::new(bindir.join("initdb"));
        initdb
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "-D"])
            .arg(&data);
        if let Some((uid, gid)) = owner {
            initdb.uid(uid).gid(gid);
        }
        let out = initdb.output().map_err(|e| err(format!("running initdb: {e}")))?;
        if !out.status.success() {
            return Err(err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr))));
        }
        let port = free_port()?;
        let mut server = format!(
            "exec '{}' -D '{}' -p {port} -k '{}' -c listen_addresses=127.0.0.1 -c fsync={sync} \
             -c full_page_writes={sync} -c max_connections=300",
            bindir.join("postgres").display(),
            data.display(),
            dir.display(),
            sync = if durable { "on" } else { "off" },
        );
        // The server dies with its supervisor, however that goes (the OOM killer, a SIGKILL).
        let user =
            owner.map_or(String::new(), |(uid, gid)| format!("--reuid={uid} --regid={gid} --clear-groups "));
        server = server.replacen("exec ", &format!("exec setpriv --pdeathsig KILL {user}"), 1);
        let mut supervisor = Command::new("sh")
            // A process group of its own: a terminal's Ctrl-C (or a signal to the caller's group) reaches
            // the caller, which stops cleanly while the database still answers.
            .process_group(0)
            .args(["-c", SUPERVISOR, "supervisor"])
            .arg(&server)
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| err(format!("starting the supervisor: {e}")))?;
        let (Some(commands), Some(acks)) = (supervisor.stdin.take(), supervisor.stdout.take()) else {
            return Err(err("the supervisor has no pipes"));
        };
        let server =
            Self { port, bindir, dir, supervisor, commands: Some(commands), acks: BufReader::new(acks) };
        // Dropped on failure: the supervisor then stops the server and removes the folder.
        server.wait_ready()?;
        Ok(server)
    }

    /// The server's port on 127.0.0.1.
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database.
    pub fn create_database(&self, name: &str) -> Result<(), LocalPostgresError> {
        let out = Command::new(self.bindir.join("createdb"))
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .arg(name)
            .output()
            .map_err(|e| err(format!("running createdb: {e}")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(err(format!("createdb {name}: {}", String::from_utf8_lossy(&out.stderr))))
        }
    }

    /// Stops the server (a fast shutdown: clients are disconnected) and starts it again; returns once it
    /// accepts connections.
    pub fn restart(&mut self) -> Result<(), LocalPostgresError> {
        self.stop()?;
        self.resume()
    }

    /// Kills the server outright (SIGKILL, as a crash) and starts it again, recovering from its log.
    pub fn crash_and_restart(&mut self) -> Result<(), LocalPostgresError> {
        self.command("kill")?;
        self.resume()
    }

    /// Stops the server (a fast shutdown) and leaves it stopped.
    pub fn stop(&mut self) -> Result<(), LocalPostgresError> {
        self.command("stop")
    }

    /// Starts a stopped server again; returns once it accepts connections.
    pub fn resume(&mut self) -> Result<(), LocalPostgresError> {
        self.command("start")?;
        self.wait_ready()
    }

    fn command(&mut self, command: &str) -> Result<(), LocalPostgresError> {
        let commands = self.commands.as_mut().ok_or_else(|| err("the supervisor is gone"))?;
        writeln!(commands, "{command}").map_err(|e| err(format!("supervisor: {e}")))?;
        let mut ack = String::new();
        self.acks.read_line(&mut ack).map_err(|e| err(format!("supervisor: {e}")))?;
        if ack.trim() == format!("{command} done") {
            Ok(())
        } else {
            Err(err(format!("supervisor answered {ack:?} to {command}")))
        }
    }

    fn wait_ready(&self) -> Result<(), LocalPostgresError> {
        let started = Instant::now();
        loop {
            let ready = Command::new(self.bindir.join("pg_isready"))
                // Asked on its own socket, in its own folder: another server that happens to hold the port
                // (ours then failed to start) cannot answer for it.
                .args(["-q", "-U", "postgres", "-h"])
                .arg(&self.dir)
                .arg("-p")
                .arg(self.port.to_string())
                .status()
                .map_err(|e| err(format!("running pg_isready: {e}")))?;
            if ready.success() {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(60) {
                let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                return Err(err(format!("the server did not start within a minute; its log:\n{log}")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        // Closing its input tells the supervisor to stop the server and remove the directory.
        drop(self.commands.take());
        let _ = self.supervisor.wait();
    }
}

/// The directory of the PostgreSQL server binaries.
fn bindir() -> Result<PathBuf, LocalPostgresError> {
    let has = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("RELAYER_PG_BINDIR").map(PathBuf::from) {
        return if has(&dir) { Ok(dir) } else { Err(err(format!("no initdb in {}", dir.display()))) };
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if let Ok(initdb) = std::fs::canonicalize(dir.join("initdb"))
            && let Some(real) = initdb.parent()
            && has(real)
        {
            return Ok(real.to_path_buf());
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, dir)| has(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir).ok_or_else(|| {
        err("no PostgreSQL server binaries found (install Debian's postgresql-15, or set RELAYER_PG_BINDIR)")
    })
}

/// The uid and gid to run the server as: the `postgres` user when we are root (the server refuses
/// root), `None` otherwise.
fn server_user() -> Result<Option<(u32, u32)>, LocalPostgresError> {
    let id = |args: &[&str]| -> Result<u32, LocalPostgresError> {
        let out = Command::new("id").args(args).output().map_err(|e| err(format!("running id: {e}")))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| err(format!("`id {}` failed: is there a postgres user?", args.join(" "))))
    };
    if id(&["-u"])? != 0 {
        return Ok(None);
    }
    Ok(Some((id(&["-u", "postgres"])?, id(&["-g", "postgres"])?)))
}

/// A loopback port nothing listens on now.
fn free_port() -> Result<u16, LocalPostgresError> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| err(format!("no free port: {e}")))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| err(format!("no free port: {e}")))
}
