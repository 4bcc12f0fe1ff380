//! `oddsflow features`: the feature vector a live system had for a match at a time, from a feed
//! replayed only until then, or from a replay's offline store.

use anyhow::{Result, bail};

use super::InputEndedEarly;
use crate::cli::FeaturesArgs;
use crate::runtime::config::RunConfig;
use crate::runtime::outputs::{features_at, features_from_store};
use crate::runtime::replay::replay;
use crate::runtime::source::file_feed;
use crate::time::parse_time;

/// Runs `oddsflow features`.
pub(crate) fn run(a: FeaturesArgs) -> Result<()> {
    let at = parse_time(&a.at)?;
    let cfg = RunConfig::default();
    let t = (at.max(0) as u64) / cfg.granularity_ms * cfg.granularity_ms;
    let mut truncated = None;
    let vector = match (&a.store, &a.feed) {
        (Some(store), _) => features_from_store(store, t)?.remove(&a.match_id),
        (None, Some(feed)) => {
            let cfg = RunConfig {
                progress: false,
                until: Some(t),
                ..cfg
            };
            let (outputs, _) = replay(file_feed(feed), &cfg, None, timely::Config::thread())?
                .ok_or_else(|| anyhow::anyhow!("no outputs"))?;
            truncated = outputs.summary.truncated.clone();
            features_at(&outputs, t)
                .remove(&a.match_id)
                .map(|v| serde_json::to_value(v))
                .transpose()?
        }
        (None, None) => bail!("give a FEED to replay, or --store DIR/features.parquet"),
    };
    if let Some(v) = &vector {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"match": a.match_id, "at": t, "features": v})
            )?
        );
    }
    // The feed ended before `t`: the vector (or its absence) is that of the items read.
    if let Some(cut) = truncated {
        let what = match vector {
            Some(_) => "the vector above is that of".to_string(),
            None => format!("match {} has no feature vector at {t} in", a.match_id),
        };
        return Err(InputEndedEarly(format!(
            "{cut}; {what} the {} items read before",
            cut.items_read
        ))
        .into());
    }
    match vector {
        Some(_) => Ok(()),
        None => bail!(
            "match {} has no feature vector at {t} (it was not live then)",
            a.match_id
        ),
    }
}
