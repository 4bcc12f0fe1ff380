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
//! # Rewards and episodes
//!
//! [`Policy::placed`] ties each bet id to its (match, step); [`Policy::settled`] adds
//! `profit × diff × reward_scale` to that step's reward, so a correction (−1 old, +1 new) leaves
//! the corrected profit. A match's episode is its steps; when it stops being live its end time is
//! recorded, and `final_after_ms` (30 min) of event time later — results and most corrections in,
//! a rejected bet never settles and keeps reward 0 — the episode is final and goes into a FIFO
//! buffer of `buffer_episodes`. The match's GRU state is kept until then (a match that comes back
//! live before that goes on with its episode) and dropped with it.
//!
//! # Training (R2D2-lite)
//!
//! Every `train_every_episodes` final episodes, one update: sample `batch_episodes` episodes from
//! the buffer (seeded, with replacement), pad them to the longest (weight 0 on padding) and
//! **unroll each from its start with a zero GRU state** — no stored states, no burn-in; episodes
//! are short enough (one match, throttled steps). The targets are n-step double-Q:
//!
//! ```text
//! G_t = Σ_{k<n, t+k<T} γ^k r_{t+k} + [t+n < T] γ^n Q_target(s_{t+n})[argmax_{a available} Q_online(s_{t+n})[a]]
//! ```
//!
//! with no bootstrap past the episode end; the target network is a copy of the online network
//! synced every `target_sync_updates` updates. Then [`td_step`] (Huber loss, Adam with global
//! gradient-norm clipping), and the acting network is refreshed from the online one.
//!
//! **Determinism.** One seeded [`ChaCha8Rng`] draws the initial weights (not burn's global
//! generator), exploration and the training samples; matches are handled in id order from
//! `BTreeMap`s.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use burn::module::{ModuleMapper, Param};
use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use oddsflow_dataflows::Time;
use oddsflow_dataflows::bookmaker::{BetId, Settled};
use oddsflow_dataflows::model::MatchId;

use super::checkpoint;
use super::encode::{ACTIONS, Action, action, encode, inputs, mask};
use super::model::{
    Adam, AdamConfig, Drqn, DrqnConfig, masked_argmax, masked_argmax_tensor, q_at, td_step,
};
use crate::policy::{Account, Intent, Policy, View};

/// Settings of the [`DrqnPolicy`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DrqnPolicyConfig {
    pub seed: u64,
    /// Width of the network (input projection and GRU state).
    pub hidden: usize,
    /// Discount per decision step.
    pub gamma: f64,
    /// Steps of real rewards in a target before bootstrapping.
    pub n_step: usize,
    /// Adam learning rate.
    pub lr: f64,
    pub epsilon_start: f64,
    pub epsilon_end: f64,
    /// Decisions over which epsilon falls linearly from start to end.
    pub epsilon_decay_steps: u64,
    /// Episodes per update (sampled with replacement).
    pub batch_episodes: usize,
    /// One update per this many final episodes.
    pub train_every_episodes: usize,
    /// Copy the online network to the target network every this many updates.
    pub target_sync_updates: usize,
    /// Capacity of the FIFO episode buffer.
    pub buffer_episodes: usize,
    /// The stake of a back action at fraction 1.
    pub max_stake: f64,
    /// Least event time between two steps of a match (unless its mask changes).
    pub min_step_ms: u64,
    /// Reward = profit × this.
    pub reward_scale: f64,
    /// An episode is final this long (event time) after its match stopped being live.
    pub final_after_ms: u64,
    /// Budget: at most this many bets per match; then only no-bet is available.
    pub max_bets_per_match: usize,
    /// Budget: a bet is only available while the open stakes plus its stake stay within this
    /// (and within the settled bankroll), so that the bookmaker's limits rarely refuse it.
    pub max_open_stake: f64,
    /// Start from this checkpoint's network ([`super::checkpoint::load`], whose feature-schema
    /// check applies) instead of seeded initial weights. The target network starts as a copy of
    /// it; the optimizer state and the episode buffer start empty.
    pub checkpoint_in: Option<PathBuf>,
    /// After every training update, save a checkpoint of the online network here (with this
    /// configuration, `checkpoint_in`/`checkpoint_out` cleared).
    pub checkpoint_out: Option<PathBuf>,
    /// Evaluation: epsilon 0 (greedy over the available actions) and no training.
    pub frozen: bool,
}

impl Default for DrqnPolicyConfig {
    fn default() -> Self {
        let max_stake = 20.0;
        DrqnPolicyConfig {
            seed: 0,
            hidden: 64,
            gamma: 0.99,
            n_step: 3,
            lr: 1e-3,
            epsilon_start: 0.2,
            epsilon_end: 0.02,
            epsilon_decay_steps: 20_000,
            batch_episodes: 8,
            train_every_episodes: 4,
            target_sync_updates: 10,
            buffer_episodes: 500,
            max_stake,
            min_step_ms: 10_000,
            reward_scale: 1.0 / max_stake,
            final_after_ms: 30 * 60_000,
            max_bets_per_match: 3,
            max_open_stake: 500.0,
            checkpoint_in: None,
            checkpoint_out: None,
            frozen: false,
        }
    }
}

/// One decision step of an episode.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The encoded input ([`encode`]).
    pub x: Vec<f32>,
    /// The action mask at the step.
    pub mask: [bool; ACTIONS],
    /// The action taken (0 when a bet was skipped).
    pub action: usize,
    /// The (scaled) profit of the step's bet so far.
    pub reward: f64,
}

/// A match's decision steps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Episode {
    pub steps: Vec<Step>,
}

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
    /// The (match, step, stake) of each intent returned by the last `decide`.
    last_out: Vec<(MatchId, usize, f64)>,
    /// Stakes of the bets placed and not settled yet.
    open: BTreeMap<BetId, f64>,
    buffer: VecDeque<Episode>,
    decisions: u64,
    finals: u64,
    updates: u64,
    /// The updates recorded in `checkpoint_in` (0 without one).
    base_updates: u64,
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
        let mut online = DrqnConfig::new(inputs(), ACTIONS)
            .with_hidden(cfg.hidden.max(1))
            .init(&device)
            .map(&mut SeededInit { rng: &mut rng });
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
            for b in &t.bets {
                self.bets.remove(b);
                // A bet the book refused never settles: it stops counting as open here.
                self.open.remove(b);
            }
            if t.episode.steps.is_empty() {
                continue;
            }
            self.remember(t.episode);
            self.finals += 1;
            if !self.cfg.frozen
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
        let picks: Vec<usize> = (0..b)
            .map(|_| self.rng.random_range(0..self.buffer.len()))
            .collect();
        let eps: Vec<&Episode> = picks.iter().map(|&i| &self.buffer[i]).collect();
        let t_max = eps.iter().map(|e| e.steps.len()).max().unwrap_or(1);
        let n_in = inputs();
        let mut x = vec![0.0f32; b * t_max * n_in];
        let mut masks = vec![false; b * t_max * ACTIONS];
        let mut actions = vec![0i64; b * t_max];
        let mut weights = vec![0.0f32; b * t_max];
        for (i, e) in eps.iter().enumerate() {
            for (t, s) in e.steps.iter().enumerate() {
                let row = i * t_max + t;
                x[row * n_in..(row + 1) * n_in].copy_from_slice(&s.x);
                masks[row * ACTIONS..(row + 1) * ACTIONS].copy_from_slice(&s.mask);
                actions[row] = s.action as i64;
                weights[row] = 1.0;
            }
        }

        // Double Q: the online network picks at s_{t+n}, the target network evaluates.
        let device = self.acting.input.weight.val().device();
        let xt = Tensor::<3>::from_data(TensorData::new(x.clone(), [b, t_max, n_in]), &device);
        let mt = Tensor::<3, Bool>::from_data(TensorData::new(masks, [b, t_max, ACTIONS]), &device);
        let q_online = self.acting.forward(xt.clone(), None).q;
        let q_target = self.target.forward(xt, None).q;
        let boot = floats(q_at(q_target, masked_argmax_tensor(q_online, mt)));

        let (gamma, n) = (self.cfg.gamma, self.cfg.n_step.max(1));
        let mut targets = vec![0.0f32; b * t_max];
        for (i, e) in eps.iter().enumerate() {
            let len = e.steps.len();
            for t in 0..len {
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
                    g += disc * f64::from(boot[i * t_max + t + n]);
                }
                targets[i * t_max + t] = g as f32;
            }
        }

        let ad = self.online.input.weight.val().device();
        let x = Tensor::<3>::from_data(TensorData::new(x, [b, t_max, n_in]), &ad);
        let actions = Tensor::<2, Int>::from_data(TensorData::new(actions, [b, t_max]), &ad);
        let targets = Tensor::<2>::from_data(TensorData::new(targets, [b, t_max]), &ad);
        let weights = Tensor::<2>::from_data(TensorData::new(weights, [b, t_max]), &ad);
        let online = self.online.clone();
        let (online, loss) = td_step(
            online,
            &mut self.optim,
            x,
            actions,
            targets,
            weights,
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

        // The matches that step now, in id order.
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
                stepping.push((m, encode(fv, view.quotes.get(&m)), mk));
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
            .flat_map(|(_, x, _)| x.iter().copied())
            .collect();
        let x = Tensor::<3>::from_data(TensorData::new(x, [k, 1, n_in]), &device);
        let states: Vec<Tensor<2>> = stepping
            .iter()
            .map(|(m, _, _)| {
                self.tracks
                    .get(m)
                    .and_then(|t| t.state.clone())
                    .unwrap_or_else(|| self.acting.zero_state(1, &device))
            })
            .collect();
        let out = self.acting.forward(x, Some(Tensor::cat(states, 0)));
        let q = floats(out.q);

        let eps = self.epsilon();
        let mut intents = Vec::new();
        let mut open: f64 = self.open.values().sum();
        for (i, (m, x, mut mk)) in stepping.into_iter().enumerate() {
            // The budget: only bets the book would take (and at most a few per match) are
            // available — masked for acting and, stored with the step, for the targets.
            let placed = self.tracks.get(&m).map_or(0, |t| t.bets.len());
            for (a, available) in mk.iter_mut().enumerate().skip(1) {
                if let Action::Back { fraction, .. } = action(a) {
                    let stake = fraction * self.cfg.max_stake;
                    *available &= placed < self.cfg.max_bets_per_match
                        && stake <= account.bankroll()
                        && open + stake <= self.cfg.max_open_stake;
                }
            }
            let explore = self.rng.random::<f64>() < eps;
            let mut a = if explore {
                let avail: Vec<usize> = (0..ACTIONS).filter(|&a| a == 0 || mk[a]).collect();
                avail[self.rng.random_range(0..avail.len())]
            } else {
                masked_argmax(&q[i * ACTIONS..(i + 1) * ACTIONS], &mk)
            };
            self.decisions += 1;
            let track = self.tracks.entry(m).or_insert_with(|| Track {
                episode: Episode::default(),
                state: None,
                last: None,
                ended: None,
                bets: Vec::new(),
            });
            track.state = Some(out.state.clone().narrow(0, i, 1));
            track.last = Some((now, mk));
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
                    self.last_out.push((m, step, stake));
                    open += stake;
                } else {
                    a = 0;
                }
            }
            track.episode.steps.push(Step {
                x,
                mask: mk,
                action: a,
                reward: 0.0,
            });
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
            if let Some(&(m, step, stake)) = self.last_out.get(i) {
                self.bets.insert(id, (m, step));
                self.open.insert(id, stake);
                if let Some(t) = self.tracks.get_mut(&m) {
                    t.bets.push(id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learner::encode::first_action_of;
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
                *per_match.entry(intent.legs[0].0).or_insert(0) += 1;
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
        let x0 = encode(&view.features[&1], view.quotes.get(&1));
        let x1 = encode(&features(11, [0, 0]), view.quotes.get(&1));
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
                    Step {
                        x: x0.clone(),
                        mask: mk,
                        action: a,
                        reward,
                    },
                    Step {
                        x: x1.clone(),
                        mask: mk,
                        action: 0,
                        reward: 0.0,
                    },
                ],
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
        assert_eq!(masked_argmax(&q, &mk) / 3, home / 3);
    }
}
