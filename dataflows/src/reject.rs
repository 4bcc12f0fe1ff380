//! Why a record was refused, and the dead-letter entry that carries it.
//!
//! Bad input never stops the pipeline (PRODUCT.md): each refused record becomes a [`DeadLetter`]
//! with the record as received and a [`Rejection`], and is counted.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::*;

/// A machine-readable reason code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Not JSON, or JSON that does not fit the record's kind.
    Malformed,
    /// A `kind` the model does not know.
    UnknownKind,
    /// A price that is NaN, infinite or ≤ 1.0.
    InvalidPrice,
    /// A negative match clock or event time.
    NegativeClock,
    /// Any other out-of-range field (possession > 100, xG outside [0, 1], version 0, …).
    InvalidValue,
    /// A record for a match whose fixture was not seen at or before the record's event time.
    UnknownMatch,
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

/// Checks the values of a parsed record. Structural errors were caught by parsing; this catches
/// values that parse but cannot be true (PRODUCT.md's list: price ≤ 1.0 or NaN, negative minute…).
pub fn validate(r: &Record) -> Result<(), Rejection> {
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
            let p = o.price.0;
            if !p.is_finite() || p <= 1.0 {
                return bad(
                    InvalidPrice,
                    format!("price {p} is not a finite decimal price > 1.0"),
                );
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
                    return bad(InvalidValue, format!("xG {x} outside [0, 1]"));
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
