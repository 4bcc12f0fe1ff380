//! Deliberate crashes for the crash trials: `ODDSFLOW_CRASH_AT=POINT:K` makes the process SIGKILL
//! itself the `K`-th time worker 0 reaches `POINT` (counted from 1, in this process), so that a
//! test can kill a run exactly where a crash is most dangerous instead of hoping a random kill
//! lands there. Unset (always, outside tests), [`point`] costs one relaxed load.
//!
//! The points, in the order a durable frame passes them:
//!
//! | point | reached |
//! |---|---|
//! | `durable` | the frame is written and fsynced, the consumer offsets not yet committed |
//! | `committed` | the offsets are committed, nothing of the frame published |
//! | `sent` | the frame's messages are sent, their transaction not yet committed |
//! | `published` | the transaction is committed, the changelog does not yet say so |
//! | `frame` | all of the above done |

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// The environment variable naming the crash point.
pub const CRASH_AT: &str = "ODDSFLOW_CRASH_AT";

/// Where to crash: the point's name and the count at which to.
fn target() -> Option<&'static (String, u64)> {
    static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let v = std::env::var(CRASH_AT).ok()?;
            let (name, k) = v.split_once(':').unwrap_or((v.as_str(), "1"));
            let k = k.parse().ok().filter(|k| *k > 0)?;
            tracing::warn!(
                point = name,
                k,
                "{CRASH_AT} is set: this run will kill itself"
            );
            Some((name.to_string(), k))
        })
        .as_ref()
}

/// Counts a pass through `name`, and kills the process (SIGKILL: no destructor, no flush) if
/// this is the pass [`CRASH_AT`] names.
pub(super) fn point(name: &str) {
    let Some((want, k)) = target() else { return };
    if want != name {
        return;
    }
    static SEEN: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());
    let n = {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        let n = seen.entry(name.to_string()).or_insert(0);
        *n += 1;
        *n
    };
    if n == *k {
        eprintln!("{CRASH_AT}: killing the process at {name}:{k}");
        // `unsafe` is not allowed here, so the signal comes from kill(1); abort if it cannot.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status();
        std::thread::sleep(std::time::Duration::from_secs(5));
        std::process::abort();
    }
}
