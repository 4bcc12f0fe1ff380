//! Checkpoints of the learner: a directory holding the network's parameters and everything
//! needed to rebuild and trust them.
//!
//! # Layout
//!
//! ```text
//! <dir>/checkpoint.json   format version, seed, feature schema, action count,
//!                         the DrqnConfig and the DrqnPolicyConfig
//! <dir>/model.bpk         the parameters, in burn's burnpack format (Module::save_file)
//! ```
//!
//! The parameters are keyed by module path (`input.weight`, `gru.update_gate...`), so loading
//! checks every shape and refuses a record with missing or extra tensors.
//!
//! # Compatibility
//!
//! [`load`] refuses a checkpoint written by another format version, with another feature schema
//! (the names of the encoded inputs, [`feature_schema`]) or another number of actions: the
//! network's weights only mean something for the inputs and actions it was trained on. The
//! schema error names the first input that differs.

use std::fs;
use std::path::Path;

use anyhow::{Context, bail, ensure};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::DrqnPolicyConfig;
use super::encode::{ACTIONS, feature_schema};
use super::model::{Drqn, DrqnConfig};

/// The version of the checkpoint layout written by [`save`] and accepted by [`load`].
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The metadata file of a checkpoint directory.
pub(crate) const META_FILE: &str = "checkpoint.json";

/// The parameter file of a checkpoint directory (burnpack).
pub(crate) const PARAMS_FILE: &str = "model.bpk";

/// What `checkpoint.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    format_version: u32,
    /// The policy's seed (also in `policy`), at the top for people reading the file.
    seed: u64,
    /// The names of the network's inputs, in order.
    feature_schema: Vec<String>,
    /// The number of actions (no-bet included).
    actions: usize,
    /// The parameter file, relative to the checkpoint directory.
    params: String,
    model: DrqnConfig,
    policy: DrqnPolicyConfig,
    /// Training updates behind these parameters (0 for an untrained network; absent in older
    /// files).
    #[serde(default)]
    updates: u64,
}

#[cfg(test)]
/// Writes a checkpoint of `model` (built from `model_cfg`, acting for `policy_cfg`) into `dir`,
/// creating it if needed. Existing checkpoint files there are replaced.
pub(crate) fn save(
    dir: &Path,
    model: &Drqn,
    model_cfg: &DrqnConfig,
    policy_cfg: &DrqnPolicyConfig,
) -> anyhow::Result<()> {
    save_with_updates(dir, model, model_cfg, policy_cfg, 0)
}

/// [`save`], recording that `updates` training updates led to `model`.
pub(crate) fn save_with_updates(
    dir: &Path,
    model: &Drqn,
    model_cfg: &DrqnConfig,
    policy_cfg: &DrqnPolicyConfig,
    updates: u64,
) -> anyhow::Result<()> {
    let schema = feature_schema();
    ensure!(
        model_cfg.inputs == schema.len(),
        "model config has {} inputs but this build's feature schema has {}",
        model_cfg.inputs,
        schema.len()
    );
    ensure!(
        model_cfg.actions == ACTIONS && model.actions == ACTIONS,
        "model has {} actions (config {}) but this build has {ACTIONS}",
        model.actions,
        model_cfg.actions
    );
    ensure!(
        model.hidden == model_cfg.hidden,
        "model has hidden width {} but its config says {}",
        model.hidden,
        model_cfg.hidden
    );

    fs::create_dir_all(dir)
        .with_context(|| format!("creating checkpoint directory {}", dir.display()))?;

    let params = dir.join(PARAMS_FILE);
    model
        .clone()
        .save_file(&params)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("writing checkpoint parameters {}", params.display()))?;

    let meta = Meta {
        format_version: FORMAT_VERSION,
        seed: policy_cfg.seed,
        feature_schema: schema,
        actions: ACTIONS,
        params: PARAMS_FILE.to_string(),
        model: model_cfg.clone(),
        policy: policy_cfg.clone(),
        updates,
    };
    let meta_path = dir.join(META_FILE);
    let json = serde_json::to_string_pretty(&meta).context("serializing checkpoint metadata")?;
    fs::write(&meta_path, json)
        .with_context(|| format!("writing checkpoint metadata {}", meta_path.display()))?;
    Ok(())
}

/// Reads the checkpoint in `dir` onto `device` (use `device.autodiff()` to go on training).
///
/// Fails, naming the file, when a file is missing or unreadable; and when the checkpoint does
/// not fit this build (format version, feature schema, action count, parameter shapes).
pub(crate) fn load(
    dir: &Path,
    device: &Device,
) -> anyhow::Result<(Drqn, DrqnConfig, DrqnPolicyConfig)> {
    let meta_path = dir.join(META_FILE);
    let text = fs::read_to_string(&meta_path)
        .with_context(|| format!("reading checkpoint metadata {}", meta_path.display()))?;
    let meta: Meta = serde_json::from_str(&text)
        .with_context(|| format!("parsing checkpoint metadata {}", meta_path.display()))?;

    ensure!(
        meta.format_version == FORMAT_VERSION,
        "checkpoint {} has format version {}, this build reads version {FORMAT_VERSION}",
        meta_path.display(),
        meta.format_version
    );
    check_schema(&meta.feature_schema, &feature_schema())
        .with_context(|| format!("checkpoint {}", dir.display()))?;
    ensure!(
        meta.actions == ACTIONS && meta.model.actions == ACTIONS,
        "checkpoint {} has {} actions (model config {}), this build has {ACTIONS}",
        dir.display(),
        meta.actions,
        meta.model.actions
    );
    ensure!(
        meta.model.inputs == meta.feature_schema.len(),
        "checkpoint {}: model config has {} inputs but its feature schema has {}",
        dir.display(),
        meta.model.inputs,
        meta.feature_schema.len()
    );

    let params = dir.join(&meta.params);
    ensure!(
        params.is_file(),
        "checkpoint parameters {} are missing",
        params.display()
    );
    let model = meta
        .model
        .init(device)
        .try_load_file(&params)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("loading checkpoint parameters {}", params.display()))?;
    Ok((model, meta.model, meta.policy))
}

/// The training updates recorded in the checkpoint in `dir` (0 for an untrained network).
pub fn updates(dir: &Path) -> anyhow::Result<u64> {
    let meta_path = dir.join(META_FILE);
    let text = fs::read_to_string(&meta_path)
        .with_context(|| format!("reading checkpoint metadata {}", meta_path.display()))?;
    let meta: Meta = serde_json::from_str(&text)
        .with_context(|| format!("parsing checkpoint metadata {}", meta_path.display()))?;
    Ok(meta.updates)
}

/// Whether `dir` holds a checkpoint (its metadata file).
pub fn exists(dir: &Path) -> bool {
    dir.join(META_FILE).is_file()
}

/// Ok when `found` (a checkpoint's schema) equals `expected` (this build's); otherwise an error
/// naming the first input that differs.
fn check_schema(found: &[String], expected: &[String]) -> anyhow::Result<()> {
    if let Some((i, (f, e))) = found
        .iter()
        .zip(expected)
        .enumerate()
        .find(|(_, (f, e))| f != e)
    {
        bail!("checkpoint feature schema differs from this build's at input {i}: {f:?} vs {e:?}");
    }
    if found.len() != expected.len() {
        let i = found.len().min(expected.len());
        let name = |s: &[String]| {
            s.get(i)
                .map_or_else(|| "(none)".to_string(), |n| format!("{n:?}"))
        };
        bail!(
            "checkpoint feature schema differs from this build's at input {i}: {} vs {} \
             ({} inputs vs {})",
            name(found),
            name(expected),
            found.len(),
            expected.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(deprecated)] // NdArray is deprecated in burn 0.22 but is the CPU backend enabled here
    fn device() -> Device {
        Device::ndarray()
    }

    fn configs() -> (DrqnConfig, DrqnPolicyConfig) {
        let policy = DrqnPolicyConfig {
            seed: 17,
            hidden: 8,
            ..DrqnPolicyConfig::default()
        };
        let model = DrqnConfig::new(feature_schema().len(), ACTIONS).with_hidden(policy.hidden);
        (model, policy)
    }

    fn input(device: &Device) -> Tensor<3> {
        let n = feature_schema().len();
        let values: Vec<f32> = (0..2 * 3 * n)
            .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
            .collect();
        Tensor::from_data(TensorData::new(values, [2, 3, n]), device)
    }

    fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.try_into_vec_as::<f32>().expect("f32 data")
    }

    #[test]
    fn save_then_load_gives_the_same_outputs() {
        let device = device();
        device.seed(5);
        let (model_cfg, policy_cfg) = configs();
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ckpt");
        for dueling in [true, false] {
            let model_cfg = model_cfg.clone().with_dueling(dueling);
            let model = model_cfg.init(&device);
            save(&path, &model, &model_cfg, &policy_cfg).expect("save");

            // Load onto a fresh device; the autodiff one too (to go on training).
            for load_device in [device.clone(), device.clone().autodiff()] {
                let (loaded, cfg, pol) = load(&path, &load_device).expect("load");
                assert_eq!(cfg.hidden, model_cfg.hidden);
                assert_eq!(cfg.dueling, dueling);
                assert_eq!(pol, policy_cfg);

                let a = model.forward(input(&device), None);
                let b = loaded.forward(input(&load_device), None);
                for (x, y) in [(a.q, b.q), (a.prob, b.prob)] {
                    let (x, y) = (floats(x), floats(y));
                    assert_eq!(x.len(), y.len());
                    for (u, v) in x.iter().zip(&y) {
                        assert!((u - v).abs() <= 1e-6, "{u} vs {v}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_policy_network_round_trips_and_stays_trainable() {
        use super::super::agent::DrqnPolicy;
        let (_, policy_cfg) = configs();
        let policy = DrqnPolicy::new(policy_cfg.clone());
        let dir = tempfile::tempdir().expect("temp dir");
        save(
            dir.path(),
            policy.online(),
            &policy.model_config(),
            policy.config(),
        )
        .expect("save");
        let device = device().autodiff();
        let (loaded, cfg, pol) = load(dir.path(), &device).expect("load");
        assert_eq!(pol, policy_cfg);
        assert_eq!(cfg.hidden, policy_cfg.hidden);
        assert!(loaded.input.weight.val().is_require_grad());
        let a = floats(policy.online().forward(input(&device), None).q);
        let b = floats(loaded.forward(input(&device), None).q);
        assert_eq!(a, b);
    }

    #[test]
    fn a_different_feature_schema_is_refused() {
        let device = device();
        let (model_cfg, policy_cfg) = configs();
        let dir = tempfile::tempdir().expect("temp dir");
        let model = model_cfg.init(&device);
        save(dir.path(), &model, &model_cfg, &policy_cfg).expect("save");

        let meta_path = dir.path().join(META_FILE);
        let text = fs::read_to_string(&meta_path).expect("read meta");
        let mut meta: serde_json::Value = serde_json::from_str(&text).expect("json");
        let schema = meta["feature_schema"].as_array_mut().expect("schema array");
        let original = schema[7].as_str().expect("name").to_string();
        schema[7] = serde_json::Value::String(format!("{original}_milli"));
        fs::write(&meta_path, meta.to_string()).expect("write meta");

        let err = format!(
            "{:#}",
            load(dir.path(), &device).expect_err("schema differs")
        );
        eprintln!("{err}");
        assert!(err.contains("feature schema"), "{err}");
        assert!(err.contains("input 7"), "{err}");
        assert!(err.contains(&format!("{original:?}")), "{err}");

        // A shorter schema is refused too.
        let mut meta: serde_json::Value = serde_json::from_str(&text).expect("json");
        meta["feature_schema"]
            .as_array_mut()
            .expect("schema array")
            .pop();
        fs::write(&meta_path, meta.to_string()).expect("write meta");
        let err = format!(
            "{:#}",
            load(dir.path(), &device).expect_err("schema differs")
        );
        assert!(err.contains("feature schema"), "{err}");
    }

    #[test]
    fn a_different_action_count_is_refused() {
        let device = device();
        let (model_cfg, policy_cfg) = configs();
        let dir = tempfile::tempdir().expect("temp dir");
        save(
            dir.path(),
            &model_cfg.init(&device),
            &model_cfg,
            &policy_cfg,
        )
        .expect("save");
        let meta_path = dir.path().join(META_FILE);
        let text = fs::read_to_string(&meta_path).expect("read meta");
        let mut meta: serde_json::Value = serde_json::from_str(&text).expect("json");
        meta["actions"] = serde_json::json!(ACTIONS + 1);
        fs::write(&meta_path, meta.to_string()).expect("write meta");
        let err = format!(
            "{:#}",
            load(dir.path(), &device).expect_err("actions differ")
        );
        assert!(err.contains("actions"), "{err}");
    }

    #[test]
    fn missing_or_corrupt_files_are_errors_with_the_path() {
        let device = device();
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("no-such-checkpoint");
        let err = format!("{:#}", load(&missing, &device).expect_err("missing"));
        assert!(err.contains(&missing.display().to_string()), "{err}");

        let (model_cfg, policy_cfg) = configs();
        save(
            dir.path(),
            &model_cfg.init(&device),
            &model_cfg,
            &policy_cfg,
        )
        .expect("save");

        // Corrupt parameters.
        let params = dir.path().join(PARAMS_FILE);
        fs::write(&params, b"not a burnpack").expect("corrupt");
        let err = format!(
            "{:#}",
            load(dir.path(), &device).expect_err("corrupt params")
        );
        assert!(err.contains(&params.display().to_string()), "{err}");

        // Missing parameters.
        fs::remove_file(&params).expect("remove");
        let err = format!(
            "{:#}",
            load(dir.path(), &device).expect_err("missing params")
        );
        assert!(err.contains(&params.display().to_string()), "{err}");

        // Corrupt metadata.
        let meta = dir.path().join(META_FILE);
        fs::write(&meta, "{ not json").expect("corrupt");
        let err = format!("{:#}", load(dir.path(), &device).expect_err("corrupt meta"));
        assert!(err.contains(&meta.display().to_string()), "{err}");
    }

    #[test]
    fn parameters_of_another_shape_are_refused() {
        let device = device();
        let (model_cfg, policy_cfg) = configs();
        let dir = tempfile::tempdir().expect("temp dir");
        save(
            dir.path(),
            &model_cfg.init(&device),
            &model_cfg,
            &policy_cfg,
        )
        .expect("save");
        // The metadata claims a wider network than the parameters hold.
        let meta_path = dir.path().join(META_FILE);
        let text = fs::read_to_string(&meta_path).expect("read meta");
        let mut meta: serde_json::Value = serde_json::from_str(&text).expect("json");
        meta["model"]["hidden"] = serde_json::json!(16);
        fs::write(&meta_path, meta.to_string()).expect("write meta");
        let err = format!(
            "{:#}",
            load(dir.path(), &device).expect_err("shapes differ")
        );
        assert!(err.contains(PARAMS_FILE), "{err}");
    }
}
