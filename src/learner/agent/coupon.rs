//! The `drqn` policy's coupon builder (see the module docs of [`super`], "Coupons").
//!
//! **In:** the probability head's latest estimates per live match, the view's quotes, the
//! matches stepping now, the account and the open stakes. **Out:** at most one coupon intent.

use oddsflow_dataflows::Time;
use oddsflow_dataflows::model::MatchId;
use oddsflow_dataflows::policy::{Account, Intent, View};

use super::DrqnPolicy;
use crate::learner::encode::SELECTIONS;

impl DrqnPolicy {
    /// The coupon builder (see the module docs): legs from the matches whose probability
    /// estimates are at most `window_ms` old, at least one of them stepping now.
    pub(super) fn coupon(
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
