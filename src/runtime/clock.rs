//! The feed clock and the times records are sent at, shared by replay and live.
//!
//! Dataflow timestamps are event time in UTC ms rounded down to the granularity. The feed clock is
//! the largest event time read so far; the input frontier is the clock minus the lateness, rounded
//! down. A record is sent at its own rounded event time or, if that is already behind the
//! frontier, at the frontier (it is *late*). A live run records where it sent what as
//! [`Reclock`] entries, so that a restart sends the same records at the same times.

use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::reject::{DeadLetter, RejectReason};
use oddsflow_dataflows::wire::to_json_line;

fn rounded(ts: i64, granularity: u64) -> Time {
    let t = ts.max(0) as u64;
    t - t % granularity
}

/// The time a source gives a record with event time `ts` (`None`: unreadable) while it may send
/// from `cap`: its own event time rounded down to the granularity, or `cap` if that is earlier
/// (the record is *late*). Returns the time and whether the record was late.
pub(crate) fn time_for(ts: Option<i64>, cap: Time, granularity: u64) -> (Time, bool) {
    match ts.filter(|ts| *ts >= 0) {
        Some(ts) if rounded(ts, granularity) >= cap => (rounded(ts, granularity), false),
        Some(_) => (cap, true),
        None => (cap, false),
    }
}

/// The input frontier that a feed clock (the largest event time read) allows: the clock minus
/// the lateness, rounded down to the granularity.
pub(crate) fn frontier_for(clock: i64, lateness_ms: u64, granularity: u64) -> Time {
    rounded(clock.saturating_sub(lateness_ms as i64), granularity)
}

/// A boundary in one partition's record sequence: the records of `partition` before offset
/// `end` (and from the previous boundary on) were sent at their own rounded event time, or
/// `cap` if that was earlier.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Reclock {
    /// The Kafka partition.
    pub partition: i32,
    /// The offset the region ends before.
    pub end: i64,
    /// The earliest time its records were sent at.
    pub cap: Time,
    /// Records read in the region, and how many of them were late.
    pub records: u64,
    /// How many of them were late.
    pub late: u64,
    /// Records of the partition refused as `future_ts` since the last entry (a rebuild
    /// repeats these verdicts instead of judging again: the live guard's verdicts depend on
    /// how partitions interleave, and the wall clock has moved on).
    pub refused: Vec<Refusal>,
    /// The offsets of the partition's records its guard held, undecided, when the entry was
    /// made: a restart from here holds them again (their verdicts were not yet given).
    pub held: Vec<i64>,
}

/// A live record refused as `future_ts`, as a reclock entry remembers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Refusal {
    /// The record's offset in its partition.
    pub offset: i64,
    /// The time its dead letter was sent at.
    pub at: Time,
    /// Refused against the wall clock (else: by the feed clock's guard).
    pub wall: bool,
}

/// The time a live run's changelog assigned one record: what a restart's rebuild sends it at,
/// and what [`replay_assigned`](crate::runtime::replay::replay_assigned) does offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assigned {
    /// Sent at its own rounded event time, or at this cap if that is earlier (late).
    Under(Time),
    /// Refused as `future_ts`: its dead letter at the refusal's time.
    Refused(Refusal),
}

/// The dead letter a record refused as `r` gets (the same on the first run, a rebuild and an
/// offline replay of the assignment).
pub(crate) fn refusal_letter(
    r: &Refusal,
    seq: u64,
    item: Payload,
    ts: Option<i64>,
    cfg: &GuardConfig,
) -> DeadLetter {
    let ts = ts.unwrap_or(0);
    if r.wall {
        let line = match item {
            Payload::Line(line) => line,
            Payload::Decoded(r) => to_json_line(&r),
        };
        future_wall_ts(seq, line, ts, cfg)
    } else {
        future_ts(seq, item, ts, cfg)
    }
}

/// How far ahead of the feed clock a record may be before the [`ClockGuard`] holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuardConfig {
    /// A record more than this far ahead of the feed clock (ms) is held until the feed confirms
    /// its time; one that is never confirmed is dead-lettered as `future_ts`.
    pub max_ahead_ms: u64,
    /// Reads (the held record included) at or after its time minus `max_ahead_ms` that confirm
    /// a held record's time: fewer outliers than this can never move the clock.
    pub quorum: u32,
    /// Reads a record may stay held before it is refused.
    pub patience: u64,
    /// At the end of the feed, a held record that is at most this far (ms) ahead of the clock
    /// is accepted (nothing is left for it to make late); one further ahead is refused.
    pub max_tail_ms: u64,
    /// Live runs only: a record more than this far (ms) ahead of the wall clock is refused as
    /// soon as it is read.
    pub max_wall_ahead_ms: u64,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            max_ahead_ms: 60_000,
            quorum: 8,
            patience: 10_000,
            max_tail_ms: 7 * crate::time::DAY_MS as u64,
            max_wall_ahead_ms: crate::time::DAY_MS as u64,
        }
    }
}

impl GuardConfig {
    /// Refuses settings under which the guard could not work.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.quorum >= 1,
            "the clock guard's quorum must be at least 1"
        );
        anyhow::ensure!(
            self.patience >= u64::from(self.quorum),
            "the clock guard's patience ({}) must be at least its quorum ({})",
            self.patience,
            self.quorum
        );
        Ok(())
    }
}

/// What the [`ClockGuard`] says of a record, in the order records are to be sent.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict<T> {
    /// Send it (its event time, if readable); the clock has taken it into account.
    Pass(Option<i64>, T),
    /// Refuse it as `future_ts` (its event time).
    Future(T, i64),
}

/// A record held by the guard.
#[derive(Debug)]
struct Held<T> {
    ts: i64,
    /// The read that held it (reads are counted from 1).
    read: u64,
    /// Reads, this one included, with an event time at or after `ts − max_ahead_ms`.
    agree: u64,
    item: T,
}

/// The feed clock, kept safe from outliers: the largest event time of the records it passed.
///
/// A record at most `max_ahead_ms` ahead of the clock passes at once (so does one whose time
/// cannot be read: the parser refuses it). One further ahead — or any record before the clock
/// has been set — is *held*: it neither moves the clock nor is sent. A held record is released,
/// in read order with the others so released, once `quorum` reads (itself included) have had
/// event times at or after its own minus `max_ahead_ms` (the feed has really moved on: the next
/// match day of a recorded season, the first records of a feed), or once the clock has come
/// within `max_ahead_ms` of it. One held for `patience` reads is refused (`future_ts`): a
/// corrupt digit or a time in microseconds. So neither one record nor `quorum − 1` of them can
/// move the clock, not even at the start of a feed, and nothing sent is ever made late by one.
///
/// Decisions depend only on the sequence of event times, so every worker that reads the same
/// sequence (a replay's whole feed, a live partition from its beginning) decides alike.
pub(crate) struct ClockGuard<T> {
    cfg: GuardConfig,
    clock: Option<i64>,
    reads: u64,
    held: Vec<Held<T>>,
    out: Vec<Verdict<T>>,
}

impl<T> ClockGuard<T> {
    pub(crate) fn new(cfg: &GuardConfig) -> Self {
        ClockGuard {
            cfg: cfg.clone(),
            clock: None,
            reads: 0,
            held: Vec::new(),
            out: Vec::new(),
        }
    }

    /// The feed clock: the largest event time passed (`None` before the first).
    #[cfg(test)]
    pub(crate) fn clock(&self) -> Option<i64> {
        self.clock
    }

    /// Moves the clock to `ts` if that is later, without judging it (a live run's rebuilt
    /// records: judged in the run that first read them).
    pub(crate) fn observe(&mut self, ts: i64) {
        self.clock = Some(self.clock.map_or(ts, |c| c.max(ts)));
    }

    /// The records held now, in read order.
    pub(crate) fn held_items(&self) -> impl Iterator<Item = &T> {
        self.held.iter().map(|h| &h.item)
    }

    /// The earliest event time held (a live worker keeps its capability at or before it, so
    /// that a held record, once released, is never late).
    pub(crate) fn earliest_held(&self) -> Option<i64> {
        self.held.iter().map(|h| h.ts).min()
    }

    fn ahead(&self) -> i64 {
        self.cfg.max_ahead_ms.min(i64::MAX as u64 / 4) as i64
    }

    fn pass(&mut self, ts: Option<i64>, item: T) {
        if let Some(ts) = ts {
            self.clock = Some(self.clock.map_or(ts, |c| c.max(ts)));
        }
        self.out.push(Verdict::Pass(ts, item));
    }

    /// Reads one record with event time `ts` (`None`: unreadable or negative). Its verdict, and
    /// those of any held records it settles, are then in [`ClockGuard::drain`].
    pub(crate) fn push(&mut self, ts: Option<i64>, item: T) {
        self.reads += 1;
        let ahead = self.ahead();
        let Some(t) = ts else {
            self.out.push(Verdict::Pass(None, item));
            self.settle();
            return;
        };
        for h in &mut self.held {
            if t >= h.ts.saturating_sub(ahead) {
                h.agree += 1;
            }
        }
        if self.clock.is_some_and(|c| t <= c.saturating_add(ahead)) {
            self.pass(Some(t), item);
        } else {
            self.held.push(Held {
                ts: t,
                read: self.reads,
                agree: 1,
                item,
            });
        }
        self.settle();
    }

    /// Releases what the reads so far confirm, and refuses what waited too long.
    fn settle(&mut self) {
        let ahead = self.ahead();
        let quorum = u64::from(self.cfg.quorum);
        loop {
            // The earliest confirmed time, or the clock, sets how far may now be released.
            let confirmed = self
                .held
                .iter()
                .filter(|h| h.agree >= quorum)
                .map(|h| h.ts)
                .min();
            let reach = match (confirmed, self.clock) {
                (Some(t), Some(c)) => t.max(c),
                (Some(t), None) => t,
                (None, Some(c)) => c,
                (None, None) => break,
            }
            .saturating_add(ahead);
            if !self.held.iter().any(|h| h.ts <= reach) {
                break;
            }
            let (go, stay): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
                .into_iter()
                .partition(|h| h.ts <= reach);
            self.held = stay;
            for h in go {
                self.pass(Some(h.ts), h.item);
            }
        }
        let patience = self.cfg.patience.max(1);
        while self
            .held
            .first()
            .is_some_and(|h| self.reads - h.read >= patience)
        {
            let h = self.held.remove(0);
            self.out.push(Verdict::Future(h.item, h.ts));
        }
    }

    /// The end of the feed: held records at most `max_tail_ms` ahead of the clock pass (in read
    /// order), the others are refused.
    pub(crate) fn finish(&mut self) {
        let tail = self.cfg.max_tail_ms.min(i64::MAX as u64 / 4) as i64;
        for h in std::mem::take(&mut self.held) {
            match self.clock {
                Some(c) if h.ts > c.saturating_add(tail) => {
                    self.out.push(Verdict::Future(h.item, h.ts))
                }
                _ => self.pass(Some(h.ts), h.item),
            }
        }
    }

    /// The verdicts given since the last call, in the order to send them.
    pub(crate) fn drain(&mut self) -> std::vec::Drain<'_, Verdict<T>> {
        self.out.drain(..)
    }
}

/// The dead letter of a record with event time `ts` that the guard refused under `cfg` (its
/// detail depends only on the record and the settings: a rebuild writes the same).
pub(crate) fn future_ts(seq: u64, item: Payload, ts: i64, cfg: &GuardConfig) -> DeadLetter {
    DeadLetter {
        seq,
        reason: RejectReason::FutureTs,
        detail: format!(
            "event time {ts} is more than {} ms ahead of the feed clock, and the {} records after it did not confirm it",
            cfg.max_ahead_ms, cfg.patience
        ),
        record: match item {
            Payload::Line(line) => line,
            Payload::Decoded(r) => to_json_line(&r),
        },
    }
}

/// The dead letter of a live record with event time `ts`, more than `cfg.max_wall_ahead_ms`
/// ahead of the wall clock when it was read.
pub(crate) fn future_wall_ts(seq: u64, line: String, ts: i64, cfg: &GuardConfig) -> DeadLetter {
    DeadLetter {
        seq,
        reason: RejectReason::FutureTs,
        detail: format!(
            "event time {ts} was more than {} ms ahead of the wall clock when read",
            cfg.max_wall_ahead_ms
        ),
        record: line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    /// Runs `times` through a guard: the passed items in order, the refused ones, and the clock.
    fn guard(times: &[i64], cfg: &GuardConfig) -> (Vec<usize>, Vec<usize>, Option<i64>) {
        let mut g = ClockGuard::new(cfg);
        let (mut passed, mut refused) = (Vec::new(), Vec::new());
        let mut take = |g: &mut ClockGuard<usize>| {
            for v in g.drain() {
                match v {
                    Verdict::Pass(_, i) => passed.push(i),
                    Verdict::Future(i, _) => refused.push(i),
                }
            }
        };
        for (i, t) in times.iter().enumerate() {
            g.push(Some(*t), i);
            take(&mut g);
        }
        g.finish();
        take(&mut g);
        (passed, refused, g.clock())
    }

    /// A dense feed: one record a second from `start`.
    fn dense(start: i64, n: usize) -> Vec<i64> {
        (0..n as i64).map(|i| start + i * 1_000).collect()
    }

    #[test]
    fn an_outlier_in_the_middle_is_refused_and_does_not_move_the_clock() {
        let mut t = dense(1_000_000_000, 20_000);
        let clean_max = *t.last().expect("a feed");
        t.insert(5_000, 1_000_000_000 * 1_000); // the same time in microseconds
        t.insert(9_000, t[9_000] + 3 * 3_600_000); // a digit flipped: 3 h ahead
        let (passed, refused, clock) = guard(&t, &GuardConfig::default());
        assert_eq!(refused, [5_000, 9_000]);
        assert_eq!(passed.len(), t.len() - 2);
        assert_eq!(clock, Some(clean_max));
        // The others pass in read order.
        assert!(passed.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn fewer_outliers_than_the_quorum_cannot_set_the_clock_at_the_start() {
        let cfg = GuardConfig::default();
        let far = 50_000_000_000_000;
        let mut t: Vec<i64> = (0..cfg.quorum as i64 - 1).map(|i| far + i).collect();
        t.extend(dense(1_000_000_000, 20_000));
        let (passed, refused, clock) = guard(&t, &cfg);
        assert_eq!(refused, (0..cfg.quorum as usize - 1).collect::<Vec<_>>());
        assert_eq!(passed.len(), 20_000);
        assert_eq!(clock, Some(1_000_000_000 + 19_999 * 1_000));
    }

    #[test]
    fn a_real_jump_is_followed_and_nothing_is_refused() {
        // Three match days a week apart, each a burst of records; a sparse tail (a result two
        // hours after the last record).
        let mut t = Vec::new();
        for day in 0..3 {
            t.extend(dense(1_000_000_000 + day * 7 * DAY, 500));
        }
        let last = *t.last().expect("a feed");
        t.push(last + 2 * 3_600_000);
        let (passed, refused, clock) = guard(&t, &GuardConfig::default());
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(passed, (0..t.len()).collect::<Vec<_>>());
        assert_eq!(clock, Some(last + 2 * 3_600_000));
    }

    const DAY: i64 = crate::time::DAY_MS;

    #[test]
    fn an_early_record_waits_for_the_clock_and_is_not_lost() {
        let mut t = dense(1_000_000_000, 1_000);
        // A record 5 minutes early, read at 100: it is sent once the clock is a minute from it.
        t.insert(100, t[100] + 5 * MIN);
        let (passed, refused, _) = guard(&t, &GuardConfig::default());
        assert!(refused.is_empty());
        let at = passed
            .iter()
            .position(|i| *i == 100)
            .expect("record 100 passed");
        assert_eq!(passed.len(), t.len());
        // Released right after the record that brought the clock within a minute of it: the
        // 241 records of the 4 minutes after it (read positions 101..=341) go first.
        assert_eq!(at, 100 + 4 * 60 + 1);
    }

    #[test]
    fn the_end_of_a_feed_keeps_a_plausible_tail_and_refuses_an_absurd_one() {
        let mut t = dense(1_000_000_000, 100);
        t.push(1_000_000_000 + 3 * DAY);
        t.push(1_000_000_000 * 1_000);
        let (passed, refused, _) = guard(&t, &GuardConfig::default());
        assert_eq!(refused, [101]);
        assert_eq!(passed, (0..101).collect::<Vec<_>>());
        // A feed shorter than the quorum is judged the same way from its first record.
        let (passed, refused, _) = guard(&[5, 2 * DAY, 3 * DAY, 30 * DAY], &GuardConfig::default());
        assert_eq!((passed, refused), (vec![0, 1, 2], vec![3]));
    }

    /// Randomised against the rule's promise: on a feed of sorted bursts separated by gaps of
    /// any size, with up to `quorum − 1` outliers far ahead injected anywhere,
    /// exactly the outliers are refused, the rest pass in read order, and the
    /// clock ends at the clean feed's largest time.
    #[test]
    fn randomised_feeds_with_outliers() {
        let cfg = GuardConfig {
            patience: 2_000,
            ..GuardConfig::default()
        };
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(18);
        for case in 0..200 {
            let mut clean = Vec::new();
            let mut t = 1_000_000_000 + rng.random_range(0..1_000_000) as i64;
            for _ in 0..1 + rng.random_range(0..5) {
                for _ in 0..cfg.quorum as u64 + rng.random_range(0..3_000) {
                    t += rng.random_range(0..3_000) as i64;
                    clean.push(t);
                }
                t += rng.random_range(0..30 * DAY as u64) as i64;
            }
            let mut feed: Vec<(i64, bool)> = clean.iter().map(|t| (*t, false)).collect();
            let outliers = rng.random_range(0..cfg.quorum as u64) as usize;
            let mut at = Vec::new();
            for k in 0..outliers {
                // Spread over the feed, each far beyond its end.
                let slot = (k * (feed.len() / outliers.max(1))).min(feed.len());
                let ahead = 400 * DAY + rng.random_range(0..1u64 << 40) as i64;
                at.push(slot);
                feed.insert(slot, (clean.last().expect("a burst") + ahead, true));
            }
            let times: Vec<i64> = feed.iter().map(|(t, _)| *t).collect();
            let (passed, refused, clock) = guard(&times, &cfg);
            let want_refused: Vec<usize> = (0..feed.len()).filter(|i| feed[*i].1).collect();
            let want_passed: Vec<usize> = (0..feed.len()).filter(|i| !feed[*i].1).collect();
            assert_eq!(refused, want_refused, "case {case}");
            assert_eq!(passed, want_passed, "case {case}");
            assert_eq!(clock, clean.last().copied(), "case {case}");
        }
    }
}
