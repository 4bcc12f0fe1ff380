//! Betting metrics, with the definitions PRODUCT.md uses everywhere.
//!
//! In: settled bets ([`SettledBet`]: stake, price taken, payout multiple, closing prices, the
//! match-day and settlement time). Out: [`Metrics`] and a bootstrap interval for ROI.
//!
//! - **ROI** = profit / turnover; **hit rate** = share of bets returning more than the stake;
//!   **average price** = mean price taken.
//! - **CLV** = price taken / closing price − 1, averaged over the bets that have a close; also
//!   against the margin-free close (`fair_close`).
//! - **Bankroll curve**: the starting bankroll plus cumulative profit, bets in settlement order;
//!   **maximum drawdown**: the largest fall from a running peak of that curve, as a fraction of
//!   the peak.
//! - **Sharpe per match-day**: mean / standard deviation (sample) of the profit per match-day
//!   with bets; 0 with fewer than two match-days or no variation.
//! - **Bootstrap interval for ROI**: match-days resampled with replacement (bets of one day stay
//!   together, since they share a day's fortunes), seeded, percentile interval.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// One bet whose settlement stands: what the metrics are computed over.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettledBet {
    /// Settlement time (UTC ms): orders the bankroll curve.
    pub settled_at: i64,
    /// The match-day (e.g. days since the epoch of the kick-off): the unit of resampling.
    pub match_day: i64,
    /// Money staked.
    pub stake: f64,
    /// Price taken (decimal odds; a coupon's is the product of its legs').
    pub price: f64,
    /// Multiple of the stake returned (price if won, 0 if lost, 1 if void, …).
    pub payout: f64,
    /// The selection's closing price, when known.
    pub close: Option<f64>,
    /// The margin-free closing price (1 / margin-free probability), when known.
    pub fair_close: Option<f64>,
}

impl SettledBet {
    /// Money won (+) or lost (−): stake × (payout − 1).
    pub fn profit(&self) -> f64 {
        self.stake * (self.payout - 1.0)
    }
}

/// The betting metrics of a set of settled bets (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Settled bets.
    pub bets: usize,
    /// Sum of the stakes.
    pub turnover: f64,
    /// Sum of the bets' profits.
    pub profit: f64,
    /// Profit / turnover (0 without turnover).
    pub roi: f64,
    /// Share of bets returning more than the stake.
    pub hit_rate: f64,
    /// Mean price taken.
    pub average_price: f64,
    /// Mean CLV against the close, over bets with a close (`None` when none has one).
    pub clv: Option<f64>,
    /// Mean CLV against the margin-free close, over bets with one.
    pub clv_fair: Option<f64>,
    /// The starting bankroll plus the profit.
    pub final_bankroll: f64,
    /// The largest fall of the bankroll curve from a running peak, as a fraction of the peak.
    pub max_drawdown: f64,
    /// The same fall in money (a part of a policy's bets has no bankroll of its own: its curve
    /// is its cumulative profit from 0, and this is its drawdown).
    #[serde(default)]
    pub max_drawdown_money: f64,
    /// Mean / sample standard deviation of the profit per match-day (0 with fewer than two
    /// match-days or no variation).
    pub sharpe_per_match_day: f64,
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, sum) = xs.fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    (n > 0).then(|| sum / n as f64)
}

/// The bankroll after each bet, in settlement order.
pub(crate) fn bankroll_curve(bets: &[SettledBet], start: f64) -> Vec<(i64, f64)> {
    let mut sorted: Vec<&SettledBet> = bets.iter().collect();
    sorted.sort_by_key(|b| b.settled_at);
    let mut bankroll = start;
    sorted
        .into_iter()
        .map(|b| {
            bankroll += b.profit();
            (b.settled_at, bankroll)
        })
        .collect()
}

/// The largest fall from a running peak, as a fraction of that peak.
pub(crate) fn max_drawdown(curve: &[(i64, f64)], start: f64) -> f64 {
    let mut peak = start;
    let mut worst: f64 = 0.0;
    for (_, v) in curve {
        peak = peak.max(*v);
        if peak > 0.0 {
            worst = worst.max((peak - v) / peak);
        }
    }
    worst
}

/// The largest fall of `curve` from its running peak (starting at `start`), in money.
pub(crate) fn max_drawdown_money(curve: &[(i64, f64)], start: f64) -> f64 {
    let mut peak = start;
    let mut worst: f64 = 0.0;
    for (_, v) in curve {
        peak = peak.max(*v);
        worst = worst.max(peak - v);
    }
    worst
}

fn profit_by_day(bets: &[SettledBet]) -> std::collections::BTreeMap<i64, (f64, f64)> {
    let mut days = std::collections::BTreeMap::new();
    for b in bets {
        let e: &mut (f64, f64) = days.entry(b.match_day).or_default();
        e.0 += b.profit();
        e.1 += b.stake;
    }
    days
}

/// The [`Metrics`] of `bets`, starting from `start_bankroll`.
pub fn metrics(bets: &[SettledBet], start_bankroll: f64) -> Metrics {
    let turnover: f64 = bets.iter().map(|b| b.stake).sum();
    let profit: f64 = bets.iter().map(SettledBet::profit).sum();
    let curve = bankroll_curve(bets, start_bankroll);
    let daily: Vec<f64> = profit_by_day(bets).values().map(|(p, _)| *p).collect();
    let sharpe = match (mean(daily.iter().copied()), daily.len()) {
        (Some(m), n) if n >= 2 => {
            let var = daily.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
            if var > 0.0 { m / var.sqrt() } else { 0.0 }
        }
        _ => 0.0,
    };
    Metrics {
        bets: bets.len(),
        turnover,
        profit,
        roi: if turnover > 0.0 {
            profit / turnover
        } else {
            0.0
        },
        hit_rate: mean(bets.iter().map(|b| f64::from(u8::from(b.payout > 1.0)))).unwrap_or(0.0),
        average_price: mean(bets.iter().map(|b| b.price)).unwrap_or(0.0),
        clv: mean(
            bets.iter()
                .filter_map(|b| b.close.map(|c| b.price / c - 1.0)),
        ),
        clv_fair: mean(
            bets.iter()
                .filter_map(|b| b.fair_close.map(|c| b.price / c - 1.0)),
        ),
        final_bankroll: curve.last().map_or(start_bankroll, |c| c.1),
        max_drawdown: max_drawdown(&curve, start_bankroll),
        max_drawdown_money: max_drawdown_money(&curve, start_bankroll),
        sharpe_per_match_day: sharpe,
    }
}

/// The fewest settled bets (or values) an interval is given for: below it a percentile bootstrap
/// over a handful of bets (`+150.00 [+0.00, +300.00]` on 2 bets) says nothing, and the reports
/// print no interval.
pub const MIN_INTERVAL_SAMPLE: usize = 30;

/// A percentile bootstrap interval for ROI, resampling match-days: `(low, high)` at `level`
/// (e.g. 0.95), from `resamples` draws seeded by `seed`. `None` with fewer than two match-days or
/// fewer than [`MIN_INTERVAL_SAMPLE`] bets.
pub fn bootstrap_roi(
    bets: &[SettledBet],
    resamples: usize,
    level: f64,
    seed: u64,
) -> Option<(f64, f64)> {
    if bets.len() < MIN_INTERVAL_SAMPLE {
        return None;
    }
    let days: Vec<(f64, f64)> = profit_by_day(bets).into_values().collect();
    bootstrap_days(&days, resamples, level, seed)
}

/// A percentile bootstrap interval of a ratio of day totals, `Σ numerator / Σ denominator`, with
/// the days (`(numerator, denominator)` each) resampled with replacement: ROI is profit over
/// stakes, a mean per bet is the sum over the count. `None` with fewer than two days.
pub(crate) fn bootstrap_days(
    days: &[(f64, f64)],
    resamples: usize,
    level: f64,
    seed: u64,
) -> Option<(f64, f64)> {
    // One match-day resamples to itself: no interval.
    if days.len() < 2 || resamples == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rois: Vec<f64> = (0..resamples)
        .map(|_| {
            let (mut p, mut t) = (0.0, 0.0);
            for _ in 0..days.len() {
                let (dp, dt) = days[rng.random_range(0..days.len())];
                p += dp;
                t += dt;
            }
            if t > 0.0 { p / t } else { 0.0 }
        })
        .collect();
    rois.sort_by(f64::total_cmp);
    let tail = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    let at = |q: f64| rois[((q * (rois.len() - 1) as f64).round() as usize).min(rois.len() - 1)];
    Some((at(tail), at(1.0 - tail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bet(day: i64, at: i64, stake: f64, price: f64, payout: f64) -> SettledBet {
        SettledBet {
            settled_at: at,
            match_day: day,
            stake,
            price,
            payout,
            close: Some(price * 0.9),
            fair_close: Some(price * 0.95),
        }
    }

    #[test]
    fn metrics_follow_the_product_definitions() {
        let bets = [
            bet(1, 10, 10.0, 2.0, 2.0), // +10
            bet(1, 20, 10.0, 3.0, 0.0), // −10
            bet(2, 30, 20.0, 1.5, 1.0), // void: 0
            bet(3, 40, 10.0, 4.0, 0.0), // −10
        ];
        let m = metrics(&bets, 100.0);
        assert_eq!((m.bets, m.turnover, m.profit), (4, 50.0, -10.0));
        assert!((m.roi + 0.2).abs() < 1e-12);
        assert_eq!(m.hit_rate, 0.25, "a void is not a hit");
        assert_eq!(m.average_price, 2.625);
        // Every close is 0.9 × the price: CLV = 1/0.9 − 1 for each bet.
        assert!((m.clv.expect("closes") - (1.0 / 0.9 - 1.0)).abs() < 1e-12);
        assert!((m.clv_fair.expect("fair closes") - (1.0 / 0.95 - 1.0)).abs() < 1e-12);
        // Bankroll 100 → 110 → 100 → 100 → 90: worst fall from the peak of 110 is 20/110.
        assert_eq!(m.final_bankroll, 90.0);
        assert!((m.max_drawdown - 20.0 / 110.0).abs() < 1e-12);
        // Daily profit 0, 0, −10: mean −10/3, sd sqrt(100/3).
        let (mu, sd) = (
            -10.0 / 3.0,
            (((10.0f64 / 3.0).powi(2) * 2.0 + (20.0f64 / 3.0).powi(2)) / 2.0).sqrt(),
        );
        assert!((m.sharpe_per_match_day - mu / sd).abs() < 1e-12);
        assert_eq!(metrics(&[], 100.0).roi, 0.0);
    }

    #[test]
    fn the_bootstrap_interval_brackets_the_roi_and_narrows_with_data() {
        // A steady small edge: 55 % hits at evens over many days.
        let bets: Vec<SettledBet> = (0..400)
            .map(|i| bet(i / 4, i, 1.0, 2.0, if i % 20 < 11 { 2.0 } else { 0.0 }))
            .collect();
        let roi = metrics(&bets, 100.0).roi;
        let (lo, hi) = bootstrap_roi(&bets, 2000, 0.95, 7).expect("bets");
        assert!(lo < roi && roi < hi, "{lo} < {roi} < {hi}");
        let few = &bets[..40];
        let (flo, fhi) = bootstrap_roi(few, 2000, 0.95, 7).expect("bets");
        assert!(fhi - flo > hi - lo, "fewer days, wider interval");
        assert_eq!(
            bootstrap_roi(&bets, 500, 0.9, 3),
            bootstrap_roi(&bets, 500, 0.9, 3),
            "seeded"
        );
        assert_eq!(bootstrap_roi(&[], 100, 0.95, 1), None);
    }
}
