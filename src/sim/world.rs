//! The simulated world: leagues, teams with latent strengths and squads, and the calendar.
//!
//! Everything here is drawn from one "world" random stream in a fixed order, so that the world
//! depends only on the seed and the world-shaping parts of [`SimConfig`].

use oddsflow_dataflows::model::{EventTime, MatchId, PlayerId, TeamId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::names::*;
use super::{DAY_MS, MIN_MS, SimConfig, sub_seed};

/// Stream number of the world generator (see [`sub_seed`]).
const STREAM_WORLD: u64 = 1;

/// A player's line on the pitch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Role {
    Gk,
    Def,
    Mid,
    Fwd,
}

#[derive(Clone, Debug)]
pub(crate) struct SquadPlayer {
    pub id: PlayerId,
    pub name: String,
    pub role: Role,
    /// Position label when on the bench (the natural position).
    pub natural: &'static str,
    /// Latent quality (standard normal): better players start more often.
    pub quality: f64,
}

/// A formation: its name and the eleven slots (label, line).
pub(crate) struct Formation {
    pub name: &'static str,
    pub slots: [(&'static str, Role); 11],
}

use Role::*;
pub(crate) const FORMATIONS: [Formation; 7] = [
    Formation {
        name: "4-4-2",
        slots: [
            ("GK", Gk),
            ("RB", Def),
            ("CB", Def),
            ("CB", Def),
            ("LB", Def),
            ("RM", Mid),
            ("CM", Mid),
            ("CM", Mid),
            ("LM", Mid),
            ("ST", Fwd),
            ("ST", Fwd),
        ],
    },
    Formation {
        name: "4-3-3",
        slots: [
            ("GK", Gk),
            ("RB", Def),
            ("CB", Def),
            ("CB", Def),
            ("LB", Def),
            ("CM", Mid),
            ("CM", Mid),
            ("CM", Mid),
            ("RW", Fwd),
            ("ST", Fwd),
            ("LW", Fwd),
        ],
    },
    Formation {
        name: "4-2-3-1",
        slots: [
            ("GK", Gk),
            ("RB", Def),
            ("CB", Def),
            ("CB", Def),
            ("LB", Def),
            ("DM", Mid),
            ("DM", Mid),
            ("RW", Fwd),
            ("AM", Mid),
            ("LW", Fwd),
            ("ST", Fwd),
        ],
    },
    Formation {
        name: "3-5-2",
        slots: [
            ("GK", Gk),
            ("CB", Def),
            ("CB", Def),
            ("CB", Def),
            ("RWB", Mid),
            ("CM", Mid),
            ("CM", Mid),
            ("CM", Mid),
            ("LWB", Mid),
            ("ST", Fwd),
            ("ST", Fwd),
        ],
    },
    Formation {
        name: "4-1-4-1",
        slots: [
            ("GK", Gk),
            ("RB", Def),
            ("CB", Def),
            ("CB", Def),
            ("LB", Def),
            ("DM", Mid),
            ("RM", Mid),
            ("CM", Mid),
            ("CM", Mid),
            ("LM", Mid),
            ("ST", Fwd),
        ],
    },
    Formation {
        name: "3-4-3",
        slots: [
            ("GK", Gk),
            ("CB", Def),
            ("CB", Def),
            ("CB", Def),
            ("RM", Mid),
            ("CM", Mid),
            ("CM", Mid),
            ("LM", Mid),
            ("RW", Fwd),
            ("ST", Fwd),
            ("LW", Fwd),
        ],
    },
    Formation {
        name: "5-3-2",
        slots: [
            ("GK", Gk),
            ("RWB", Def),
            ("CB", Def),
            ("CB", Def),
            ("CB", Def),
            ("LWB", Def),
            ("CM", Mid),
            ("CM", Mid),
            ("CM", Mid),
            ("ST", Fwd),
            ("ST", Fwd),
        ],
    },
];

/// Squad make-up: (line, natural position labels), one label per player.
const SQUAD: [(Role, &[&str]); 4] = [
    (Gk, &["GK", "GK"]),
    (Def, &["RB", "CB", "CB", "LB", "CB", "RB", "LB", "CB"]),
    (Mid, &["DM", "CM", "CM", "AM", "RM", "LM", "CM", "DM"]),
    (Fwd, &["ST", "ST", "RW", "LW", "ST", "RW"]),
];

#[derive(Clone, Debug)]
pub(crate) struct Team {
    pub id: TeamId,
    pub name: String,
    pub venue: String,
    /// Index into [`FORMATIONS`] of the usual formation.
    pub formation: usize,
    pub squad: Vec<SquadPlayer>,
    /// Long-run attack and defence levels (log goal-rate effects) that the drift reverts to.
    pub attack0: f64,
    pub defence0: f64,
}

#[derive(Clone, Debug)]
pub(crate) struct League {
    pub code: String,
    /// Indices into [`World::teams`].
    pub teams: Vec<usize>,
    pub referees: Vec<String>,
    /// Log of the league's typical goals per team and match.
    pub base_goals: f64,
    /// Log home advantage on goal rates.
    pub home_adv: f64,
}

/// A team's latent strength at the time of one match (log goal-rate effects).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Strength {
    pub attack: f64,
    pub defence: f64,
}

#[derive(Clone, Debug)]
pub(crate) struct MatchPlan {
    /// Position in the calendar's fixture order (the per-match sub-seed).
    pub index: usize,
    pub match_id: MatchId,
    pub league: usize,
    pub season: String,
    pub kickoff: EventTime,
    /// Indices into [`World::teams`].
    pub home: usize,
    pub away: usize,
    pub referee: String,
    /// Strengths of home and away at kick-off (after drift).
    pub strength: [Strength; 2],
}

#[derive(Clone, Debug)]
pub(crate) struct World {
    pub leagues: Vec<League>,
    pub teams: Vec<Team>,
    pub matches: Vec<MatchPlan>,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample::<f64, _>(StandardNormal)
}

fn person(rng: &mut ChaCha8Rng) -> String {
    let f = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
    let s = SURNAMES[rng.random_range(0..SURNAMES.len())];
    format!("{f} {s}")
}

/// Double round robin by the circle method: rounds of (home, away) pairs of local team indices.
fn double_round_robin(n: usize) -> Vec<Vec<(usize, usize)>> {
    let m = if n % 2 == 1 { n + 1 } else { n };
    let mut ring: Vec<usize> = (0..m).collect();
    let mut first = Vec::new();
    for r in 0..m.saturating_sub(1) {
        let mut pairs = Vec::new();
        for i in 0..m / 2 {
            let (a, b) = (ring[i], ring[m - 1 - i]);
            if a >= n || b >= n {
                continue; // a bye
            }
            let flip = if i == 0 { r % 2 == 1 } else { (r + i) % 2 == 1 };
            pairs.push(if flip { (b, a) } else { (a, b) });
        }
        first.push(pairs);
        // Rotate every position but the first.
        if m > 2 {
            let last = ring[m - 1];
            for j in (2..m).rev() {
                ring[j] = ring[j - 1];
            }
            ring[1] = last;
        }
    }
    let second: Vec<Vec<(usize, usize)>> = first
        .iter()
        .map(|round| round.iter().map(|&(h, a)| (a, h)).collect())
        .collect();
    first.into_iter().chain(second).collect()
}

/// The season label of the `cycle`-th double round robin, starting with 2025-26.
fn season(cycle: usize) -> String {
    let y = 2025 + cycle;
    format!("{}-{:02}", y, (y + 1) % 100)
}

/// A fixture before it has a slot: (league, season, home, away), indices into the world.
type Fixture = (usize, String, usize, usize);

impl World {
    /// The world of a configuration: leagues and teams, then the fixture order, then the
    /// calendar (all from the world stream, in that order).
    pub(crate) fn build(cfg: &SimConfig) -> World {
        let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(cfg.seed, STREAM_WORLD, 0));
        let (leagues, teams) = leagues_and_teams(cfg, &mut rng);
        let order = fixture_order(cfg, &mut rng, &leagues);
        let matches = calendar(cfg, &mut rng, &leagues, &teams, order);
        World {
            leagues,
            teams,
            matches,
        }
    }
}

/// The leagues (goal level, home advantage, referees) and their teams.
fn leagues_and_teams(cfg: &SimConfig, rng: &mut ChaCha8Rng) -> (Vec<League>, Vec<Team>) {
    let mut teams = Vec::new();
    let mut leagues = Vec::new();
    for l in 0..cfg.leagues {
        let base_goals = rng.random_range(1.05f64..1.30).ln();
        let home_adv = rng.random_range(0.12..0.26);
        let referees = (0..10).map(|_| person(rng)).collect();
        let mut members = Vec::new();
        for t in 0..cfg.teams_per_league {
            let global = teams.len();
            members.push(global);
            teams.push(team(rng, l, t, global));
        }
        leagues.push(League {
            code: format!("SIM{}", l + 1),
            teams: members,
            referees,
            base_goals,
            home_adv,
        });
    }
    (leagues, teams)
}

/// Team `t` of league `l`, the `global`-th team of the world: name, venue, strengths, usual
/// formation and squad.
fn team(rng: &mut ChaCha8Rng, l: usize, t: usize, global: usize) -> Team {
    let id = (l as u32 + 1) * 100 + t as u32 + 1;
    let town = TOWNS[global % TOWNS.len()];
    let suffix = CLUB_SUFFIXES[(global / TOWNS.len()) % CLUB_SUFFIXES.len()];
    let lap = global / (TOWNS.len() * CLUB_SUFFIXES.len());
    let name = if lap == 0 {
        format!("{town} {suffix}")
    } else {
        format!("{town} {suffix} {}", lap + 1)
    };
    let venue = format!(
        "{town} {}",
        VENUE_KINDS[(global / TOWNS.len()) % VENUE_KINDS.len()]
    );
    let attack0 = 0.17 * normal(rng);
    let defence0 = 0.17 * normal(rng);
    let formation = rng.random_range(0..FORMATIONS.len());
    let mut squad = Vec::new();
    let mut k = 0u32;
    for (role, labels) in SQUAD {
        for &natural in labels {
            k += 1;
            squad.push(SquadPlayer {
                id: id * 100 + k,
                name: person(rng),
                role,
                natural,
                quality: normal(rng),
            });
        }
    }
    Team {
        id,
        name,
        venue,
        formation,
        squad,
        attack0,
        defence0,
    }
}

/// Fixture order: by cycle (season), by round, interleaving the leagues, so that a "matchday"
/// of every league comes before the next; `cfg.matches` fixtures.
fn fixture_order(cfg: &SimConfig, rng: &mut ChaCha8Rng, leagues: &[League]) -> Vec<Fixture> {
    let rounds = double_round_robin(cfg.teams_per_league);
    let mut order: Vec<Fixture> = Vec::new();
    let mut cycle = 0;
    'outer: while !rounds.is_empty() {
        // Each season reshuffles who is "team 0" of the circle.
        let perms: Vec<Vec<usize>> = (0..cfg.leagues)
            .map(|l| {
                let mut p = leagues[l].teams.clone();
                for i in (1..p.len()).rev() {
                    let j = rng.random_range(0..=i);
                    p.swap(i, j);
                }
                p
            })
            .collect();
        for round in &rounds {
            for (l, perm) in perms.iter().enumerate() {
                for &(h, a) in round {
                    if order.len() >= cfg.matches {
                        break 'outer;
                    }
                    order.push((l, season(cycle), perm[h], perm[a]));
                }
            }
        }
        cycle += 1;
    }
    order
}

/// The kick-off slots of a calendar: `slot_minutes` apart, `slots_per_day` per day from
/// `start_ms`, at most `kickoffs_per_slot` each.
struct Slots<'a> {
    cfg: &'a SimConfig,
    slot_ms: i64,
    /// Kick-offs taken per slot so far.
    counts: Vec<usize>,
    /// The first slot that is not full.
    first_open: usize,
}

impl Slots<'_> {
    fn time(&self, s: usize) -> i64 {
        let spd = self.cfg.slots_per_day;
        self.cfg.start_ms + (s / spd) as i64 * DAY_MS + (s % spd) as i64 * self.slot_ms
    }

    fn first_at_or_after(&self, t: i64) -> usize {
        let spd = self.cfg.slots_per_day;
        let rel = (t - self.cfg.start_ms).max(0);
        let day = rel / DAY_MS;
        let within = rel - day * DAY_MS;
        let idx = (within + self.slot_ms - 1) / self.slot_ms;
        if idx as usize >= spd {
            (day as usize + 1) * spd
        } else {
            day as usize * spd + idx as usize
        }
    }

    /// Takes the earliest slot not full at or after `ready` (any, when `None`): its kick-off.
    fn take(&mut self, ready: Option<i64>) -> i64 {
        let per_slot = self.cfg.kickoffs_per_slot;
        let mut s = ready.map_or(self.first_open, |r| {
            self.first_at_or_after(r).max(self.first_open)
        });
        loop {
            if self.counts.len() <= s {
                self.counts.resize(s + 1, 0);
            }
            if self.counts[s] < per_slot {
                break;
            }
            s += 1;
        }
        self.counts[s] += 1;
        while self.first_open < self.counts.len() && self.counts[self.first_open] >= per_slot {
            self.first_open += 1;
        }
        self.time(s)
    }
}

/// Calendar: greedy, each fixture in order takes the earliest slot that fits, a team resting
/// `min_rest_minutes` between kick-offs; the teams' strengths drift from match to match.
fn calendar(
    cfg: &SimConfig,
    rng: &mut ChaCha8Rng,
    leagues: &[League],
    teams: &[Team],
    order: Vec<Fixture>,
) -> Vec<MatchPlan> {
    let mut slots = Slots {
        cfg,
        slot_ms: cfg.slot_minutes * MIN_MS,
        counts: Vec::new(),
        first_open: 0,
    };
    let rest_ms = cfg.min_rest_minutes * MIN_MS;
    let mut last_ko: Vec<Option<i64>> = vec![None; teams.len()];
    let mut strength: Vec<Strength> = teams
        .iter()
        .map(|t| Strength {
            attack: t.attack0,
            defence: t.defence0,
        })
        .collect();
    let mut matches = Vec::with_capacity(order.len());
    for (index, (l, season, h, a)) in order.into_iter().enumerate() {
        let ready = match (last_ko[h], last_ko[a]) {
            (Some(x), Some(y)) => Some(x.max(y) + rest_ms),
            (Some(x), None) | (None, Some(x)) => Some(x + rest_ms),
            (None, None) => None,
        };
        let kickoff = slots.take(ready);
        last_ko[h] = Some(kickoff);
        last_ko[a] = Some(kickoff);
        let referee = leagues[l].referees[rng.random_range(0..leagues[l].referees.len())].clone();
        matches.push(MatchPlan {
            index,
            match_id: cfg.first_match_id + index as u64,
            league: l,
            season,
            kickoff,
            home: h,
            away: a,
            referee,
            strength: [strength[h], strength[a]],
        });
        // Slow drift of both teams' strengths, reverting to their long-run levels.
        for t in [h, a] {
            let st = &mut strength[t];
            st.attack += 0.05 * (teams[t].attack0 - st.attack) + cfg.strength_drift * normal(rng);
            st.defence +=
                0.05 * (teams[t].defence0 - st.defence) + cfg.strength_drift * normal(rng);
        }
    }
    matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_meets_everyone_twice() {
        for n in [4usize, 5, 16] {
            let rounds = double_round_robin(n);
            let mut seen = std::collections::BTreeMap::new();
            for round in &rounds {
                let mut busy = std::collections::BTreeSet::new();
                for &(h, a) in round {
                    assert!(busy.insert(h) && busy.insert(a), "team twice in a round");
                    *seen.entry((h, a)).or_insert(0) += 1;
                }
            }
            assert_eq!(seen.len(), n * (n - 1), "every ordered pair once (n={n})");
            assert!(seen.values().all(|&c| c == 1));
        }
    }
}
