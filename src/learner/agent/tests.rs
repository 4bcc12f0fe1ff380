//! Tests of the online `drqn` policy: acting within the budget, the cadence, determinism,
//! reward plumbing, training, outcomes and counterfactual credit, coupons.

use super::*;
use crate::learner::encode::Context;
use oddsflow_dataflows::availability::Quote;
use oddsflow_dataflows::dominance::Dominance;
use oddsflow_dataflows::features::{FeatureVector, MarketProbs, TeamFeatures};
use oddsflow_dataflows::model::{F64, MarketKind, MatchStatus, Phase, Selection};

const T0: Time = 1_767_441_600_000;

fn features(minute: i32, goals: [u32; 2]) -> FeatureVector {
    let team = |g| TeamFeatures {
        goals: g,
        attack: F64(1.0),
        defence: F64(1.0),
        formation: "4-4-2".into(),
        ..TeamFeatures::default()
    };
    FeatureVector {
        clock_s: minute * 60,
        status: MatchStatus::FirstHalf,
        score_diff: goals[0] as i32 - goals[1] as i32,
        home: team(goals[0]),
        away: team(goals[1]),
        dominance_short: Dominance::default(),
        dominance_long: Dominance::default(),
        implied: MarketProbs::default(),
        drift: MarketProbs::default(),
    }
}

/// 1X2 quotes for match `m`; `draw` false leaves the draw out.
fn x12(view: &mut View, m: MatchId, draw: bool) {
    let q = view.quotes.entry(m).or_default();
    q.clear();
    for (s, p) in [
        (Selection::Home, 2.0),
        (Selection::Draw, 3.4),
        (Selection::Away, 4.0),
    ] {
        if s != Selection::Draw || draw {
            q.insert(
                (MarketKind::MatchOdds, s),
                Quote {
                    phase: Phase::InPlay,
                    price: F64(p),
                    modelled: false,
                },
            );
        }
    }
}

fn account() -> Account {
    Account {
        start: 1000.0,
        settled_profit: 0.0,
    }
}

fn small(seed: u64) -> DrqnPolicyConfig {
    DrqnPolicyConfig {
        seed,
        hidden: 16,
        min_step_ms: 0,
        ..DrqnPolicyConfig::default()
    }
}

fn step(at: Time, x: Vec<f32>, mask: [bool; ACTIONS], action: usize, reward: f64) -> Step {
    Step {
        at,
        state: None,
        x,
        prices: [0.0; SELECTIONS.len()],
        hindsight: [None; SELECTIONS.len()],
        mask,
        action,
        reward,
    }
}

fn settled(stake: f64, payout: f64) -> Settled {
    Settled {
        stake: F64(stake),
        payout: F64(payout),
        outcomes: vec![None],
    }
}

#[test]
fn pure_exploration_only_backs_available_selections() {
    let mut p = DrqnPolicy::new(DrqnPolicyConfig {
        epsilon_start: 1.0,
        epsilon_end: 1.0,
        hidden: 64,
        ..small(1)
    });
    let mut view = View::default();
    let (mut bets, mut steps) = (0, 0);
    let start = std::time::Instant::now();
    for i in 0..400u64 {
        for m in [1, 2] {
            view.features.insert(m, features((i / 5) as i32, [0, 0]));
            x12(&mut view, m, (i / 7 + m) % 2 == 0);
        }
        let out = p.decide(T0 + i * 1000, &view, &[1, 2], &account());
        steps += 2;
        for intent in &out {
            bets += 1;
            let (m, mk, s) = intent.legs[0];
            assert!(
                view.quotes[&m].contains_key(&(mk, s)),
                "step {i}: backed {mk:?}/{s:?} of {m} without a quote"
            );
            assert!(intent.stake > 0.0 && intent.stake <= 20.0);
        }
    }
    eprintln!(
        "acting: {:?} per decide of 2 matches (hidden 64)",
        start.elapsed() / 400
    );
    assert!(bets > 100, "exploration backs something: {bets} bets");
    for m in [1, 2] {
        let e = p.episode(m).expect("a live match");
        assert_eq!(e.steps.len(), steps / 2);
        for s in &e.steps {
            assert!(s.action == 0 || s.mask[s.action]);
        }
    }
}

#[test]
fn the_budget_caps_bets_per_match_and_open_stakes() {
    let mut p = DrqnPolicy::new(DrqnPolicyConfig {
        epsilon_start: 1.0,
        epsilon_end: 1.0,
        max_bets_per_match: 2,
        max_open_stake: 50.0,
        ..small(5)
    });
    let mut view = View::default();
    let mut seq = 0u32;
    let mut per_match: BTreeMap<MatchId, usize> = BTreeMap::new();
    let mut open = 0.0;
    let mut placed_ids = Vec::new();
    for i in 0..300u64 {
        let ms: Vec<MatchId> = (1..=6).collect();
        for &m in &ms {
            view.features.insert(m, features((i / 5) as i32, [0, 0]));
            x12(&mut view, m, true);
        }
        let out = p.decide(T0 + i * 10_000, &view, &ms, &account());
        let mut ids = Vec::new();
        for (k, intent) in out.iter().enumerate() {
            if intent.legs.len() == 1 {
                // (Coupons are outside the per-match count of singles, not the open stakes.)
                *per_match.entry(intent.legs[0].0).or_insert(0) += 1;
            }
            open += intent.stake;
            let id = BetId { policy: 0, seq };
            seq += 1;
            ids.push((k, id));
            placed_ids.push((id, intent.stake));
        }
        p.placed(T0 + i * 10_000, &ids);
        assert!(open <= 50.0 + 1e-9, "open stakes {open} over the budget");
        // Settle the oldest open bet now and then: its stake comes free again.
        if i % 50 == 49 {
            if let Some((id, stake)) = placed_ids.first().copied() {
                placed_ids.remove(0);
                p.settled(T0 + i * 10_000, id, &settled(stake, 0.0), 1);
                open -= stake;
            }
        }
    }
    assert!(!per_match.is_empty(), "exploration bets");
    assert!(
        per_match.values().all(|n| *n <= 2),
        "at most two bets per match: {per_match:?}"
    );
}

#[test]
fn the_cadence_throttles_steps_but_sees_mask_changes() {
    let mut p = DrqnPolicy::new(DrqnPolicyConfig {
        min_step_ms: 10_000,
        ..small(2)
    });
    let mut view = View::default();
    view.features.insert(1, features(1, [0, 0]));
    x12(&mut view, 1, true);
    let step = |p: &mut DrqnPolicy, now: Time, view: &View| {
        p.decide(T0 + now, view, &[1], &account());
        p.episode(1).map_or(0, |e| e.steps.len())
    };
    assert_eq!(step(&mut p, 0, &view), 1);
    assert_eq!(step(&mut p, 3_000, &view), 1); // too soon
    x12(&mut view, 1, false);
    assert_eq!(step(&mut p, 4_000, &view), 2); // the draw closed: seen at once
    assert_eq!(step(&mut p, 9_000, &view), 2);
    assert_eq!(step(&mut p, 14_000, &view), 3); // 10 s after the last step
}

/// Plays three overlapping matches with settlements; returns every decision's intents.
fn play(seed: u64) -> (Vec<Vec<Intent>>, u64, Vec<Episode>) {
    let mut p = DrqnPolicy::new(DrqnPolicyConfig {
        epsilon_start: 0.5,
        train_every_episodes: 1,
        batch_episodes: 2,
        target_sync_updates: 2,
        final_after_ms: 60_000,
        ..small(seed)
    });
    let mut view = View::default();
    let mut seq = 0;
    let mut pending: Vec<(BetId, Selection)> = Vec::new();
    let mut all = Vec::new();
    for tick in 0..80u64 {
        let now = T0 + tick * 15_000;
        for (m, b) in pending.drain(..) {
            let payout = if b == Selection::Home { 2.0 } else { 0.0 };
            p.settled(now, m, &settled(5.0, payout), 1);
        }
        let mut changed = Vec::new();
        for m in 1..=3u64 {
            let live = (m * 8..m * 8 + 20).contains(&tick);
            if live {
                view.features
                    .insert(m, features(tick as i32, [(tick % 3) as u32, 0]));
                x12(&mut view, m, tick % 4 != 0);
                changed.push(m);
            } else if view.features.remove(&m).is_some() {
                view.quotes.remove(&m);
                changed.push(m);
            }
        }
        let out = p.decide(now, &view, &changed, &account());
        let mut placed = Vec::new();
        for (i, intent) in out.iter().enumerate() {
            let id = BetId { policy: 0, seq };
            seq += 1;
            placed.push((i, id));
            pending.push((id, intent.legs[0].2));
        }
        p.placed(now, &placed);
        all.push(out);
    }
    (all, p.updates(), p.buffer().iter().cloned().collect())
}

#[test]
fn the_same_seed_gives_the_same_intents() {
    let (a, updates, episodes) = play(9);
    let (b, _, _) = play(9);
    assert_eq!(a, b);
    assert_eq!(updates, 3, "each of the three final episodes trains once");
    assert_eq!(episodes.len(), 3);
    assert!(episodes.iter().all(|e| e.steps.len() == 20));
    assert!(
        episodes
            .iter()
            .flat_map(|e| &e.steps)
            .any(|s| s.reward != 0.0)
    );
    let (c, _, _) = play(10);
    assert_ne!(a, c, "another seed explores differently");
}

#[test]
fn settlements_and_corrections_land_on_the_step_of_the_bet() {
    let cfg = DrqnPolicyConfig {
        epsilon_start: 1.0,
        epsilon_end: 1.0,
        ..small(3)
    };
    let scale = cfg.reward_scale;
    let mut p = DrqnPolicy::new(cfg);
    let mut view = View::default();
    x12(&mut view, 4, true);
    let id = BetId { policy: 0, seq: 0 };
    let mut at = None;
    for i in 0..50u64 {
        view.features.insert(4, features(i as i32, [0, 0]));
        let out = p.decide(T0 + i * 1000, &view, &[4], &account());
        if !out.is_empty() {
            p.placed(T0 + i * 1000, &[(0, id)]);
            at = Some(p.episode(4).expect("live").steps.len() - 1);
            break;
        }
    }
    let at = at.expect("pure exploration bets within 50 steps");
    let reward = |p: &DrqnPolicy| p.episode(4).expect("live").steps[at].reward;
    p.settled(T0, id, &settled(10.0, 2.5), 1);
    assert!((reward(&p) - 15.0 * scale).abs() < 1e-12);
    // A correction: the win retracted, a loss in its place.
    p.settled(T0, id, &settled(10.0, 2.5), -1);
    p.settled(T0, id, &settled(10.0, 0.0), 1);
    assert!((reward(&p) + 10.0 * scale).abs() < 1e-12);
    // An unknown bet changes nothing.
    p.settled(T0, BetId { policy: 0, seq: 9 }, &settled(10.0, 3.0), 1);
    assert!((reward(&p) + 10.0 * scale).abs() < 1e-12);
    let others: f64 = p
        .episode(4)
        .expect("live")
        .steps
        .iter()
        .map(|s| s.reward)
        .sum();
    assert!((others + 10.0 * scale).abs() < 1e-12);
}

#[test]
fn training_learns_which_selection_pays() {
    let mut p = DrqnPolicy::new(DrqnPolicyConfig {
        lr: 3e-3,
        ..small(4)
    });
    let mut view = View::default();
    x12(&mut view, 1, true);
    view.features.insert(1, features(10, [0, 0]));
    let ctx = Context::default();
    let x0 = encode(&view.features[&1], view.quotes.get(&1), &ctx);
    let x1 = encode(&features(11, [0, 0]), view.quotes.get(&1), &ctx);
    let mk = mask(&view, 1);
    let home = first_action_of(0);
    let available: Vec<usize> = (0..ACTIONS).filter(|&a| mk[a]).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..40 {
        let a = available[rng.random_range(0..available.len())];
        let reward = match action(a) {
            Action::NoBet => 0.0,
            Action::Back {
                selection: Selection::Home,
                ..
            } => 1.0,
            Action::Back { .. } => -1.0,
        };
        p.remember(Episode {
            steps: vec![
                step(0, x0.clone(), mk, a, reward),
                step(1000, x1.clone(), mk, 0, 0.0),
            ],
            // No outcome: only the taken actions are credited.
            outcomes: None,
        });
    }
    let start = std::time::Instant::now();
    let mut losses = Vec::new();
    for _ in 0..300 {
        losses.push(p.train().expect("a buffer"));
    }
    eprintln!(
        "training: {:?} per update (8 episodes x 2 steps, hidden 16); loss {} -> {}",
        start.elapsed() / 300,
        losses[0],
        losses[losses.len() - 1]
    );
    let q = p.first_step_q(&x0);
    let backs = |s: usize| first_action_of(s)..first_action_of(s) + 3;
    let worst_home = backs(0).map(|a| q[a]).fold(f32::INFINITY, f32::min);
    let best_other = backs(1)
        .chain(backs(2))
        .map(|a| q[a])
        .fold(f32::NEG_INFINITY, f32::max);
    assert!(
        worst_home > best_other && worst_home > q[0],
        "Q(home) {worst_home} vs others {best_other}, no bet {}: {q:?}",
        q[0]
    );
    assert_eq!(
        selection_of(masked_argmax(&q, &mk)),
        selection_of(home),
        "the greedy choice backs home"
    );
}

#[test]
fn outcomes_follow_the_result_and_abandonment_voids() {
    use oddsflow_dataflows::model::Score;
    let result = MatchResult {
        version: 1,
        half_time: Score { home: 1, away: 0 },
        full_time: Score { home: 2, away: 1 },
        corners: None,
    };
    let o = outcomes(Some(&result), false).expect("a result");
    let won: Vec<bool> = o.iter().map(|x| x.expect("decided")).collect();
    // 1X2 home/draw/away, over/under 1.5, over/under 2.5, BTTS yes/no.
    assert_eq!(
        won,
        [true, false, false, true, false, true, false, true, false]
    );
    assert_eq!(
        outcomes(Some(&result), true),
        Some([None; SELECTIONS.len()])
    );
    assert_eq!(outcomes(None, false), None);
}

#[test]
fn hindsight_credits_the_bets_not_placed_as_the_book_would_take_them() {
    let mut steps = Vec::new();
    let mk = [true; ACTIONS];
    for (i, at) in [0u64, 3_000, 20_000, 24_000, 40_000]
        .into_iter()
        .enumerate()
    {
        let mut s = step(at, Vec::new(), mk, 0, 0.0);
        s.prices[0] = 2.0; // home, steady
        s.prices[1] = [3.0, 0.0, 3.0, 3.0, 3.0][i]; // draw: suspended at 3 s
        s.prices[2] = [4.0, 4.0, 4.0, 3.0, 3.0][i]; // away: shortens at 24 s
        s.prices[3] = [1.5, 1.6, 1.5, 1.5, 0.0][i]; // over 1.5: lengthens at 3 s
        steps.push(s);
    }
    let mut o = [Some(false); SELECTIONS.len()];
    o[0] = Some(true);
    o[2] = Some(true);
    o[3] = Some(true);
    let h = hindsight(&steps, &o, 6_000, 0.02);
    let at = |i: usize, s: usize| h[i][s];
    assert_eq!(at(0, 0), Some(1.0), "a winner at 2.0");
    assert_eq!(
        at(0, 1),
        Some(0.0),
        "the draw is suspended when the bet arrives"
    );
    assert_eq!(at(1, 1), None, "not quoted: no credit");
    assert_eq!(at(2, 1), Some(-1.0), "a loser");
    assert_eq!(at(2, 2), Some(0.0), "away fell from 4.0 to 3.0: refused");
    assert_eq!(at(3, 2), Some(2.0), "taken at 3.0");
    assert_eq!(
        at(0, 3),
        Some(0.6000000238418579),
        "taken at the better price 1.6"
    );
    assert_eq!(at(4, 3), None);
    assert_eq!(at(4, 2), Some(2.0), "the last step: as quoted");
    // Void (abandoned): every quoted bet is credited 0.
    let void = hindsight(&steps, &[None; SELECTIONS.len()], 6_000, 0.02);
    assert!(void.iter().flatten().all(|x| x.is_none_or(|v| v == 0.0)));
}

#[test]
fn counterfactual_credit_learns_from_bets_never_placed() {
    // The policy never bet (every action 0, reward 0); home won every match. With
    // counterfactual credit it learns that backing home pays and away does not.
    let cfg = DrqnPolicyConfig {
        lr: 3e-3,
        seq_len: 16,
        burn_in: 0,
        ..small(6)
    };
    let mut p = DrqnPolicy::new(cfg);
    let mut view = View::default();
    x12(&mut view, 1, true);
    view.features.insert(1, features(10, [0, 0]));
    let x0 = encode(&view.features[&1], view.quotes.get(&1), &Context::default());
    let mk = mask(&view, 1);
    for _ in 0..20 {
        let mut steps: Vec<Step> = (0..4)
            .map(|i| {
                let mut s = step(i * 10_000, x0.clone(), mk, 0, 0.0);
                s.prices[..3].copy_from_slice(&[2.0, 3.4, 4.0]);
                s
            })
            .collect();
        let mut o = [None; SELECTIONS.len()];
        o[..3].copy_from_slice(&[Some(true), Some(false), Some(false)]);
        let credit = hindsight(&steps, &o, 6_000, 0.02);
        for (s, h) in steps.iter_mut().zip(credit) {
            s.hindsight = h;
        }
        p.remember(Episode {
            steps,
            outcomes: Some(o),
        });
    }
    for _ in 0..200 {
        p.train().expect("a buffer");
    }
    let q = p.first_step_q(&x0);
    let home = first_action_of(0) + 2; // the largest stake
    let away = first_action_of(2) + 2;
    assert!(
        q[home] > q[0] + 0.3 && q[away] < q[0] - 0.3,
        "home {} / no bet {} / away {}: {q:?}",
        q[home],
        q[0],
        q[away]
    );
    // The probability head learned the outcomes too.
    let device = p.acting.input.weight.val().device();
    let xt = Tensor::<3>::from_data(TensorData::new(x0.clone(), [1, 1, x0.len()]), &device);
    let probs = floats(p.acting.forward(xt, None).prob);
    assert!(
        probs[first_action_of(0)] > 0.8 && probs[first_action_of(2)] < 0.2,
        "{probs:?}"
    );
}

#[test]
fn coupons_join_positive_edge_legs_across_matches_at_a_fractional_kelly() {
    let mut p = DrqnPolicy::new(small(7));
    let mut view = View::default();
    let now = T0 + 100_000;
    for m in [1, 2, 3] {
        view.features.insert(m, features(30, [0, 0]));
        x12(&mut view, m, true);
        let mut t = Track::new();
        let mut probs = [0.1f32; SELECTIONS.len()];
        // Match 1: home at 2.0 with p̂ 0.6 (edge 0.2); match 2: away at 4.0 with p̂ 0.3
        // (edge 0.2) and home 0.55 (edge 0.1); match 3: nothing with an edge.
        match m {
            1 => probs[0] = 0.6,
            2 => {
                probs[0] = 0.55;
                probs[2] = 0.3;
            }
            _ => probs[0] = 0.45,
        }
        t.probs = Some((now, probs));
        p.tracks.insert(m, t);
    }
    let account = Account {
        start: 1000.0,
        settled_profit: 0.0,
    };
    let c = p.coupon(now, &view, &[2], &account, 0.0).expect("a coupon");
    assert_eq!(
        c.legs,
        vec![
            (1, MarketKind::MatchOdds, Selection::Home),
            (2, MarketKind::MatchOdds, Selection::Away)
        ]
    );
    // Joint p 0.18 at 8.0: Kelly (1.44 − 1) / 7 ≈ 0.0629; a tenth of it on 1000, capped at 10.
    assert!((c.stake - 628.0 / 100.0).abs() < 1e-9, "{}", c.stake);
    // Not without a stepping leg, not with a single leg, not once a match is in a coupon.
    assert!(p.coupon(now, &view, &[3], &account, 0.0).is_none());
    p.tracks.get_mut(&2).unwrap().probs = Some((now, [0.1; SELECTIONS.len()]));
    assert!(p.coupon(now, &view, &[1], &account, 0.0).is_none());
    p.tracks.get_mut(&2).unwrap().probs = Some((now, [0.3; SELECTIONS.len()]));
    p.tracks
        .get_mut(&2)
        .unwrap()
        .coupons
        .push(BetId { policy: 0, seq: 1 });
    assert!(p.coupon(now, &view, &[1], &account, 0.0).is_none());
    // Stale estimates are not used.
    p.tracks.get_mut(&2).unwrap().coupons.clear();
    assert!(p.coupon(now + 60_000, &view, &[1], &account, 0.0).is_none());
}
