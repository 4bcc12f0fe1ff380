//! The online `drqn` policy: a recurrent Q-learner ([`super::model::Drqn`]) that acts and learns
//! as the feed plays.
//!
//! # Decision steps (cadence)
//!
//! A live match (one with a feature vector in the [`View`]) takes a **decision step** at a
//! timestamp when it is among the changed matches **and**
//!
//! - it has had no step yet, or
//! - at least [`DrqnPolicyConfig::min_step_ms`] of event time (default 10 s) has passed since its
//!   last step, or
//! - its action mask ([`mask`]) differs from the mask at its last step, so that a market that
//!   closes or reopens is seen at once.
//!
//! So the cadence is *feature deltas, thinned to at most one step per `min_step_ms` of event time
//! unless availability changes*: the deltas are the trigger (no step happens without a change),
//! the throttle bounds the episode length of a busy match.
//!
//! # Acting
//!
//! Each step is encoded ([`encode`]) and run through the acting network (an autodiff-free
//! [`Module::valid`] copy of the online network) one step at a time (`seq = 1`), carrying the
//! match's GRU state; the steps of one timestamp are batched. The choice is epsilon-greedy among
//! the *available* actions only, epsilon falling linearly from `epsilon_start` to `epsilon_end`
//! over `epsilon_decay_steps` decisions. A back action becomes a single of `fraction × max_stake`.
//!
//! **Budget.** A back action is available only while its selection is quoted, the match has had
//! fewer than `max_bets_per_match` (3) bets, its stake is within the settled bankroll, and the
//! open stakes plus it stay within `max_open_stake` (500). Otherwise only no-bet is — masked for
//! acting and, since the mask is stored with the step, for the targets. (Without it an untrained
//! learner asks for a bet at most steps and the book refuses thousands for its limits, which the
//! learner never sees: a refused bet settles nothing.) A bet stops counting as open when it
//! settles, or when its match's episode becomes final (a refused bet never settles).
//!
//! The greedy choice backs a selection only when its Q beats no-bet's by more than
//! `min_advantage` **and** the probability head agrees that `p̂ · price − 1 ≥ min_prob_edge`
//! (two estimators of one edge, from payoffs and from outcomes); selections priced above
//! `max_price` (10) are not backed.
//!
//! # Coupons
//!
//! After the singles, the coupon builder takes, for every live match whose probability
//! estimates are at most `coupons.window_ms` old and that is in no coupon yet, its selection with
//! the largest estimated edge `p̂ · price − 1` (at least `coupons.min_edge`, price at most
//! `coupons.max_price`); with at least two such matches, one of them stepping now, it joins the
//! best 2–4 into a coupon staked at `coupons.kelly` × the Kelly fraction on the joint probability
//! `Π p̂` at the joint price `Π price` (capped at `coupons.max_stake`; not placed under 1). A
//! coupon is a bet like any other for the book and settlement; it is not a Q action, so its
//! profit is not a reward.
//!
//! # Rewards and episodes
//!
//! [`Policy::placed`] ties each bet id to its (match, step); [`Policy::settled`] adds
//! `profit × diff × reward_scale` to that step's reward, so a correction (−1 old, +1 new) leaves
//! the corrected profit. A match's episode is its steps; when it stops being live its end time is
//! recorded, and `final_after_ms` (30 min) of event time later — results and most corrections in,
//! a rejected bet never settles and keeps reward 0 — the episode is final: its selections'
//! outcomes are read from the view's results ([`outcomes`]; abandoned: void), its steps get their
//! counterfactual credit ([`hindsight`]), and it goes into a FIFO buffer of `buffer_episodes` (and
//! emitted as an output of the run with `emit_episodes`). The match's GRU state is kept until then (a match that comes back live
//! before that goes on with its episode) and dropped with it.
//!
//! # Counterfactual credit
//!
//! A bet's payoff depends only on its price and the match's outcome, so at every step the value
//! of the bets *not* placed is known once the match is over: backing selection `s` at step `t`
//! would have reached the book `accept_window_ms` (tick + in-play delay, 6 s) later and met the
//! market as the match's last step by then saw it — refused (0) if `s` was unquoted or its price
//! had fallen by more than `price_tolerance`, otherwise taken at that price and settled by the
//! outcome. With `counterfactual` on (the default), every available action at every step gets a
//! target: `r_cf(a) + (G_t − r_t)` — its counterfactual reward in place of the step's real one,
//! followed by what was actually done after it (no-bet: `r_cf = 0`). The action actually taken
//! keeps its real, settled reward. This turns one match into hundreds of labelled bets rather
//! than three, which is what makes learning from a few hundred matches possible; its one
//! approximation is the acceptance check, which sees the market only at the agent's own steps.
//!
//! # Training (R2D2 with stored states)
//!
//! One update samples `batch_episodes` sequences (seeded, with replacement): an episode and a
//! chunk start `s0`, a multiple of `seq_len` (48). The sequence is unrolled from the GRU state
//! the acting network had before step `s0 − burn_in` (stored with every [`STATE_EVERY`]-th step,
//! 16; zeros at the episode's start) through `burn_in` (16) steps without a loss, then `seq_len`
//! steps with one, then up to `n_step` more for the bootstrap. Targets are n-step double-Q:
//!
//! ```text
//! G_t = Σ_{k<n, t+k<T} γ^k r_{t+k} + [t+n < T] γ^n Q_target(s_{t+n})[argmax_{a available} Q_online(s_{t+n})[a]]
//! ```
//!
//! with no bootstrap past the episode end; the target network is a copy of the online network
//! synced every `target_sync_updates` updates. The loss is the squared error over every (step,
//! action) with a target plus `prob_weight` × the probability head's cross-entropy against each
//! selection's outcome (only at steps where the selection is quoted: elsewhere the head's market
//! anchor means nothing), plus `prior_weight` (default 0) × the head's squared offset from the
//! market; [`td_step`] takes one Adam step with global gradient-norm clipping, and
//! the acting network is refreshed from the online one. Online (`learn_online`), one update runs
//! every `train_every_episodes` final episodes; `oddsflow train` ([`super::train`]) collects
//! episodes from replays and trains between them.
//!
//! **The network starts from the market.** The probability head is anchored on each
//! selection's inverse price and the Q head's advantages include each bet's expected profit
//! under it (see [`super::model`]); both heads' own weights start at zero. So an untrained
//! learner sees no edge anywhere and does not bet greedily, and training moves it only where
//! outcomes show the book wrong. Before this the heads learnt probabilities from the match's
//! inputs: the network learnt to recognise its training matches (+44 to +53 % ROI when acting on
//! them again) and bet on noise out of sample (−7 to −20 %).
//!
//! **Determinism.** One seeded [`ChaCha8Rng`] draws the initial weights (not burn's global
//! generator), exploration and the training samples; matches are handled in id order from
//! `BTreeMap`s; the parameters' ids are numbered in module order rather than drawn by burn, and
//! the optimizer sums in module order (see [`super::model`]). So the same feeds, seed and
//! settings give byte-identical checkpoints, on any number of workers (the one policy runs on
//! one worker, and worker 0 orders its episodes by their emission number).

mod coupon;
mod train;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};

use burn::module::{ModuleMapper, Param};
use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use oddsflow_dataflows::Time;
use oddsflow_dataflows::bookmaker::{BetId, Settled};
use oddsflow_dataflows::model::{MatchId, MatchResult};
use oddsflow_dataflows::settlement::{MatchFacts, Outcome, settle};

use super::checkpoint;
use super::config::DrqnPolicyConfig;
use super::encode::{
    ACTIONS, Action, MatchMemory, SELECTIONS, action, anchor_columns, encode, first_action_of,
    inputs, mask, selection_of,
};
use super::episodes::{Episode, Step};
use super::model::{Adam, AdamConfig, Drqn, DrqnConfig, masked_argmax};
use oddsflow_dataflows::policy::{Account, Emits, Intent, Policy, View};

/// A match being played (or ended but not final yet).
struct Track {
    episode: Episode,
    /// The acting network's GRU state after the last step, `[1, hidden]`.
    state: Option<Tensor<2>>,
    /// Time and mask of the last step.
    last: Option<(Time, [bool; ACTIONS])>,
    /// When the match stopped being live.
    ended: Option<Time>,
    /// The bets of its steps.
    bets: Vec<BetId>,
    /// The coupons it is a leg of.
    coupons: Vec<BetId>,
    /// The context memory of its steps.
    memory: MatchMemory,
    /// The probability head's estimate per selection at its last step, and when.
    probs: Option<(Time, [f32; SELECTIONS.len()])>,
}

impl Track {
    fn new() -> Self {
        Track {
            episode: Episode::default(),
            state: None,
            last: None,
            ended: None,
            bets: Vec::new(),
            coupons: Vec::new(),
            memory: MatchMemory::default(),
            probs: None,
        }
    }
}

/// The outcome of each of the [`SELECTIONS`] in a match with this result (`None`: void).
pub(crate) fn outcomes(
    result: Option<&MatchResult>,
    abandoned: bool,
) -> Option<[Option<bool>; SELECTIONS.len()]> {
    if abandoned {
        return Some([None; SELECTIONS.len()]);
    }
    let r = result?;
    let facts = MatchFacts {
        full_time: r.full_time,
        corners: r.corners,
        goals: Vec::new(),
        abandoned: false,
        no_result: false,
    };
    let mut out = [None; SELECTIONS.len()];
    for (o, (mk, sel)) in out.iter_mut().zip(SELECTIONS) {
        *o = match settle(mk, sel, &[], &facts) {
            Ok(Outcome::Won) => Some(true),
            Ok(Outcome::Lost) => Some(false),
            _ => None,
        };
    }
    Some(out)
}

/// Counterfactual credit for every step of a final episode: per selection quoted at the step,
/// the profit per unit stake had it been backed there. The bet is taken to reach the book
/// `window_ms` later and to meet the market as the match's last step by then saw it: refused
/// (profit 0) if the selection was not quoted or its price had fallen by more than `tolerance`,
/// otherwise taken at that price and settled by `outcomes` (void: 0).
pub(crate) fn hindsight(
    steps: &[Step],
    outcomes: &[Option<bool>; SELECTIONS.len()],
    window_ms: u64,
    tolerance: f64,
) -> Vec<[Option<f32>; SELECTIONS.len()]> {
    let mut out = Vec::with_capacity(steps.len());
    let mut j = 0;
    for (i, step) in steps.iter().enumerate() {
        // The last step at or before the bet reaches the book.
        j = j.max(i);
        while j + 1 < steps.len() && steps[j + 1].at <= step.at + window_ms {
            j += 1;
        }
        let then = &steps[j];
        let mut row = [None; SELECTIONS.len()];
        for s in 0..SELECTIONS.len() {
            let price = step.prices[s];
            if price <= 0.0 {
                continue;
            }
            let taken = then.prices[s];
            let refused = taken <= 0.0 || f64::from(taken) < f64::from(price) * (1.0 - tolerance);
            row[s] = Some(match outcomes[s] {
                _ if refused => 0.0,
                None => 0.0,
                Some(true) => taken - 1.0,
                Some(false) => -1.0,
            });
        }
        out.push(row);
    }
    out
}

/// The online DRQN policy (see the module docs).
pub(crate) struct DrqnPolicy {
    cfg: DrqnPolicyConfig,
    rng: ChaCha8Rng,
    /// The trained network (on the autodiff device).
    online: Drqn,
    /// Autodiff-free copy of `online` for acting and targets.
    acting: Drqn,
    /// The target network (autodiff-free).
    target: Drqn,
    optim: Adam,
    tracks: BTreeMap<MatchId, Track>,
    bets: BTreeMap<BetId, (MatchId, usize)>,
    /// What each intent returned by the last `decide` was.
    last_out: Vec<Out>,
    /// Stakes of the bets placed and not settled yet.
    open: BTreeMap<BetId, f64>,
    buffer: VecDeque<Episode>,
    decisions: u64,
    finals: u64,
    updates: u64,
    /// The updates recorded in `checkpoint_in` (0 without one).
    base_updates: u64,
    /// Final episodes not emitted yet (with `emit_episodes`).
    emitted: Vec<Episode>,
}

/// Every this many steps a step keeps the GRU state it started from.
pub(crate) const STATE_EVERY: usize = 16;

/// An intent of the last `decide`: a single from a step, or a coupon over matches.
enum Out {
    Single { m: MatchId, step: usize, stake: f64 },
    Coupon { matches: Vec<MatchId>, stake: f64 },
}

/// Re-draws every float parameter from a seeded generator: weights `[fan_in, ..]` uniform in
/// `±1/√fan_in` (burn's default for `Linear`), biases 0.
struct SeededInit<'a> {
    rng: &'a mut ChaCha8Rng,
}

impl ModuleMapper for SeededInit<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let require_grad = tensor.is_require_grad();
        let device = tensor.device();
        let dims = tensor.dims();
        let n: usize = dims.iter().product();
        let values: Vec<f32> = if D >= 2 {
            let k = 1.0 / (dims[0].max(1) as f32).sqrt();
            (0..n).map(|_| self.rng.random_range(-k..k)).collect()
        } else {
            vec![0.0; n]
        };
        let mut t = Tensor::<D>::from_data(TensorData::new(values, dims), &device);
        if require_grad {
            t = t.require_grad();
        }
        Param::from_mapped_value(id, t, mapper)
    }
}

/// A new network as the policy builds it: weights drawn from `rng`, both heads zeroed (so it
/// starts out saying what the book says).
pub(crate) fn fresh_network(cfg: &DrqnPolicyConfig, device: &Device, rng: &mut ChaCha8Rng) -> Drqn {
    DrqnConfig::new(inputs(), ACTIONS)
        .with_hidden(cfg.hidden.max(1))
        .with_anchor(anchor_columns())
        .with_stake(stakes(cfg))
        .init(device)
        .map(&mut SeededInit { rng })
        .zero_prob_head()
        .zero_advantage_head()
}

/// Per action, its stake in reward units (no bet: 0): the network's edge term.
fn stakes(cfg: &DrqnPolicyConfig) -> Vec<f32> {
    (0..ACTIONS)
        .map(|a| match action(a) {
            Action::NoBet => 0.0,
            Action::Back { fraction, .. } => (fraction * cfg.max_stake * cfg.reward_scale) as f32,
        })
        .collect()
}

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>().expect("f32 tensor data")
}

impl DrqnPolicy {
    /// (Tests only: panics on a bad checkpoint; the runtime uses [`DrqnPolicy::from_config`].)
    #[cfg(test)]
    /// Builds the policy. Panics when `checkpoint_in` cannot be loaded; see [`Self::from_config`].
    pub(crate) fn new(cfg: DrqnPolicyConfig) -> Self {
        Self::from_config(cfg).unwrap_or_else(|e| panic!("building the drqn policy: {e:#}"))
    }

    /// Builds the policy, loading `checkpoint_in` when set (an error when it is missing or does
    /// not fit this build, e.g. another feature schema).
    #[allow(deprecated)] // NdArray is deprecated in burn 0.22 but is the CPU backend enabled here
    pub(crate) fn from_config(cfg: DrqnPolicyConfig) -> anyhow::Result<Self> {
        let device = Device::ndarray().autodiff();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut online = fresh_network(&cfg, &device, &mut rng);
        let mut base_updates = 0;
        if let Some(dir) = &cfg.checkpoint_in {
            let (model, _, _) = checkpoint::load(dir, &device)?;
            online = model;
            base_updates = checkpoint::updates(dir)?;
        }
        let acting = online.valid();
        Ok(DrqnPolicy {
            target: acting.clone(),
            acting,
            online,
            optim: AdamConfig::new().init(),
            rng,
            cfg,
            tracks: BTreeMap::new(),
            bets: BTreeMap::new(),
            last_out: Vec::new(),
            open: BTreeMap::new(),
            buffer: VecDeque::new(),
            decisions: 0,
            emitted: Vec::new(),
            finals: 0,
            updates: 0,
            base_updates,
        })
    }

    /// Saves a checkpoint of the online network into `dir` (the configuration with
    /// `checkpoint_in`/`checkpoint_out` cleared; the update count includes `checkpoint_in`'s).
    pub(crate) fn save_checkpoint(&self, dir: &std::path::Path) -> anyhow::Result<()> {
        let cfg = DrqnPolicyConfig {
            checkpoint_in: None,
            checkpoint_out: None,
            ..self.cfg.clone()
        };
        checkpoint::save_with_updates(
            dir,
            &self.online,
            &self.model_config(),
            &cfg,
            self.base_updates + self.updates,
        )
    }

    #[cfg(test)]
    /// The policy's settings.
    pub(crate) fn config(&self) -> &DrqnPolicyConfig {
        &self.cfg
    }

    #[cfg(test)]
    /// The trained (online) network, on the autodiff device.
    pub(crate) fn online(&self) -> &Drqn {
        &self.online
    }

    /// The configuration the online network was built from (for a checkpoint).
    pub(crate) fn model_config(&self) -> DrqnConfig {
        DrqnConfig::new(self.online.input.weight.dims()[0], self.online.actions)
            .with_hidden(self.online.hidden)
            .with_dueling(self.online.value.is_some())
            .with_anchor(self.online.anchor.clone())
            .with_stake(self.online.stake.clone())
    }

    /// The exploration rate after `decisions` decisions.
    pub(crate) fn epsilon(&self) -> f64 {
        let c = &self.cfg;
        if c.frozen {
            return 0.0;
        }
        let frac = if c.epsilon_decay_steps == 0 {
            1.0
        } else {
            (self.decisions as f64 / c.epsilon_decay_steps as f64).min(1.0)
        };
        c.epsilon_start + (c.epsilon_end - c.epsilon_start) * frac
    }

    #[cfg(test)]
    /// Updates done so far.
    pub(crate) fn updates(&self) -> u64 {
        self.updates
    }

    /// The final episodes in the buffer, oldest first.
    pub(crate) fn buffer(&self) -> &VecDeque<Episode> {
        &self.buffer
    }

    #[cfg(test)]
    /// The episode of a match not final yet.
    pub(crate) fn episode(&self, m: MatchId) -> Option<&Episode> {
        self.tracks.get(&m).map(|t| &t.episode)
    }

    /// Adds a final episode to the buffer (dropping the oldest past capacity).
    pub(crate) fn remember(&mut self, episode: Episode) {
        if episode.steps.is_empty() {
            return;
        }
        self.buffer.push_back(episode);
        while self.buffer.len() > self.cfg.buffer_episodes.max(1) {
            self.buffer.pop_front();
        }
    }

    #[cfg(test)]
    /// The acting network's Q values for `x` as the first step of a match (zero state).
    pub(crate) fn first_step_q(&self, x: &[f32]) -> Vec<f32> {
        let device = self.acting.input.weight.val().device();
        let x = Tensor::<3>::from_data(TensorData::new(x.to_vec(), [1, 1, x.len()]), &device);
        floats(self.acting.forward(x, None).q)
    }

    /// Marks matches that stopped being live (or came back), and moves the episodes that are final
    /// into the buffer, training as they come.
    fn finish(&mut self, now: Time, view: &View) {
        let mut done = Vec::new();
        for (m, t) in self.tracks.iter_mut() {
            let live = view.features.contains_key(m);
            match (t.ended, live) {
                (None, false) => t.ended = Some(now),
                (Some(_), true) => t.ended = None,
                _ => {}
            }
            if t.ended
                .is_some_and(|e| now.saturating_sub(e) >= self.cfg.final_after_ms)
            {
                done.push(*m);
            }
        }
        for m in done {
            let Some(t) = self.tracks.remove(&m) else {
                continue;
            };
            for b in t.bets.iter().chain(&t.coupons) {
                self.bets.remove(b);
                // A bet the book refused never settles: it stops counting as open here.
                self.open.remove(b);
            }
            let mut episode = t.episode;
            if episode.steps.is_empty() {
                continue;
            }
            episode.outcomes = outcomes(view.results.get(&m), view.abandoned.contains(&m));
            if let Some(o) = &episode.outcomes {
                let credit = hindsight(
                    &episode.steps,
                    o,
                    self.cfg.accept_window_ms,
                    self.cfg.price_tolerance,
                );
                for (step, h) in episode.steps.iter_mut().zip(credit) {
                    step.hindsight = h;
                }
            }
            if self.cfg.emit_episodes {
                self.emitted.push(episode.clone());
            }
            self.remember(episode);
            self.finals += 1;
            if !self.cfg.frozen
                && self.cfg.learn_online
                && self
                    .finals
                    .is_multiple_of(self.cfg.train_every_episodes.max(1) as u64)
            {
                self.train();
            }
        }
    }
}

impl Emits<Episode> for DrqnPolicy {
    fn emit(&mut self) -> Vec<Episode> {
        std::mem::take(&mut self.emitted)
    }
}

/// A match that takes a decision step now: its input, its action mask (availability only) and
/// the prices of its selections (0: not quoted).
struct Due {
    m: MatchId,
    x: Vec<f32>,
    mask: [bool; ACTIONS],
    prices: [f32; SELECTIONS.len()],
}

/// The acting network's output for a batch of steps: Q values and probability estimates per
/// (step, action), and the GRU state after each step (`[steps, hidden]`).
struct Acted {
    q: Vec<f32>,
    probs: Vec<f32>,
    state: Tensor<2>,
}

impl DrqnPolicy {
    /// The changed live matches that step now (see the module docs, "Decision steps"), in id
    /// order, with their encoded input; observing them updates their context memory.
    fn due_steps(&mut self, now: Time, view: &View, changed: &[MatchId]) -> Vec<Due> {
        let mut stepping = Vec::new();
        for &m in changed {
            let Some(fv) = view.features.get(&m) else {
                continue;
            };
            let mk = mask(view, m);
            let due = match self.tracks.get(&m).and_then(|t| t.last) {
                None => true,
                Some((last, last_mask)) => {
                    now.saturating_sub(last) >= self.cfg.min_step_ms || last_mask != mk
                }
            };
            if due {
                let quotes = view.quotes.get(&m);
                let track = self.tracks.entry(m).or_insert_with(Track::new);
                let ctx = track.memory.observe(now, fv, quotes);
                let mut prices = [0.0f32; SELECTIONS.len()];
                for (p, key) in prices.iter_mut().zip(SELECTIONS.iter()) {
                    *p = quotes
                        .and_then(|q| q.get(key))
                        .map_or(0.0, |q| q.price.0 as f32);
                }
                stepping.push(Due {
                    m,
                    x: encode(fv, quotes, &ctx),
                    mask: mk,
                    prices,
                });
            }
        }
        stepping
    }

    /// One batched step of the acting network, each match from its own GRU state.
    fn act(&self, stepping: &[Due]) -> Acted {
        let device = self.acting.input.weight.val().device();
        let k = stepping.len();
        let n_in = inputs();
        let x: Vec<f32> = stepping.iter().flat_map(|d| d.x.iter().copied()).collect();
        let x = Tensor::<3>::from_data(TensorData::new(x, [k, 1, n_in]), &device);
        let states: Vec<Tensor<2>> = stepping
            .iter()
            .map(|d| {
                self.tracks
                    .get(&d.m)
                    .and_then(|t| t.state.clone())
                    .unwrap_or_else(|| self.acting.zero_state(1, &device))
            })
            .collect();
        let out = self.acting.forward(x, Some(Tensor::cat(states, 0)));
        Acted {
            q: floats(out.q),
            probs: floats(out.prob),
            state: out.state,
        }
    }

    /// The budget: only bets the book would take (and at most a few per match) are available —
    /// masked for acting and, stored with the step, for the targets.
    fn budget(&self, d: &Due, account: &Account, open: f64) -> [bool; ACTIONS] {
        let mut mk = d.mask;
        let placed = self.tracks.get(&d.m).map_or(0, |t| t.bets.len());
        for (a, available) in mk.iter_mut().enumerate().skip(1) {
            if let Action::Back { fraction, .. } = action(a) {
                let stake = fraction * self.cfg.max_stake;
                *available &= f64::from(d.prices[selection_of(a)]) <= self.cfg.max_price
                    && placed < self.cfg.max_bets_per_match
                    && stake <= account.bankroll()
                    && open + stake <= self.cfg.max_open_stake;
            }
        }
        mk
    }

    /// Epsilon-greedy among the available actions; the greedy choice backs a selection only
    /// with enough advantage over no-bet and enough estimated edge.
    fn choose(
        &mut self,
        qs: &[f32],
        probs: &[f32],
        mk: &[bool; ACTIONS],
        d: &Due,
        eps: f64,
    ) -> usize {
        let explore = self.rng.random::<f64>() < eps;
        if explore {
            let avail: Vec<usize> = (0..ACTIONS).filter(|&a| a == 0 || mk[a]).collect();
            return avail[self.rng.random_range(0..avail.len())];
        }
        let best = masked_argmax(qs, mk);
        let edge = f64::from(probs[best]) * f64::from(d.prices[selection_of(best)]) - 1.0;
        if f64::from(qs[best] - qs[0]) > self.cfg.min_advantage && edge >= self.cfg.min_prob_edge {
            best
        } else {
            0
        }
    }

    /// The decision step of the `i`-th stepping match: its action, the step recorded in its
    /// episode, and the single it places (adding its stake to `open`).
    #[allow(clippy::too_many_arguments)]
    fn take_step(
        &mut self,
        now: Time,
        i: usize,
        d: Due,
        acted: &Acted,
        eps: f64,
        account: &Account,
        open: &mut f64,
    ) -> Option<Intent> {
        let mk = self.budget(&d, account, *open);
        let qs = &acted.q[i * ACTIONS..(i + 1) * ACTIONS];
        let probs = &acted.probs[i * ACTIONS..(i + 1) * ACTIONS];
        let mut a = self.choose(qs, probs, &mk, &d, eps);
        self.decisions += 1;
        let device = self.acting.input.weight.val().device();
        let m = d.m;
        let track = self.tracks.entry(m).or_insert_with(Track::new);
        // The cadence compares availability, not the budget (which changes with every bet).
        track.last = Some((now, d.mask));
        let state = (track.episode.steps.len() % STATE_EVERY == 0).then(|| {
            floats(
                track
                    .state
                    .clone()
                    .unwrap_or_else(|| self.acting.zero_state(1, &device)),
            )
        });
        let mut p = [0.0f32; SELECTIONS.len()];
        for (s, p) in p.iter_mut().enumerate() {
            *p = probs[first_action_of(s)];
        }
        track.probs = Some((now, p));
        let step = track.episode.steps.len();
        let mut intent = None;
        if let Action::Back {
            market,
            selection,
            fraction,
        } = action(a)
        {
            let stake = fraction * self.cfg.max_stake;
            if mk[a] {
                intent = Some(Intent::single(m, market, selection, stake));
                self.last_out.push(Out::Single { m, step, stake });
                *open += stake;
            } else {
                a = 0;
            }
        }
        track.state = Some(acted.state.clone().narrow(0, i, 1));
        track.episode.steps.push(Step {
            at: now,
            state,
            x: d.x,
            prices: d.prices,
            hindsight: [None; SELECTIONS.len()],
            mask: mk,
            action: a,
            reward: 0.0,
        });
        intent
    }
}

impl Policy for DrqnPolicy {
    fn decide(
        &mut self,
        now: Time,
        view: &View,
        changed: &[MatchId],
        account: &Account,
    ) -> Vec<Intent> {
        self.last_out.clear();
        self.finish(now, view);
        let stepping = self.due_steps(now, view, changed);
        if stepping.is_empty() {
            return Vec::new();
        }
        let acted = self.act(&stepping);
        let eps = self.epsilon();
        let mut intents = Vec::new();
        let mut open: f64 = self.open.values().sum();
        let stepped: Vec<MatchId> = stepping.iter().map(|d| d.m).collect();
        for (i, d) in stepping.into_iter().enumerate() {
            intents.extend(self.take_step(now, i, d, &acted, eps, account, &mut open));
        }
        if let Some(coupon) = self.coupon(now, view, &stepped, account, open) {
            self.last_out.push(Out::Coupon {
                matches: coupon.legs.iter().map(|l| l.0).collect(),
                stake: coupon.stake,
            });
            intents.push(coupon);
        }
        intents
    }

    fn settled(&mut self, _now: Time, bet: BetId, settled: &Settled, diff: isize) {
        if diff > 0 {
            self.open.remove(&bet);
        }
        let Some(&(m, i)) = self.bets.get(&bet) else {
            return;
        };
        if let Some(s) = self
            .tracks
            .get_mut(&m)
            .and_then(|t| t.episode.steps.get_mut(i))
        {
            s.reward += settled.profit() * diff as f64 * self.cfg.reward_scale;
        }
    }

    fn placed(&mut self, _now: Time, bets: &[(usize, BetId)]) {
        for &(i, id) in bets {
            match self.last_out.get(i) {
                Some(&Out::Single { m, step, stake }) => {
                    self.bets.insert(id, (m, step));
                    self.open.insert(id, stake);
                    if let Some(t) = self.tracks.get_mut(&m) {
                        t.bets.push(id);
                    }
                }
                Some(Out::Coupon { matches, stake }) => {
                    self.open.insert(id, *stake);
                    for m in matches {
                        if let Some(t) = self.tracks.get_mut(m) {
                            t.coupons.push(id);
                        }
                    }
                }
                None => {}
            }
        }
    }
}
