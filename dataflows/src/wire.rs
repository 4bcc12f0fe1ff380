//! The JSON-lines wire form of a [`Record`]: one flat object per line,
//!
//! ```text
//! {"ts":1700000000000,"match":42,"kind":"odds","version":7,"market":"match_odds","selection":"home","price":1.95}
//! ```
//!
//! `ts` (UTC ms), `match` and `kind` are common to every kind; the other fields are those of the
//! kind's struct in [`crate::model`]. Our writer puts `ts` first, which lets the replay source read
//! a line's event time without decoding it (see [`peek_ts`]); any field order is accepted.
//!
//! A UTF-8 byte order mark (U+FEFF) before a line's JSON is skipped ([`strip_bom`]): editors and
//! Windows tools put one before the first line of a file, and a Kafka message may start with one.
//! Both readers of a line ([`parse_json_line`], [`peek_ts`]) skip it, so every source (plain or
//! gzip files, Parquet `raw` rows, Kafka messages) is covered in this one place.

use serde::{Deserialize, Serialize};

use crate::model::*;
use crate::reject::{RejectReason, Rejection};

#[derive(Serialize, Deserialize)]
struct WireRecord {
    ts: EventTime,
    #[serde(rename = "match")]
    match_id: MatchId,
    #[serde(flatten)]
    body: WireBody,
}

/// The same variants as [`Body`], internally tagged by `kind` (JSON only: bincode cannot read
/// internally tagged enums, which is why [`Body`] itself is not tagged).
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum WireBody {
    Fixture(Fixture),
    Lineup(Lineup),
    Status(Status),
    Incident(Incident),
    Market(Market),
    Odds(Odds),
    Result(MatchResult),
    Abandonment(Abandonment),
}

/// The record kinds, as written in `kind`.
pub const KINDS: [&str; 8] = [
    "fixture",
    "lineup",
    "status",
    "incident",
    "market",
    "odds",
    "result",
    "abandonment",
];

impl From<Body> for WireBody {
    fn from(b: Body) -> Self {
        match b {
            Body::Fixture(x) => WireBody::Fixture(x),
            Body::Lineup(x) => WireBody::Lineup(x),
            Body::Status(x) => WireBody::Status(x),
            Body::Incident(x) => WireBody::Incident(x),
            Body::Market(x) => WireBody::Market(x),
            Body::Odds(x) => WireBody::Odds(x),
            Body::Result(x) => WireBody::Result(x),
            Body::Abandonment(x) => WireBody::Abandonment(x),
        }
    }
}

impl From<WireBody> for Body {
    fn from(b: WireBody) -> Self {
        match b {
            WireBody::Fixture(x) => Body::Fixture(x),
            WireBody::Lineup(x) => Body::Lineup(x),
            WireBody::Status(x) => Body::Status(x),
            WireBody::Incident(x) => Body::Incident(x),
            WireBody::Market(x) => Body::Market(x),
            WireBody::Odds(x) => Body::Odds(x),
            WireBody::Result(x) => Body::Result(x),
            WireBody::Abandonment(x) => Body::Abandonment(x),
        }
    }
}

/// Writes a record as one JSON line (without the newline).
pub fn to_json_line(record: &Record) -> String {
    let wire = WireRecord {
        ts: record.ts,
        match_id: record.match_id,
        body: record.body.clone().into(),
    };
    // Serializing these plain structs to a String cannot fail.
    serde_json::to_string(&wire).unwrap_or_default()
}

/// The byte order mark, as a character.
const BOM: char = '\u{feff}';

/// `line` without a leading byte order mark (see the module docs).
pub fn strip_bom(line: &str) -> &str {
    line.strip_prefix(BOM).unwrap_or(line)
}

/// Parses one JSON line into a record (a leading byte order mark is skipped). Errors are data: an
/// unknown `kind`, a `price` too large for a number (`1e309`) and malformed JSON get their own
/// reasons.
pub fn parse_json_line(line: &str) -> Result<Record, Rejection> {
    let line = strip_bom(line);
    match serde_json::from_str::<WireRecord>(line) {
        Ok(w) => Ok(Record {
            ts: w.ts,
            match_id: w.match_id,
            body: w.body.into(),
        }),
        Err(e) => {
            if let Some(literal) = overflowing_price(line, &e) {
                return Err(Rejection::new(
                    RejectReason::InvalidPrice,
                    format!(
                        "price {literal} is not a finite decimal price > 1.0 (too large for a number)"
                    ),
                ));
            }
            let detail = e.to_string();
            // serde reports an unknown internal tag as "unknown variant `x`, expected one of …";
            // confirm by reading the kind ourselves so that a bad *nested* enum is not mistaken
            // for an unknown record kind.
            let kind = serde_json::from_str::<KindOnly>(line)
                .ok()
                .and_then(|k| k.kind);
            match kind {
                Some(k) if !KINDS.contains(&k.as_str()) => Err(Rejection::new(
                    RejectReason::UnknownKind,
                    format!("unknown record kind {k:?}"),
                )),
                _ => Err(Rejection::new(RejectReason::Malformed, detail)),
            }
        }
    }
}

/// The literal of a `"price"` value that `e` refused as out of range (`1e309`: a JSON number
/// beyond `f64`, which serde_json will not round to infinity), or `None` when `e` is another error.
fn overflowing_price<'a>(line: &'a str, e: &serde_json::Error) -> Option<&'a str> {
    if e.line() != 1 || !e.to_string().starts_with("number out of range") {
        return None;
    }
    // serde_json's column is the byte at which it stopped: at or just past the number's end.
    let mut head = line.get(..e.column().min(line.len()))?;
    if !head.ends_with(|c: char| c.is_ascii_digit()) {
        head = &head[..head.len() - head.chars().last().map_or(0, char::len_utf8)];
    }
    let number = |c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E');
    let key = head.trim_end_matches(number);
    let literal = &head[key.len()..];
    let key = key.trim_end().strip_suffix(':')?.trim_end();
    (key.ends_with("\"price\"") && !literal.is_empty()).then_some(literal)
}

#[derive(Deserialize)]
struct KindOnly {
    kind: Option<String>,
}

/// Reads the event time of a JSON line cheaply when the line starts with `{"ts":<integer>`, as
/// ours do; otherwise decodes just the `ts` field. `None` when the line has no readable `ts`. A
/// leading byte order mark is skipped.
pub fn peek_ts(line: &str) -> Option<EventTime> {
    let line = strip_bom(line);
    if let Some(rest) = line.trim_start().strip_prefix("{\"ts\":") {
        let rest = rest.trim_start();
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .unwrap_or(rest.len());
        let tail = rest[end..].trim_start();
        if end > 0 && (tail.starts_with(',') || tail.starts_with('}')) {
            return rest[..end].parse().ok();
        }
    }
    #[derive(Deserialize)]
    struct TsOnly {
        ts: EventTime,
    }
    serde_json::from_str::<TsOnly>(line).ok().map(|t| t.ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn odds(price: f64) -> Record {
        Record {
            ts: 1_700_000_000_000,
            match_id: 42,
            body: Body::Odds(Odds {
                version: 7,
                market: MarketKind::OverUnder { line: Line(10) },
                selection: Selection::Over,
                price: F64(price),
                modelled: false,
            }),
        }
    }

    #[test]
    fn json_line_is_flat_and_round_trips() {
        let r = odds(1.95);
        let line = to_json_line(&r);
        assert!(
            line.starts_with(r#"{"ts":1700000000000,"match":42,"kind":"odds","version":7"#),
            "{line}"
        );
        assert!(
            line.contains(r#""market":{"over_under":{"line":2.5}}"#),
            "{line}"
        );
        assert_eq!(parse_json_line(&line).unwrap(), r);
        assert_eq!(peek_ts(&line), Some(1_700_000_000_000));
    }

    #[test]
    fn nan_price_survives_parsing_for_validation_to_reject() {
        let line = to_json_line(&odds(f64::NAN));
        assert!(line.contains(r#""price":"NaN""#), "{line}");
        let back = parse_json_line(&line).unwrap();
        let Body::Odds(o) = back.body else {
            panic!("kind changed")
        };
        assert!(o.price.0.is_nan());
    }

    #[test]
    fn unknown_kind_and_malformed_lines_are_told_apart() {
        let unknown =
            parse_json_line(r#"{"ts":1,"match":2,"kind":"weather","version":1}"#).unwrap_err();
        assert_eq!(unknown.reason, RejectReason::UnknownKind);
        let broken = parse_json_line(r#"{"ts":1,"match":2,"kind":"odds","#).unwrap_err();
        assert_eq!(broken.reason, RejectReason::Malformed);
        let bad_enum = parse_json_line(
            r#"{"ts":1,"match":2,"kind":"odds","version":1,"market":"rugby","selection":"home","price":2.0}"#,
        )
        .unwrap_err();
        assert_eq!(bad_enum.reason, RejectReason::Malformed);
    }

    #[test]
    fn peek_ts_reads_any_field_order_and_refuses_garbage() {
        assert_eq!(peek_ts(r#"{"match":1,"ts":55,"kind":"x"}"#), Some(55));
        assert_eq!(peek_ts(r#"{"ts":-5,"match":1}"#), Some(-5));
        assert_eq!(peek_ts("not json"), None);
        assert_eq!(peek_ts(r#"{"ts":"12"}"#), None);
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped() {
        let r = odds(2.5);
        let line = format!("\u{feff}{}", to_json_line(&r));
        assert_eq!(&line.as_bytes()[..3], b"\xEF\xBB\xBF");
        assert_eq!(parse_json_line(&line).unwrap(), r);
        assert_eq!(peek_ts(&line), Some(1_700_000_000_000));
        // Any field order (peek_ts's slow path) too.
        let reordered = concat!('\u{feff}', r#"{"match":1,"ts":55,"kind":"x"}"#);
        assert_eq!(peek_ts(reordered), Some(55));
        // Only one, and only at the start: a BOM inside the JSON is still an error.
        let twice = format!("\u{feff}{line}");
        assert_eq!(
            parse_json_line(&twice).unwrap_err().reason,
            RejectReason::Malformed
        );
        let inside = to_json_line(&r).replacen(',', ",\u{feff}", 1);
        assert_eq!(
            parse_json_line(&inside).unwrap_err().reason,
            RejectReason::Malformed
        );
    }

    #[test]
    fn a_price_beyond_f64_is_an_invalid_price() {
        let line = |p: &str| {
            format!(
                r#"{{"ts":1,"match":2,"kind":"odds","version":1,"market":"match_odds","selection":"home","price":{p},"modelled":false}}"#
            )
        };
        for p in ["1e309", "-1e309", "2E+400"] {
            let e = parse_json_line(&line(p)).unwrap_err();
            assert_eq!(e.reason, RejectReason::InvalidPrice, "{p}: {e}");
            assert!(e.detail.starts_with(&format!("price {p} ")), "{}", e.detail);
        }
        // Last field, and spaces around the colon.
        let last = r#"{"ts":1,"match":2,"kind":"odds","version":1,"market":"match_odds","selection":"home","price" : 1e999}"#;
        assert_eq!(
            parse_json_line(last).unwrap_err().reason,
            RejectReason::InvalidPrice
        );
        // Out of range elsewhere stays malformed.
        let ts = r#"{"ts":1e999,"match":2,"kind":"odds","version":1,"market":"match_odds","selection":"home","price":2.0}"#;
        assert_eq!(
            parse_json_line(ts).unwrap_err().reason,
            RejectReason::Malformed
        );
        let xg = r#"{"ts":1,"match":2,"kind":"incident","version":1,"id":1,"side":"home","clock_s":5,"detail":{"shot":{"player":null,"on_target":true,"xg":1e400}},"cancelled":false}"#;
        assert_eq!(
            parse_json_line(xg).unwrap_err().reason,
            RejectReason::Malformed
        );
        // Finite strange prices parse (validation judges them).
        for p in [
            "1e300",
            "1e-300",
            "1.0000001",
            "\"NaN\"",
            "\"inf\"",
            "\"-inf\"",
        ] {
            assert!(parse_json_line(&line(p)).is_ok(), "{p}");
        }
    }

    #[test]
    fn lines_must_be_quarter_goals() {
        let bad = r#"{"ts":1,"match":2,"kind":"odds","version":1,"market":{"over_under":{"line":2.3}},"selection":"over","price":2.0}"#;
        assert_eq!(
            parse_json_line(bad).unwrap_err().reason,
            RejectReason::Malformed
        );
    }
}
