//! The price ladder: published decimal prices are whole ticks, finer at short prices (as on a
//! real exchange's ladder), floored in the bookmaker's favour.

/// Price ladder bands: (upper bound exclusive, tick in hundredths).
const LADDER: [(i64, i64); 10] = [
    (200, 1),
    (300, 2),
    (400, 5),
    (600, 10),
    (1000, 20),
    (2000, 50),
    (3000, 100),
    (5000, 200),
    (10000, 500),
    (i64::MAX, 1000),
];
/// Lowest and highest published prices, in hundredths.
pub const MIN_PRICE_CENTS: i64 = 102;
pub const MAX_PRICE_CENTS: i64 = 100_000;

/// The ladder tick at a price in hundredths.
pub fn tick_cents(cents: i64) -> i64 {
    LADDER
        .iter()
        .find(|(upper, _)| cents < *upper)
        .map_or(1000, |b| b.1)
}

/// A raw decimal price floored onto the ladder (in the bookmaker's favour), in hundredths,
/// within [`MIN_PRICE_CENTS`, `MAX_PRICE_CENTS`].
pub fn ladder_floor(raw: f64) -> i64 {
    let raw = if raw.is_finite() {
        raw
    } else {
        MAX_PRICE_CENTS as f64 / 100.0
    };
    let cents = ((raw * 100.0 + 1e-6).floor() as i64).clamp(MIN_PRICE_CENTS, MAX_PRICE_CENTS);
    let t = tick_cents(cents);
    ((cents / t) * t).max(MIN_PRICE_CENTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_floors_onto_ticks() {
        assert_eq!(ladder_floor(1.016), 102);
        assert_eq!(ladder_floor(1.5555), 155);
        assert_eq!(ladder_floor(2.55), 254);
        assert_eq!(ladder_floor(3.33), 330);
        assert_eq!(ladder_floor(7.77), 760);
        assert_eq!(ladder_floor(1e9), MAX_PRICE_CENTS);
        assert_eq!(ladder_floor(f64::INFINITY), MAX_PRICE_CENTS);
    }
}
