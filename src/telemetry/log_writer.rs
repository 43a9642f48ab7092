//! Log lines leave the runtime threads: each formatted line is handed over a bounded channel to
//! one writer thread, which writes whatever has queued up with one `write` to stdout. After each
//! batch it pauses for [`GATHER`], so under load the lines of that time go out together and no
//! line has to wake the thread: one system call per batch instead of a `write` (and a wake-up)
//! per line on the thread serving the request (issue 15). When the channel is empty the thread
//! blocks, and the next line wakes it. Nothing is dropped: when the channel is full (stdout blocked), the
//! logging thread waits, as it would writing to stdout itself. [`flush`] waits until every line
//! logged before it is written; the binary calls it before exiting.

use std::io::Write as _;
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Lines queued at most before a logging thread waits.
const QUEUED_LINES: usize = 16_384;
/// Bytes written at most per `write` call.
const BATCH_BYTES: usize = 64 * 1024;
/// How long the writer gathers lines after writing a batch: what a log line may wait.
const GATHER: Duration = Duration::from_millis(1);

enum Message {
    Line(Vec<u8>),
    /// Answered once every line sent before it is written.
    Flush(SyncSender<()>),
}

/// `None` when the writer thread could not be started: lines are then written by the caller.
static WRITER: OnceLock<Option<SyncSender<Message>>> = OnceLock::new();

/// The writer for the log layer: lines go to the writer thread, started on first use.
#[derive(Clone, Copy, Default)]
pub struct NonBlockingStdout;

/// One formatted line (the fmt layer writes each event with one `write_all`).
pub struct Line(Option<&'static SyncSender<Message>>);

impl<'a> MakeWriter<'a> for NonBlockingStdout {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(sender())
    }
}

impl std::io::Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0 {
            // The thread is gone only if writing to stdout panicked; then the line is lost as
            // it would be with stdout closed.
            Some(sender) => {
                let _ = sender.send(Message::Line(buf.to_vec()));
                Ok(buf.len())
            }
            None => std::io::stdout().lock().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn sender() -> Option<&'static SyncSender<Message>> {
    WRITER
        .get_or_init(|| {
            let (sender, receiver) = sync_channel(QUEUED_LINES);
            let thread = std::thread::Builder::new().name("log-writer".to_owned());
            thread.spawn(move || write_lines(&receiver)).ok().map(|_| sender)
        })
        .as_ref()
}

fn write_lines(receiver: &Receiver<Message>) {
    let mut batch = Vec::with_capacity(BATCH_BYTES);
    let mut flushes = Vec::new();
    while let Ok(first) = receiver.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Line(line) => batch.extend_from_slice(&line),
                Message::Flush(done) => flushes.push(done),
            }
            if batch.len() < BATCH_BYTES {
                next = receiver.try_recv().ok();
            }
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(&batch).and_then(|()| stdout.flush());
        batch.clear();
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
        std::thread::sleep(GATHER);
    }
}

/// Wait (at most `timeout`) until every line logged so far is written.
pub fn flush(timeout: Duration) {
    let Some(Some(sender)) = WRITER.get() else { return };
    let (done, written) = sync_channel(1);
    if sender.send(Message::Flush(done)).is_ok() {
        let _ = written.recv_timeout(timeout);
    }
}
