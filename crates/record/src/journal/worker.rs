//! The journal's I/O thread: writes handed-off buffers to their segment files in order and
//! fdatasyncs on request, so that the recording loop never waits for a syscall.

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Hand-offs queued before [`Worker::submit`] waits (back-pressure from a stalled disk).
const QUEUE: usize = 8;

/// One hand-off: bytes to append to `file`, then maybe an fdatasync, then maybe a reply.
struct Job {
    file: Arc<File>,
    data: Vec<u8>,
    sync: bool,
    done: Option<mpsc::Sender<io::Result<()>>>,
}

/// Handle of the I/O thread; dropping it finishes the queued jobs and joins the thread.
#[derive(Debug)]
pub(super) struct Worker {
    tx: Option<SyncSender<Job>>,
    recycled: Receiver<Vec<u8>>,
    error: Arc<Mutex<Option<io::Error>>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn spawn() -> io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let (recycle, recycled) = mpsc::channel();
        let error = Arc::new(Mutex::new(None));
        let sink = error.clone();
        let thread = std::thread::Builder::new()
            .name("journal-io".into())
            .spawn(move || run(rx, recycle, sink))?;
        Ok(Worker {
            tx: Some(tx),
            recycled,
            error,
            thread: Some(thread),
        })
    }

    /// Queues `data` for `file` (and an fdatasync after it if `sync`); does not wait for
    /// the disk, only for room in the queue.
    pub fn submit(&self, file: &Arc<File>, data: Vec<u8>, sync: bool) -> io::Result<()> {
        self.send(Job {
            file: file.clone(),
            data,
            sync,
            done: None,
        })
    }

    /// Queues `data` for `file` followed by an fdatasync and waits until both are done.
    pub fn write_and_sync(&self, file: &Arc<File>, data: Vec<u8>) -> io::Result<()> {
        let (done, reply) = mpsc::channel();
        self.send(Job {
            file: file.clone(),
            data,
            sync: true,
            done: Some(done),
        })?;
        reply.recv().unwrap_or_else(|_| Err(gone()))
    }

    /// An empty buffer, reusing one the thread has finished with when there is one.
    pub fn buffer(&self, capacity: usize) -> Vec<u8> {
        match self.recycled.try_recv() {
            Ok(mut buf) => {
                buf.clear();
                buf
            }
            Err(_) => Vec::with_capacity(capacity),
        }
    }

    /// The first error the thread met since the last call, if any.
    pub fn take_error(&self) -> Option<io::Error> {
        self.error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn send(&self, job: Job) -> io::Result<()> {
        let tx = self.tx.as_ref().ok_or_else(gone)?;
        tx.send(job).map_err(|_| gone())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn gone() -> io::Error {
    io::Error::other("journal I/O thread is gone")
}

/// The thread: jobs in order. After a failed write, the rest of that file is skipped (a torn
/// record must stay the last thing in its segment); the next segment starts clean.
fn run(rx: Receiver<Job>, recycle: mpsc::Sender<Vec<u8>>, error: Arc<Mutex<Option<io::Error>>>) {
    let mut broken: Vec<Arc<File>> = Vec::new();
    for job in rx {
        let result = if broken.iter().any(|f| Arc::ptr_eq(f, &job.file)) {
            Err(io::Error::other(
                "journal segment dropped after a write error",
            ))
        } else {
            let written = (&*job.file).write_all(&job.data);
            if written.is_err() {
                broken.push(job.file.clone());
            }
            written.and_then(|()| {
                if job.sync {
                    job.file.sync_data()
                } else {
                    Ok(())
                }
            })
        };
        if let Err(e) = &result {
            log::error!("journal write: {e}");
            let mut slot = error.lock().unwrap_or_else(PoisonError::into_inner);
            slot.get_or_insert_with(|| io::Error::new(e.kind(), e.to_string()));
        }
        if let Some(done) = job.done {
            let _ = done.send(result);
        }
        let _ = recycle.send(job.data);
    }
}
