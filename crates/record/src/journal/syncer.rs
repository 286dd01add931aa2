//! The journal's fdatasync thread: the recording loop writes every record itself (write(2),
//! so a process kill loses nothing), and hands the fdatasync that protects against a power
//! cut to this thread, so that it never waits for the disk.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// One request: fdatasync `file` (or fsync the directory `dir`), then maybe reply.
struct Job {
    file: Arc<File>,
    dir: Option<PathBuf>,
    done: Option<Sender<io::Result<()>>>,
}

/// Handle of the thread; dropping it finishes the queued requests and joins the thread.
#[derive(Debug)]
pub(super) struct Syncer {
    tx: Option<Sender<Job>>,
    error: Arc<Mutex<Option<io::Error>>>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    pub fn spawn() -> io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let error = Arc::new(Mutex::new(None));
        let sink = error.clone();
        let thread = std::thread::Builder::new()
            .name("journal-sync".into())
            .spawn(move || run(rx, sink))?;
        Ok(Syncer {
            tx: Some(tx),
            error,
            thread: Some(thread),
        })
    }

    /// Asks for an fdatasync of `file` without waiting (requests queued meanwhile are
    /// served by one fdatasync per file).
    pub fn request(&self, file: &Arc<File>) -> io::Result<()> {
        self.send(Job {
            file: file.clone(),
            dir: None,
            done: None,
        })
    }

    /// Asks for an fsync of the directory `dir` (a segment created in it) without waiting;
    /// later requests are served after it.
    pub fn request_dir(&self, file: &Arc<File>, dir: PathBuf) -> io::Result<()> {
        self.send(Job {
            file: file.clone(),
            dir: Some(dir),
            done: None,
        })
    }

    /// fdatasyncs `file` (after every earlier request) and waits for it.
    pub fn sync_and_wait(&self, file: &Arc<File>) -> io::Result<()> {
        let (done, reply) = mpsc::channel();
        self.send(Job {
            file: file.clone(),
            dir: None,
            done: Some(done),
        })?;
        reply.recv().unwrap_or_else(|_| Err(gone()))
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

impl Drop for Syncer {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn gone() -> io::Error {
    io::Error::other("journal sync thread is gone")
}

/// The thread: takes every request queued, fdatasyncs each file once, answers the waiters.
fn run(rx: Receiver<Job>, error: Arc<Mutex<Option<io::Error>>>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        jobs.extend(rx.try_iter());
        let mut files: Vec<(Arc<File>, io::Result<()>)> = Vec::new();
        for job in jobs {
            let note = |r: &io::Result<()>, what: &str| {
                if let Err(e) = r {
                    log::error!("journal {what}: {e}");
                    let mut slot = error.lock().unwrap_or_else(PoisonError::into_inner);
                    slot.get_or_insert_with(|| io::Error::new(e.kind(), e.to_string()));
                }
            };
            let result = match (
                &job.dir,
                files.iter().find(|(f, _)| Arc::ptr_eq(f, &job.file)),
            ) {
                (Some(dir), _) => {
                    let r = dataset::fs::sync_dir(dir);
                    note(&r, "directory fsync");
                    r
                }
                (None, Some((_, r))) => copy(r),
                (None, None) => {
                    let r = job.file.sync_data();
                    note(&r, "fdatasync");
                    files.push((job.file.clone(), copy(&r)));
                    r
                }
            };
            if let Some(done) = job.done {
                let _ = done.send(result);
            }
        }
    }
}

fn copy(r: &io::Result<()>) -> io::Result<()> {
    match r {
        Ok(()) => Ok(()),
        Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
    }
}
