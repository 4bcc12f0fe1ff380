//! Dominance: weighted pressure per match and team over sliding event-time windows, and a
//! home-minus-away index.
//!
//! ```text
//!  timed incidents ──filter pressure kinds──► sliding_windows(5 min, 10 min) ──┐
//!  live matches ──────────────────────────────► one slot per (match, window) ──┴─reduce─► (match, window) → Dominance
//! ```
//!
//! An incident is in a window from its record's event time `ts` until `ts + width` (expiries
//! bucketed by `slide_ms`), and leaves it early if it is cancelled. Rows exist only for live
//! matches (first half, half time, second half); a match with no pressure events in a window has
//! a row of zeros.
//!
//! **Pressure** of a side over a window = Σ points of its events + `possession_weight` × (its mean
//! possession share in the window − 50), floored at 0. Default points ([`PressureWeights`]):
//! attack 1, dangerous attack 3, shot off target 4, shot on target 8, corner 3; possession 0.2
//! per percentage point (a 60 % share adds 2). Goals count through their shot.
//!
//! **Index** = (home − away) / (home + away + `smoothing`), in (−1, 1): 0 when nothing happened,
//! near ±1 only when one side has all the pressure and there is plenty of it (`smoothing` = 10
//! points keeps a lone attack from reading as total dominance).

use differential_dataflow::VecCollection;
use oddsflow_operators::window::SlidingWindow;
use serde::{Deserialize, Serialize};

use crate::Time;
use crate::ingest::MatchState;
use crate::model::*;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PressureWeights {
    pub attack: u32,
    pub dangerous_attack: u32,
    pub shot_off_target: u32,
    pub shot_on_target: u32,
    pub corner: u32,
    /// Points per percentage point of possession share above 50.
    pub possession: f64,
}

impl Default for PressureWeights {
    fn default() -> Self {
        PressureWeights {
            attack: 1,
            dangerous_attack: 3,
            shot_off_target: 4,
            shot_on_target: 8,
            corner: 3,
            possession: 0.2,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DominanceConfig {
    /// Window widths in ms of event time (default 5 and 10 minutes).
    pub windows_ms: Vec<u64>,
    /// Expiry granularity in ms: events leave a window at the next multiple of it.
    pub slide_ms: u64,
    pub weights: PressureWeights,
    pub smoothing: f64,
}

impl Default for DominanceConfig {
    fn default() -> Self {
        DominanceConfig {
            windows_ms: vec![300_000, 600_000],
            slide_ms: 1_000,
            weights: PressureWeights::default(),
            smoothing: 10.0,
        }
    }
}

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Dominance {
    pub home_pressure: F64,
    pub away_pressure: F64,
    /// Home minus away, in (−1, 1).
    pub index: F64,
}

/// Points of one incident for its side, or `None` when it is not a pressure event. Possession
/// incidents are handled apart (they are a share, not a count).
pub fn pressure_points(detail: &IncidentDetail, w: &PressureWeights) -> Option<u32> {
    match detail {
        IncidentDetail::Attack => Some(w.attack),
        IncidentDetail::DangerousAttack => Some(w.dangerous_attack),
        IncidentDetail::Shot {
            on_target: true, ..
        } => Some(w.shot_on_target),
        IncidentDetail::Shot {
            on_target: false, ..
        } => Some(w.shot_off_target),
        IncidentDetail::Corner => Some(w.corner),
        _ => None,
    }
}

fn is_pressure_event(i: &Incident) -> bool {
    !i.cancelled
        && (matches!(i.detail, IncidentDetail::Possession { .. })
            || pressure_points(&i.detail, &PressureWeights::default()).is_some())
}

/// Dominance of one match over one window, from the incidents in it (from scratch; shared by the
/// dataflow and the tests, which check the windowing and plumbing around it).
pub fn dominance_of<'a>(
    incidents: impl IntoIterator<Item = &'a Incident>,
    cfg: &DominanceConfig,
) -> Dominance {
    let mut points = [0u64; 2];
    let mut share = [(0u64, 0u64); 2]; // (sum, count)
    for i in incidents {
        let s = usize::from(i.side == Side::Away);
        match i.detail {
            IncidentDetail::Possession { share: p } => {
                share[s].0 += u64::from(p);
                share[s].1 += 1;
            }
            ref d => points[s] += u64::from(pressure_points(d, &cfg.weights).unwrap_or(0)),
        }
    }
    let pressure = |s: usize| {
        let possession = if share[s].1 == 0 {
            0.0
        } else {
            share[s].0 as f64 / share[s].1 as f64 - 50.0
        };
        (points[s] as f64 + cfg.weights.possession * possession).max(0.0)
    };
    let (h, a) = (pressure(0), pressure(1));
    Dominance {
        home_pressure: F64(h),
        away_pressure: F64(a),
        index: F64((h - a) / (h + a + cfg.smoothing)),
    }
}

/// Matches that are being played now.
pub fn live_matches<'scope>(state: &MatchState<'scope>) -> VecCollection<'scope, Time, MatchId> {
    state
        .statuses
        .clone()
        .filter(|(_, s)| s.status.is_live())
        .map(|(m, _)| m)
}

/// Builds the dominance dataflow: `((match, window width ms), Dominance)` for live matches.
pub fn dominance<'scope>(
    state: &MatchState<'scope>,
    cfg: &DominanceConfig,
) -> VecCollection<'scope, Time, ((MatchId, u64), Dominance)> {
    let windows: Vec<(u64, u64)> = cfg
        .windows_ms
        .iter()
        .map(|w| (*w, cfg.slide_ms.max(1)))
        .collect();
    let widths = cfg.windows_ms.clone();
    let widths2 = widths.clone();
    let windowed = state
        .timed_incidents
        .clone()
        .filter(|(_, (_, i))| is_pressure_event(i))
        .sliding_windows(
            "PressureWindows",
            &windows,
            |(_, (ts, _)): &(MatchId, (EventTime, Incident))| (*ts).max(0) as u64,
        )
        .map(move |(w, (m, (_, i)))| ((m, widths[w]), Some(i)));
    let slots = live_matches(state)
        .flat_map(move |m| widths2.clone().into_iter().map(move |w| ((m, w), None)));
    let cfg = cfg.clone();
    windowed
        .concat(slots)
        .reduce_named("Dominance", move |_key, input, output| {
            // Only live matches (which contribute a `None` slot) get a row.
            if input.first().is_some_and(|(i, _)| i.is_none()) {
                let incidents = input
                    .iter()
                    .filter(|(_, n)| *n > 0)
                    .flat_map(|(i, n)| std::iter::repeat_n(*i, *n as usize))
                    .flatten();
                output.push((dominance_of(incidents, &cfg), 1));
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(side: Side, detail: IncidentDetail) -> Incident {
        Incident {
            id: 0,
            version: 1,
            side,
            clock_s: 0,
            detail,
            cancelled: false,
        }
    }

    #[test]
    fn pressure_and_index_follow_the_documented_weights() {
        let cfg = DominanceConfig::default();
        let evs = [
            inc(Side::Home, IncidentDetail::Attack),
            inc(
                Side::Home,
                IncidentDetail::Shot {
                    player: None,
                    on_target: true,
                    xg: None,
                },
            ),
            inc(Side::Home, IncidentDetail::Possession { share: 60 }),
            inc(Side::Away, IncidentDetail::Corner),
            inc(Side::Away, IncidentDetail::Possession { share: 40 }),
        ];
        let d = dominance_of(evs.iter(), &cfg);
        // Home: 1 + 8 + 0.2 × 10 = 11; away: 3 + 0.2 × (−10) = 1.
        assert_eq!((d.home_pressure.0, d.away_pressure.0), (11.0, 1.0));
        assert!((d.index.0 - 10.0 / 22.0).abs() < 1e-12);
        assert_eq!(dominance_of([].iter(), &cfg).index, F64(0.0));
    }
}
