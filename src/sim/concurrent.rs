//! A streaming feed with a chosen number of matches **in play at once**, for benchmarks: 100,
//! 1,000 or 10,000 concurrent matches, or a long feed whose live count stays fixed.
//!
//! The calendar simulator ([`super::simulate`]) is bounded by its world (a team plays one match
//! at a time, 128 teams by default) and holds the whole feed in memory. This feed instead plays
//! **copies of a template**: `template` matches are simulated once (typical noise by default), and
//! match `j` of the output is template match `j mod template`, re-timed and renumbered:
//!
//! * **Schedule.** Matches kick off in *waves* of `concurrent`: wave `w`'s kick-offs are spread
//!   evenly over `ramp_ms` from `start_ms + w·period`, where `period = ramp_ms` plus the longest
//!   template match (kick-off to its last in-play record), so a wave has finished before the next
//!   kicks off. With `ramp_ms` equal to a match's length the kick-offs roll on at a steady rate;
//!   with a short ramp every match of a wave is in play together for most of the match.
//! * **Time.** A record `r` ms after its template kick-off is `r` ms after the copy's kick-off;
//!   one `r` ms *before* (the prematch part: fixture 24–48 h, markets 2–6 h, lineups ~1 h
//!   before) is `r · prematch_scale` ms before, so prematch bulletins of later waves do not pile
//!   up for days. File order (`eff`) is mapped the same way, so the template's reordering,
//!   duplicates and stale versions keep their shape. Malformed lines are copied unchanged.
//! * **Ids.** Match ids count from `first_match_id`; copy `c = j / template` adds `c·1000` to
//!   team ids and `c·100000` to player ids (the template's ids are below those strides), so
//!   each copy is its own world of teams and players. Two matches of one copy may overlap in
//!   time (a team plays twice at once); the dataflows do not mind.
//! * **Horizon.** `horizon_ms` cuts the feed that long after the first kick-off (a benchmark of
//!   10,000 concurrent matches need not play every match to the end).
//!
//! Items come out in file order — (mapped file time, match id, template position) — merged
//! lazily from cursors into the shared template, so memory holds the template and one cursor per
//! open match, whatever the feed's length. There is no truth channel.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::{
    Body, EventTime, IncidentDetail, MatchId, MatchStatus, PlayerId, Record, TeamId,
};

use super::{NoiseConfig, SimConfig, Simulated, simulate_each};

const TEAM_STRIDE: TeamId = 1_000;
const PLAYER_STRIDE: PlayerId = 100_000;

/// What shapes a concurrent feed (see the module docs): waves of matches in play at once,
/// copied from a few simulated template matches.
#[derive(Clone, Debug, PartialEq)]
pub struct ConcurrentConfig {
    /// Matches kicked off per wave: the number in play at once.
    pub concurrent: usize,
    /// Number of waves (the feed has `concurrent · waves` matches).
    pub waves: usize,
    /// Kick-offs of a wave are spread evenly over this long (ms). `None`: one match length, so
    /// kick-offs roll on at a steady rate.
    pub ramp_ms: Option<i64>,
    /// Cut the feed this long after the first kick-off (ms).
    pub horizon_ms: Option<i64>,
    /// How much the prematch part of a match (before kick-off) is compressed.
    pub prematch_scale: f64,
    /// Template matches simulated once and copied.
    pub template: usize,
    /// Seed of the template matches' simulation.
    pub seed: u64,
    /// Feed noise of the template matches.
    pub noise: NoiseConfig,
    /// First kick-off, UTC ms.
    pub start_ms: i64,
    /// Match id of the first match; the others follow.
    pub first_match_id: MatchId,
}

impl Default for ConcurrentConfig {
    fn default() -> Self {
        ConcurrentConfig {
            concurrent: 100,
            waves: 1,
            ramp_ms: None,
            horizon_ms: None,
            prematch_scale: 1.0 / 24.0,
            template: 128,
            seed: 1,
            noise: NoiseConfig::typical(),
            start_ms: super::DEFAULT_START_MS,
            first_match_id: 1_000_001,
        }
    }
}

impl ConcurrentConfig {
    /// Checks the config (positive sizes, a scale in (0, 1], ids that do not overflow).
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.concurrent == 0 || self.waves == 0 || self.template == 0 {
            return Err("concurrent, waves and template must be positive".into());
        }
        if !(self.prematch_scale > 0.0 && self.prematch_scale <= 1.0) {
            return Err(format!(
                "prematch_scale = {} is outside (0, 1]",
                self.prematch_scale
            ));
        }
        if matches!(self.ramp_ms, Some(r) if r < 0) || matches!(self.horizon_ms, Some(h) if h < 0) {
            return Err("ramp and horizon must not be negative".into());
        }
        let copies = (self.matches() - 1) / self.template;
        if copies as u64 * PLAYER_STRIDE as u64 >= u32::MAX as u64 - PLAYER_STRIDE as u64 {
            return Err(format!(
                "{} matches of a {}-match template overflow player ids",
                self.matches(),
                self.template
            ));
        }
        if self.start_ms < 3 * super::DAY_MS {
            return Err("start_ms must leave room for prematch records".into());
        }
        Ok(())
    }

    /// Matches in the feed: `concurrent · waves`.
    pub fn matches(&self) -> usize {
        self.concurrent * self.waves
    }
}

/// One template match: its items and times relative to its kick-off.
struct TemplateMatch {
    kickoff: EventTime,
    /// Kick-off to its last in-play status (finished or abandoned), ms.
    length_ms: i64,
    items: Vec<super::noise::Item>,
}

struct Template {
    matches: Vec<TemplateMatch>,
}

impl Template {
    fn build(cfg: &ConcurrentConfig) -> Template {
        let sim = SimConfig {
            matches: cfg.template,
            seed: cfg.seed,
            noise: cfg.noise.clone(),
            ..SimConfig::default()
        };
        let matches = simulate_each(&sim)
            .into_iter()
            .map(|s: Simulated| {
                let kickoff = s.summary.kickoff;
                let end = s
                    .items
                    .iter()
                    .filter_map(|i| match &i.payload {
                        Payload::Decoded(Record {
                            ts,
                            body: Body::Status(st),
                            ..
                        }) if matches!(
                            st.status,
                            MatchStatus::Finished | MatchStatus::Abandoned
                        ) =>
                        {
                            Some(*ts)
                        }
                        _ => None,
                    })
                    .max()
                    .unwrap_or(kickoff);
                TemplateMatch {
                    kickoff,
                    length_ms: end - kickoff,
                    items: s.items,
                }
            })
            .collect();
        Template { matches }
    }
}

/// One match of the output: which template match, re-timed to which kick-off.
#[derive(Clone, Copy)]
struct Copy {
    template: usize,
    kickoff: EventTime,
    match_id: MatchId,
    team_offset: TeamId,
    player_offset: PlayerId,
}

/// The concurrent feed, an iterator of [`Payload`]s in file order. See the module docs.
pub struct ConcurrentFeed {
    template: Arc<Template>,
    scale: f64,
    cut: Option<i64>,
    copies: Vec<Copy>,
    /// Matches by the mapped file time of their first item, not yet opened.
    pending: Vec<(i64, usize)>,
    next_pending: usize,
    /// Open matches: (mapped eff of the next item, match id, position in the template, copy).
    heap: BinaryHeap<Reverse<(i64, MatchId, usize, usize)>>,
    /// Statistics: in-play intervals as (kick-off, end), sorted by kick-off and by end.
    starts: Vec<i64>,
    ends: Vec<i64>,
    started: usize,
    ended: usize,
    stats: ConcurrentStats,
}

/// What a [`ConcurrentFeed`] has produced so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ConcurrentStats {
    /// Feed items produced.
    pub items: u64,
    /// Most matches in play (between kick-off and their last in-play record) at one item.
    pub peak_live: usize,
    /// Matches in play, averaged over items.
    pub mean_live: f64,
}

impl ConcurrentFeed {
    /// Simulates the template matches and lays out the copies; an error for an invalid config.
    pub fn new(cfg: &ConcurrentConfig) -> Result<ConcurrentFeed, String> {
        cfg.validate()?;
        let template = Template::build(cfg);
        let longest = template
            .matches
            .iter()
            .map(|m| m.length_ms)
            .max()
            .unwrap_or(0);
        let mean_length = template.matches.iter().map(|m| m.length_ms).sum::<i64>()
            / template.matches.len().max(1) as i64;
        let ramp = cfg.ramp_ms.unwrap_or(mean_length).max(0);
        let period = ramp + longest + super::MIN_MS;
        let n = cfg.concurrent as i64;
        let mut copies = Vec::with_capacity(cfg.matches());
        for j in 0..cfg.matches() {
            let (wave, k) = ((j / cfg.concurrent) as i64, (j % cfg.concurrent) as i64);
            let c = (j / cfg.template) as u32;
            copies.push(Copy {
                template: j % cfg.template,
                kickoff: cfg.start_ms + wave * period + k * ramp / n,
                match_id: cfg.first_match_id + j as MatchId,
                team_offset: c * TEAM_STRIDE,
                player_offset: c * PLAYER_STRIDE,
            });
        }
        let scale = cfg.prematch_scale;
        let cut = cfg.horizon_ms.map(|h| cfg.start_ms + h);
        let mut pending: Vec<(i64, usize)> = copies
            .iter()
            .enumerate()
            .filter_map(|(j, c)| {
                let m = &template.matches[c.template];
                m.items
                    .first()
                    .map(|i| (map_time(i.eff, m.kickoff, c.kickoff, scale), j))
            })
            .collect();
        pending.sort_unstable_by_key(|&(t, j)| (t, copies[j].match_id));
        let mut starts: Vec<i64> = copies.iter().map(|c| c.kickoff).collect();
        let mut ends: Vec<i64> = copies
            .iter()
            .map(|c| c.kickoff + template.matches[c.template].length_ms)
            .collect();
        starts.sort_unstable();
        ends.sort_unstable();
        Ok(ConcurrentFeed {
            template: Arc::new(template),
            scale,
            cut,
            copies,
            pending,
            next_pending: 0,
            heap: BinaryHeap::new(),
            starts,
            ends,
            started: 0,
            ended: 0,
            stats: ConcurrentStats::default(),
        })
    }

    /// What the feed has produced so far.
    pub fn stats(&self) -> ConcurrentStats {
        self.stats
    }

    fn key(&self, j: usize, pos: usize) -> Option<Reverse<(i64, MatchId, usize, usize)>> {
        let c = &self.copies[j];
        let m = &self.template.matches[c.template];
        m.items.get(pos).map(|i| {
            Reverse((
                map_time(i.eff, m.kickoff, c.kickoff, self.scale),
                c.match_id,
                pos,
                j,
            ))
        })
    }

    fn count_live(&mut self, eff: i64) {
        while self.started < self.starts.len() && self.starts[self.started] <= eff {
            self.started += 1;
        }
        while self.ended < self.ends.len() && self.ends[self.ended] < eff {
            self.ended += 1;
        }
        let live = self.started.saturating_sub(self.ended);
        let s = &mut self.stats;
        s.items += 1;
        s.peak_live = s.peak_live.max(live);
        s.mean_live += (live as f64 - s.mean_live) / s.items as f64;
    }
}

impl Iterator for ConcurrentFeed {
    type Item = Payload;

    fn next(&mut self) -> Option<Payload> {
        // Open every match whose first item comes before the earliest open one.
        while let Some(&(t, j)) = self.pending.get(self.next_pending) {
            let first = (t, self.copies[j].match_id);
            match self.heap.peek() {
                Some(Reverse((e, m, _, _))) if (*e, *m) < first => break,
                _ => {
                    self.next_pending += 1;
                    if let Some(k) = self.key(j, 0) {
                        self.heap.push(k);
                    }
                }
            }
        }
        let Reverse((eff, _, pos, j)) = self.heap.pop()?;
        if matches!(self.cut, Some(cut) if eff > cut) {
            self.heap.clear();
            self.next_pending = self.pending.len();
            return None;
        }
        if let Some(k) = self.key(j, pos + 1) {
            self.heap.push(k);
        }
        self.count_live(eff);
        let c = self.copies[j];
        let m = &self.template.matches[c.template];
        Some(match &m.items[pos].payload {
            Payload::Line(l) => Payload::Line(retime_line(l, m.kickoff, &c, self.scale)),
            Payload::Decoded(r) => Payload::Decoded(retime(r, m.kickoff, &c, self.scale)),
        })
    }
}

/// A template time `t` (kick-off `from`) on a copy kicking off at `to`.
fn map_time(t: i64, from: EventTime, to: EventTime, scale: f64) -> i64 {
    let r = t - from;
    if r >= 0 {
        to + r
    } else {
        to + (r as f64 * scale).floor() as i64
    }
}

/// A malformed line that is still a JSON object gets the copy's time and match id (else its
/// template time, days away, would move the feed's clock); anything else is copied unchanged.
fn retime_line(line: &str, from: EventTime, c: &Copy, scale: f64) -> String {
    let Ok(serde_json::Value::Object(mut o)) = serde_json::from_str::<serde_json::Value>(line)
    else {
        // A line cut short still shows its leading `{"ts":…,"match":…` to the reader.
        let mut line = line.to_string();
        replace_number(&mut line, "{\"ts\":", |t| {
            map_time(t, from, c.kickoff, scale)
        });
        replace_number(&mut line, ",\"match\":", |m| {
            if (m as u64) < super::UNKNOWN_MATCH_BASE {
                c.match_id as i64
            } else {
                m
            }
        });
        return line;
    };
    if let Some(ts) = o.get("ts").and_then(|t| t.as_i64()) {
        o.insert("ts".into(), map_time(ts, from, c.kickoff, scale).into());
    }
    if let Some(m) = o.get("match").and_then(|m| m.as_u64())
        && m < super::UNKNOWN_MATCH_BASE
    {
        o.insert("match".into(), c.match_id.into());
    }
    serde_json::Value::Object(o).to_string()
}

/// Replaces the integer right after the first `key` in `line` by `f` of it.
fn replace_number(line: &mut String, key: &str, f: impl Fn(i64) -> i64) {
    let Some(at) = line.find(key) else { return };
    let start = at + key.len();
    let len = line[start..]
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '-'))
        .unwrap_or(line.len() - start);
    if let Ok(n) = line[start..start + len].parse::<i64>() {
        line.replace_range(start..start + len, &f(n).to_string());
    }
}

fn retime(r: &Record, from: EventTime, c: &Copy, scale: f64) -> Record {
    let mut r = r.clone();
    r.ts = map_time(r.ts, from, c.kickoff, scale);
    r.match_id = c.match_id;
    let player = |p: &mut PlayerId| *p += c.player_offset;
    match &mut r.body {
        Body::Fixture(f) => {
            f.kickoff = c.kickoff;
            f.home.id += c.team_offset;
            f.away.id += c.team_offset;
        }
        Body::Lineup(l) => l.players.iter_mut().for_each(|p| player(&mut p.id)),
        Body::Incident(i) => match &mut i.detail {
            IncidentDetail::Goal { player: p, .. }
            | IncidentDetail::Card { player: p, .. }
            | IncidentDetail::Shot { player: p, .. }
            | IncidentDetail::Foul { player: p } => {
                if let Some(p) = p {
                    player(p)
                }
            }
            IncidentDetail::Substitution {
                player_out,
                player_in,
            } => {
                player(player_out);
                player(player_in);
            }
            IncidentDetail::Corner
            | IncidentDetail::Attack
            | IncidentDetail::DangerousAttack
            | IncidentDetail::Possession { .. }
            | IncidentDetail::PenaltyAwarded
            | IncidentDetail::Var { .. } => {}
        },
        Body::Status(_)
        | Body::Market(_)
        | Body::Odds(_)
        | Body::Result(_)
        | Body::Abandonment(_) => {}
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn small(concurrent: usize, waves: usize) -> ConcurrentConfig {
        ConcurrentConfig {
            concurrent,
            waves,
            template: 6,
            ramp_ms: Some(10 * super::super::MIN_MS),
            ..ConcurrentConfig::default()
        }
    }

    fn records(items: &[Payload]) -> Vec<&Record> {
        items
            .iter()
            .filter_map(|p| match p {
                Payload::Decoded(r) => Some(r),
                Payload::Line(_) => None,
            })
            .collect()
    }

    #[test]
    fn copies_are_renumbered_retimed_and_live_together() {
        let cfg = small(20, 2);
        let mut feed = ConcurrentFeed::new(&cfg).expect("a valid config");
        let items: Vec<Payload> = feed.by_ref().collect();
        let stats = feed.stats();
        assert_eq!(stats.items as usize, items.len());
        let recs = records(&items);
        // Every match has its fixture first, kick-off on the schedule, and no other match's ids.
        let mut fixtures = BTreeMap::new();
        for r in &recs {
            if let Body::Fixture(f) = &r.body {
                fixtures.entry(r.match_id).or_insert(f.kickoff);
            }
            assert!(
                fixtures.contains_key(&r.match_id),
                "record of {} before its fixture",
                r.match_id
            );
        }
        assert_eq!(fixtures.len(), 40);
        let ids: BTreeSet<MatchId> = fixtures.keys().copied().collect();
        assert_eq!(
            ids,
            (0..40)
                .map(|j| cfg.first_match_id + j)
                .collect::<BTreeSet<_>>()
        );
        // A wave of 20 is in play together (peak), and the two waves do not overlap.
        assert_eq!(stats.peak_live, 20, "{stats:?}");
        let first_wave_end = recs
            .iter()
            .filter(|r| r.match_id < cfg.first_match_id + 20)
            .filter(|r| matches!(r.body, Body::Status(_)))
            .map(|r| r.ts)
            .max()
            .expect("statuses");
        let second_kickoff = fixtures[&(cfg.first_match_id + 20)];
        assert!(second_kickoff > first_wave_end);
        // Copies 0 and 1 of a template match have the same content, shifted.
        let count = |m: MatchId| recs.iter().filter(|r| r.match_id == m).count();
        let (a, b) = (cfg.first_match_id, cfg.first_match_id + 6);
        let goals = |m: MatchId| {
            recs.iter()
                .filter(|r| r.match_id == m)
                .filter(|r| {
                    matches!(
                        r.body,
                        Body::Incident(i) if matches!(i.detail, IncidentDetail::Goal { .. })
                    )
                })
                .count()
        };
        assert_eq!(count(a), count(b));
        assert_eq!(goals(a), goals(b));
        // Malformed lines that carry a time carry the copy's.
        let line_ts: Vec<i64> = items
            .iter()
            .filter_map(|p| match p {
                Payload::Line(l) => oddsflow_dataflows::wire::peek_ts(l),
                Payload::Decoded(_) => None,
            })
            .collect();
        assert!(!line_ts.is_empty());
        let (lo, hi) = (
            recs[0].ts,
            recs.iter().map(|r| r.ts).max().expect("records"),
        );
        assert!(line_ts.iter().all(|t| (lo..=hi).contains(t)), "{line_ts:?}");
        // File order is by mapped file time: every item's time (as a reader sees it, malformed
        // lines included) within the template's reorder bound of the largest before it, so a
        // replay finds nothing late.
        let mut max_ts = i64::MIN;
        for p in &items {
            let ts = match p {
                Payload::Decoded(r) => Some(r.ts),
                Payload::Line(l) => oddsflow_dataflows::wire::peek_ts(l),
            };
            let Some(ts) = ts else { continue };
            assert!(
                ts >= max_ts.saturating_sub(cfg.noise.reorder_ms + 1),
                "{p:?} after ts {max_ts}"
            );
            max_ts = max_ts.max(ts);
        }
    }

    #[test]
    fn players_and_teams_of_copies_are_distinct() {
        let cfg = small(12, 1);
        let items: Vec<Payload> = ConcurrentFeed::new(&cfg).expect("a valid config").collect();
        let mut owner: BTreeMap<PlayerId, BTreeSet<u64>> = BTreeMap::new();
        for r in records(&items) {
            if let Body::Lineup(l) = &r.body {
                for p in &l.players {
                    // copy index of the match that fielded this player
                    let copy = (r.match_id - cfg.first_match_id) / cfg.template as u64;
                    owner.entry(p.id).or_default().insert(copy);
                }
            }
        }
        assert!(!owner.is_empty());
        assert!(owner.values().all(|c| c.len() == 1));
        assert!(owner.keys().any(|&p| p >= PLAYER_STRIDE));
    }

    #[test]
    fn horizon_cuts_and_the_feed_is_deterministic() {
        let mut cfg = small(8, 1);
        cfg.horizon_ms = Some(30 * super::super::MIN_MS);
        let a: Vec<Payload> = ConcurrentFeed::new(&cfg).expect("a valid config").collect();
        let b: Vec<Payload> = ConcurrentFeed::new(&cfg).expect("a valid config").collect();
        assert_eq!(a, b);
        let recs = records(&a);
        assert!(recs.iter().all(|r| r.ts <= cfg.start_ms + 30 * 60_000));
        assert!(
            recs.iter()
                .any(|r| r.ts > cfg.start_ms + 25 * 60_000 && matches!(r.body, Body::Odds(_)))
        );
        assert!(
            ConcurrentFeed::new(&ConcurrentConfig {
                prematch_scale: 0.0,
                ..cfg
            })
            .is_err()
        );
    }
}
