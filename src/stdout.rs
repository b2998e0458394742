//! Standard output that never panics: what `say!` writes through.

use std::io::Write as _;
use std::sync::Mutex;

/// The first failure to write standard output, other than a closed pipe.
static FAILURE: Mutex<Option<String>> = Mutex::new(None);
static CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(crate) fn say(text: std::fmt::Arguments<'_>) {
    use std::sync::atomic::Ordering::Relaxed;
    if CLOSED.load(Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_fmt(text).and_then(|()| out.write_all(b"\n")) {
        CLOSED.store(true, Relaxed);
        if error.kind() != std::io::ErrorKind::BrokenPipe {
            let mut failure = FAILURE.lock().unwrap_or_else(|e| e.into_inner());
            failure.get_or_insert(error.to_string());
        }
    }
}

/// The remembered failure, after flushing what is still buffered.
pub(crate) fn failure() -> Option<String> {
    if !CLOSED.load(std::sync::atomic::Ordering::Relaxed)
        && let Err(error) = std::io::stdout().lock().flush()
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Some(error.to_string());
    }
    FAILURE.lock().unwrap_or_else(|e| e.into_inner()).clone()
}
