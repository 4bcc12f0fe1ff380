//! Why a record was refused, and the dead-letter entry that carries it.
//!
//! Bad input never stops the pipeline (PRODUCT.md): each refused record becomes a [`DeadLetter`]
//! with the record as received and a [`Rejection`], and is counted.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::*;
use crate::pricing::ladder::MAX_PRICE_CENTS;

/// A machine-readable reason code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Not JSON, or JSON that does not fit the record's kind.
    Malformed,
    /// A `kind` the model does not know.
    UnknownKind,
    /// A price that is NaN, infinite, ≤ 1.0 or above [`ValidationConfig::max_price`].
    InvalidPrice,
    /// A negative match clock or event time.
    NegativeClock,
    /// Any other out-of-range field (possession > 100, xG outside [0, 1], version 0, …).
    InvalidValue,
    /// A record for a match whose fixture was not seen at or before the record's event time.
    UnknownMatch,
    /// An event time implausibly far ahead of the feed clock (or, live, of the wall clock): the
    /// runtime's clock guard refused it before it could move the clock.
    FutureTs,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::UnknownKind => "unknown_kind",
            RejectReason::InvalidPrice => "invalid_price",
            RejectReason::NegativeClock => "negative_clock",
            RejectReason::InvalidValue => "invalid_value",
            RejectReason::UnknownMatch => "unknown_match",
            RejectReason::FutureTs => "future_ts",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: RejectReason, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.detail)
    }
}

impl std::error::Error for Rejection {}

/// A refused record: its position in the feed, the record as received, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Position of the record in the feed (0-based line or row number).
    pub seq: u64,
    pub reason: RejectReason,
    pub detail: String,
    /// The record as received (the JSON line, or the decoded row written as JSON).
    pub record: String,
}

/// The bounds [`validate`] checks that are settings rather than facts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidationConfig {
    /// The highest decimal price accepted (default 1000, the top of the Betfair price ladder and
    /// of ours); a price above it is rejected as `invalid_price`.
    pub max_price: f64,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            max_price: MAX_PRICE_CENTS as f64 / 100.0,
        }
    }
}

impl ValidationConfig {
    /// The largest `max_price` allowed: stakes times prices, and the products of a coupon's
    /// prices, stay far from overflowing an `f64`.
    pub const MAX_PRICE_LIMIT: f64 = 1e6;

    /// An error unless the settings make sense (`max_price` in (1, [`Self::MAX_PRICE_LIMIT`]]).
    pub fn check(&self) -> Result<(), String> {
        let m = self.max_price;
        if m.is_finite() && m > 1.0 && m <= Self::MAX_PRICE_LIMIT {
            Ok(())
        } else {
            Err(format!(
                "the maximum price must be a number above 1 and at most {}, not {m}",
                Self::MAX_PRICE_LIMIT
            ))
        }
    }
}

/// A number for a detail message: plain when it reads well, in scientific notation when it is
/// very large or very small (`1e300`, not 301 digits).
fn show(x: f64) -> String {
    if x == 0.0 || !x.is_finite() || (1e-4..1e9).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// Why `p` is not a valid decimal price under `cfg`, or `None` when it is one: a finite number
/// above 1.0 and at most `cfg.max_price`. (Any such price keeps the betting arithmetic finite:
/// `1 / p`, `p − 1 > 0`, `ln p`, stake × p.)
pub fn price_problem(p: f64, cfg: &ValidationConfig) -> Option<String> {
    if !p.is_finite() || p <= 1.0 {
        Some(format!(
            "price {} is not a finite decimal price > 1.0",
            show(p)
        ))
    } else if p > cfg.max_price {
        Some(format!(
            "price {} is above the maximum price {} (--max-price)",
            show(p),
            show(cfg.max_price)
        ))
    } else {
        None
    }
}

/// Checks the values of a parsed record. Structural errors were caught by parsing; this catches
/// values that parse but cannot be true (PRODUCT.md's list: price ≤ 1.0 or NaN, negative minute…)
/// and prices above `cfg.max_price`.
///
/// The record's floating-point fields are its price and its xG; both are checked here, so that no
/// NaN, infinity or absurd magnitude reaches the arithmetic downstream (prices must be in
/// (1, `max_price`], xG in [0, 1]). Its other numbers are integers (times, versions, ids, clocks,
/// scores, shares) or quarter-goal lines, which parsing already bounds.
pub fn validate(r: &Record, cfg: &ValidationConfig) -> Result<(), Rejection> {
    use RejectReason::*;
    let bad = |reason, detail: String| Err(Rejection::new(reason, detail));
    if r.ts < 0 {
        return bad(NegativeClock, format!("negative event time {}", r.ts));
    }
    if r.version() == 0 {
        return bad(InvalidValue, "version 0 (versions start at 1)".into());
    }
    match &r.body {
        Body::Odds(o) => {
            if let Some(problem) = price_problem(o.price.0, cfg) {
                return bad(InvalidPrice, problem);
            }
        }
        Body::Status(s) if s.clock_s < 0 => {
            return bad(NegativeClock, format!("clock {} s", s.clock_s));
        }
        Body::Incident(i) => {
            if i.clock_s < 0 {
                return bad(NegativeClock, format!("incident clock {} s", i.clock_s));
            }
            match i.detail {
                IncidentDetail::Possession { share } if share > 100 => {
                    return bad(InvalidValue, format!("possession share {share}% > 100"));
                }
                IncidentDetail::Shot {
                    xg: Some(F64(x)), ..
                } if !(0.0..=1.0).contains(&x) => {
                    return bad(InvalidValue, format!("xG {} outside [0, 1]", show(x)));
                }
                _ => {}
            }
        }
        Body::Fixture(f) => {
            if f.home.id == f.away.id {
                return bad(InvalidValue, format!("team {} plays itself", f.home.id));
            }
            if f.kickoff < 0 {
                return bad(NegativeClock, format!("negative kick-off {}", f.kickoff));
            }
        }
        Body::Market(m) => {
            if m.selections.is_empty() {
                return bad(InvalidValue, "market without selections".into());
            }
            let mut s = m.selections.clone();
            s.sort();
            s.dedup();
            if s.len() != m.selections.len() {
                return bad(InvalidValue, "market lists a selection twice".into());
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn odds(price: f64) -> Record {
        Record {
            ts: 1_700_000_000_000,
            match_id: 42,
            body: Body::Odds(Odds {
                version: 3,
                market: MarketKind::MatchOdds,
                selection: Selection::Home,
                price: F64(price),
                modelled: false,
            }),
        }
    }

    fn shot(xg: f64) -> Record {
        Record {
            ts: 1_700_000_000_000,
            match_id: 42,
            body: Body::Incident(Incident {
                version: 1,
                id: 9,
                side: Side::Home,
                clock_s: 600,
                detail: IncidentDetail::Shot {
                    player: None,
                    on_target: true,
                    xg: Some(F64(xg)),
                },
                cancelled: false,
            }),
        }
    }

    #[test]
    fn prices_must_be_finite_above_one_and_at_most_the_maximum() {
        let cfg = ValidationConfig::default();
        assert_eq!(cfg.max_price, 1000.0);
        for ok in [1.0000001, 1.01, 2.5, 999.99, 1000.0] {
            assert_eq!(validate(&odds(ok), &cfg), Ok(()), "price {ok}");
        }
        for (bad, shown) in [
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (1.0, "1"),
            (0.9, "0.9"),
            (0.0, "0"),
            (-2.0, "-2"),
            (1e-300, "1e-300"),
        ] {
            let e = validate(&odds(bad), &cfg).unwrap_err();
            assert_eq!(e.reason, RejectReason::InvalidPrice, "price {bad}");
            assert_eq!(
                e.detail,
                format!("price {shown} is not a finite decimal price > 1.0")
            );
        }
        for (bad, shown) in [
            (1000.01, "1000.01"),
            (1e300, "1e300"),
            (f64::MAX, "1.7976931348623157e308"),
        ] {
            let e = validate(&odds(bad), &cfg).unwrap_err();
            assert_eq!(e.reason, RejectReason::InvalidPrice, "price {bad}");
            assert_eq!(
                e.detail,
                format!("price {shown} is above the maximum price 1000 (--max-price)")
            );
        }
    }

    #[test]
    fn the_maximum_price_is_a_setting() {
        let cfg = ValidationConfig { max_price: 50.0 };
        assert_eq!(validate(&odds(50.0), &cfg), Ok(()));
        let e = validate(&odds(51.0), &cfg).unwrap_err();
        assert_eq!(e.reason, RejectReason::InvalidPrice);
        assert!(e.detail.contains("maximum price 50"), "{}", e.detail);
        let wide = ValidationConfig { max_price: 1e6 };
        assert_eq!(validate(&odds(5000.0), &wide), Ok(()));
        assert!(validate(&odds(5000.0), &ValidationConfig::default()).is_err());
    }

    #[test]
    fn the_maximum_price_must_be_above_one_finite_and_bounded() {
        for ok in [1.01, 1000.0, ValidationConfig::MAX_PRICE_LIMIT] {
            assert_eq!(ValidationConfig { max_price: ok }.check(), Ok(()), "{ok}");
        }
        for bad in [1.0, 0.5, -3.0, f64::NAN, f64::INFINITY, 1e7] {
            assert!(
                ValidationConfig { max_price: bad }.check().is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn xg_must_be_a_number_in_zero_one() {
        let cfg = ValidationConfig::default();
        for ok in [0.0, 1e-300, 0.35, 1.0] {
            assert_eq!(validate(&shot(ok), &cfg), Ok(()), "xG {ok}");
        }
        for (bad, shown) in [
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (-0.1, "-0.1"),
            (1.0000001, "1.0000001"),
            (1e300, "1e300"),
        ] {
            let e = validate(&shot(bad), &cfg).unwrap_err();
            assert_eq!(e.reason, RejectReason::InvalidValue, "xG {bad}");
            assert_eq!(e.detail, format!("xG {shown} outside [0, 1]"));
        }
    }
}
