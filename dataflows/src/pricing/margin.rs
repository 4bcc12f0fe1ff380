//! Margin: how a bookmaker's prices relate to probabilities. One home for removing it (the
//! margin-free probabilities every reader of prices uses) and for applying it (how the simulator
//! and the in-play pricer turn probabilities into prices).

/// Margin-free probabilities of one market's prices by proportional normalisation:
/// `pᵢ = (1/oᵢ) / Σⱼ 1/oⱼ`, in the order given. `None` when there is no price, or one is not a
/// finite decimal price above 1.
pub fn proportional(prices: &[f64]) -> Option<Vec<f64>> {
    if prices.is_empty() || prices.iter().any(|p| !p.is_finite() || *p <= 1.0) {
        return None;
    }
    let book: f64 = prices.iter().map(|p| 1.0 / p).sum();
    Some(prices.iter().map(|p| 1.0 / p / book).collect())
}

/// The power method: implied probabilities `π_i = p_i^k` with `k ≤ 1` chosen so that
/// `Σ π_i = 1 + margin`. It loads more margin on long shots (a favourite–longshot bias).
/// Zero probabilities stay zero; a market with fewer than two possible outcomes gets no margin.
pub fn apply_power(probs: &[f64], margin: f64) -> Vec<f64> {
    let target = 1.0 + margin;
    let logs: Vec<Option<f64>> = probs
        .iter()
        .map(|&p| (p > 1e-300).then(|| p.min(1.0).ln()))
        .collect();
    let live = logs.iter().filter(|l| l.is_some()).count();
    let total: f64 = probs.iter().filter(|p| **p > 0.0).sum();
    if margin <= 0.0 || live < 2 || (live as f64) <= target || total <= 0.0 {
        return probs.to_vec();
    }
    let sum_at = |k: f64| -> (f64, f64) {
        let mut g = 0.0;
        let mut d = 0.0;
        for l in logs.iter().flatten() {
            let v = (k * l).exp();
            g += v;
            d += l * v;
        }
        (g - target, d)
    };
    // g(k) is convex and decreasing with g(1) = Σp - target < 0 and g(0) = live - target > 0.
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    let mut k = 1.0;
    for _ in 0..60 {
        let (g, d) = sum_at(k);
        if g.abs() < 1e-12 {
            break;
        }
        if g > 0.0 {
            lo = k
        } else {
            hi = k
        }
        let newton = if d < 0.0 { k - g / d } else { f64::NAN };
        k = if newton.is_finite() && newton > lo && newton < hi {
            newton
        } else {
            (lo + hi) / 2.0
        };
    }
    logs.iter()
        .map(|l| l.map_or(0.0, |l| (k * l).exp()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_removes_the_overround() {
        let p = proportional(&[2.0, 4.0, 4.0]).expect("valid");
        assert_eq!(p, vec![0.5, 0.25, 0.25]);
        let q = proportional(&[1.8, 3.6, 4.5]).expect("valid");
        assert!((q.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(proportional(&[]), None);
        assert_eq!(proportional(&[1.0, 3.0]), None);
        assert_eq!(proportional(&[f64::NAN, 3.0]), None);
        assert_eq!(proportional(&[f64::INFINITY, 3.0]), None);
    }

    #[test]
    fn power_margin_hits_the_overround() {
        let p = [0.5, 0.3, 0.2];
        let pi = apply_power(&p, 0.05);
        assert!((pi.iter().sum::<f64>() - 1.05).abs() < 1e-9);
        // Longshots carry relatively more margin.
        assert!(pi[2] / p[2] > pi[0] / p[0]);
        assert_eq!(apply_power(&[1.0, 0.0], 0.05), vec![1.0, 0.0]);
    }
}
