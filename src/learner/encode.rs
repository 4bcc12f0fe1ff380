//! What the learner sees and what it can do: the input encoding of one decision step and the
//! action space with its availability mask.
//!
//! **Decision steps** are a live match's feature deltas: whenever its feature vector (or the
//! quotes of its action markets) changes at a timestamp, the match takes one step. Prematch the
//! learner does not act (it has no feature vector yet).
//!
//! **Input** ([`encode`], [`FEATURE_SCHEMA`] names every component, in order): the match clock,
//! status (one-hot), score difference; per side the match counters (goals, red and yellow cards,
//! corners, shots, shots on target, xG, fouls), ratings (Elo, attack, defence, form) and the
//! **formation as encoded features** (defenders, midfielders, forwards of e.g. `4-2-3-1`);
//! dominance over both windows; the margin-free implied probabilities and their drift from the
//! prematch close (0 with a flag when missing); per action selection, its inverse price and
//! whether it is available; and the **step context** ([`Context`], kept by a [`MatchMemory`] per
//! match from the match's own earlier steps): how recently each side scored and how recently a
//! market reopened (`exp(−Δt / 60 s)`, 0 when never), and per selection the log change of its
//! price since the match's previous step (0 when it was not quoted then or is not now). All
//! scaled to roughly unit range.
//!
//! **Actions** ([`ACTIONS`]): 0 = no bet; then, for each of the [`SELECTIONS`] and each stake
//! size in [`STAKE_FRACTIONS`] (fractions of a Kelly-capped maximum stake), "back this selection
//! at this size". An action is available ([`mask`]) when its selection is available now; no-bet
//! always is.

use oddsflow_dataflows::Time;
use oddsflow_dataflows::availability::Quote;
use oddsflow_dataflows::dominance::Dominance;
use oddsflow_dataflows::features::{FeatureVector, MarketProbs, TeamFeatures};
use oddsflow_dataflows::model::{Line, MarketKind, MatchStatus, Selection};

use oddsflow_dataflows::policy::View;

/// The selections the learner can back.
pub(crate) const SELECTIONS: [(MarketKind, Selection); 9] = [
    (MarketKind::MatchOdds, Selection::Home),
    (MarketKind::MatchOdds, Selection::Draw),
    (MarketKind::MatchOdds, Selection::Away),
    (MarketKind::OverUnder { line: Line(6) }, Selection::Over),
    (MarketKind::OverUnder { line: Line(6) }, Selection::Under),
    (MarketKind::OverUnder { line: Line(10) }, Selection::Over),
    (MarketKind::OverUnder { line: Line(10) }, Selection::Under),
    (MarketKind::Btts, Selection::Yes),
    (MarketKind::Btts, Selection::No),
];

/// Stake sizes, as fractions of the maximum stake.
pub(crate) const STAKE_FRACTIONS: [f64; 3] = [0.25, 0.5, 1.0];

/// No-bet plus one action per selection and stake size.
pub(crate) const ACTIONS: usize = 1 + SELECTIONS.len() * STAKE_FRACTIONS.len();

/// What an action does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Action {
    NoBet,
    Back {
        market: MarketKind,
        selection: Selection,
        /// Fraction of the maximum stake.
        fraction: f64,
    },
}

/// The action with index `a` (out of range: no bet).
pub(crate) fn action(a: usize) -> Action {
    if a == 0 || a >= ACTIONS {
        return Action::NoBet;
    }
    let (s, k) = (
        (a - 1) / STAKE_FRACTIONS.len(),
        (a - 1) % STAKE_FRACTIONS.len(),
    );
    let (market, selection) = SELECTIONS[s];
    Action::Back {
        market,
        selection,
        fraction: STAKE_FRACTIONS[k],
    }
}

/// The selection (index into [`SELECTIONS`]) a back action `a ≥ 1` backs.
pub(crate) fn selection_of(a: usize) -> usize {
    (a.max(1) - 1) / STAKE_FRACTIONS.len()
}

/// The index of the first action backing selection `s` (its smallest stake).
pub(crate) fn first_action_of(s: usize) -> usize {
    1 + s * STAKE_FRACTIONS.len()
}

/// Which actions are available for a match now: no-bet always; a bet while its selection is.
pub(crate) fn mask(view: &View, m: oddsflow_dataflows::model::MatchId) -> [bool; ACTIONS] {
    let mut out = [false; ACTIONS];
    out[0] = true;
    let Some(quotes) = view.quotes.get(&m) else {
        return out;
    };
    for (s, key) in SELECTIONS.iter().enumerate() {
        if quotes.contains_key(key) {
            for k in 0..STAKE_FRACTIONS.len() {
                out[first_action_of(s) + k] = true;
            }
        }
    }
    out
}

fn team_names(side: &str) -> Vec<String> {
    [
        "goals",
        "red",
        "yellow",
        "corners",
        "shots",
        "shots_on_target",
        "xg",
        "fouls",
        "elo",
        "attack",
        "defence",
        "form_points",
        "form_matches",
        "defenders",
        "midfielders",
        "forwards",
    ]
    .iter()
    .map(|n| format!("{side}.{n}"))
    .collect()
}

const PROB_NAMES: [&str; 9] = [
    "home", "draw", "away", "over_0_5", "over_1_5", "over_2_5", "over_3_5", "over_4_5", "btts",
];

/// The names of the input components, in order: a checkpoint stores them, and loading one whose
/// schema differs is an error.
pub(crate) fn feature_schema() -> Vec<String> {
    let mut v: Vec<String> = [
        "clock",
        "first_half",
        "half_time",
        "second_half",
        "score_diff",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(team_names("home"));
    v.extend(team_names("away"));
    for w in ["short", "long"] {
        for f in ["home_pressure", "away_pressure", "index"] {
            v.push(format!("dominance_{w}.{f}"));
        }
    }
    for group in ["implied", "drift"] {
        for p in PROB_NAMES {
            v.push(format!("{group}.{p}"));
            v.push(format!("{group}.{p}.known"));
        }
    }
    for (mk, s) in SELECTIONS {
        let name = format!("{mk:?}/{s:?}");
        v.push(format!("quote.{name}.inverse_price"));
        v.push(format!("quote.{name}.available"));
    }
    v.extend(["since_goal.home", "since_goal.away", "since_reopen"].map(String::from));
    for (mk, s) in SELECTIONS {
        v.push(format!("quote.{mk:?}/{s:?}.change"));
    }
    v
}

/// Per action, the input column holding the inverse price of its selection (no-bet: the first
/// selection's, which means nothing): the probability head's market anchor.
pub(crate) fn anchor_columns() -> Vec<usize> {
    let schema = feature_schema();
    (0..ACTIONS)
        .map(|a| {
            let (mk, s) = SELECTIONS[selection_of(a)];
            let name = format!("quote.{mk:?}/{s:?}.inverse_price");
            schema
                .iter()
                .position(|c| *c == name)
                .expect("every selection has an inverse-price input")
        })
        .collect()
}

/// The step context of one decision step (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Context {
    /// `exp(−Δt / 60 s)` since the home (0) and away (1) side's goal count last rose; 0 when it
    /// has not risen since the match's first step.
    pub(crate) since_goal: [f32; 2],
    /// `exp(−Δt / 60 s)` since a selection last became available again; 0 when none has.
    pub(crate) since_reopen: f32,
    /// Per selection, `ln(price now / price at the previous step)`; 0 unless quoted at both.
    pub(crate) price_change: [f32; SELECTIONS.len()],
}

/// The time scale of the recency inputs.
const RECENCY_MS: f64 = 60_000.0;

fn recency(now: Time, at: Option<Time>) -> f32 {
    at.map_or(0.0, |at| {
        (-(now.saturating_sub(at) as f64) / RECENCY_MS).exp() as f32
    })
}

/// What the learner remembers of one match between its decision steps, to build the [`Context`].
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct MatchMemory {
    seen: bool,
    goals: [u32; 2],
    goal_at: [Option<Time>; 2],
    reopen_at: Option<Time>,
    /// Per selection, its price at the previous step (`None`: not quoted then).
    prices: [Option<f64>; SELECTIONS.len()],
}

impl MatchMemory {
    /// Takes the step at `now` into account and returns its context. Goals already on the board
    /// at the first step have no known time.
    pub(crate) fn observe(
        &mut self,
        now: Time,
        fv: &FeatureVector,
        quotes: Option<&std::collections::BTreeMap<(MarketKind, Selection), Quote>>,
    ) -> Context {
        let goals = [fv.home.goals, fv.away.goals];
        if self.seen {
            for side in 0..2 {
                if goals[side] > self.goals[side] {
                    self.goal_at[side] = Some(now);
                }
            }
        }
        let mut price_change = [0.0f32; SELECTIONS.len()];
        let mut reopened = false;
        for (s, key) in SELECTIONS.iter().enumerate() {
            let now_price = quotes.and_then(|q| q.get(key)).map(|q| q.price.0);
            match (self.prices[s], now_price) {
                (Some(before), Some(p)) if before > 0.0 && p > 0.0 => {
                    price_change[s] = (p / before).ln() as f32;
                }
                (None, Some(_)) if self.seen => reopened = true,
                _ => {}
            }
            self.prices[s] = now_price;
        }
        if reopened {
            self.reopen_at = Some(now);
        }
        self.goals = goals;
        self.seen = true;
        Context {
            since_goal: [recency(now, self.goal_at[0]), recency(now, self.goal_at[1])],
            since_reopen: recency(now, self.reopen_at),
            price_change,
        }
    }
}

/// The number of input components.
pub(crate) fn inputs() -> usize {
    feature_schema().len()
}

/// Defenders, midfielders, forwards of a formation such as `4-2-3-1` (0s when unreadable).
fn formation_lines(f: &str) -> [f32; 3] {
    let parts: Vec<f32> = f
        .split('-')
        .filter_map(|p| p.trim().parse::<f32>().ok())
        .collect();
    match parts.as_slice() {
        [] | [_] => [0.0; 3],
        [d, rest @ .., fw] => [*d, rest.iter().sum(), *fw],
    }
}

fn push_team(v: &mut Vec<f32>, t: &TeamFeatures) {
    let c = |x: u32, scale: f32| x as f32 / scale;
    v.extend([
        c(t.goals, 3.0),
        c(t.red, 1.0),
        c(t.yellow, 3.0),
        c(t.corners, 6.0),
        c(t.shots, 10.0),
        c(t.shots_on_target, 5.0),
        t.xg_milli as f32 / 1500.0,
        c(t.fouls, 12.0),
        ((t.elo.0 - 1500.0) / 200.0) as f32,
        t.attack.0 as f32 - 1.0,
        t.defence.0 as f32 - 1.0,
        c(t.form_points, 15.0),
        c(t.form_matches, 5.0),
    ]);
    let [d, m, f] = formation_lines(&t.formation);
    v.extend([d / 5.0, m / 5.0, f / 3.0]);
}

fn push_dominance(v: &mut Vec<f32>, d: &Dominance) {
    v.extend([
        (d.home_pressure.0 / 50.0) as f32,
        (d.away_pressure.0 / 50.0) as f32,
        d.index.0 as f32,
    ]);
}

fn push_probs(v: &mut Vec<f32>, p: &MarketProbs) {
    for x in [
        p.home, p.draw, p.away, p.over_0_5, p.over_1_5, p.over_2_5, p.over_3_5, p.over_4_5, p.btts,
    ] {
        match x {
            Some(x) => v.extend([x.0 as f32, 1.0]),
            None => v.extend([0.0, 0.0]),
        }
    }
}

/// The input vector of one decision step: a live match's feature vector and its quotes.
pub(crate) fn encode(
    fv: &FeatureVector,
    quotes: Option<&std::collections::BTreeMap<(MarketKind, Selection), Quote>>,
    ctx: &Context,
) -> Vec<f32> {
    let mut v = Vec::with_capacity(160);
    let status = |s| f32::from(u8::from(fv.status == s));
    v.extend([
        fv.clock_s as f32 / 5400.0,
        status(MatchStatus::FirstHalf),
        status(MatchStatus::HalfTime),
        status(MatchStatus::SecondHalf),
        fv.score_diff as f32 / 2.0,
    ]);
    push_team(&mut v, &fv.home);
    push_team(&mut v, &fv.away);
    push_dominance(&mut v, &fv.dominance_short);
    push_dominance(&mut v, &fv.dominance_long);
    push_probs(&mut v, &fv.implied);
    push_probs(&mut v, &fv.drift);
    for key in SELECTIONS {
        match quotes.and_then(|q| q.get(&key)) {
            Some(q) => v.extend([(1.0 / q.price.0) as f32, 1.0]),
            None => v.extend([0.0, 0.0]),
        }
    }
    v.extend(ctx.since_goal);
    v.push(ctx.since_reopen);
    v.extend(ctx.price_change);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use oddsflow_dataflows::model::{F64, Phase};
    use std::collections::BTreeMap;

    #[test]
    fn the_encoding_matches_its_schema_and_the_actions_round_trip() {
        let fv = FeatureVector {
            clock_s: 2700,
            status: MatchStatus::SecondHalf,
            score_diff: 1,
            home: TeamFeatures {
                formation: "4-2-3-1".into(),
                ..TeamFeatures::default()
            },
            away: TeamFeatures::default(),
            dominance_short: Dominance::default(),
            dominance_long: Dominance::default(),
            implied: MarketProbs::default(),
            drift: MarketProbs::default(),
        };
        let mut quotes = BTreeMap::new();
        quotes.insert(
            SELECTIONS[1],
            Quote {
                phase: Phase::InPlay,
                price: F64(4.0),
                modelled: false,
            },
        );
        let mut memory = MatchMemory::default();
        let ctx = memory.observe(0, &fv, None);
        assert_eq!(ctx, Context::default());
        let mut later = fv.clone();
        later.away.goals = 1;
        let ctx = memory.observe(60_000, &later, Some(&quotes));
        assert_eq!(ctx.since_goal[0], 0.0);
        assert!((ctx.since_goal[1] - 1.0).abs() < 1e-6);
        assert!(
            (ctx.since_reopen - 1.0).abs() < 1e-6,
            "the draw was not quoted before"
        );
        let mut cheaper = quotes.clone();
        cheaper.get_mut(&SELECTIONS[1]).unwrap().price = F64(2.0);
        let ctx = memory.observe(120_000, &later, Some(&cheaper));
        assert!((ctx.since_goal[1] - (-1.0f32).exp()).abs() < 1e-6);
        assert!((ctx.price_change[1] - 0.5f32.ln()).abs() < 1e-6);
        let x = encode(&fv, Some(&quotes), &ctx);
        let schema = feature_schema();
        assert_eq!(x.len(), schema.len());
        let at = |name: &str| x[schema.iter().position(|n| n == name).expect(name)];
        assert_eq!(at("clock"), 0.5);
        assert_eq!(at("second_half"), 1.0);
        assert_eq!(at("home.defenders"), 4.0 / 5.0);
        assert_eq!(at("home.midfielders"), 5.0 / 5.0);
        assert_eq!(at("home.forwards"), 1.0 / 3.0);
        assert_eq!(at("quote.MatchOdds/Draw.inverse_price"), 0.25);
        assert_eq!(at("quote.MatchOdds/Draw.available"), 1.0);
        assert_eq!(at("quote.MatchOdds/Home.available"), 0.0);
        assert_eq!(at("since_goal.home"), 0.0);
        assert!((at("since_goal.away") - (-1.0f32).exp()).abs() < 1e-6);
        assert!((at("quote.MatchOdds/Draw.change") - 0.5f32.ln()).abs() < 1e-6);

        assert_eq!(action(0), Action::NoBet);
        for a in 1..ACTIONS {
            let Action::Back {
                market, selection, ..
            } = action(a)
            else {
                panic!("action {a} backs something");
            };
            let s = SELECTIONS
                .iter()
                .position(|k| *k == (market, selection))
                .expect("a known selection");
            assert!((first_action_of(s)..first_action_of(s) + STAKE_FRACTIONS.len()).contains(&a));
        }
        let mut view = View::default();
        view.quotes.insert(7, quotes);
        let m = mask(&view, 7);
        assert!(m[0]);
        assert_eq!(m.iter().filter(|x| **x).count(), 1 + STAKE_FRACTIONS.len());
        assert!(m[first_action_of(1)] && !m[first_action_of(0)]);
    }
}
