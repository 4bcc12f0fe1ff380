//! Features: one vector per live match, emitted as deltas.
//!
//! ```text
//!  statuses, lineups ─────────────┐
//!  team_match (aggregates) ───────┤
//!  team_ratings ⋈ live fixtures ──┼─► reduce by match ─► (match, FeatureVector)   (live matches only)
//!  dominance (both windows) ──────┤
//!  available + prematch close ────┘   (1X2, over/under 0.5–4.5, BTTS)
//! ```
//!
//! The output is a differential collection: when anything a match's vector depends on changes at
//! time `t`, the old vector is retracted and the new one added at `t` — at most one change per
//! match per timestamp, stamped with event time. A match's vector appears at kick-off and is
//! retracted when it stops being live (finished, abandoned).
//!
//! ## Fields ([`FeatureVector`])
//! | field | meaning |
//! |---|---|
//! | `clock_s` | match clock, seconds |
//! | `status` | `first_half`, `half_time`, `second_half` |
//! | `score_diff` | home goals − away goals |
//! | `home`, `away` ([`TeamFeatures`]) | the side's goals, red cards (sendings-off), yellow cards, corners, shots, shots on target, xG (thousandths), fouls in this match (the aggregates); its Elo, attack and defence ratings and form (points and matches over the last 5) from the matches finished so far — 1500, 1.0, 1.0, 0, 0 for a team without one; its formation |
//! | `dominance_short`, `dominance_long` | home and away pressure and the index over the first and second dominance windows (5 and 10 min by default) |
//! | `implied` ([`MarketProbs`]) | implied probabilities of 1X2 (`home`, `draw`, `away`), over N.5 goals for N = 0…4, and BTTS yes, with the margin removed by **proportional normalisation** (pᵢ = (1/oᵢ) / Σⱼ 1/oⱼ over the market's selections); `None` unless every selection of that market is available now |
//! | `drift` ([`MarketProbs`]) | `implied` minus the same margin-free probability at the prematch close; `None` when either side is missing |

use std::collections::BTreeMap;

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use crate::Time;
use crate::aggregates::{Aggregates, TeamMatchStats};
use crate::availability::Availability;
use crate::dominance::{Dominance, DominanceConfig, live_matches};
use crate::ingest::MatchState;
use crate::model::*;
use crate::ratings::{RatingConfig, TeamRating};

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TeamFeatures {
    pub goals: u32,
    pub red: u32,
    pub yellow: u32,
    pub corners: u32,
    pub shots: u32,
    pub shots_on_target: u32,
    pub xg_milli: u32,
    pub fouls: u32,
    pub elo: F64,
    pub attack: F64,
    pub defence: F64,
    pub form_points: u32,
    pub form_matches: u32,
    pub formation: String,
}

/// Margin-free probabilities of the markets the features read.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct MarketProbs {
    pub home: Option<F64>,
    pub draw: Option<F64>,
    pub away: Option<F64>,
    pub over_0_5: Option<F64>,
    pub over_1_5: Option<F64>,
    pub over_2_5: Option<F64>,
    pub over_3_5: Option<F64>,
    pub over_4_5: Option<F64>,
    pub btts: Option<F64>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FeatureVector {
    pub clock_s: i32,
    pub status: MatchStatus,
    pub score_diff: i32,
    pub home: TeamFeatures,
    pub away: TeamFeatures,
    pub dominance_short: Dominance,
    pub dominance_long: Dominance,
    pub implied: MarketProbs,
    pub drift: MarketProbs,
}

/// What the per-match feature reduce reads.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FeatureInput {
    Status(Status),
    Formation(Side, String),
    Team(Side, TeamMatchStats),
    Rating(Side, TeamRating),
    /// Dominance over the window of this width (ms).
    Dominance(u64, Dominance),
    Quote(MarketKind, Selection, F64),
    Close(MarketKind, Selection, F64),
}

/// The over/under lines the features read, in quarter goals (0.5 … 4.5).
const OU_LINES: [i32; 5] = [2, 6, 10, 14, 18];

/// Does the feature vector read this market?
pub fn is_feature_market(m: &MarketKind) -> bool {
    match m {
        MarketKind::MatchOdds | MarketKind::Btts => true,
        MarketKind::OverUnder { line } => OU_LINES.contains(&line.0),
        _ => false,
    }
}

/// Margin-free probabilities from prices ([`crate::pricing::margin::proportional`]); `None` for
/// a market with a selection missing.
pub fn margin_free(prices: &BTreeMap<(MarketKind, Selection), F64>) -> MarketProbs {
    let norm = |market: MarketKind, sels: &[Selection], want: Selection| -> Option<F64> {
        let quoted: Option<Vec<f64>> = sels
            .iter()
            .map(|s| prices.get(&(market, *s)).map(|p| p.0))
            .collect();
        let probs = crate::pricing::margin::proportional(&quoted?)?;
        let i = sels.iter().position(|s| *s == want)?;
        Some(F64(probs[i]))
    };
    let x12 = [Selection::Home, Selection::Draw, Selection::Away];
    let ou = |q: i32| {
        norm(
            MarketKind::OverUnder { line: Line(q) },
            &[Selection::Over, Selection::Under],
            Selection::Over,
        )
    };
    MarketProbs {
        home: norm(MarketKind::MatchOdds, &x12, Selection::Home),
        draw: norm(MarketKind::MatchOdds, &x12, Selection::Draw),
        away: norm(MarketKind::MatchOdds, &x12, Selection::Away),
        over_0_5: ou(OU_LINES[0]),
        over_1_5: ou(OU_LINES[1]),
        over_2_5: ou(OU_LINES[2]),
        over_3_5: ou(OU_LINES[3]),
        over_4_5: ou(OU_LINES[4]),
        btts: norm(
            MarketKind::Btts,
            &[Selection::Yes, Selection::No],
            Selection::Yes,
        ),
    }
}

fn drift(now: &MarketProbs, close: &MarketProbs) -> MarketProbs {
    let d = |a: Option<F64>, b: Option<F64>| Some(F64(a?.0 - b?.0));
    MarketProbs {
        home: d(now.home, close.home),
        draw: d(now.draw, close.draw),
        away: d(now.away, close.away),
        over_0_5: d(now.over_0_5, close.over_0_5),
        over_1_5: d(now.over_1_5, close.over_1_5),
        over_2_5: d(now.over_2_5, close.over_2_5),
        over_3_5: d(now.over_3_5, close.over_3_5),
        over_4_5: d(now.over_4_5, close.over_4_5),
        btts: d(now.btts, close.btts),
    }
}

/// The feature vector of one match from its inputs (from scratch), or `None` if it is not live.
pub fn feature_vector<'a>(
    inputs: impl IntoIterator<Item = &'a FeatureInput>,
    dominance: &DominanceConfig,
    ratings: &RatingConfig,
) -> Option<FeatureVector> {
    let mut status = None;
    let mut team = [TeamFeatures::default(), TeamFeatures::default()];
    for t in &mut team {
        (t.elo, t.attack, t.defence) = (F64(ratings.elo_start), F64(1.0), F64(1.0));
    }
    let (mut short, mut long) = (Dominance::default(), Dominance::default());
    let (mut quotes, mut closes) = (BTreeMap::new(), BTreeMap::new());
    let side = |s: &Side| usize::from(*s == Side::Away);
    for input in inputs {
        match input {
            FeatureInput::Status(s) => status = Some(*s),
            FeatureInput::Formation(s, f) => team[side(s)].formation = f.clone(),
            FeatureInput::Team(s, st) => {
                let t = &mut team[side(s)];
                (t.goals, t.red, t.yellow, t.corners) = (st.goals, st.red, st.yellow, st.corners);
                (t.shots, t.shots_on_target, t.xg_milli, t.fouls) =
                    (st.shots, st.shots_on_target, st.xg_milli, st.fouls);
            }
            FeatureInput::Rating(s, r) => {
                let t = &mut team[side(s)];
                (t.elo, t.attack, t.defence, t.form_points, t.form_matches) =
                    (r.elo, r.attack, r.defence, r.form_points, r.form_matches);
            }
            FeatureInput::Dominance(w, d) if Some(w) == dominance.windows_ms.first() => short = *d,
            FeatureInput::Dominance(w, d) if Some(w) == dominance.windows_ms.get(1) => long = *d,
            FeatureInput::Dominance(..) => {}
            FeatureInput::Quote(m, s, p) => {
                quotes.insert((*m, *s), *p);
            }
            FeatureInput::Close(m, s, p) => {
                closes.insert((*m, *s), *p);
            }
        }
    }
    let status = status.filter(|s| s.status.is_live())?;
    let implied = margin_free(&quotes);
    let [home, away] = team;
    Some(FeatureVector {
        clock_s: status.clock_s,
        status: status.status,
        score_diff: home.goals as i32 - away.goals as i32,
        home,
        away,
        dominance_short: short,
        dominance_long: long,
        drift: drift(&implied, &margin_free(&closes)),
        implied,
    })
}

/// Builds the features dataflow.
pub fn features<'scope>(
    state: &MatchState<'scope>,
    aggregates: &Aggregates<'scope>,
    dominance: &VecCollection<'scope, Time, ((MatchId, u64), Dominance)>,
    availability: &Availability<'scope>,
    dominance_cfg: &DominanceConfig,
    rating_cfg: &RatingConfig,
) -> VecCollection<'scope, Time, (MatchId, FeatureVector)> {
    let live = live_matches(state);
    let statuses = state
        .statuses
        .clone()
        .map(|(m, s)| (m, FeatureInput::Status(s)));
    let formations = state
        .lineups
        .clone()
        .map(|(m, l)| (m, FeatureInput::Formation(l.side, l.formation)));
    let teams = aggregates
        .team_match
        .clone()
        .map(|((m, s), st)| (m, FeatureInput::Team(s, st)));
    // Ratings reach a match through its fixture; only live fixtures, so that rating changes do
    // not fan out to every scheduled match.
    let ratings = state
        .fixtures
        .clone()
        .semijoin(live)
        .flat_map(|(m, f)| {
            [
                ((f.league.clone(), f.home.id), (m, Side::Home)),
                ((f.league, f.away.id), (m, Side::Away)),
            ]
        })
        .join_map(aggregates.team_ratings.clone(), |_, (m, side), r| {
            (*m, FeatureInput::Rating(*side, r.clone()))
        });
    let dom = dominance
        .clone()
        .map(|((m, w), d)| (m, FeatureInput::Dominance(w, d)));
    let quotes = availability
        .available
        .clone()
        .filter(|((_, mk, _), _)| is_feature_market(mk))
        .map(|((m, mk, s), q)| (m, FeatureInput::Quote(mk, s, q.price)));
    let closes = availability
        .prematch_close
        .clone()
        .filter(|((_, mk, _), _)| is_feature_market(mk))
        .map(|((m, mk, s), p)| (m, FeatureInput::Close(mk, s, p)));
    let (dcfg, rcfg) = (dominance_cfg.clone(), rating_cfg.clone());
    statuses
        .concat(formations)
        .concat(teams)
        .concat(ratings)
        .concat(dom)
        .concat(quotes)
        .concat(closes)
        .reduce_named("Features", move |_m, input, output| {
            let inputs = input.iter().filter(|(_, n)| *n > 0).map(|(x, _)| *x);
            if let Some(v) = feature_vector(inputs, &dcfg, &rcfg) {
                output.push((v, 1));
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_normalisation_removes_the_margin() {
        let mut p = BTreeMap::new();
        p.insert((MarketKind::MatchOdds, Selection::Home), F64(2.0));
        p.insert((MarketKind::MatchOdds, Selection::Draw), F64(3.5));
        p.insert((MarketKind::MatchOdds, Selection::Away), F64(4.0));
        let probs = margin_free(&p);
        let total = 0.5 + 1.0 / 3.5 + 0.25;
        assert!((probs.home.unwrap().0 - 0.5 / total).abs() < 1e-12);
        let sum = probs.home.unwrap().0 + probs.draw.unwrap().0 + probs.away.unwrap().0;
        assert!((sum - 1.0).abs() < 1e-12);
        assert_eq!(
            probs.btts, None,
            "a market with no prices has no probability"
        );
        p.remove(&(MarketKind::MatchOdds, Selection::Draw));
        assert_eq!(
            margin_free(&p).home,
            None,
            "a market with a selection missing has none"
        );
    }
}
