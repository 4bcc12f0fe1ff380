//! The learner's network: a recurrent Q-network (DRQN) with a dueling Q head and a
//! probability head, the masked choice and target, and a TD training step.
//!
//! # Burn 0.22
//!
//! Burn 0.22 has no backend type parameter: a tensor is `Tensor<D, K>` and its backend (NdArray,
//! with or without autodiff here) is a property of the [`Device`] it lives on. So [`Drqn`] is not
//! generic; a model built on `device.autodiff()` is trainable ([`td_step`]), and
//! [`Module::valid`] gives an autodiff-free copy for acting.
//!
//! # In and out
//!
//! [`Drqn::forward`] takes a batch of matches, each a sequence of decision steps:
//!
//! - `x`: `[batch, seq, inputs]`, one encoded decision step per position;
//! - `state`: `Option<[batch, hidden]>`, the GRU hidden state to start from (`None` = zeros, the
//!   start of a match);
//!
//! and returns a [`DrqnOutput`]:
//!
//! - `q`: `[batch, seq, actions]`, the action values after each step;
//! - `prob`: `[batch, seq, actions]`, in `(0, 1)`, the estimated probability that each action's
//!   selection wins (index 0, no bet, means nothing);
//! - `state`: `[batch, hidden]`, the hidden state after the last step.
//!
//! Acting online runs one step at a time (`seq = 1`) and carries `state` from one call to the
//! next; that gives the same values as unrolling the whole sequence at once, which is what
//! training does.
//!
//! # Network
//!
//! ```text
//! h_t   = relu(W_in x_t + b_in)                  input projection, inputs -> hidden
//! s_t   = GRU(h_t, s_{t-1})                      hidden -> hidden, s_0 = state or 0
//! p_t   = sigmoid(logit(π_t) + W_p s_t + b_p)    probability head, anchored on the market
//! E_t   = stake ⊙ (sg(p_t) / π_t − 1)            expected profit of each bet (0 when unquoted)
//! A_t   = E_t + W_a s_t + b_a                    advantages: the edge plus a learned rest
//! Q_t   = V(s_t) + A_t - mean_a A_t[a]           dueling head (or Q_t = A_t when plain)
//! ```
//!
//! (`sg`: stop-gradient; `E_t` is present only with a market anchor and a `stake` per action.)
//!
//! **The market anchor.** `π_t[a]` is the inverse price of action `a`'s selection, read from the
//! input column `anchor[a]` (clamped into `[0.01, 0.99]`), and `W_p`, `b_p` start at zero: an
//! untrained head says what the book says (margin included, so it finds no edge), and training
//! only moves it where the outcomes show the book wrong. Without the anchor the head has to
//! learn the whole probability from the match's inputs, which a small network does by
//! recognising the training matches (ratings, score, clock) rather than by reading the prices:
//! it then claims edges out of sample that are not there. With an empty `anchor` the head is the
//! plain `sigmoid(W_p s_t + b_p)`.
//!
//! **The edge in the advantages.** Backing a selection at price `1/π` with `stake` (in reward
//! units) earns `stake · (p · price − 1)` in expectation, whatever the rest of the match brings,
//! so the Q head gets that term from the probability head, and its own weights (which start at
//! zero, like the probability head's) learn only what the term misses: acceptance, the
//! exposure a bet uses up, later bets. The probability head is not trained through the Q loss
//! (stop-gradient): its cross-entropy against outcomes is a far less noisy signal for it than
//! squared errors of profits.
//!
//! The dueling mean runs over all actions, available or not, so the head does not depend on the
//! mask; the mask comes in only when choosing and in the target.
//!
//! # Masking
//!
//! A mask is `true` where an action is available; action 0 (no bet) always is, whatever the mask
//! says. [`masked_argmax`] / [`masked_max`] work on one step's `&[f32]` (acting);
//! [`masked_argmax_tensor`] / [`masked_q_max`] on a batch (targets: the online network picks with
//! [`masked_argmax_tensor`], the target network evaluates with [`q_at`], double Q). They agree:
//! an unavailable action is never chosen and never sets the target, ties go to the lowest index.
//!
//! # Training
//!
//! [`td_step`]: the squared error of `Q(x)` against a target for every (step, action) that has
//! one, plus the binary cross-entropy of the probability head against the selections' outcomes,
//! backward, then one step of [`Adam`] with gradient clipping by global norm. Burn's own
//! optimizers live behind the `burn/optim` feature, which this crate does not enable, so the
//! small optimizer is here.
//!
//! # Determinism
//!
//! Burn gives every new parameter a random [`ParamId`] (from the thread's OS-seeded generator,
//! which cannot be seeded), and the ids are written into a checkpoint's `model.bpk`.
//! [`DrqnConfig::init`] therefore renumbers the parameters 1, 2, … in module order
//! ([`StableIds`]), so two runs with the same seed write the same bytes. [`Adam`] keys its
//! state by id in `BTreeMap`s and sums the global gradient norm in module order, so no float
//! depends on a hash order.

use std::collections::BTreeMap;

use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::nn::{Gru, GruConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Gradients;
use burn::tensor::activation::{relu, sigmoid};

/// The value given to unavailable actions before a max or argmax over actions.
pub(crate) const MASK_FILL: f32 = -1.0e9;

/// Configuration of a [`Drqn`].
#[derive(Config, Debug)]
pub(crate) struct DrqnConfig {
    /// Width of one encoded decision step.
    pub(crate) inputs: usize,
    /// Width of the input projection and of the GRU state.
    #[config(default = 64)]
    pub(crate) hidden: usize,
    /// Number of actions (no-bet included, at index 0).
    pub(crate) actions: usize,
    /// Dueling head (`Q = V + A - mean(A)`) or a plain linear Q head.
    #[config(default = true)]
    pub(crate) dueling: bool,
    /// Per action, the input column holding the inverse price of its selection: the probability
    /// head's market anchor (see the module docs). Empty: no anchor.
    #[config(default = "Vec::new()")]
    pub(crate) anchor: Vec<usize>,
    /// Per action, the stake of a bet in reward units (0 for no bet): with an `anchor`, the
    /// advantages include each bet's expected profit (see the module docs). Empty: they do not.
    #[config(default = "Vec::new()")]
    pub(crate) stake: Vec<f32>,
}

impl DrqnConfig {
    /// A fresh network on `device` (use `device.autodiff()` to train it), its parameters
    /// numbered in module order ([`StableIds`]).
    pub(crate) fn init(&self, device: &Device) -> Drqn {
        let drqn = Drqn {
            input: LinearConfig::new(self.inputs, self.hidden).init(device),
            gru: GruConfig::new(self.hidden, self.hidden, true).init(device),
            value: self
                .dueling
                .then(|| LinearConfig::new(self.hidden, 1).init(device)),
            advantage: LinearConfig::new(self.hidden, self.actions).init(device),
            prob: LinearConfig::new(self.hidden, self.actions).init(device),
            hidden: self.hidden,
            actions: self.actions,
            anchor: self.anchor.clone(),
            stake: self.stake.clone(),
        };
        drqn.map(&mut StableIds { next: 1 })
    }
}

/// Renumbers every float parameter `next`, `next + 1`, … in module order, in place of burn's
/// random ids (see the module docs), keeping its value (initialised or not) and gradient
/// settings.
struct StableIds {
    /// The id the next parameter gets.
    next: u64,
}

impl ModuleMapper for StableIds {
    fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        // Only the id: the value stays as it was, lazily initialised or not (consuming the
        // parameter here would initialise every parameter now, in module order, and so change
        // which values a seeded backend draws for which parameter).
        param.id = ParamId::from(self.next);
        self.next += 1;
        param
    }
}

/// The recurrent Q-network: input projection, GRU, Q head, probability head.
#[derive(Module, Debug)]
pub(crate) struct Drqn {
    /// Input projection, `inputs -> hidden`, followed by ReLU.
    pub(crate) input: Linear,
    /// The recurrence over a match's decision steps, `hidden -> hidden`.
    pub(crate) gru: Gru,
    /// State value `V`, `hidden -> 1`; present when the head is dueling.
    pub(crate) value: Option<Linear>,
    /// Advantages `A`, `hidden -> actions` (dueling), or the Q values themselves (plain).
    pub(crate) advantage: Linear,
    /// Win-probability logits, `hidden -> actions` (a sigmoid follows).
    pub(crate) prob: Linear,
    /// Width of the GRU state.
    pub(crate) hidden: usize,
    /// Number of actions.
    pub(crate) actions: usize,
    /// Per action, the input column of its market anchor (empty: none).
    pub(crate) anchor: Vec<usize>,
    /// Per action, a bet's stake in reward units (empty: no edge term in the advantages).
    pub(crate) stake: Vec<f32>,
}

/// What [`Drqn::forward`] returns.
#[derive(Clone, Debug)]
pub(crate) struct DrqnOutput {
    /// Action values, `[batch, seq, actions]`.
    pub(crate) q: Tensor<3>,
    /// Estimated probability that each action's selection wins, `[batch, seq, actions]`
    /// (index 0, no bet, is meaningless).
    pub(crate) prob: Tensor<3>,
    /// The probability head's logits before the sigmoid, less the market anchor's,
    /// `[batch, seq, actions]`: how far the head departs from the book.
    pub(crate) offset: Tensor<3>,
    /// The GRU hidden state after the last step, `[batch, hidden]`: pass it as the next call's
    /// `state` to go on with the same matches.
    pub(crate) state: Tensor<2>,
}

impl Drqn {
    /// Runs the network over a batch of step sequences.
    ///
    /// - `x`: `[batch, seq, inputs]`, `seq >= 1`;
    /// - `state`: `[batch, hidden]`, the GRU state before the first step (`None` = zeros).
    ///
    /// Returns `q` and `prob` as `[batch, seq, actions]` and the state after the last step as
    /// `[batch, hidden]`.
    ///
    /// # Panics
    ///
    /// If `seq` is 0 or the widths do not match the configuration.
    pub(crate) fn forward(&self, x: Tensor<3>, state: Option<Tensor<2>>) -> DrqnOutput {
        let [_, seq, _] = x.dims();
        assert!(seq > 0, "Drqn::forward needs at least one step");
        let device = x.device();
        // The market's inverse prices per action, `[batch, seq, actions]` (0: unquoted).
        let market = (!self.anchor.is_empty()).then(|| {
            let columns = Tensor::<1, Int>::from_data(
                TensorData::new(
                    self.anchor.iter().map(|&c| c as i64).collect::<Vec<_>>(),
                    [self.anchor.len()],
                ),
                &device,
            );
            x.clone().select(2, columns)
        });
        let h = relu(self.input.forward(x));
        // Burn 0.22's `Gru::forward` returns every step's hidden state, `[batch, seq, hidden]`;
        // the final state is its last step.
        let states = self.gru.forward(h, state);
        let last: Tensor<2> = states.clone().narrow(1, seq - 1, 1).squeeze_dim(1);
        let logits = self.prob.forward(states.clone());
        let Some(market) = market else {
            return DrqnOutput {
                q: self.q_head(states, None),
                prob: sigmoid(logits.clone()),
                offset: logits,
                state: last,
            };
        };
        let pi = market.clone().clamp(0.01, 0.99);
        let prob = sigmoid((pi.clone() / (pi.clone().neg() + 1.0)).log() + logits.clone());
        let edge = (self.stake.len() == self.actions).then(|| {
            let [b, s, a] = prob.dims();
            let stake = Tensor::<1>::from_data(TensorData::new(self.stake.clone(), [a]), &device)
                .reshape([1, 1, a])
                .expand([b, s, a]);
            let quoted = market.greater_elem(0.0).float();
            (prob.clone().detach() / pi - 1.0) * stake * quoted
        });
        let q = self.q_head(states, edge);
        DrqnOutput {
            q,
            prob,
            offset: logits,
            state: last,
        }
    }

    /// The Q head on GRU states `[batch, seq, hidden]`, giving `[batch, seq, actions]`; `edge`
    /// (`[batch, seq, actions]`) is added to the advantages.
    fn q_head(&self, states: Tensor<3>, edge: Option<Tensor<3>>) -> Tensor<3> {
        let mut advantage = self.advantage.forward(states.clone());
        if let Some(edge) = edge {
            advantage = advantage + edge;
        }
        match &self.value {
            Some(value) => {
                let v = value.forward(states); // [batch, seq, 1]
                let mean = advantage.clone().mean_dim(2); // [batch, seq, 1]
                v + advantage - mean
            }
            None => advantage,
        }
    }

    /// Zeroes the probability head's weights and bias: with a market anchor, the head then
    /// starts out saying what the book says.
    pub(crate) fn zero_prob_head(mut self) -> Self {
        self.prob = zeroed_linear(self.prob);
        self
    }

    /// Zeroes the advantage head's weights and bias: with the edge term, the advantages then
    /// start out as each bet's expected profit under the probability head.
    pub(crate) fn zero_advantage_head(mut self) -> Self {
        self.advantage = zeroed_linear(self.advantage);
        self
    }

    /// A zero GRU state for `batch` matches, `[batch, hidden]`.
    pub(crate) fn zero_state(&self, batch: usize, device: &Device) -> Tensor<2> {
        Tensor::zeros([batch, self.hidden], device)
    }
}

/// `layer` with zero weights and bias, still trainable when it was.
fn zeroed_linear(mut layer: Linear) -> Linear {
    layer.weight = layer.weight.map(zeroed);
    layer.bias = layer.bias.map(|b| b.map(zeroed));
    layer
}

/// A tensor of zeros shaped like `t`, still trainable when `t` was.
fn zeroed<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    let z = t.zeros_like();
    if t.is_require_grad() {
        z.require_grad()
    } else {
        z
    }
}

/// Whether action `a` is available under `mask` (no-bet always is; missing entries are not).
fn available(mask: &[bool], a: usize) -> bool {
    a == 0 || mask.get(a).copied().unwrap_or(false)
}

/// The best available action: the index of the largest `q[a]` with `mask[a]` true, action 0
/// (no bet) counting as always available. Ties go to the lowest index.
///
/// # Panics
///
/// If `q` is empty.
pub(crate) fn masked_argmax(q: &[f32], mask: &[bool]) -> usize {
    let mut best = 0;
    for (a, &v) in q.iter().enumerate().skip(1) {
        if available(mask, a) && v > q[best] {
            best = a;
        }
    }
    best
}

#[cfg(test)]
/// The largest `q[a]` over the available actions (action 0 always counts), i.e.
/// `q[masked_argmax(q, mask)]`.
///
/// # Panics
///
/// If `q` is empty.
pub(crate) fn masked_max(q: &[f32], mask: &[bool]) -> f32 {
    q[masked_argmax(q, mask)]
}

/// `mask` with action 0 (no bet) forced available, `[batch, seq, actions]`.
fn with_no_bet(mask: Tensor<3, Bool>) -> Tensor<3, Bool> {
    let [batch, seq, actions] = mask.dims();
    let device = mask.device();
    let no_bet: Tensor<3, Bool> = Tensor::<1, Int>::arange(0..actions as i64, &device)
        .equal_elem(0)
        .reshape([1, 1, actions])
        .expand([batch, seq, actions]);
    mask.bool_or(no_bet)
}

/// `q` with the unavailable actions set to [`MASK_FILL`].
fn fill_unavailable(q: Tensor<3>, mask: Tensor<3, Bool>) -> Tensor<3> {
    q.mask_fill(with_no_bet(mask).bool_not(), MASK_FILL)
}

#[cfg(test)]
/// Max over actions of `q` among the available ones (action 0 always counts).
///
/// `q`: `[batch, seq, actions]`; `mask`: `[batch, seq, actions]`, `true` = available.
/// Returns `[batch, seq]`.
pub(crate) fn masked_q_max(q: Tensor<3>, mask: Tensor<3, Bool>) -> Tensor<2> {
    fill_unavailable(q, mask).max_dim(2).squeeze_dim(2)
}

/// Argmax over actions of `q` among the available ones (action 0 always counts; ties go to the
/// lowest index, as in [`masked_argmax`]).
///
/// `q`: `[batch, seq, actions]`; `mask`: `[batch, seq, actions]`, `true` = available.
/// Returns `[batch, seq]`. For double Q, pick with the online network's `q` and evaluate the
/// picks on the target network's with [`q_at`].
pub(crate) fn masked_argmax_tensor(q: Tensor<3>, mask: Tensor<3, Bool>) -> Tensor<2, Int> {
    fill_unavailable(q, mask).argmax(2).squeeze_dim(2)
}

/// `q[b, t, actions[b, t]]`: `q` is `[batch, seq, actions]`, `actions` `[batch, seq]`; returns
/// `[batch, seq]`.
pub(crate) fn q_at(q: Tensor<3>, actions: Tensor<2, Int>) -> Tensor<2> {
    q.gather(2, actions.unsqueeze_dim(2)).squeeze_dim(2)
}

/// One training batch: a batch of step sequences and, per step and action, the targets of both
/// heads. Every tensor but `x` is `[batch, seq, actions]`; a weight of 0 means "no target here"
/// (padding, an unavailable action, an unknown outcome).
#[derive(Clone, Debug)]
pub(crate) struct Batch {
    /// `[batch, seq, inputs]`.
    pub(crate) x: Tensor<3>,
    /// `[batch, hidden]`: the GRU state to unroll from (`None`: zeros).
    pub(crate) state: Option<Tensor<2>>,
    /// The Q target of each action (computed without gradient).
    pub(crate) q_target: Tensor<3>,
    pub(crate) q_weight: Tensor<3>,
    /// 1 when the action's selection won, 0 when it lost.
    pub(crate) p_target: Tensor<3>,
    pub(crate) p_weight: Tensor<3>,
    /// Weight of the market prior: the squared offset of the probability head's logits from
    /// its anchor, averaged over the cells with a `p_weight` (a Gaussian prior that the book is
    /// right, which shrinks offsets that the outcomes support only weakly).
    pub(crate) prior: f32,
}

/// The training loss: the squared error of `Q(x)` against `q_target`, plus `prob_weight` × the
/// binary cross-entropy of the probability head against `p_target`, each weighted by its
/// weights and averaged over their sum, plus `batch.prior` × the probability head's mean squared
/// offset from its anchor.
///
/// Squared error rather than Huber: a bet's payoff is skewed (a long price wins rarely and big),
/// and Huber's median-like pull for large errors would undervalue long prices; gradient clipping
/// in [`Adam`] bounds the steps instead.
///
/// Returns a one-element tensor.
pub(crate) fn td_loss(model: &Drqn, batch: &Batch, prob_weight: f32) -> Tensor<1> {
    let out = model.forward(batch.x.clone(), batch.state.clone());
    let err = out.q - batch.q_target.clone();
    let q_loss = (err.clone() * err * batch.q_weight.clone()).sum()
        / batch.q_weight.clone().sum().clamp_min(1e-6);
    let p = out.prob.clamp(1e-6, 1.0 - 1e-6);
    let y = batch.p_target.clone();
    let bce = (y.clone() * p.clone().log() + (y.neg() + 1.0) * (p.neg() + 1.0).log()).neg();
    let p_loss =
        (bce * batch.p_weight.clone()).sum() / batch.p_weight.clone().sum().clamp_min(1e-6);
    let offset = out.offset.clone() * out.offset;
    let prior =
        (offset * batch.p_weight.clone()).sum() / batch.p_weight.clone().sum().clamp_min(1e-6);
    q_loss + p_loss * prob_weight + prior * batch.prior
}

/// One training step: [`td_loss`], backward, and an [`Adam`] step at learning rate `lr`.
///
/// `model` must live on an autodiff device (`DrqnConfig::init(&device.autodiff())`), and the
/// batch on the same device. Returns the updated model and the loss before the update.
pub(crate) fn td_step(
    model: Drqn,
    optim: &mut Adam,
    batch: &Batch,
    prob_weight: f32,
    lr: f64,
) -> (Drqn, f32) {
    let loss = td_loss(&model, batch, prob_weight);
    let value = loss.clone().inner().into_scalar::<f32>();
    let grads = loss.backward();
    (optim.step(lr, model, grads), value)
}

/// Configuration of [`Adam`].
#[derive(Config, Debug)]
pub(crate) struct AdamConfig {
    /// First-moment decay.
    #[config(default = 0.9)]
    pub(crate) beta_1: f32,
    /// Second-moment decay.
    #[config(default = 0.999)]
    pub(crate) beta_2: f32,
    /// Added to the root of the second moment.
    #[config(default = 1e-8)]
    pub(crate) epsilon: f32,
    /// Clip the gradients, all parameters together, to this L2 norm (`None` = no clipping).
    #[config(default = "Some(10.0)")]
    pub(crate) max_grad_norm: Option<f32>,
}

impl AdamConfig {
    /// A fresh optimizer.
    pub(crate) fn init(&self) -> Adam {
        Adam {
            config: self.clone(),
            state: BTreeMap::new(),
        }
    }
}

/// Adam with gradient clipping by global norm (as PyTorch's `clip_grad_norm_`; burn's own
/// `GradientClipping::Norm` clips each parameter's gradient separately).
#[derive(Debug)]
pub(crate) struct Adam {
    config: AdamConfig,
    /// Per parameter: flattened first and second moments and the step count.
    state: BTreeMap<ParamId, Moments>,
}

#[derive(Debug)]
struct Moments {
    m: Tensor<1>,
    v: Tensor<1>,
    t: i32,
}

impl Adam {
    /// Updates `module`'s parameters from `grads` (a backward pass of a loss computed with it).
    /// Parameters without a gradient are left as they are.
    pub(crate) fn step<M: Module>(&mut self, lr: f64, module: M, mut grads: Gradients) -> M {
        let mut collect = CollectGrads {
            grads: &mut grads,
            out: Vec::new(),
        };
        module.visit(&mut collect);
        let mut flat = collect.out;
        if let Some(max_norm) = self.config.max_grad_norm {
            // Summed in module order (the visit's), never in a hash order: a float sum depends
            // on its order.
            let squares: f32 = flat
                .iter()
                .map(|(_, g)| g.clone().square().sum().into_scalar::<f32>())
                .sum();
            let norm = squares.sqrt();
            if norm > max_norm {
                let scale = max_norm / (norm + 1e-6);
                for (_, g) in flat.iter_mut() {
                    *g = g.clone().mul_scalar(scale);
                }
            }
        }
        module.map(&mut AdamMapper {
            adam: self,
            grads: flat.into_iter().collect(),
            lr,
        })
    }
}

/// Takes each parameter's gradient out of the backward pass, flattened, in module order.
struct CollectGrads<'a> {
    grads: &'a mut Gradients,
    out: Vec<(ParamId, Tensor<1>)>,
}

impl ModuleVisitor for CollectGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !param.is_require_grad() {
            return;
        }
        if let Some(grad) = param.val().grad_remove(self.grads) {
            let n = grad.shape().num_elements();
            self.out.push((param.id, grad.reshape([n])));
        }
    }
}

struct AdamMapper<'a> {
    adam: &'a mut Adam,
    grads: BTreeMap<ParamId, Tensor<1>>,
    lr: f64,
}

impl ModuleMapper for AdamMapper<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(grad) = self.grads.remove(&param.id) else {
            return param;
        };
        let (id, tensor, mapper) = param.consume();
        let require_grad = tensor.is_require_grad();
        let checkpointing = tensor.gradient_checkpointing_strategy();
        let shape = tensor.shape();
        let flat: Tensor<1> = tensor.inner().reshape([shape.num_elements()]);

        let AdamConfig {
            beta_1,
            beta_2,
            epsilon,
            ..
        } = self.adam.config;
        let moments = match self.adam.state.remove(&id) {
            Some(Moments { m, v, t }) => Moments {
                m: m.mul_scalar(beta_1) + grad.clone().mul_scalar(1.0 - beta_1),
                v: v.mul_scalar(beta_2) + grad.square().mul_scalar(1.0 - beta_2),
                t: t + 1,
            },
            None => Moments {
                m: grad.clone().mul_scalar(1.0 - beta_1),
                v: grad.square().mul_scalar(1.0 - beta_2),
                t: 1,
            },
        };
        let m_hat = moments.m.clone().div_scalar(1.0 - beta_1.powi(moments.t));
        let v_hat = moments.v.clone().div_scalar(1.0 - beta_2.powi(moments.t));
        let update = m_hat / v_hat.sqrt().add_scalar(epsilon);
        let flat = flat - update.mul_scalar(self.lr);
        self.adam.state.insert(id, moments);

        // Back onto autodiff with the parameter's gradient settings, as burn's optimizers do.
        let mut updated: Tensor<D> = Tensor::from_inner(flat.reshape(shape));
        if let Some(strategy) = checkpointing {
            updated = updated.with_gradient_checkpointing_strategy(strategy);
        }
        if require_grad {
            updated = updated.require_grad();
        }
        Param::from_mapped_value(id, updated, mapper)
    }
}

#[cfg(test)]
mod tests;
