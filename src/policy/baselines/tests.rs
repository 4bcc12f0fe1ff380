//! Tests of the baseline policies: determinism and caps of random, the favourite's window,
//! the value policy's model and bets, the oracle's edge without look-ahead.

use super::value::{in_play_model, remaining_share};
use super::*;
use crate::sim::TruthRow;
use oddsflow_dataflows::dominance::Dominance;
use oddsflow_dataflows::features::FeatureVector;
use oddsflow_dataflows::features::{MarketProbs, TeamFeatures};
use oddsflow_dataflows::model::{F64, Line, TeamRef};
use oddsflow_dataflows::model::{Fixture, MatchStatus};
use oddsflow_dataflows::ratings::LeagueAverages;

const T0: i64 = 1_767_441_600_000;

fn fixture(kickoff: EventTime) -> Fixture {
    Fixture {
        version: 1,
        league: "SIM1".into(),
        season: "2025-26".into(),
        kickoff,
        home: TeamRef {
            id: 101,
            name: "Home".into(),
        },
        away: TeamRef {
            id: 102,
            name: "Away".into(),
        },
        venue: String::new(),
        referee: String::new(),
    }
}

fn quote(phase: Phase, price: f64) -> Quote {
    Quote {
        phase,
        price: F64(price),
        modelled: false,
    }
}

fn x12(view: &mut View, m: MatchId, phase: Phase, prices: [f64; 3]) {
    let q = view.quotes.entry(m).or_default();
    for (s, p) in [Selection::Home, Selection::Draw, Selection::Away]
        .into_iter()
        .zip(prices)
    {
        q.insert((MarketKind::MatchOdds, s), quote(phase, p));
    }
}

fn account() -> Account {
    Account {
        start: 1000.0,
        settled_profit: 0.0,
    }
}

fn features(status: MatchStatus, minute: i32, goals: [u32; 2], reds: [u32; 2]) -> FeatureVector {
    let team = |g, r| TeamFeatures {
        goals: g,
        red: r,
        attack: F64(1.0),
        defence: F64(1.0),
        ..TeamFeatures::default()
    };
    FeatureVector {
        clock_s: minute * 60,
        status,
        score_diff: goals[0] as i32 - goals[1] as i32,
        home: team(goals[0], reds[0]),
        away: team(goals[1], reds[1]),
        dominance_short: Dominance::default(),
        dominance_long: Dominance::default(),
        implied: MarketProbs::default(),
        drift: MarketProbs::default(),
    }
}

/// Three matches, each with 1X2, over/under 2.5 and BTTS quotes.
fn busy_view() -> View {
    let mut v = View::default();
    for m in 1..=3u64 {
        v.fixtures.insert(m, fixture(T0 + 3_600_000));
        x12(&mut v, m, Phase::Prematch, [2.0, 3.4, 4.0]);
        let q = v.quotes.entry(m).or_default();
        let ou = MarketKind::OverUnder { line: Line(10) };
        q.insert((ou, Selection::Over), quote(Phase::Prematch, 1.9));
        q.insert((ou, Selection::Under), quote(Phase::Prematch, 1.9));
        q.insert(
            (MarketKind::Btts, Selection::Yes),
            quote(Phase::Prematch, 1.8),
        );
        q.insert(
            (MarketKind::Btts, Selection::No),
            quote(Phase::Prematch, 2.0),
        );
    }
    v
}

fn run_random(cfg: &RandomConfig, view: &View, calls: usize) -> Vec<Intent> {
    let mut p = RandomPolicy::new(cfg.clone());
    let changed: Vec<MatchId> = view.quotes.keys().copied().collect();
    (0..calls)
        .flat_map(|i| p.decide(i as Time * 1000, view, &changed, &account()))
        .collect()
}

/// The value policy trusting every rating (the test views have no history).
fn trusting() -> ValueConfig {
    ValueConfig {
        min_played: 0,
        max_bets_per_match: 99,
        ..ValueConfig::default()
    }
}

#[test]
fn value_waits_for_rated_teams_and_caps_its_bets_per_match() {
    let v = value_view([1.5, 4.0, 7.0]);
    let mut p = Value::new(ValueConfig::default());
    assert!(
        p.decide(T0 as Time, &v, &[1], &account()).is_empty(),
        "teams without {} rated matches are not priced",
        ValueConfig::default().min_played
    );
    let mut p = Value::new(ValueConfig {
        max_bets_per_match: 1,
        ..trusting()
    });
    assert!(p.decide(T0 as Time, &v, &[1], &account()).len() <= 1);
}

#[test]
fn random_is_deterministic_for_a_seed_and_respects_the_cap() {
    let view = busy_view();
    let cfg = RandomConfig {
        seed: 7,
        rate: 0.3,
        coupon_rate: 0.2,
        max_bets_per_match: 2,
        stake: 10.0,
        max_price: f64::INFINITY,
        ..RandomConfig::default()
    };
    let a = run_random(&cfg, &view, 200);
    assert_eq!(a, run_random(&cfg, &view, 200), "same seed, same bets");
    let other = RandomConfig {
        seed: 8,
        ..cfg.clone()
    };
    assert_ne!(
        a,
        run_random(&other, &view, 200),
        "another seed, other bets"
    );
    let singles: Vec<&Intent> = a.iter().filter(|i| i.legs.len() == 1).collect();
    for m in 1..=3u64 {
        let n = singles.iter().filter(|i| i.legs[0].0 == m).count();
        assert_eq!(
            n, 2,
            "match {m}: at most max_bets_per_match singles (and 200 chances)"
        );
    }
    let coupons: Vec<&Intent> = a.iter().filter(|i| i.legs.len() > 1).collect();
    assert!(!coupons.is_empty());
    for c in &coupons {
        assert!((2..=3).contains(&c.legs.len()));
        let ms: BTreeSet<MatchId> = c.legs.iter().map(|l| l.0).collect();
        assert_eq!(ms.len(), c.legs.len(), "coupon legs from distinct matches");
    }
    for i in &a {
        assert_eq!(i.stake, 10.0);
        for (m, mk, s) in &i.legs {
            assert!(
                view.quotes[m].contains_key(&(*mk, *s)),
                "an available selection"
            );
        }
    }
    // Rate 0 and no coupons: nothing.
    let none = RandomConfig {
        rate: 0.0,
        coupon_rate: 0.0,
        ..cfg
    };
    assert!(run_random(&none, &view, 50).is_empty());
}

#[test]
fn favourite_backs_the_lowest_price_once_inside_the_window() {
    let kickoff = T0 + 3_600_000;
    let mut view = View::default();
    view.fixtures.insert(1, fixture(kickoff));
    view.fixtures.insert(2, fixture(kickoff));
    x12(&mut view, 1, Phase::Prematch, [3.1, 3.3, 2.4]);
    x12(&mut view, 2, Phase::Prematch, [2.2, 3.3, 2.2]);
    let mut p = Favourite::new(FavouriteConfig::default());
    let at = |min_before: i64| (kickoff - min_before * 60_000) as Time;
    // Seen (changed) 30 min before: outside the window.
    assert!(p.decide(at(30), &view, &[1, 2], &account()).is_empty());
    // 14 min before, only an unrelated match changed: no bet (its own clock decides).
    assert!(p.decide(at(14), &view, &[9], &account()).is_empty());
    // 13 min before, match 1 changed: it is bet on, match 2 not yet.
    assert_eq!(
        p.decide(at(13), &view, &[1], &account()),
        vec![Intent::single(
            1,
            MarketKind::MatchOdds,
            Selection::Away,
            10.0
        )],
        "the lowest price"
    );
    assert_eq!(
        p.decide(at(12), &view, &[2], &account()),
        vec![Intent::single(
            2,
            MarketKind::MatchOdds,
            Selection::Home,
            10.0
        )],
        "a tie goes to home"
    );
    // Once per match.
    assert!(p.decide(at(10), &view, &[1, 2], &account()).is_empty());

    // A match first seen after kick-off, or only inside the window with in-play quotes: none.
    let mut p = Favourite::new(FavouriteConfig::default());
    let mut late = View::default();
    late.fixtures.insert(3, fixture(kickoff));
    x12(&mut late, 3, Phase::InPlay, [2.0, 3.0, 4.0]);
    assert!(p.decide(at(5), &late, &[3], &account()).is_empty());
    assert!(p.decide(at(0), &late, &[3], &account()).is_empty());
    x12(&mut late, 3, Phase::Prematch, [2.0, 3.0, 4.0]);
    assert!(
        p.decide(at(-1), &late, &[3], &account()).is_empty(),
        "kick-off passed"
    );
    // The window's edges: exactly `minutes_before` before is in, kick-off itself is out.
    let mut p = Favourite::new(FavouriteConfig::default());
    let edge = FavouriteConfig::default().minutes_before as i64;
    assert!(p.decide(at(edge + 1), &late, &[3], &account()).is_empty());
    assert_eq!(p.decide(at(edge), &late, &[3], &account()).len(), 1);
    // A missing 1X2 selection (suspended) waits for the next decision inside the window.
    let mut p = Favourite::new(FavouriteConfig::default());
    let mut partial = late.clone();
    if let Some(q) = partial.quotes.get_mut(&3) {
        q.remove(&(MarketKind::MatchOdds, Selection::Draw));
    }
    assert!(p.decide(at(12), &partial, &[3], &account()).is_empty());
    assert!(p.decide(at(11), &late, &[], &account()).is_empty());
    assert_eq!(
        p.decide(at(10), &late, &[3], &account()),
        vec![Intent::single(
            3,
            MarketKind::MatchOdds,
            Selection::Home,
            10.0
        )]
    );
}

fn value_view(prices: [f64; 3]) -> View {
    let mut v = View::default();
    v.fixtures.insert(1, fixture(T0));
    v.leagues.insert(
        "SIM1".into(),
        LeagueAverages {
            matches: 40,
            home_goals: F64(1.5),
            away_goals: F64(1.2),
        },
    );
    x12(&mut v, 1, Phase::Prematch, prices);
    v
}

#[test]
fn value_bets_a_mispriced_selection_and_not_a_fair_one() {
    let [h, d, a] = GoalModel::new([0, 0], [1.5, 1.2], 0.0).one_x_two();
    assert!((h + d + a - 1.0).abs() < 1e-9);
    assert!(h > a && h > 0.4 && h < 0.5, "{h}");
    // Fair prices with a 5 % margin: the model agrees with the book, no bet.
    let fair = [h, d, a].map(|p| 1.0 / (p * 1.05));
    let mut p = Value::new(trusting());
    assert!(
        p.decide(T0 as Time, &value_view(fair), &[1], &account())
            .is_empty()
    );
    // Home at 3.0 (fair ≈ 0.33 against the model's ≈ 0.45): bet home only.
    let view = value_view([3.0, 3.4, 3.0]);
    let bets = p.decide(T0 as Time, &view, &[1], &account());
    assert_eq!(bets.len(), 1, "{bets:?}");
    assert_eq!(
        bets[0].legs,
        vec![(1, MarketKind::MatchOdds, Selection::Home)]
    );
    let f = (h * 3.0 - 1.0) / 2.0;
    let expect = ((0.25 * f * 1000.0f64).min(50.0) * 100.0).floor() / 100.0;
    assert!(
        (bets[0].stake - expect).abs() < 1e-9,
        "{} vs {expect}",
        bets[0].stake
    );
    // Once per (match, market, selection, phase).
    assert!(
        p.decide(T0 as Time + 1000, &view, &[1], &account())
            .is_empty()
    );
    // A match that did not change is not evaluated.
    let mut p = Value::new(trusting());
    assert!(p.decide(T0 as Time, &view, &[2], &account()).is_empty());
    // Stronger home attack in the ratings moves the model: now home at 2.15 is value.
    let mut rated = value_view([2.15, 3.6, 3.1]);
    let mut p = Value::new(trusting());
    assert!(p.decide(T0 as Time, &rated, &[1], &account()).is_empty());
    rated.ratings.insert(
        ("SIM1".into(), 101),
        oddsflow_dataflows::ratings::TeamRating {
            attack: F64(1.5),
            defence: F64(0.8),
            ..Default::default()
        },
    );
    let bets = p.decide(T0 as Time, &rated, &[1], &account());
    assert_eq!(bets.len(), 1);
    assert_eq!(bets[0].legs[0].2, Selection::Home);
}

#[test]
fn value_prices_over_under_and_btts_only_on_whole_markets() {
    let mut v = value_view([2.15, 3.6, 3.1]);
    let q = v.quotes.entry(1).or_default();
    let ou = MarketKind::OverUnder { line: Line(10) };
    // Model P(over 2.5) with λ = 2.7 ≈ 0.51; priced as if 0.35.
    q.insert((ou, Selection::Over), quote(Phase::Prematch, 2.7));
    q.insert((ou, Selection::Under), quote(Phase::Prematch, 1.45));
    // BTTS with "No" missing (suspended): not priced.
    q.insert(
        (MarketKind::Btts, Selection::Yes),
        quote(Phase::Prematch, 4.0),
    );
    let mut p = Value::new(trusting());
    let bets = p.decide(T0 as Time, &v, &[1], &account());
    let legs: Vec<_> = bets.iter().map(|b| b.legs[0]).collect();
    assert_eq!(legs, vec![(1, ou, Selection::Over)]);
    let model = GoalModel::new([0, 0], [1.5, 1.2], 0.0);
    assert!(
        (model.over(2.5) - 0.5064).abs() < 1e-3,
        "{}",
        model.over(2.5)
    );
}

#[test]
fn value_in_play_model_follows_the_score_clock_and_cards() {
    let lambda = [1.5, 1.2];
    let prematch = GoalModel::new([0, 0], lambda, 0.0).one_x_two();
    let at = |status, minute, goals, reds| {
        in_play_model(lambda, &features(status, minute, goals, reds))
            .map(|m| m.one_x_two())
            .unwrap_or_default()
    };
    // Kick-off: the prematch model.
    let start = at(MatchStatus::FirstHalf, 0, [0, 0], [0, 0]);
    for k in 0..3 {
        assert!((start[k] - prematch[k]).abs() < 1e-9);
    }
    // A home lead at 80' makes a home win very likely, more so than at 30'.
    let lead80 = at(MatchStatus::SecondHalf, 80, [1, 0], [0, 0]);
    let lead30 = at(MatchStatus::FirstHalf, 30, [1, 0], [0, 0]);
    assert!(lead80[0] > 0.8, "{lead80:?}");
    assert!(lead80[0] > lead30[0] && lead30[0] > prematch[0]);
    // Level at 80': a draw is the most likely result.
    let level80 = at(MatchStatus::SecondHalf, 80, [1, 1], [0, 0]);
    assert!(level80[1] > 0.5 && level80[1] > prematch[1], "{level80:?}");
    // A home red card helps the away side.
    let red = at(MatchStatus::FirstHalf, 30, [0, 0], [1, 0]);
    let no_red = at(MatchStatus::FirstHalf, 30, [0, 0], [0, 0]);
    assert!(red[2] > no_red[2] && red[0] < no_red[0]);
    // Remaining share: full at kick-off, about 56 % at half time (later goals weigh more),
    // small but positive deep in stoppage.
    let share = |s, m| remaining_share(s, m * 60).unwrap_or(f64::NAN);
    assert!((share(MatchStatus::FirstHalf, 0) - 1.0).abs() < 1e-12);
    let ht = share(MatchStatus::HalfTime, 47);
    assert!(ht > 0.5 && ht < 0.6, "{ht}");
    assert!(share(MatchStatus::SecondHalf, 99) > 0.0);
    assert!(share(MatchStatus::SecondHalf, 99) < share(MatchStatus::SecondHalf, 85));
    assert_eq!(remaining_share(MatchStatus::Finished, 5400), None);

    // Through the policy: with 1-0 at 80' the book still offering home at 1.5 is value;
    // in-play quotes are not bet without a feature vector.
    let mut v = value_view([1.5, 4.0, 7.0]);
    x12(&mut v, 1, Phase::InPlay, [1.5, 4.0, 7.0]);
    let mut p = Value::new(trusting());
    assert!(p.decide(T0 as Time, &v, &[1], &account()).is_empty());
    v.features
        .insert(1, features(MatchStatus::SecondHalf, 80, [1, 0], [0, 0]));
    let bets = p.decide(T0 as Time, &v, &[1], &account());
    assert_eq!(bets.len(), 1);
    assert_eq!(
        bets[0].legs,
        vec![(1, MarketKind::MatchOdds, Selection::Home)]
    );
    assert_eq!(bets[0].stake, 50.0, "capped at max_stake");
}

#[test]
fn dixon_coles_moves_mass_to_low_draws() {
    let plain = GoalModel::new([0, 0], [1.4, 1.1], 0.0).one_x_two();
    let dc = GoalModel::new([0, 0], [1.4, 1.1], -0.1).one_x_two();
    assert!((dc.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(dc[1] > plain[1]);
}

#[test]
fn margin_free_normalises_one_market() {
    let view = busy_view();
    let p = margin_free_market(&view.quotes[&1], MarketKind::MatchOdds);
    let total = 0.5 + 1.0 / 3.4 + 0.25;
    assert_eq!(p.len(), 3);
    assert_eq!(p[0].0, Selection::Home);
    assert!((p[0].1 - 0.5 / total).abs() < 1e-12);
    let ou = margin_free_market(&view.quotes[&1], MarketKind::OverUnder { line: Line(10) });
    assert!((ou[0].1 - 0.5).abs() < 1e-12 && ou[0].0 == Selection::Over);
    assert!(margin_free_market(&view.quotes[&1], MarketKind::CorrectScore).is_empty());
}

fn truth_row(ts: i64, selection: Selection, prob: f64) -> TruthRow {
    TruthRow {
        ts,
        match_id: 1,
        market: MarketKind::MatchOdds,
        selection,
        prob,
    }
}

#[test]
fn oracle_bets_the_true_edge_and_never_reads_ahead() {
    let now = T0 + 7_000; // a rounded decision time
    let truth = Arc::new(Truth::from_rows(&[
        // Home: 0.6 at now + 999 (edge 0.08 at 1.8), then 0.9 from now + 1000.
        truth_row(now - 5_000, Selection::Home, 0.4),
        truth_row(now + 999, Selection::Home, 0.6),
        truth_row(now + 1_000, Selection::Home, 0.9),
        // Away: edge only from a row at now + granularity (look-ahead), must not bet.
        truth_row(now - 5_000, Selection::Away, 0.2),
        truth_row(now + 1_000, Selection::Away, 0.9),
        // Draw: a small edge (0.3 · 3.4 − 1 = 0.02), under min_edge.
        truth_row(now, Selection::Draw, 0.3),
    ]));
    let mut view = View::default();
    view.fixtures.insert(1, fixture(T0 + 3_600_000));
    x12(&mut view, 1, Phase::Prematch, [1.8, 3.4, 4.0]);
    let cfg = OracleConfig {
        min_edge: 0.05,
        ..OracleConfig::default()
    };
    let mut p = Oracle::new(cfg.clone(), truth.clone());
    let bets = p.decide(now as Time, &view, &[1], &account());
    // Kelly (0.6·1.8 − 1)/0.8 = 0.1; a quarter of it on 1000: 25.
    assert_eq!(
        bets,
        vec![Intent::single(
            1,
            MarketKind::MatchOdds,
            Selection::Home,
            25.0
        )]
    );
    // Once per (match, market, selection, phase).
    assert!(p.decide(now as Time, &view, &[1], &account()).is_empty());
    // The next tick reads the rows at now + 1000: away has an edge now; home is not re-bet.
    let next = p.decide(now as Time + 1000, &view, &[1], &account());
    let sels: Vec<Selection> = next.iter().map(|b| b.legs[0].2).collect();
    assert_eq!(sels, vec![Selection::Away], "{next:?}");
    // The same selections in play are new keys.
    x12(&mut view, 1, Phase::InPlay, [1.8, 3.4, 4.0]);
    let later = p.decide(now as Time + 2000, &view, &[1], &account());
    let sels: Vec<Selection> = later.iter().map(|b| b.legs[0].2).collect();
    assert_eq!(sels, vec![Selection::Home, Selection::Away], "{later:?}");
    // A decision one tick earlier reads rows with ts < now only: no edge anywhere.
    let mut p = Oracle::new(cfg, truth);
    x12(&mut view, 1, Phase::Prematch, [1.8, 3.4, 4.0]);
    assert!(
        p.decide(now as Time - 1000, &view, &[1], &account())
            .is_empty()
    );
    // Unchanged matches are not looked at.
    assert!(p.decide(now as Time, &view, &[], &account()).is_empty());
}
