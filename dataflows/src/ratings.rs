//! Cross-match team ratings, computed from scratch over a league's finished matches.
//!
//! A pure function ([`rate_league`]) so that the dataflow (which calls it inside a `reduce`
//! keyed by league, over the matches finished at the time it is read) and tests share the
//! definitions. Matches are taken in kick-off order, so the result does not depend on the order
//! results arrived in, nor on the number of workers.
//!
//! - **Form**: points (3/1/0), goals for and against over the team's last `form_n` matches.
//! - **Home/away rates**: goals scored and conceded per match at home and away.
//! - **League averages**: home and away goals per match.
//! - **Attack/defence** (Maher-style multiplicative Poisson strengths, one step): a team's goals
//!   scored (conceded) per match divided by the league's goals per team per match, shrunk
//!   towards 1 by `prior_matches` pseudo-matches at the league average. Attack above 1 scores more
//!   than average; defence above 1 *concedes* more than average.
//! - **Elo**: start 1500, K = `elo_k`, home advantage `elo_home_advantage` points, and the World
//!   Football Elo goal-difference multiplier (1, 1.5, then (11 + gd) / 8).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{EventTime, F64, MatchId, Score, TeamId};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatingConfig {
    pub form_n: usize,
    pub elo_start: f64,
    pub elo_k: f64,
    pub elo_home_advantage: f64,
    pub prior_matches: f64,
}

impl Default for RatingConfig {
    fn default() -> Self {
        RatingConfig {
            form_n: 5,
            elo_start: 1500.0,
            elo_k: 20.0,
            elo_home_advantage: 60.0,
            prior_matches: 2.0,
        }
    }
}

/// A finished match, as the ratings need it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FinishedMatch {
    pub kickoff: EventTime,
    pub match_id: MatchId,
    pub home: TeamId,
    pub away: TeamId,
    pub full_time: Score,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LeagueAverages {
    pub matches: u32,
    /// Home goals per match.
    pub home_goals: F64,
    /// Away goals per match.
    pub away_goals: F64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TeamRating {
    pub played: u32,
    pub elo: F64,
    pub attack: F64,
    pub defence: F64,
    pub form_matches: u32,
    pub form_points: u32,
    pub form_goals_for: u32,
    pub form_goals_against: u32,
    pub home_played: u32,
    pub home_scored_per_match: F64,
    pub home_conceded_per_match: F64,
    pub away_played: u32,
    pub away_scored_per_match: F64,
    pub away_conceded_per_match: F64,
}

#[derive(Default)]
struct Tally {
    played: u32,
    scored: u32,
    conceded: u32,
    home: (u32, u32, u32),
    away: (u32, u32, u32),
    /// (goals for, goals against) in kick-off order.
    history: Vec<(u32, u32)>,
    elo: f64,
}

fn per_match(total: u32, n: u32) -> F64 {
    F64(if n == 0 {
        0.0
    } else {
        f64::from(total) / f64::from(n)
    })
}

/// Rates every team of one league from its finished matches (any order; sorted here).
pub fn rate_league(
    matches: &[FinishedMatch],
    cfg: &RatingConfig,
) -> (LeagueAverages, BTreeMap<TeamId, TeamRating>) {
    let mut sorted: Vec<&FinishedMatch> = matches.iter().collect();
    sorted.sort();
    let mut teams: BTreeMap<TeamId, Tally> = BTreeMap::new();
    let (mut home_goals, mut away_goals) = (0u32, 0u32);
    for m in &sorted {
        let (h, a) = (u32::from(m.full_time.home), u32::from(m.full_time.away));
        home_goals += h;
        away_goals += a;
        let elo_h = teams.get(&m.home).map_or(cfg.elo_start, |t| t.elo);
        let elo_a = teams.get(&m.away).map_or(cfg.elo_start, |t| t.elo);
        let expected_h =
            1.0 / (1.0 + 10f64.powf((elo_a - (elo_h + cfg.elo_home_advantage)) / 400.0));
        let score_h = match h.cmp(&a) {
            std::cmp::Ordering::Greater => 1.0,
            std::cmp::Ordering::Equal => 0.5,
            std::cmp::Ordering::Less => 0.0,
        };
        let gd = h.abs_diff(a);
        let multiplier = match gd {
            0 | 1 => 1.0,
            2 => 1.5,
            _ => (11.0 + f64::from(gd)) / 8.0,
        };
        let delta = cfg.elo_k * multiplier * (score_h - expected_h);
        for (team, gf, ga, at_home, elo) in [
            (m.home, h, a, true, elo_h + delta),
            (m.away, a, h, false, elo_a - delta),
        ] {
            let t = teams.entry(team).or_insert_with(|| Tally {
                elo: cfg.elo_start,
                ..Tally::default()
            });
            t.played += 1;
            t.scored += gf;
            t.conceded += ga;
            let venue = if at_home { &mut t.home } else { &mut t.away };
            venue.0 += 1;
            venue.1 += gf;
            venue.2 += ga;
            t.history.push((gf, ga));
            t.elo = elo;
        }
    }
    let n = sorted.len() as u32;
    let averages = LeagueAverages {
        matches: n,
        home_goals: per_match(home_goals, n),
        away_goals: per_match(away_goals, n),
    };
    // League goals per team per match.
    let mu = if n == 0 {
        0.0
    } else {
        f64::from(home_goals + away_goals) / (2.0 * f64::from(n))
    };
    let strength = |goals: u32, played: u32| {
        if mu <= 0.0 {
            return F64(1.0);
        }
        F64(
            ((f64::from(goals) + cfg.prior_matches * mu) / (f64::from(played) + cfg.prior_matches))
                / mu,
        )
    };
    let ratings = teams
        .into_iter()
        .map(|(team, t)| {
            let recent = &t.history[t.history.len().saturating_sub(cfg.form_n)..];
            let points = recent.iter().map(|(f, a)| match f.cmp(a) {
                std::cmp::Ordering::Greater => 3,
                std::cmp::Ordering::Equal => 1,
                std::cmp::Ordering::Less => 0,
            });
            let rating = TeamRating {
                played: t.played,
                elo: F64(t.elo),
                attack: strength(t.scored, t.played),
                defence: strength(t.conceded, t.played),
                form_matches: recent.len() as u32,
                form_points: points.sum(),
                form_goals_for: recent.iter().map(|r| r.0).sum(),
                form_goals_against: recent.iter().map(|r| r.1).sum(),
                home_played: t.home.0,
                home_scored_per_match: per_match(t.home.1, t.home.0),
                home_conceded_per_match: per_match(t.home.2, t.home.0),
                away_played: t.away.0,
                away_scored_per_match: per_match(t.away.1, t.away.0),
                away_conceded_per_match: per_match(t.away.2, t.away.0),
            };
            (team, rating)
        })
        .collect();
    (averages, ratings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kickoff: i64, home: TeamId, away: TeamId, h: u8, a: u8) -> FinishedMatch {
        FinishedMatch {
            kickoff,
            match_id: kickoff as u64,
            home,
            away,
            full_time: Score { home: h, away: a },
        }
    }

    #[test]
    fn elo_moves_by_the_textbook_amount() {
        // Equal teams, home advantage 60: E_home = 1 / (1 + 10^(-60/400)) = 0.5855; a 1-0 home win
        // moves the home team by 20 * (1 - 0.5855) = 8.29 points.
        let (_, r) = rate_league(&[m(1, 1, 2, 1, 0)], &RatingConfig::default());
        assert!((r[&1].elo.0 - 1508.29).abs() < 0.01, "{}", r[&1].elo.0);
        assert!(
            (r[&1].elo.0 + r[&2].elo.0 - 3000.0).abs() < 1e-9,
            "Elo is zero-sum"
        );
        // A 4-0 win uses the (11 + 4) / 8 multiplier.
        let (_, r) = rate_league(&[m(1, 1, 2, 4, 0)], &RatingConfig::default());
        assert!((r[&1].elo.0 - (1500.0 + 20.0 * 15.0 / 8.0 * (1.0 - 0.585_5))).abs() < 0.01);
    }

    #[test]
    fn form_keeps_only_the_last_n_in_kickoff_order_whatever_the_input_order() {
        let cfg = RatingConfig {
            form_n: 2,
            ..RatingConfig::default()
        };
        let games = [m(3, 1, 2, 0, 1), m(1, 1, 2, 5, 0), m(2, 2, 1, 2, 2)];
        let (avg, r) = rate_league(&games, &cfg);
        // Team 1's last two: a 2-2 draw away, then a 0-1 home loss.
        assert_eq!(
            (
                r[&1].form_points,
                r[&1].form_goals_for,
                r[&1].form_goals_against
            ),
            (1, 2, 3)
        );
        assert_eq!(r[&1].played, 3);
        assert_eq!(avg.matches, 3);
        assert_eq!(avg.home_goals, F64(7.0 / 3.0));
        let mut reversed = games.to_vec();
        reversed.reverse();
        assert_eq!(rate_league(&reversed, &cfg).1, r);
    }

    #[test]
    fn attack_and_defence_are_relative_to_the_league_and_shrunk() {
        let cfg = RatingConfig {
            prior_matches: 0.0,
            ..RatingConfig::default()
        };
        // 2 matches, 6 goals: mu = 1.5 goals per team per match. Team 1 scored 4 in 2 → 2/1.5.
        let (_, r) = rate_league(&[m(1, 1, 2, 3, 0), m(2, 3, 1, 2, 1)], &cfg);
        assert!((r[&1].attack.0 - 2.0 / 1.5).abs() < 1e-12);
        assert!((r[&1].defence.0 - 1.0 / 1.5).abs() < 1e-12);
        let shrunk = rate_league(
            &[m(1, 1, 2, 3, 0), m(2, 3, 1, 2, 1)],
            &RatingConfig::default(),
        )
        .1;
        assert!(shrunk[&1].attack.0 < r[&1].attack.0 && shrunk[&1].attack.0 > 1.0);
    }
}
