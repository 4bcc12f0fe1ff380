//! Aggregates: per match and team, per player, and across matches.
//!
//! ```text
//!  incidents + fixtures ──reduce by (match, side)──► team_match   (goals, corners, cards, shots, xG, fouls)
//!  lineups + incidents + statuses ──reduce by match──► player_match ──last row──► reduce by player──► player_totals
//!  fixtures ⋈ results − abandoned ──reduce by league──► team_ratings, league_averages
//! ```
//!
//! Everything is a differential collection: an overturned goal (its incident re-sent with
//! `cancelled: true`) or a corrected result (a new version) retracts the old aggregates and
//! derives the new ones, all the way down. Cross-match aggregates read at time `t` use only the
//! matches whose result is known at `t` (no look-ahead).
//!
//! Counting conventions: a goal counts for the incident's side (for an own goal, the side that
//! benefits); `yellow` counts yellow cards shown (a second yellow is a yellow card); `red` counts
//! sendings-off (straight red or second yellow); xG is summed in thousandths (`xg_milli`). Player
//! goals exclude own goals; minutes are whole minutes on the pitch up to the current match clock
//! (starters from 0, substitutes from their entry, until substitution or sending-off).

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use crate::Time;
use crate::ingest::MatchState;
use crate::model::*;
use crate::ratings::{FinishedMatch, LeagueAverages, RatingConfig, TeamRating, rate_league};

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct TeamMatchStats {
    pub goals: u32,
    pub corners: u32,
    pub yellow: u32,
    pub red: u32,
    pub shots: u32,
    pub shots_on_target: u32,
    pub xg_milli: u32,
    pub fouls: u32,
}

impl TeamMatchStats {
    /// Adds one (non-cancelled) incident of this team.
    pub fn add(&mut self, detail: &IncidentDetail) {
        match *detail {
            IncidentDetail::Goal { .. } => self.goals += 1,
            IncidentDetail::Corner => self.corners += 1,
            IncidentDetail::Card { card, .. } => {
                self.yellow += u32::from(matches!(card, CardKind::Yellow | CardKind::SecondYellow));
                self.red += u32::from(card.is_sending_off());
            }
            IncidentDetail::Shot { on_target, xg, .. } => {
                self.shots += 1;
                self.shots_on_target += u32::from(on_target);
                self.xg_milli += xg_milli(xg);
            }
            IncidentDetail::Foul { .. } => self.fouls += 1,
            _ => {}
        }
    }
}

/// xG in thousandths (validation keeps xG in [0, 1]).
pub fn xg_milli(xg: Option<F64>) -> u32 {
    xg.map_or(0, |x| (x.0 * 1000.0).round().clamp(0.0, 1000.0) as u32)
}

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct PlayerMatchStats {
    pub side: Option<Side>,
    pub goals: u32,
    pub shots: u32,
    pub yellow: u32,
    pub red: u32,
    pub minutes: u32,
}

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct PlayerTotals {
    pub matches: u32,
    pub goals: u32,
    pub shots: u32,
    pub yellow: u32,
    pub red: u32,
    pub minutes: u32,
}

/// What the per-match player reduce reads.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PlayerInput {
    Lineup(Lineup),
    Incident(Incident),
    Status(Status),
}

/// Per-player statistics of one match, from scratch (shared by the dataflow and its oracle:
/// the oracle tests check the incremental plumbing; this function's rules have unit tests).
pub fn player_match_stats_of(inputs: &[&PlayerInput]) -> Vec<(PlayerId, PlayerMatchStats)> {
    use std::collections::BTreeMap;
    let mut stats: BTreeMap<PlayerId, PlayerMatchStats> = BTreeMap::new();
    // Stints: player → (on since, off at) in clock seconds.
    let mut on: BTreeMap<PlayerId, (i32, Option<i32>)> = BTreeMap::new();
    let mut clock = 0;
    let mut incidents: Vec<&Incident> = Vec::new();
    for input in inputs {
        match input {
            PlayerInput::Lineup(l) => {
                for p in &l.players {
                    stats.entry(p.id).or_default().side = Some(l.side);
                    if p.starter {
                        on.insert(p.id, (0, None));
                    }
                }
            }
            PlayerInput::Incident(i) if !i.cancelled => incidents.push(i),
            PlayerInput::Incident(_) => {}
            PlayerInput::Status(s) => clock = clock.max(s.clock_s),
        }
    }
    incidents.sort_by_key(|i| (i.clock_s, i.id));
    for i in incidents {
        let mut credit = |player: Option<PlayerId>, f: &dyn Fn(&mut PlayerMatchStats)| {
            if let Some(p) = player {
                let s = stats.entry(p).or_default();
                s.side.get_or_insert(i.side);
                f(s);
            }
        };
        match i.detail {
            IncidentDetail::Goal {
                player,
                own_goal: false,
                ..
            } => credit(player, &|s| s.goals += 1),
            IncidentDetail::Shot { player, .. } => credit(player, &|s| s.shots += 1),
            IncidentDetail::Card { player, card } => {
                credit(player, &|s| {
                    s.yellow +=
                        u32::from(matches!(card, CardKind::Yellow | CardKind::SecondYellow));
                    s.red += u32::from(card.is_sending_off());
                });
                if let (Some(p), true) = (player, card.is_sending_off()) {
                    if let Some(stint) = on.get_mut(&p) {
                        stint.1.get_or_insert(i.clock_s);
                    }
                }
            }
            IncidentDetail::Substitution {
                player_out,
                player_in,
            } => {
                if let Some(stint) = on.get_mut(&player_out) {
                    stint.1.get_or_insert(i.clock_s);
                }
                on.entry(player_in).or_insert((i.clock_s, None));
                stats
                    .entry(player_in)
                    .or_default()
                    .side
                    .get_or_insert(i.side);
            }
            _ => {}
        }
    }
    for (p, (from, to)) in on {
        let seconds = (to.unwrap_or(clock).min(clock) - from).max(0);
        stats.entry(p).or_default().minutes = (seconds / 60) as u32;
    }
    stats.into_iter().collect()
}

/// The aggregate collections.
pub struct Aggregates<'scope> {
    pub team_match: VecCollection<'scope, Time, ((MatchId, Side), TeamMatchStats)>,
    pub player_match: VecCollection<'scope, Time, ((MatchId, PlayerId), PlayerMatchStats)>,
    pub player_totals: VecCollection<'scope, Time, (PlayerId, PlayerTotals)>,
    pub team_ratings: VecCollection<'scope, Time, ((String, TeamId), TeamRating)>,
    pub league_averages: VecCollection<'scope, Time, (String, LeagueAverages)>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum LeagueRow {
    Average(LeagueAverages),
    Team(TeamId, TeamRating),
}

/// Builds the aggregates over a match state.
pub fn aggregates<'scope>(state: &MatchState<'scope>, cfg: &RatingConfig) -> Aggregates<'scope> {
    // Per match and team. Every match with a status contributes an empty slot per side, so teams
    // without incidents still have a row of zeros (and a retired match, whose status is gone,
    // has none).
    let slots = state
        .statuses
        .clone()
        .flat_map(|(m, _)| Side::BOTH.map(|s| ((m, s), None)));
    let team_match = state
        .incidents
        .clone()
        .filter(|(_, i)| !i.cancelled)
        .map(|(m, i)| ((m, i.side), Some(i.detail)))
        .concat(slots)
        .reduce_named("TeamMatchStats", |_key, input, output| {
            let mut stats = TeamMatchStats::default();
            for (detail, n) in input {
                for _ in 0..*n {
                    if let Some(d) = detail {
                        stats.add(d);
                    }
                }
            }
            output.push((stats, 1));
        });

    // Per player, per match then across matches.
    let player_inputs = state
        .lineups
        .clone()
        .map(|(m, l)| (m, PlayerInput::Lineup(l)))
        .concat(
            state
                .incidents
                .clone()
                .map(|(m, i)| (m, PlayerInput::Incident(i))),
        )
        .concat(
            state
                .statuses
                .clone()
                .map(|(m, s)| (m, PlayerInput::Status(s))),
        );
    let player_match = player_inputs
        .reduce_named("PlayerMatchStats", |_m, input, output| {
            let inputs: Vec<&PlayerInput> = input.iter().map(|(x, _)| *x).collect();
            output.extend(
                player_match_stats_of(&inputs)
                    .into_iter()
                    .map(|row| (row, 1)),
            );
        })
        .map(|(m, (p, s))| ((m, p), s));
    // Player totals read each player's *last* row of each match (a latch: insertions upserted by
    // time), so that they keep a match's contribution after it retires and its per-match rows
    // are retracted. This latch is the cross-match archive of player stats.
    let (player_final, _) = {
        use oddsflow_operators::UpsertByVersion;
        use timely::dataflow::operators::vec::{Delay, Filter, Map};
        player_match
            .clone()
            .consolidate()
            .inner
            .filter(|(_, _, diff)| *diff > 0)
            .delay(|(_, t, _), _| *t)
            .map(|((key, stats), t, _)| (key, t, stats))
            .upsert_by_version("PlayerFinal", |k: &(MatchId, PlayerId)| {
                crate::ingest::route_match(&k.0)
            })
    };
    let player_totals =
        player_final
            .map(|((_, p), s)| (p, s))
            .reduce_named("PlayerTotals", |_p, input, output| {
                let mut t = PlayerTotals::default();
                for (s, n) in input {
                    let n = *n as u32;
                    t.matches += n;
                    t.goals += s.goals * n;
                    t.shots += s.shots * n;
                    t.yellow += s.yellow * n;
                    t.red += s.red * n;
                    t.minutes += s.minutes * n;
                }
                output.push((t, 1));
            });

    // Across matches, per league: only matches with a result and not abandoned.
    let abandoned = state.abandonments.clone().map(|(m, _)| m).distinct();
    let finished = state
        .fixtures
        .clone()
        .join_map(state.results.clone(), |m, f, r| {
            (
                *m,
                (
                    f.league.clone(),
                    FinishedMatch {
                        kickoff: f.kickoff,
                        match_id: *m,
                        home: f.home.id,
                        away: f.away.id,
                        full_time: r.full_time,
                    },
                ),
            )
        })
        .antijoin(abandoned)
        .map(|(_, row)| row);
    let cfg = cfg.clone();
    let league_rows = finished.reduce_named("LeagueTable", move |_league, input, output| {
        let matches: Vec<FinishedMatch> = input.iter().map(|(m, _)| (*m).clone()).collect();
        let (averages, teams) = rate_league(&matches, &cfg);
        output.push((LeagueRow::Average(averages), 1));
        output.extend(teams.into_iter().map(|(t, r)| (LeagueRow::Team(t, r), 1)));
    });
    let team_ratings = league_rows.clone().flat_map(|(league, row)| match row {
        LeagueRow::Team(t, r) => Some(((league, t), r)),
        LeagueRow::Average(_) => None,
    });
    let league_averages = league_rows.flat_map(|(league, row)| match row {
        LeagueRow::Average(a) => Some((league, a)),
        LeagueRow::Team(..) => None,
    });

    Aggregates {
        team_match,
        player_match,
        player_totals,
        team_ratings,
        league_averages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(id: u32, side: Side, clock_s: i32, detail: IncidentDetail) -> PlayerInput {
        PlayerInput::Incident(Incident {
            id,
            version: 1,
            side,
            clock_s,
            detail,
            cancelled: false,
        })
    }

    #[test]
    fn player_minutes_follow_substitutions_and_sendings_off() {
        let lineup = PlayerInput::Lineup(Lineup {
            version: 1,
            side: Side::Home,
            formation: "4-4-2".into(),
            players: vec![
                Player {
                    id: 1,
                    name: "A".into(),
                    position: "ST".into(),
                    starter: true,
                },
                Player {
                    id: 2,
                    name: "B".into(),
                    position: "CM".into(),
                    starter: true,
                },
                Player {
                    id: 3,
                    name: "C".into(),
                    position: "ST".into(),
                    starter: false,
                },
            ],
        });
        let inputs = [
            lineup,
            inc(
                1,
                Side::Home,
                600,
                IncidentDetail::Goal {
                    player: Some(1),
                    own_goal: false,
                    penalty: false,
                },
            ),
            inc(
                2,
                Side::Home,
                1200,
                IncidentDetail::Goal {
                    player: Some(2),
                    own_goal: true,
                    penalty: false,
                },
            ),
            inc(
                3,
                Side::Home,
                3000,
                IncidentDetail::Substitution {
                    player_out: 1,
                    player_in: 3,
                },
            ),
            inc(
                4,
                Side::Home,
                4000,
                IncidentDetail::Card {
                    player: Some(2),
                    card: CardKind::SecondYellow,
                },
            ),
            PlayerInput::Status(Status {
                version: 9,
                status: MatchStatus::Finished,
                clock_s: 5700,
            }),
        ];
        let refs: Vec<&PlayerInput> = inputs.iter().collect();
        let rows: std::collections::BTreeMap<_, _> =
            player_match_stats_of(&refs).into_iter().collect();
        assert_eq!((rows[&1].goals, rows[&1].minutes), (1, 50));
        assert_eq!(
            (
                rows[&2].goals,
                rows[&2].yellow,
                rows[&2].red,
                rows[&2].minutes
            ),
            (0, 1, 1, 66)
        );
        assert_eq!(rows[&3].minutes, 45);
    }
}
