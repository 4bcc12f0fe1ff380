//! One training update of the `drqn` policy: R2D2-style sequences from the episode buffer,
//! n-step double-Q targets with counterfactual credit, one Adam step (see the module docs of
//! [`super`], "Training").
//!
//! **In:** the buffered final episodes (inputs, masks, actions, rewards, stored GRU states,
//! outcomes and hindsight credit), the acting and target networks, the policy's settings.
//! **Out:** the updated online, acting and target networks, the loss, and a checkpoint when
//! `checkpoint_out` is set.

use std::collections::VecDeque;
use std::ops::Range;

use burn::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{DrqnPolicy, STATE_EVERY, floats};
use crate::learner::config::DrqnPolicyConfig;
use crate::learner::encode::{ACTIONS, Action, action, inputs, selection_of};
use crate::learner::episodes::Episode;
use crate::learner::model::{Batch, masked_argmax_tensor, q_at, td_step};

/// A sample: an episode and a chunk start `s0` (a multiple of `seq_len`); the sequence runs
/// from `s0 - burn_in` (from the stored state there) to `s0 + seq_len + n` (the last `n` only
/// for bootstrapping), cut to the episode.
struct Sample<'a> {
    e: &'a Episode,
    from: usize,
    train: Range<usize>,
    to: usize,
}

/// The sampled sequences laid out as a batch: `[b, t_max, ·]` row-major, zero-padded.
struct Inputs {
    b: usize,
    t_max: usize,
    x: Vec<f32>,
    masks: Vec<bool>,
    /// The stored GRU state each sequence starts from, `[b, hidden]`.
    h0: Vec<f32>,
}

/// Per (row, action): the Q target and its weight, the probability target and its weight.
struct Targets {
    q_target: Vec<f32>,
    q_weight: Vec<f32>,
    p_target: Vec<f32>,
    p_weight: Vec<f32>,
}

/// Draws `b` sequences (episode, then chunk) from the buffer.
fn sample<'a>(
    buffer: &'a VecDeque<Episode>,
    rng: &mut ChaCha8Rng,
    b: usize,
    seq_len: usize,
    burn_in: usize,
    n: usize,
) -> Vec<Sample<'a>> {
    let mut samples = Vec::with_capacity(b);
    for _ in 0..b {
        let e = &buffer[rng.random_range(0..buffer.len())];
        let len = e.steps.len();
        let chunks = len.div_ceil(seq_len);
        let s0 = rng.random_range(0..chunks) * seq_len;
        samples.push(Sample {
            e,
            from: s0.saturating_sub(burn_in),
            train: s0..(s0 + seq_len).min(len),
            to: (s0 + seq_len + n).min(len),
        });
    }
    samples
}

/// Lays the samples' steps out as a batch.
fn lay_out(samples: &[Sample<'_>], hidden: usize) -> Inputs {
    let b = samples.len();
    let t_max = samples.iter().map(|s| s.to - s.from).max().unwrap_or(1);
    let n_in = inputs();
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
    Inputs {
        b,
        t_max,
        x,
        masks,
        h0,
    }
}

/// The targets of every training row of the samples, given the bootstrap values per row.
fn targets(cfg: &DrqnPolicyConfig, samples: &[Sample<'_>], t_max: usize, boot: &[f32]) -> Targets {
    let rows = samples.len() * t_max;
    let mut tg = Targets {
        q_target: vec![0.0f32; rows * ACTIONS],
        q_weight: vec![0.0f32; rows * ACTIONS],
        p_target: vec![0.0f32; rows * ACTIONS],
        p_weight: vec![0.0f32; rows * ACTIONS],
    };
    let n = cfg.n_step.max(1);
    for (i, smp) in samples.iter().enumerate() {
        for t in smp.train.clone() {
            let row = i * t_max + (t - smp.from);
            step_targets(cfg, smp.e, t, row, n, boot, &mut tg);
        }
    }
    tg
}

/// The targets of step `t` of episode `e` (batch row `row`).
fn step_targets(
    cfg: &DrqnPolicyConfig,
    e: &Episode,
    t: usize,
    row: usize,
    n: usize,
    boot: &[f32],
    tg: &mut Targets,
) {
    let len = e.steps.len();
    let unit = cfg.max_stake * cfg.reward_scale;
    // n-step return; the sequence runs `n` steps past its training rows (or to the episode's
    // end), so `t + n` is in it whenever it is in the episode.
    let mut g = 0.0;
    let mut disc = 1.0;
    for k in 0..n {
        if t + k >= len {
            break;
        }
        g += disc * e.steps[t + k].reward;
        disc *= cfg.gamma;
    }
    if t + n < len {
        g += disc * f64::from(boot[row + n]);
    }
    let step = &e.steps[t];
    let cell = row * ACTIONS;
    tg.q_target[cell + step.action] = g as f32;
    tg.q_weight[cell + step.action] = 1.0;
    // Counterfactual credit: the other actions at this step, followed by what was actually done
    // after it.
    let rest = g - step.reward;
    if cfg.counterfactual && e.outcomes.is_some() {
        for a in 0..ACTIONS {
            if a == step.action {
                continue;
            }
            let r = match action(a) {
                Action::NoBet => Some(0.0),
                Action::Back { fraction, .. } => {
                    step.hindsight[selection_of(a)].map(|h| f64::from(h) * fraction * unit)
                }
            };
            if let Some(r) = r {
                tg.q_target[cell + a] = (r + rest) as f32;
                tg.q_weight[cell + a] = 1.0;
            }
        }
    }
    // The probability head learns where its selection is quoted: elsewhere its market anchor
    // means nothing.
    if let Some(o) = &e.outcomes {
        for a in 1..ACTIONS {
            if let Some(won) = o[selection_of(a)]
                && step.prices[selection_of(a)] > 0.0
            {
                tg.p_target[cell + a] = f32::from(u8::from(won));
                tg.p_weight[cell + a] = 1.0;
            }
        }
    }
}

impl DrqnPolicy {
    /// One update from a sampled batch of buffered episodes (see the module docs). Returns the
    /// loss, or `None` with an empty buffer.
    pub(crate) fn train(&mut self) -> Option<f32> {
        if self.buffer.is_empty() {
            return None;
        }
        let b = self.cfg.batch_episodes.max(1);
        let (n, every) = (self.cfg.n_step.max(1), STATE_EVERY);
        let seq_len = self.cfg.seq_len.max(every) / every * every;
        let burn_in = self.cfg.burn_in / every * every;
        let samples = sample(&self.buffer, &mut self.rng, b, seq_len, burn_in, n);
        let inputs = lay_out(&samples, self.online.hidden);
        let boot = self.bootstrap(&inputs);
        let targets = targets(&self.cfg, &samples, inputs.t_max, &boot);
        Some(self.update(inputs, targets))
    }

    /// Double Q: the online network (its acting copy) picks at every row, the target network
    /// evaluates.
    fn bootstrap(&self, inp: &Inputs) -> Vec<f32> {
        let (b, t_max, n_in, hidden) = (inp.b, inp.t_max, inputs(), self.online.hidden);
        let device = self.acting.input.weight.val().device();
        let xt = Tensor::<3>::from_data(TensorData::new(inp.x.clone(), [b, t_max, n_in]), &device);
        let mt = Tensor::<3, Bool>::from_data(
            TensorData::new(inp.masks.clone(), [b, t_max, ACTIONS]),
            &device,
        );
        let h0t = Tensor::<2>::from_data(TensorData::new(inp.h0.clone(), [b, hidden]), &device);
        let q_online = self.acting.forward(xt.clone(), Some(h0t.clone())).q;
        let q_target = self.target.forward(xt, Some(h0t)).q;
        floats(q_at(q_target, masked_argmax_tensor(q_online, mt)))
    }

    /// One Adam step of the online network on the batch; refreshes the acting copy, syncs the
    /// target network when due and saves a checkpoint when configured. Returns the loss.
    fn update(&mut self, inp: Inputs, tg: Targets) -> f32 {
        let (b, t_max, n_in, hidden) = (inp.b, inp.t_max, inputs(), self.online.hidden);
        let ad = self.online.input.weight.val().device();
        let shape = [b, t_max, ACTIONS];
        let t3 = |v: Vec<f32>| Tensor::<3>::from_data(TensorData::new(v, shape), &ad);
        let batch = Batch {
            x: Tensor::<3>::from_data(TensorData::new(inp.x, [b, t_max, n_in]), &ad),
            state: Some(Tensor::<2>::from_data(
                TensorData::new(inp.h0, [b, hidden]),
                &ad,
            )),
            q_target: t3(tg.q_target),
            q_weight: t3(tg.q_weight),
            p_target: t3(tg.p_target),
            p_weight: t3(tg.p_weight),
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
        loss
    }
}
