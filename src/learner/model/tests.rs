//! Tests of the DRQN network: shapes, the GRU state, the masked choice and target, the market
//! anchor, and that a TD step learns.

use super::*;

#[allow(deprecated)] // NdArray is deprecated in burn 0.22 but is the CPU backend enabled here
fn device() -> Device {
    Device::ndarray()
}

/// A small deterministic generator (xorshift) for test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `[-1, 1)`.
    fn float(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn floats(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.float()).collect()
    }

    fn bools(&mut self, n: usize) -> Vec<bool> {
        (0..n).map(|_| self.next().is_multiple_of(3)).collect()
    }
}

fn tensor3(values: Vec<f32>, shape: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>().expect("f32 data")
}

fn ints<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    t.try_into_vec_as::<i64>().expect("int data")
}

const INPUTS: usize = 6;
const HIDDEN: usize = 8;
const ACTIONS: usize = 4;

#[test]
fn an_untrained_anchored_head_says_what_the_book_says() {
    let device = device();
    device.seed(3);
    // Actions 1..3 read their inverse price from inputs 2, 3, 3; action 0 from input 2.
    let model = DrqnConfig::new(INPUTS, ACTIONS)
        .with_hidden(HIDDEN)
        .with_anchor(vec![2, 2, 3, 3])
        .init(&device)
        .zero_prob_head();
    let mut values = Rng(5).floats(2 * 3 * INPUTS);
    for (i, v) in values.iter_mut().enumerate() {
        match i % INPUTS {
            2 => *v = 0.4,
            // Out of range on purpose: the anchor is clamped into [0.01, 0.99].
            3 => *v = if i < INPUTS { 0.0 } else { 0.25 },
            _ => {}
        }
    }
    let out = model.forward(tensor3(values, [2, 3, INPUTS], &device), None);
    let p = floats(out.prob);
    for (i, p) in p.iter().enumerate() {
        let (step, a) = (i / ACTIONS, i % ACTIONS);
        let expected = match (step, a) {
            (_, 0 | 1) => 0.4,
            (0, _) => 0.01,
            _ => 0.25,
        };
        assert!((p - expected).abs() < 1e-5, "step {step} action {a}: {p}");
    }
}

#[test]
fn forward_shapes_and_stepping_matches_the_unroll() {
    let device = device();
    device.seed(7);
    for dueling in [true, false] {
        let model = DrqnConfig::new(INPUTS, ACTIONS)
            .with_hidden(HIDDEN)
            .with_dueling(dueling)
            .init(&device);
        let x = tensor3(Rng(11).floats(2 * 5 * INPUTS), [2, 5, INPUTS], &device);

        let full = model.forward(x.clone(), None);
        assert_eq!(full.q.dims(), [2, 5, ACTIONS]);
        assert_eq!(full.prob.dims(), [2, 5, ACTIONS]);
        assert_eq!(full.state.dims(), [2, HIDDEN]);
        assert!(
            floats(full.prob.clone())
                .iter()
                .all(|p| *p > 0.0 && *p < 1.0)
        );

        // One step at a time, carrying the state, gives the unroll's values at every step.
        let mut state = None;
        let mut last = None;
        for t in 0..5 {
            let out = model.forward(x.clone().narrow(1, t, 1), state);
            assert_eq!(out.q.dims(), [2, 1, ACTIONS]);
            let unrolled = floats(full.q.clone().narrow(1, t, 1));
            for (a, b) in floats(out.q.clone()).iter().zip(&unrolled) {
                assert!((a - b).abs() < 1e-5, "step {t}: {a} vs {b}");
            }
            state = Some(out.state);
            last = Some(out.q);
        }
        let last = floats(last.expect("five steps"));
        let full_last = floats(full.q.narrow(1, 4, 1));
        for (a, b) in last.iter().zip(&full_last) {
            assert!((a - b).abs() < 1e-5, "last step: {a} vs {b}");
        }
        let state = floats(state.expect("five steps"));
        for (a, b) in state.iter().zip(&floats(full.state)) {
            assert!((a - b).abs() < 1e-5, "state: {a} vs {b}");
        }

        // The dueling head's advantages are centred: Q - V has mean 0 over actions.
        if dueling {
            let x2 = x.clone();
            let h = relu(model.input.forward(x2));
            let states = model.gru.forward(h, None);
            let v = model
                .value
                .as_ref()
                .expect("dueling")
                .forward(states.clone());
            let centred = floats((model.q_head(states, None) - v).mean_dim(2));
            assert!(centred.iter().all(|c| c.abs() < 1e-5));
        }
    }
}

#[test]
fn masking_excludes_unavailable_actions_from_choice_and_target() {
    // The largest value (9.0, action 2) is unavailable.
    let q = [0.5, 1.0, 9.0, 2.0, -1.0];
    let mask = [true, true, false, true, true];
    assert_eq!(masked_argmax(&q, &mask), 3);
    assert_eq!(masked_max(&q, &mask), 2.0);

    // No-bet is always available, even when the mask says otherwise; ties go low.
    assert_eq!(masked_argmax(&[3.0, 3.0, 5.0], &[false, true, false]), 0);
    assert_eq!(masked_max(&[-4.0, -1.0, 5.0], &[false, false, false]), -4.0);
    // A short mask leaves the missing actions unavailable.
    assert_eq!(masked_argmax(&[0.0, 1.0, 7.0], &[true, true]), 1);

    let device = device();
    let qt = tensor3(q.to_vec(), [1, 1, 5], &device);
    let mt = Tensor::<3, Bool>::from_data(TensorData::new(mask.to_vec(), [1, 1, 5]), &device);
    assert_eq!(floats(masked_q_max(qt.clone(), mt.clone())), vec![2.0]);
    assert_eq!(ints(masked_argmax_tensor(qt, mt)), vec![3]);
}

#[test]
fn tensor_masking_agrees_with_the_slice_versions() {
    let device = device();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let [batch, seq, actions] = [3, 7, 11];
    let n = batch * seq * actions;
    let q = rng.floats(n);
    let mask = rng.bools(n);
    let qt = tensor3(q.clone(), [batch, seq, actions], &device);
    let mt = Tensor::<3, Bool>::from_data(
        TensorData::new(mask.clone(), [batch, seq, actions]),
        &device,
    );
    let maxes = floats(masked_q_max(qt.clone(), mt.clone()));
    let picks_t = masked_argmax_tensor(qt.clone(), mt);
    let picks = ints(picks_t.clone());
    // Evaluating the picks (double Q's second half) gives the masked max back.
    let picked = floats(q_at(qt, picks_t));
    for i in 0..batch * seq {
        let row = &q[i * actions..(i + 1) * actions];
        let row_mask = &mask[i * actions..(i + 1) * actions];
        let best = masked_argmax(row, row_mask);
        assert!(best == 0 || row_mask[best]);
        assert_eq!(picks[i] as usize, best, "row {i}");
        assert_eq!(maxes[i], masked_max(row, row_mask), "row {i}");
        assert_eq!(picked[i], maxes[i], "row {i}");
    }
}

#[test]
fn td_steps_reduce_the_loss() {
    // Plain heads, and heads anchored on the market with the edge term, starting at zero.
    for anchored in [false, true] {
        td_steps_reduce_the_loss_of(anchored);
    }
}

fn td_steps_reduce_the_loss_of(anchored: bool) {
    let device = device().autodiff();
    device.seed(3);
    let config = DrqnConfig::new(INPUTS, ACTIONS).with_hidden(HIDDEN);
    let model = if anchored {
        config
            .with_anchor(vec![1, 1, 2, 3])
            .with_stake(vec![0.0, 0.5, 1.0, 1.0])
            .init(&device)
            .zero_prob_head()
            .zero_advantage_head()
    } else {
        config.init(&device)
    };
    let mut optim = AdamConfig::new().init();

    let mut rng = Rng(42);
    let [batch, seq] = [2, 5];
    let x = tensor3(
        rng.floats(batch * seq * INPUTS),
        [batch, seq, INPUTS],
        &device,
    );
    // One Q target per step (the taken action's), none on the padding (the last step of the
    // second match); an outcome for every action but no-bet.
    let n = batch * seq * ACTIONS;
    let targets: Vec<f32> = rng.floats(n).iter().map(|v| 2.0 * v).collect();
    let mut weights = vec![0.0f32; n];
    for i in 0..batch * seq - 1 {
        weights[i * ACTIONS + i % ACTIONS] = 1.0;
    }
    let outcomes: Vec<f32> = rng
        .bools(n)
        .iter()
        .map(|&b| f32::from(u8::from(b)))
        .collect();
    let p_weights: Vec<f32> = (0..n)
        .map(|i| f32::from(u8::from(i % ACTIONS != 0)))
        .collect();
    let shape = [batch, seq, ACTIONS];
    let batch = Batch {
        x,
        state: None,
        q_target: tensor3(targets, shape, &device),
        q_weight: tensor3(weights, shape, &device),
        p_target: tensor3(outcomes, shape, &device),
        p_weight: tensor3(p_weights, shape, &device),
        prior: 0.0,
    };

    let mut model = model;
    let mut losses = Vec::new();
    for _ in 0..60 {
        let (next, loss) = td_step(model, &mut optim, &batch, 0.5, 1e-2);
        model = next;
        losses.push(loss);
    }
    let first = losses[0];
    let last = *losses.last().expect("losses");
    eprintln!("td losses (anchored: {anchored}): {first} -> {last}");
    // Zeroed heads are trained like the rest.
    for w in [model.prob.weight.val(), model.advantage.weight.val()] {
        assert!(w.is_require_grad());
        assert!(floats(w).iter().any(|&v| v != 0.0));
    }
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(
        last < 0.25 * first,
        "loss did not fall enough: {first} -> {last} ({losses:?})"
    );
}

#[test]
fn clipped_step_still_updates_and_keeps_parameters_trainable() {
    // A tiny clip norm scales every gradient down; Adam normalises the step, so the weights
    // still move, and they must come back from the update still requiring gradients.
    let device = device().autodiff();
    let model = DrqnConfig::new(INPUTS, ACTIONS)
        .with_hidden(HIDDEN)
        .init(&device);
    let before = model.valid();
    let mut optim = AdamConfig::new().with_max_grad_norm(Some(1e-3)).init();
    let x = tensor3(Rng(5).floats(2 * 3 * INPUTS), [2, 3, INPUTS], &device);
    let shape = [2, 3, ACTIONS];
    let batch = Batch {
        x,
        state: None,
        q_target: Tensor::ones(shape, &device),
        q_weight: Tensor::ones(shape, &device),
        p_target: Tensor::ones(shape, &device),
        p_weight: Tensor::ones(shape, &device),
        prior: 0.0,
    };
    let (after, loss) = td_step(model, &mut optim, &batch, 1.0, 1e-3);
    assert!(loss.is_finite());
    // The updated parameters are still trainable.
    assert!(after.input.weight.val().is_require_grad());
    let after = after.valid();
    let w0 = floats(before.input.weight.val());
    let w1 = floats(after.input.weight.val());
    assert!(w0.iter().zip(&w1).any(|(a, b)| a != b));
}

/// Collects the parameters' ids in module order.
struct Ids(Vec<u64>);

impl ModuleVisitor for Ids {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.id.val());
    }
}

#[test]
fn parameter_ids_are_numbered_in_module_order_not_drawn() {
    // Burn draws a new parameter's id at random; the ids are written into a checkpoint, so two
    // networks from one configuration must carry the same ones.
    let device = device();
    let cfg = DrqnConfig::new(INPUTS, ACTIONS).with_hidden(HIDDEN);
    let ids = |m: &Drqn| {
        let mut v = Ids(Vec::new());
        m.visit(&mut v);
        v.0
    };
    let a = ids(&cfg.init(&device));
    assert_eq!(a, (1..=a.len() as u64).collect::<Vec<_>>());
    // Input, 3 GRU gates × 2 transforms, value, advantage, probability: weight and bias each.
    assert_eq!(a.len(), 2 * (1 + 6 + 3));
    assert_eq!(ids(&cfg.init(&device)), a);
}
