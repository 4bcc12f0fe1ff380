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
//! `BTreeMap`s.

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
use super::model::{
    Adam, AdamConfig, Batch, Drqn, DrqnConfig, masked_argmax, masked_argmax_tensor, q_at, td_step,
};
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
pub fn outcomes(
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
pub fn hindsight(
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
pub struct DrqnPolicy {
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
pub const STATE_EVERY: usize = 16;

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
    pub fn from_config(cfg: DrqnPolicyConfig) -> anyhow::Result<Self> {
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
    pub fn save_checkpoint(&self, dir: &std::path::Path) -> anyhow::Result<()> {
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

    /// The policy's settings.
    pub fn config(&self) -> &DrqnPolicyConfig {
        &self.cfg
    }

    /// The trained (online) network, on the autodiff device.
    pub fn online(&self) -> &Drqn {
        &self.online
    }

    /// The configuration the online network was built from (for a checkpoint).
    pub fn model_config(&self) -> DrqnConfig {
        DrqnConfig::new(self.online.input.weight.dims()[0], self.online.actions)
            .with_hidden(self.online.hidden)
            .with_dueling(self.online.value.is_some())
            .with_anchor(self.online.anchor.clone())
            .with_stake(self.online.stake.clone())
    }

    /// The exploration rate after `decisions` decisions.
    pub fn epsilon(&self) -> f64 {
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

    /// Updates done so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The final episodes in the buffer, oldest first.
    pub fn buffer(&self) -> &VecDeque<Episode> {
        &self.buffer
    }

    /// The episode of a match not final yet.
    pub fn episode(&self, m: MatchId) -> Option<&Episode> {
        self.tracks.get(&m).map(|t| &t.episode)
    }

    /// Adds a final episode to the buffer (dropping the oldest past capacity).
    pub fn remember(&mut self, episode: Episode) {
        if episode.steps.is_empty() {
            return;
        }
        self.buffer.push_back(episode);
        while self.buffer.len() > self.cfg.buffer_episodes.max(1) {
            self.buffer.pop_front();
        }
    }

    /// The acting network's Q values for `x` as the first step of a match (zero state).
    pub fn first_step_q(&self, x: &[f32]) -> Vec<f32> {
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

    /// One update from a sampled batch of buffered episodes (see the module docs). Returns the
    /// loss, or `None` with an empty buffer.
    pub fn train(&mut self) -> Option<f32> {
        if self.buffer.is_empty() {
            return None;
        }
        let b = self.cfg.batch_episodes.max(1);
        let (n, every) = (self.cfg.n_step.max(1), STATE_EVERY);
        let seq_len = self.cfg.seq_len.max(every) / every * every;
        let burn_in = self.cfg.burn_in / every * every;
        // A sample: an episode and a chunk start `s0` (a multiple of `seq_len`); the sequence
        // runs from `s0 - burn_in` (from the stored state there) to `s0 + seq_len + n` (the
        // last `n` only for bootstrapping), cut to the episode.
        struct Sample<'a> {
            e: &'a Episode,
            from: usize,
            train: std::ops::Range<usize>,
            to: usize,
        }
        let mut samples = Vec::with_capacity(b);
        for _ in 0..b {
            let e = &self.buffer[self.rng.random_range(0..self.buffer.len())];
            let len = e.steps.len();
            let chunks = len.div_ceil(seq_len);
            let s0 = self.rng.random_range(0..chunks) * seq_len;
            samples.push(Sample {
                e,
                from: s0.saturating_sub(burn_in),
                train: s0..(s0 + seq_len).min(len),
                to: (s0 + seq_len + n).min(len),
            });
        }
        let t_max = samples.iter().map(|s| s.to - s.from).max().unwrap_or(1);
        let n_in = inputs();
        let hidden = self.online.hidden;
        let rows = b * t_max;
        let mut x = vec![0.0f32; rows * n_in];
        let mut masks = vec![false; rows * ACTIONS];
        let mut h0 = vec![0.0f32; b * hidden];
        for (i, smp) in samples.iter().enumerate() {
            if let Some(st) = &smp.e.steps[smp.from].state
                && st.len() == hidden
            {
                h0[i * hidden..(i + 1) * hidden].copy_from_slice(st);
            }
            for (t, s) in smp.e.steps[smp.from..smp.to].iter().enumerate() {
                let row = i * t_max + t;
                x[row * n_in..(row + 1) * n_in].copy_from_slice(&s.x);
                masks[row * ACTIONS..(row + 1) * ACTIONS].copy_from_slice(&s.mask);
            }
        }

        // Double Q: the online network picks at s_{t+n}, the target network evaluates.
        let device = self.acting.input.weight.val().device();
        let xt = Tensor::<3>::from_data(TensorData::new(x.clone(), [b, t_max, n_in]), &device);
        let mt = Tensor::<3, Bool>::from_data(TensorData::new(masks, [b, t_max, ACTIONS]), &device);
        let h0t = Tensor::<2>::from_data(TensorData::new(h0.clone(), [b, hidden]), &device);
        let q_online = self.acting.forward(xt.clone(), Some(h0t.clone())).q;
        let q_target = self.target.forward(xt, Some(h0t)).q;
        let boot = floats(q_at(q_target, masked_argmax_tensor(q_online, mt)));

        let gamma = self.cfg.gamma;
        let unit = self.cfg.max_stake * self.cfg.reward_scale;
        let mut q_target = vec![0.0f32; rows * ACTIONS];
        let mut q_weight = vec![0.0f32; rows * ACTIONS];
        let mut p_target = vec![0.0f32; rows * ACTIONS];
        let mut p_weight = vec![0.0f32; rows * ACTIONS];
        for (i, smp) in samples.iter().enumerate() {
            let (e, len) = (smp.e, smp.e.steps.len());
            for t in smp.train.clone() {
                let row = i * t_max + (t - smp.from);
                // n-step return; the sequence runs `n` steps past its training rows (or to the
                // episode's end), so `t + n` is in it whenever it is in the episode.
                let mut g = 0.0;
                let mut disc = 1.0;
                for k in 0..n {
                    if t + k >= len {
                        break;
                    }
                    g += disc * e.steps[t + k].reward;
                    disc *= gamma;
                }
                if t + n < len {
                    g += disc * f64::from(boot[row + n]);
                }
                let step = &e.steps[t];
                let cell = row * ACTIONS;
                q_target[cell + step.action] = g as f32;
                q_weight[cell + step.action] = 1.0;
                // Counterfactual credit: the other actions at this step, followed by what was
                // actually done after it.
                let rest = g - step.reward;
                if self.cfg.counterfactual && e.outcomes.is_some() {
                    for a in 0..ACTIONS {
                        if a == step.action {
                            continue;
                        }
                        let r = match action(a) {
                            Action::NoBet => Some(0.0),
                            Action::Back { fraction, .. } => step.hindsight[selection_of(a)]
                                .map(|h| f64::from(h) * fraction * unit),
                        };
                        if let Some(r) = r {
                            q_target[cell + a] = (r + rest) as f32;
                            q_weight[cell + a] = 1.0;
                        }
                    }
                }
                // The probability head learns where its selection is quoted: elsewhere its
                // market anchor means nothing.
                if let Some(o) = &e.outcomes {
                    for a in 1..ACTIONS {
                        if let Some(won) = o[selection_of(a)]
                            && step.prices[selection_of(a)] > 0.0
                        {
                            p_target[cell + a] = f32::from(u8::from(won));
                            p_weight[cell + a] = 1.0;
                        }
                    }
                }
            }
        }

        let ad = self.online.input.weight.val().device();
        let shape = [b, t_max, ACTIONS];
        let t3 = |v: Vec<f32>| Tensor::<3>::from_data(TensorData::new(v, shape), &ad);
        let batch = Batch {
            x: Tensor::<3>::from_data(TensorData::new(x, [b, t_max, n_in]), &ad),
            state: Some(Tensor::<2>::from_data(
                TensorData::new(h0, [b, hidden]),
                &ad,
            )),
            q_target: t3(q_target),
            q_weight: t3(q_weight),
            p_target: t3(p_target),
            p_weight: t3(p_weight),
            prior: self.cfg.prior_weight as f32,
        };
        let online = self.online.clone();
        let (online, loss) = td_step(
            online,
            &mut self.optim,
            &batch,
            self.cfg.prob_weight as f32,
            self.cfg.lr,
        );
        self.online = online;
        self.acting = self.online.valid();
        self.updates += 1;
        if self
            .updates
            .is_multiple_of(self.cfg.target_sync_updates.max(1) as u64)
        {
            self.target = self.acting.clone();
        }
        if let Some(dir) = self.cfg.checkpoint_out.clone()
            && let Err(e) = self.save_checkpoint(&dir)
        {
            eprintln!("drqn: could not save a checkpoint: {e:#}");
        }
        Some(loss)
    }
}

impl DrqnPolicy {
    /// The coupon builder (see the module docs): legs from the matches whose probability
    /// estimates are at most `window_ms` old, at least one of them stepping now.
    fn coupon(
        &mut self,
        now: Time,
        view: &View,
        stepped: &[MatchId],
        account: &Account,
        open: f64,
    ) -> Option<Intent> {
        let c = &self.cfg.coupons;
        if !c.enabled || c.max_legs < 2 {
            return None;
        }
        // The best leg of each match: (edge, match, selection, p̂, price).
        let mut legs = Vec::new();
        for (m, t) in &self.tracks {
            let Some((at, probs)) = t.probs else {
                continue;
            };
            if now.saturating_sub(at) > c.window_ms
                || t.ended.is_some()
                || !t.coupons.is_empty()
                || !view.features.contains_key(m)
            {
                continue;
            }
            let Some(quotes) = view.quotes.get(m) else {
                continue;
            };
            let mut best: Option<(f64, MatchId, usize, f64, f64)> = None;
            for (s, key) in SELECTIONS.iter().enumerate() {
                let Some(q) = quotes.get(key) else {
                    continue;
                };
                let (p, price) = (f64::from(probs[s]), q.price.0);
                let edge = p * price - 1.0;
                if price <= c.max_price && edge >= c.min_edge && best.is_none_or(|(e, ..)| edge > e)
                {
                    best = Some((edge, *m, s, p, price));
                }
            }
            legs.extend(best);
        }
        if !legs.iter().any(|(_, m, ..)| stepped.contains(m)) {
            return None;
        }
        // Highest edges first (ties: lower match id).
        legs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        legs.truncate(c.max_legs);
        if legs.len() < 2 {
            return None;
        }
        let p: f64 = legs.iter().map(|l| l.3).product();
        let price: f64 = legs.iter().map(|l| l.4).product();
        let kelly = (p * price - 1.0) / (price - 1.0);
        let stake = (c.kelly * kelly * account.bankroll()).min(c.max_stake);
        if !(stake >= 1.0) || stake > account.bankroll() || open + stake > self.cfg.max_open_stake {
            return None;
        }
        let stake = (stake * 100.0).floor() / 100.0;
        Some(Intent {
            legs: legs
                .iter()
                .map(|&(_, m, s, ..)| (m, SELECTIONS[s].0, SELECTIONS[s].1))
                .collect(),
            stake,
        })
    }
}

impl Emits<Episode> for DrqnPolicy {
    fn emit(&mut self) -> Vec<Episode> {
        std::mem::take(&mut self.emitted)
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

        // The matches that step now, in id order, with their encoded input.
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
                stepping.push((m, encode(fv, quotes, &ctx), mk, prices));
            }
        }
        if stepping.is_empty() {
            return Vec::new();
        }

        // One batched step of the acting network, each match from its own GRU state.
        let device = self.acting.input.weight.val().device();
        let k = stepping.len();
        let n_in = inputs();
        let x: Vec<f32> = stepping
            .iter()
            .flat_map(|(_, x, _, _)| x.iter().copied())
            .collect();
        let x = Tensor::<3>::from_data(TensorData::new(x, [k, 1, n_in]), &device);
        let states: Vec<Tensor<2>> = stepping
            .iter()
            .map(|(m, ..)| {
                self.tracks
                    .get(m)
                    .and_then(|t| t.state.clone())
                    .unwrap_or_else(|| self.acting.zero_state(1, &device))
            })
            .collect();
        let out = self.acting.forward(x, Some(Tensor::cat(states, 0)));
        let q = floats(out.q);
        let probs = floats(out.prob);

        let eps = self.epsilon();
        let mut intents = Vec::new();
        let mut open: f64 = self.open.values().sum();
        let stepped: Vec<MatchId> = stepping.iter().map(|(m, ..)| *m).collect();
        for (i, (m, x, raw, prices)) in stepping.into_iter().enumerate() {
            let mut mk = raw;
            // The budget: only bets the book would take (and at most a few per match) are
            // available — masked for acting and, stored with the step, for the targets.
            let placed = self.tracks.get(&m).map_or(0, |t| t.bets.len());
            for (a, available) in mk.iter_mut().enumerate().skip(1) {
                if let Action::Back { fraction, .. } = action(a) {
                    let stake = fraction * self.cfg.max_stake;
                    *available &= f64::from(prices[selection_of(a)]) <= self.cfg.max_price
                        && placed < self.cfg.max_bets_per_match
                        && stake <= account.bankroll()
                        && open + stake <= self.cfg.max_open_stake;
                }
            }
            let qs = &q[i * ACTIONS..(i + 1) * ACTIONS];
            let explore = self.rng.random::<f64>() < eps;
            let mut a = if explore {
                let avail: Vec<usize> = (0..ACTIONS).filter(|&a| a == 0 || mk[a]).collect();
                avail[self.rng.random_range(0..avail.len())]
            } else {
                let best = masked_argmax(qs, &mk);
                let edge = f64::from(probs[i * ACTIONS + best])
                    * f64::from(prices[selection_of(best)])
                    - 1.0;
                if f64::from(qs[best] - qs[0]) > self.cfg.min_advantage
                    && edge >= self.cfg.min_prob_edge
                {
                    best
                } else {
                    0
                }
            };
            self.decisions += 1;
            let track = self.tracks.entry(m).or_insert_with(Track::new);
            // The cadence compares availability, not the budget (which changes with every bet).
            track.last = Some((now, raw));
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
                *p = probs[i * ACTIONS + first_action_of(s)];
            }
            track.probs = Some((now, p));
            let step = track.episode.steps.len();
            if let Action::Back {
                market,
                selection,
                fraction,
            } = action(a)
            {
                let stake = fraction * self.cfg.max_stake;
                if mk[a] {
                    intents.push(Intent::single(m, market, selection, stake));
                    self.last_out.push(Out::Single { m, step, stake });
                    open += stake;
                } else {
                    a = 0;
                }
            }
            track.state = Some(out.state.clone().narrow(0, i, 1));
            track.episode.steps.push(Step {
                at: now,
                state,
                x,
                prices,
                hindsight: [None; SELECTIONS.len()],
                mask: mk,
                action: a,
                reward: 0.0,
            });
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

#[cfg(test)]
mod tests {
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
        assert!((c.stake - 6.28).abs() < 1e-9, "{}", c.stake);
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
}
