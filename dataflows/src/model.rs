//! The feed model: every record kind a provider sends, as plain Rust types.
//!
//! A [`Record`] is `{ ts, match_id, body }`: an event time in UTC milliseconds, the match it
//! belongs to, and one of the [`Body`] kinds of PRODUCT.md. Every kind is *keyed state* with a
//! monotone `version` (see [`Record::key`]): the newest version of a key wins, duplicates and stale
//! versions change nothing. Incidents are keyed too (by the provider's incident id), so that a
//! duplicated goal is not counted twice and a VAR-overturned goal is a new version with
//! `cancelled: true`.
//!
//! These types travel between timely workers, which serialize with bincode: they must not use
//! serde's `tag`, `flatten` or `skip_serializing_if`. The flat JSON-lines form lives in
//! [`crate::wire`].

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Provider match id.
pub type MatchId = u64;
/// Provider team id.
pub type TeamId = u32;
/// Provider player id.
pub type PlayerId = u32;
/// Monotone version of one key of keyed state.
pub type Version = u64;
/// Event time: UTC milliseconds since the Unix epoch.
pub type EventTime = i64;

/// A 64-bit float with a total order (IEEE `total_cmp`), so that prices and xG can live in
/// differential collections (which need `Ord`). NaN is representable on purpose: validation, not
/// parsing, rejects it, so that the dead letter says why.
#[derive(Clone, Copy, Debug, Default)]
pub struct F64(pub f64);

impl PartialEq for F64 {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0) == Ordering::Equal
    }
}
impl Eq for F64 {}
impl PartialOrd for F64 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for F64 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}
impl Hash for F64 {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state)
    }
}
impl Serialize for F64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() && !self.0.is_finite() {
            // JSON has no NaN or infinity: write them as strings so that a bad price survives a
            // round trip into the dead-letter file.
            return s.serialize_str(&self.0.to_string());
        }
        s.serialize_f64(self.0)
    }
}
impl<'de> Deserialize<'de> for F64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = F64;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, or the strings \"NaN\" / \"inf\"")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<F64, E> {
                Ok(F64(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<F64, E> {
                Ok(F64(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<F64, E> {
                Ok(F64(v as f64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<F64, E> {
                v.trim()
                    .parse::<f64>()
                    .map(F64)
                    .map_err(|_| E::custom(format!("not a number: {v:?}")))
            }
        }
        if d.is_human_readable() {
            d.deserialize_any(V)
        } else {
            d.deserialize_f64(V)
        }
    }
}

/// A goal line in quarter goals (2.5 → 10, -0.25 → -1), so that lines are exact and hashable.
/// Written as the decimal line (`2.5`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Line(pub i32);

impl Line {
    pub fn from_goals(goals: f64) -> Option<Line> {
        let q = goals * 4.0;
        (q.is_finite() && q.fract() == 0.0 && q.abs() < 1e6).then_some(Line(q as i32))
    }
    pub fn goals(self) -> f64 {
        f64::from(self.0) / 4.0
    }
}
impl Serialize for Line {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.goals())
    }
}
impl<'de> Deserialize<'de> for Line {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let g = f64::deserialize(d)?;
        Line::from_goals(g)
            .ok_or_else(|| serde::de::Error::custom(format!("line {g} is not a multiple of 0.25")))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Home,
    Away,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Home, Side::Away];
    pub fn other(self) -> Side {
        match self {
            Side::Home => Side::Away,
            Side::Away => Side::Home,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TeamRef {
    pub id: TeamId,
    pub name: String,
}

/// The prematch bulletin of a match.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Fixture {
    pub version: Version,
    pub league: String,
    pub season: String,
    /// Kick-off, UTC ms.
    pub kickoff: EventTime,
    pub home: TeamRef,
    pub away: TeamRef,
    pub venue: String,
    pub referee: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Player {
    pub id: PlayerId,
    pub name: String,
    /// Position label, e.g. `GK`, `CB`, `CM`, `ST`.
    pub position: String,
    /// In the starting eleven (else on the bench).
    pub starter: bool,
}

/// A team's lineup; a later lineup change is a new version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Lineup {
    pub version: Version,
    pub side: Side,
    /// Formation such as `4-2-3-1`.
    pub formation: String,
    pub players: Vec<Player>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchStatus {
    Scheduled,
    FirstHalf,
    HalfTime,
    SecondHalf,
    Finished,
    Abandoned,
    Postponed,
}

impl MatchStatus {
    pub fn is_live(self) -> bool {
        matches!(
            self,
            MatchStatus::FirstHalf | MatchStatus::HalfTime | MatchStatus::SecondHalf
        )
    }
}

/// Match status and clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Status {
    pub version: Version,
    pub status: MatchStatus,
    /// Match clock in seconds (63:10 → 3790). Negative clocks are rejected.
    pub clock_s: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    Yellow,
    SecondYellow,
    Red,
}

impl CardKind {
    /// Does this card send the player off?
    pub fn is_sending_off(self) -> bool {
        matches!(self, CardKind::SecondYellow | CardKind::Red)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarDecision {
    GoalConfirmed,
    GoalOverturned,
    PenaltyAwarded,
    PenaltyOverturned,
    RedCard,
}

/// What happened in a live incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentDetail {
    /// A goal credited to the incident's `side` (for an own goal, the side that benefits).
    Goal {
        player: Option<PlayerId>,
        own_goal: bool,
        penalty: bool,
    },
    Corner,
    Card {
        player: Option<PlayerId>,
        card: CardKind,
    },
    Shot {
        player: Option<PlayerId>,
        on_target: bool,
        xg: Option<F64>,
    },
    Foul {
        player: Option<PlayerId>,
    },
    Attack,
    DangerousAttack,
    /// Possession share of the incident's side over the provider's recent window, in percent.
    Possession {
        share: u8,
    },
    Substitution {
        player_out: PlayerId,
        player_in: PlayerId,
    },
    PenaltyAwarded,
    /// A VAR review of the incident `reviews`; the reviewed incident itself is re-sent with a new
    /// version when the decision changes it.
    Var {
        decision: VarDecision,
        reviews: u32,
    },
}

/// A live incident. `id` is the provider's incident id; a correction (VAR) is a new version, and
/// `cancelled: true` withdraws the incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Incident {
    pub id: u32,
    pub version: Version,
    pub side: Side,
    pub clock_s: i32,
    pub detail: IncidentDetail,
    pub cancelled: bool,
}

/// A market type, with its line where it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarketKind {
    /// 1X2.
    MatchOdds,
    /// Total goals over/under `line`.
    OverUnder {
        line: Line,
    },
    /// Both teams to score.
    Btts,
    /// Which team scores goal number `goal` (1-based), or none.
    NextGoal {
        goal: u8,
    },
    DoubleChance,
    CorrectScore,
    /// Handicap `line` applied to the home team.
    AsianHandicap {
        line: Line,
    },
    /// Total corners over/under `line`.
    CornersOverUnder {
        line: Line,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    Home,
    Draw,
    Away,
    Over,
    Under,
    Yes,
    No,
    HomeOrDraw,
    DrawOrAway,
    HomeOrAway,
    NoGoal,
    Score {
        home: u8,
        away: u8,
    },
    /// Correct score "any other".
    AnyOther,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarketStatus {
    Open,
    Suspended,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Prematch,
    InPlay,
}

/// A market's definition and status.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Market {
    pub version: Version,
    pub market: MarketKind,
    pub status: MarketStatus,
    pub phase: Phase,
    pub selections: Vec<Selection>,
}

/// The price of one selection (decimal odds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Odds {
    pub version: Version,
    pub market: MarketKind,
    pub selection: Selection,
    pub price: F64,
    /// The price comes from a pricing model, not a market (in-play odds that an importer derived
    /// over a real event stream). Reported apart from real prices. Absent on the wire = `false`.
    #[serde(default)]
    pub modelled: bool,
}

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Score {
    pub home: u8,
    pub away: u8,
}

impl Score {
    pub fn of(self, side: Side) -> u8 {
        match side {
            Side::Home => self.home,
            Side::Away => self.away,
        }
    }
}

/// The final result; a correction is a new version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MatchResult {
    pub version: Version,
    pub half_time: Score,
    pub full_time: Score,
    /// Final corner count, when the provider settles corner markets.
    pub corners: Option<Score>,
}

/// The match was abandoned: its bets are void.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Abandonment {
    pub version: Version,
    pub reason: String,
}

/// The payload of a record: one of the kinds of PRODUCT.md.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Body {
    Fixture(Fixture),
    Lineup(Lineup),
    Status(Status),
    Incident(Incident),
    Market(Market),
    Odds(Odds),
    Result(MatchResult),
    Abandonment(Abandonment),
}

/// One feed record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Record {
    /// Event time, UTC ms.
    pub ts: EventTime,
    pub match_id: MatchId,
    pub body: Body,
}

/// Which piece of a match's keyed state a record updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StateKey {
    Fixture,
    Lineup(Side),
    Status,
    Incident(u32),
    Market(MarketKind),
    Odds(MarketKind, Selection),
    Result,
    Abandonment,
}

/// The key of keyed state: a match and the piece of it.
pub type RecordKey = (MatchId, StateKey);

impl Body {
    /// The record kind as written on the wire (`"odds"`, `"incident"`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Fixture(_) => "fixture",
            Body::Lineup(_) => "lineup",
            Body::Status(_) => "status",
            Body::Incident(_) => "incident",
            Body::Market(_) => "market",
            Body::Odds(_) => "odds",
            Body::Result(_) => "result",
            Body::Abandonment(_) => "abandonment",
        }
    }

    pub fn version(&self) -> Version {
        match self {
            Body::Fixture(x) => x.version,
            Body::Lineup(x) => x.version,
            Body::Status(x) => x.version,
            Body::Incident(x) => x.version,
            Body::Market(x) => x.version,
            Body::Odds(x) => x.version,
            Body::Result(x) => x.version,
            Body::Abandonment(x) => x.version,
        }
    }

    pub fn state_key(&self) -> StateKey {
        match self {
            Body::Fixture(_) => StateKey::Fixture,
            Body::Lineup(x) => StateKey::Lineup(x.side),
            Body::Status(_) => StateKey::Status,
            Body::Incident(x) => StateKey::Incident(x.id),
            Body::Market(x) => StateKey::Market(x.market),
            Body::Odds(x) => StateKey::Odds(x.market, x.selection),
            Body::Result(_) => StateKey::Result,
            Body::Abandonment(_) => StateKey::Abandonment,
        }
    }
}

impl Record {
    pub fn key(&self) -> RecordKey {
        (self.match_id, self.body.state_key())
    }
    pub fn version(&self) -> Version {
        self.body.version()
    }
}
