//! The goal model's building blocks, shared by the simulator, the in-play pricer and the value
//! baseline: Poisson goal counts, Dixon–Coles' low-score correction, and the late-goal profile.

/// Poisson probabilities of 0 … N−2 goals, with the tail (N−1 or more) folded into the last cell.
/// A mean that is not a finite non-negative number counts as 0.
pub fn poisson_pmf<const N: usize>(mean: f64) -> [f64; N] {
    let mean = if mean.is_finite() { mean.max(0.0) } else { 0.0 };
    let mut p = [0.0; N];
    if N == 0 {
        return p;
    }
    p[0] = (-mean).exp();
    let mut acc = p[0];
    for k in 1..N - 1 {
        p[k] = p[k - 1] * mean / k as f64;
        acc += p[k];
    }
    if N > 1 {
        p[N - 1] = (1.0 - acc).max(0.0);
    }
    p
}

/// Dixon–Coles' factor on the cell (i, j) of goals with means `mh`, `ma` and dependence `rho`
/// (0: independent Poisson).
pub fn dixon_coles_tau(i: usize, j: usize, mh: f64, ma: f64, rho: f64) -> f64 {
    match (i, j) {
        (0, 0) => 1.0 - mh * ma * rho,
        (0, 1) => 1.0 + mh * rho,
        (1, 0) => 1.0 + ma * rho,
        (1, 1) => 1.0 - rho,
        _ => 1.0,
    }
}

/// Goals come a little more often late in a match: the relative goal intensity at a minute,
/// `0.8 + 0.4·min(m, 90)/90` (mean 1 over 90 minutes).
pub fn goal_profile(minute: f64) -> f64 {
    0.8 + 0.4 * (minute / 90.0).clamp(0.0, 1.0)
}

/// `∫₀ᵐ goal_profile` (minutes of play weighted by the profile).
pub fn goal_profile_cum(m: f64) -> f64 {
    let m = m.max(0.0);
    if m <= 90.0 {
        0.8 * m + 0.4 * m * m / 180.0
    } else {
        90.0 + 1.2 * (m - 90.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_is_a_distribution_with_its_tail_folded() {
        let p: [f64; 13] = poisson_pmf(1.4);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((p[0] - (-1.4f64).exp()).abs() < 1e-15);
        assert!((p[2] - 1.4 * 1.4 / 2.0 * (-1.4f64).exp()).abs() < 1e-15);
        let none: [f64; 4] = poisson_pmf(f64::NAN);
        assert_eq!(none, [1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn the_profile_integrates_to_ninety_minutes() {
        assert!((goal_profile_cum(90.0) - 90.0).abs() < 1e-12);
        let n = 90_000;
        let riemann: f64 = (0..n)
            .map(|i| goal_profile((i as f64 + 0.5) * 90.0 / n as f64) * 90.0 / n as f64)
            .sum();
        assert!((riemann - 90.0).abs() < 1e-6);
        assert_eq!(dixon_coles_tau(2, 3, 1.0, 1.0, 0.1), 1.0);
    }
}
