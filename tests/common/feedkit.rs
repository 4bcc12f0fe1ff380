//! Hand-written feeds: one-line builders for the records of a match.

use oddsflow::policy::ScriptedBet;
use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::*;

pub fn rec(m: MatchId, ts: i64, body: Body) -> Payload {
    Payload::Decoded(Record {
        ts,
        match_id: m,
        body,
    })
}

pub fn fixture(m: MatchId, ts: i64, kickoff: i64, home: TeamId, away: TeamId) -> Payload {
    let team = |id| TeamRef {
        id,
        name: format!("Team {id}"),
    };
    rec(
        m,
        ts,
        Body::Fixture(Fixture {
            version: 1,
            league: "SCN".into(),
            season: "2025-26".into(),
            kickoff,
            home: team(home),
            away: team(away),
            venue: "Ground".into(),
            referee: "Ref".into(),
        }),
    )
}

/// The 1X2 market's definition.
pub fn market(
    m: MatchId,
    ts: i64,
    version: Version,
    status: MarketStatus,
    phase: Phase,
) -> Payload {
    let selections = vec![Selection::Home, Selection::Draw, Selection::Away];
    rec(
        m,
        ts,
        Body::Market(Market {
            version,
            market: MarketKind::MatchOdds,
            status,
            phase,
            selections,
        }),
    )
}

/// 1X2 prices.
pub fn prices(m: MatchId, ts: i64, version: Version, [h, d, a]: [f64; 3]) -> Vec<Payload> {
    [
        (Selection::Home, h),
        (Selection::Draw, d),
        (Selection::Away, a),
    ]
    .into_iter()
    .map(|(selection, p)| {
        rec(
            m,
            ts,
            Body::Odds(Odds {
                version,
                market: MarketKind::MatchOdds,
                selection,
                price: F64(p),
                modelled: false,
            }),
        )
    })
    .collect()
}

pub fn status(m: MatchId, ts: i64, version: Version, status: MatchStatus, clock_s: i32) -> Payload {
    rec(
        m,
        ts,
        Body::Status(Status {
            version,
            status,
            clock_s,
        }),
    )
}

pub fn goal(m: MatchId, ts: i64, id: u32, side: Side, clock_s: i32) -> Payload {
    rec(
        m,
        ts,
        Body::Incident(Incident {
            id,
            version: 1,
            side,
            clock_s,
            detail: IncidentDetail::Goal {
                player: None,
                own_goal: false,
                penalty: false,
            },
            cancelled: false,
        }),
    )
}

pub fn result(m: MatchId, ts: i64, version: Version, home: u8, away: u8) -> Payload {
    rec(
        m,
        ts,
        Body::Result(MatchResult {
            version,
            half_time: Score::default(),
            full_time: Score { home, away },
            corners: None,
        }),
    )
}

/// A scripted bet at `at`: a single (one leg) or a coupon of match-odds selections.
pub fn bet(at: i64, legs: &[(MatchId, Selection)], stake: f64) -> ScriptedBet {
    ScriptedBet {
        at: at as u64,
        legs: legs
            .iter()
            .map(|(m, s)| (*m, MarketKind::MatchOdds, *s))
            .collect(),
        stake,
    }
}
