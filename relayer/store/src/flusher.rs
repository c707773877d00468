//! Group commit for the sled backend. Every write that must be durable before it is acknowledged asks
//! [`Flusher::flush`] for a flush and waits for one that started after its write. One dedicated thread
//! runs the flushes, so concurrent writers share a single `fsync` instead of queueing one each, and no
//! flush ever runs on an async runtime's worker thread: a caller on a multi-threaded tokio runtime waits
//! inside `block_in_place`, which hands the worker's other tasks to another thread.

use std::{
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    thread::JoinHandle,
};

use crate::{BackendError, StoreError};

#[derive(Debug, Default)]
struct State {
    /// Flush requests made so far (each writer takes the next number).
    requested: u64,
    /// Every request up to this number is covered by a completed flush.
    done: u64,
    /// The last completed flush failed with this.
    failed: Option<BackendError>,
    stop: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// Tests hold this to keep the flush thread from starting a flush.
    #[cfg(test)]
    gate: Mutex<()>,
    /// Flushes that took their target (and so wait at the gate, or run).
    #[cfg(test)]
    started: std::sync::atomic::AtomicU64,
    /// Completed flushes.
    #[cfg(test)]
    rounds: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed.wait(guard).unwrap_or_else(PoisonError::into_inner)
    }
}

/// The flushing thread of one open store; stopping it (on drop) releases its database handle.
#[derive(Debug)]
pub(crate) struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// The latest completed flush's request number and failure, for async waiters.
    done: tokio::sync::watch::Receiver<(u64, Option<BackendError>)>,
}

impl Flusher {
    pub(crate) fn start(db: sled::Db) -> Result<Self, StoreError> {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        let (announce, done) = tokio::sync::watch::channel((0, None));
        let thread = std::thread::Builder::new()
            .name("store-flush".into())
            .spawn(move || run(&worker, &db, &announce))
            .map_err(|e| StoreError::Backend(BackendError::caused("cannot start the flush thread", e)))?;
        Ok(Self { shared, thread: Some(thread), done })
    }

    /// Asks for a flush and returns a future that resolves once everything written before this call is
    /// on disk (or the flush failed). The future holds no thread while it waits.
    pub(crate) fn durable(
        &self,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send + 'static {
        let mine = {
            let mut state = self.shared.lock();
            state.requested += 1;
            self.shared.changed.notify_all();
            state.requested
        };
        let mut done = self.done.clone();
        async move {
            let outcome =
                done.wait_for(|(flushed, _)| *flushed >= mine).await.map(|v| v.1.clone()).map_err(|_| {
                    StoreError::Backend(BackendError::new(
                        "the store was closed before the write was flushed",
                    ))
                })?;
            outcome.map_or(Ok(()), |error| Err(StoreError::Backend(error)))
        }
    }

    /// Returns once everything written before the call is on disk (or the flush failed).
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let wait = || {
            let mut state = self.shared.lock();
            state.requested += 1;
            let mine = state.requested;
            self.shared.changed.notify_all();
            while state.done < mine {
                state = self.shared.wait(state);
            }
            // A flush that covered this request ran after this write; if it failed, the write may not
            // be durable (a later successful flush would have covered it too, so this is the latest).
            match &state.failed {
                None => Ok(()),
                Some(error) => Err(StoreError::Backend(error.clone())),
            }
        };
        let on_multi_threaded_runtime = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if on_multi_threaded_runtime { tokio::task::block_in_place(wait) } else { wait() }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared, db: &sled::Db, announce: &tokio::sync::watch::Sender<(u64, Option<BackendError>)>) {
    loop {
        let target = {
            let mut state = shared.lock();
            while state.requested == state.done && !state.stop {
                state = shared.wait(state);
            }
            if state.requested == state.done {
                return; // stopping, and nobody is waiting
            }
            state.requested
        };
        #[cfg(test)]
        shared.started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        #[cfg(test)]
        let gate = shared.gate.lock().unwrap_or_else(PoisonError::into_inner);
        let result = db.flush();
        #[cfg(test)]
        {
            drop(gate);
            shared.rounds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        let mut state = shared.lock();
        state.done = target;
        state.failed = result.err().map(|e| BackendError::caused("flushing to disk", e));
        announce.send_replace((target, state.failed.clone()));
        shared.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::atomic::Ordering, time::Duration};

    use super::*;

    fn flusher() -> (tempfile::TempDir, Arc<Flusher>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("open");
        (dir, Arc::new(Flusher::start(db).expect("start")))
    }

    /// Waits until `n` flush requests are registered.
    fn until_requested(f: &Flusher, n: u64) {
        while f.shared.lock().requested < n {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn writers_that_arrive_during_a_flush_share_the_next_one() {
        let (_dir, f) = flusher();
        let gate = f.shared.gate.lock().expect("gate");
        let first = std::thread::spawn({
            let f = Arc::clone(&f);
            move || f.flush()
        });
        // The flush thread has taken this request as its target and now waits at the gate.
        while f.shared.started.load(Ordering::SeqCst) < 1 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let rest: Vec<_> = (0..16)
            .map(|_| {
                let f = Arc::clone(&f);
                std::thread::spawn(move || f.flush())
            })
            .collect();
        until_requested(&f, 17);
        drop(gate);
        first.join().expect("join").expect("flush");
        for writer in rest {
            writer.join().expect("join").expect("flush");
        }
        assert_eq!(f.shared.rounds.load(Ordering::SeqCst), 2, "17 writers, 2 flushes");
    }

    #[test]
    fn async_writers_share_a_flush_and_hold_no_thread_while_they_wait() {
        let (_dir, f) = flusher();
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let gate = f.shared.gate.lock().expect("gate");
        let first = runtime.spawn(f.durable());
        while f.shared.started.load(Ordering::SeqCst) < 1 {
            std::thread::sleep(Duration::from_millis(1));
        }
        // 16 more on the same single-threaded runtime: none may block it.
        let rest: Vec<_> = (0..16).map(|_| runtime.spawn(f.durable())).collect();
        until_requested(&f, 17);
        drop(gate);
        runtime.block_on(async {
            first.await.expect("join").expect("flush");
            for writer in rest {
                writer.await.expect("join").expect("flush");
            }
        });
        assert_eq!(f.shared.rounds.load(Ordering::SeqCst), 2, "17 writers, 2 flushes");
    }

    #[test]
    fn a_writer_waiting_for_its_flush_does_not_block_the_async_runtime() {
        let (_dir, f) = flusher();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().expect("runtime");
        let gate = f.shared.gate.lock().expect("gate");
        let (done, finished) = std::sync::mpsc::channel();
        runtime.spawn({
            let f = Arc::clone(&f);
            async move { f.flush() }
        });
        until_requested(&f, 1); // the writer task is now waiting on the runtime's only worker
        runtime.spawn(async move { done.send(()).expect("send") });
        let other_task_ran = finished.recv_timeout(Duration::from_secs(10)).is_ok();
        drop(gate);
        assert!(other_task_ran, "the runtime's only worker was blocked by a waiting writer");
        runtime.shutdown_timeout(Duration::from_secs(5));
    }
}
