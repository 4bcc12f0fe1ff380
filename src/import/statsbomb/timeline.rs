//! One match's records in order: the fixture, the lineups and the prematch markets before
//! kick-off, then the timeline of play (period starts and ends, a clock tick every minute, the
//! mapped events) run through a [`MatchFeed`], ending with the result.

use std::collections::BTreeMap;

use oddsflow_dataflows::model::*;

use super::incidents::{MatchFeed, is_corner, mapped};
use super::lineups::lineup;
use super::load::Loaded;
use super::source::name_of;
use super::{LINEUP_LEAD_MS, POSSESSION_EVERY_S, RESULT_DELAY_MS, football_data_name};
use crate::import::football_data::{
    self, FIXTURE_LEAD_MS, FdMatch, push_prematch_markets, season_of,
};
use crate::import::inplay::{self, Book, Period, State};
use crate::import::{FeedBuilder, team_id};

/// Pushes one match's records; returns (incidents, modelled odds).
pub(super) fn push_match(
    b: &mut FeedBuilder,
    l: &Loaded,
    fd: Option<&FdMatch>,
    skipped: &mut Vec<String>,
) -> (usize, usize) {
    let fd = joined_row(l, fd);
    push_fixture(b, l, fd.as_ref());
    push_lineups(b, l, skipped);
    let (prematch_open, book) = push_prematch(b, l, fd.as_ref(), skipped);
    let items = timeline(l, skipped);
    let mut play = Play {
        f: MatchFeed {
            b,
            l,
            id: l.m.match_id,
            next_incident: 1,
            incidents: 0,
            state: State::kickoff(),
            book,
            penalty: None,
        },
        fd: fd.as_ref(),
        prematch_open,
        half_time_score: Score::default(),
        corners: [0u8; 2],
        skipped,
    };
    for &(ts, _, _, item) in &items {
        play.step(ts, item);
    }
    let modelled = play.f.book.as_ref().map_or(0, |b| b.modelled);
    (play.f.incidents, modelled)
}

// ----- before kick-off ----------------------------------------------------------------------------

/// The football-data row, kicking off at StatsBomb's time (with StatsBomb's referee when the row
/// names none).
fn joined_row(l: &Loaded, fd: Option<&FdMatch>) -> Option<FdMatch> {
    let referee = name_of(&l.m.referee).trim().to_owned();
    fd.map(|f| {
        let mut f = f.clone();
        f.kickoff = l.kickoff;
        f.kickoff_known = true;
        if f.referee.is_empty() {
            f.referee = referee.clone();
        }
        f
    })
}

/// The fixture: football-data's when joined (venue = stadium), else from the matches file under
/// football-data's team names.
fn fixture(l: &Loaded, fd: Option<&FdMatch>) -> Fixture {
    let home_name = football_data_name(&l.m.home_team.home_team_name).to_owned();
    let away_name = football_data_name(&l.m.away_team.away_team_name).to_owned();
    let venue = name_of(&l.m.stadium).trim().to_owned();
    let referee = name_of(&l.m.referee).trim().to_owned();
    let (y, mo, _) = l.date;
    match fd {
        Some(f) => football_data::fixture(f, 0, &venue),
        None => Fixture {
            version: 0,
            league: l
                .m
                .competition
                .as_ref()
                .and_then(|c| c.competition_name.clone())
                .unwrap_or_else(|| "Premier League".into()),
            season: season_of(y, mo),
            kickoff: l.kickoff,
            home: TeamRef {
                id: team_id(&home_name),
                name: home_name.clone(),
            },
            away: TeamRef {
                id: team_id(&away_name),
                name: away_name.clone(),
            },
            venue,
            referee,
        },
    }
}

/// The fixture and status `scheduled`, both at kick-off − 48 h.
fn push_fixture(b: &mut FeedBuilder, l: &Loaded, fd: Option<&FdMatch>) {
    let (id, ko) = (l.m.match_id, l.kickoff);
    let fixture = fixture(l, fd);
    b.push(ko - FIXTURE_LEAD_MS, id, |version| {
        Body::Fixture(Fixture { version, ..fixture })
    });
    b.push(ko - FIXTURE_LEAD_MS, id, |version| {
        Body::Status(Status {
            version,
            status: MatchStatus::Scheduled,
            clock_s: 0,
        })
    });
}

/// Both sides' lineups from their `Starting XI` at kick-off − 60 min (a side without one is
/// reported).
fn push_lineups(b: &mut FeedBuilder, l: &Loaded, skipped: &mut Vec<String>) {
    let (id, ko) = (l.m.match_id, l.kickoff);
    for side in Side::BOTH {
        let xi = l
            .events
            .iter()
            .map(|(_, e)| e)
            .find(|e| e.kind() == "Starting XI" && l.side(e.team_id()) == Some(side));
        match xi {
            Some(e) => {
                let lu = lineup(l, side, e);
                b.push(ko - LINEUP_LEAD_MS, id, |version| {
                    Body::Lineup(Lineup { version, ..lu })
                });
            }
            None => skipped.push(format!(
                "{}: no Starting XI for {side:?}: no lineup",
                l.label()
            )),
        }
    }
}

/// With a football-data row: its prematch markets, and the in-play book fitted to its last 1X2
/// (and over/under 2.5) prices. Returns the markets still open before kick-off and the book.
fn push_prematch(
    b: &mut FeedBuilder,
    l: &Loaded,
    fd: Option<&FdMatch>,
    skipped: &mut Vec<String>,
) -> (Vec<MarketKind>, Option<Book>) {
    let id = l.m.match_id;
    let mut prematch_open = Vec::new();
    let mut book = None;
    if let Some(f) = fd {
        prematch_open = push_prematch_markets(b, id, f);
        let targets = f.last_prices(MarketKind::MatchOdds).and_then(|x| {
            inplay::Targets::from_prices(x, f.last_prices(MarketKind::OverUnder { line: Line(10) }))
        });
        match targets {
            Some(t) => book = Some(Book::new(id, inplay::fit(&t), inplay::MARGIN)),
            None => skipped.push(format!(
                "{}: football-data has no 1X2 prices: no in-play markets",
                l.label()
            )),
        }
    }
    (prematch_open, book)
}

// ----- the timeline -------------------------------------------------------------------------------

/// What happens at one instant of the match timeline. Ordered within an instant by rank:
/// a period's start, then events, then clock ticks, then a period's end.
#[derive(Clone, Copy, Debug)]
enum Item {
    KickOff,
    SecondHalf,
    Event(usize),
    Tick { clock_s: i32 },
    HalfTime,
    FullTime,
}

impl Item {
    fn rank(self) -> u8 {
        match self {
            Item::KickOff | Item::SecondHalf => 0,
            Item::Event(_) => 1,
            Item::Tick { .. } => 2,
            Item::HalfTime | Item::FullTime => 3,
        }
    }
}

/// The timeline's items as pushed: `(time, rank, sequence, item)`.
#[derive(Default)]
struct Timeline(Vec<(EventTime, u8, usize, Item)>);

impl Timeline {
    fn push(&mut self, ts: EventTime, item: Item) {
        let seq = self.0.len();
        self.0.push((ts, item.rank(), seq, item));
    }

    /// Kick-off, the second half's start, and the end of each period.
    fn periods(&mut self, l: &Loaded) {
        let (ko, p2) = (l.kickoff, l.period_start(2));
        self.push(ko, Item::KickOff);
        self.push(p2, Item::SecondHalf);
        self.push(ko + l.period_ms[0], Item::HalfTime);
        self.push(p2 + l.period_ms[1], Item::FullTime);
    }

    /// A clock tick at every whole minute within each period.
    fn clock_ticks(&mut self, l: &Loaded) {
        let (ko, p2) = (l.kickoff, l.period_start(2));
        for k in 1.. {
            if k * 60_000 >= l.period_ms[0] {
                break;
            }
            self.push(
                ko + k * 60_000,
                Item::Tick {
                    clock_s: (k * 60) as i32,
                },
            );
        }
        for k in 1.. {
            if k * 60_000 >= l.period_ms[1] {
                break;
            }
            self.push(
                p2 + k * 60_000,
                Item::Tick {
                    clock_s: 2700 + (k * 60) as i32,
                },
            );
        }
    }

    /// The mapped events; returns how many of each unmapped type (incidents without a kind).
    fn events(&mut self, l: &Loaded) -> BTreeMap<String, usize> {
        let mut unmapped: BTreeMap<String, usize> = BTreeMap::new();
        for (i, (within, e)) in l.events.iter().enumerate() {
            match mapped(e) {
                Some(true) => self.push(l.ts(e.period, *within), Item::Event(i)),
                Some(false) => {}
                None => {
                    let what = if e.kind() == "Bad Behaviour" {
                        "Bad Behaviour without a card".to_owned()
                    } else {
                        e.kind().to_owned()
                    };
                    *unmapped.entry(what).or_default() += 1;
                }
            }
        }
        unmapped
    }

    /// The items in play order: by time, then rank, then as pushed.
    fn into_sorted(self) -> Vec<(EventTime, u8, usize, Item)> {
        let mut items = self.0;
        items.sort_by_key(|(ts, rank, seq, _)| (*ts, *rank, *seq));
        items
    }
}

/// The match's timeline in play order; the event types without an incident kind are reported.
fn timeline(l: &Loaded, skipped: &mut Vec<String>) -> Vec<(EventTime, u8, usize, Item)> {
    let mut t = Timeline::default();
    t.periods(l);
    t.clock_ticks(l);
    let unmapped = t.events(l);
    for (what, n) in unmapped {
        skipped.push(format!(
            "{}: {n} × {what} not mapped (no incident kind in the feed model)",
            l.label()
        ));
    }
    t.into_sorted()
}

// ----- playing the timeline -----------------------------------------------------------------------

/// The timeline being played: the match's feed, what the result needs (half-time score, corners)
/// and what kick-off closes (the prematch markets still open).
struct Play<'a> {
    f: MatchFeed<'a>,
    fd: Option<&'a FdMatch>,
    prematch_open: Vec<MarketKind>,
    half_time_score: Score,
    corners: [u8; 2],
    skipped: &'a mut Vec<String>,
}

impl Play<'_> {
    /// One item, after reopening due markets and releasing a stale penalty hold.
    fn step(&mut self, ts: EventTime, item: Item) {
        self.f.catch_up(ts);
        match item {
            Item::KickOff => self.kick_off(ts),
            Item::Tick { clock_s } => self.tick(ts, clock_s),
            Item::Event(i) => self.event(ts, i),
            Item::HalfTime => self.half_time(ts),
            Item::SecondHalf => self.second_half(ts),
            Item::FullTime => self.full_time(ts),
        }
    }

    /// Status `first_half`; the prematch markets that do not go in play close; the in-play
    /// markets open.
    fn kick_off(&mut self, ts: EventTime) {
        let f = &mut self.f;
        f.status(ts, MatchStatus::FirstHalf, 0);
        if let Some(fm) = self.fd {
            for kind in &self.prematch_open {
                let in_play =
                    f.book.is_some() && inplay::inplay_markets().iter().any(|(k, _)| k == kind);
                if in_play {
                    continue;
                }
                if let Some(m) = fm.market(*kind) {
                    let selections = m.selections.clone();
                    let kind = *kind;
                    f.b.push(ts, f.id, |version| {
                        Body::Market(Market {
                            version,
                            market: kind,
                            status: MarketStatus::Closed,
                            phase: Phase::Prematch,
                            selections,
                        })
                    });
                }
            }
        }
        let s = f.state;
        if let Some(book) = &mut f.book {
            for (kind, sels) in inplay::inplay_markets() {
                book.open(f.b, ts, kind, sels, &s);
            }
        }
    }

    /// A minute of clock: the status, possession shares every 5 minutes, a reprice.
    fn tick(&mut self, ts: EventTime, clock_s: i32) {
        let f = &mut self.f;
        let (status, period) = if f.state.period == Period::FirstHalf {
            (MatchStatus::FirstHalf, 1)
        } else {
            (MatchStatus::SecondHalf, 2)
        };
        f.status(ts, status, clock_s);
        if clock_s % POSSESSION_EVERY_S == 0 {
            f.possession(ts, period, clock_s);
        }
        f.reprice(ts);
    }

    /// A mapped event (corners counted for the result).
    fn event(&mut self, ts: EventTime, i: usize) {
        let l = self.f.l;
        let e = &l.events[i].1;
        if is_corner(e)
            && let Some(side) = l.side(e.team_id())
        {
            self.corners[side as usize] = self.corners[side as usize].saturating_add(1);
        }
        self.f.event(ts, e);
    }

    /// The end of period 1: status `half_time` at the whistle's clock, the half-time score kept,
    /// a penalty hold released.
    fn half_time(&mut self, ts: EventTime) {
        let f = &mut self.f;
        let clock = (f.l.period_ms[0] / 1000) as i32;
        f.status(ts, MatchStatus::HalfTime, clock);
        self.half_time_score = Score {
            home: f.state.score[0],
            away: f.state.score[1],
        };
        if f.penalty.is_some() {
            f.release_penalty(ts);
        }
        f.state.period = Period::HalfTime;
        f.state.clock_s = clock;
        f.reprice(ts);
    }

    /// The start of period 2, at 45:00.
    fn second_half(&mut self, ts: EventTime) {
        let f = &mut self.f;
        f.status(ts, MatchStatus::SecondHalf, 2700);
        f.state.period = Period::SecondHalf;
        f.state.clock_s = 2700;
        f.reprice(ts);
    }

    /// The end of period 2: status `finished`, markets closed, the result 3 minutes later, and
    /// the score checked against the sources.
    fn full_time(&mut self, ts: EventTime) {
        let f = &mut self.f;
        let clock = 2700 + (f.l.period_ms[1] / 1000) as i32;
        f.status(ts, MatchStatus::Finished, clock);
        if let Some(book) = &mut f.book {
            book.close_all(f.b, ts);
        }
        let full_time = Score {
            home: f.state.score[0],
            away: f.state.score[1],
        };
        let half_time = self.half_time_score;
        let corners = Score {
            home: self.corners[0],
            away: self.corners[1],
        };
        f.b.push(ts + RESULT_DELAY_MS, f.id, |version| {
            Body::Result(MatchResult {
                version,
                half_time,
                full_time,
                corners: Some(corners),
            })
        });
        self.check_score(full_time);
    }

    /// Reports a full-time score of the goals that differs from the matches file's or
    /// football-data's.
    fn check_score(&mut self, full_time: Score) {
        let l = self.f.l;
        let source = (l.m.home_score, l.m.away_score);
        let mine = (u32::from(full_time.home), u32::from(full_time.away));
        if let (Some(h), Some(a)) = source
            && (h, a) != mine
        {
            self.skipped.push(format!(
                "{}: goals in the events make {}-{}, the matches file says {h}-{a}",
                l.label(),
                mine.0,
                mine.1
            ));
        }
        if let Some(fm) = self.fd
            && fm.full_time != full_time
        {
            self.skipped.push(format!(
                "{}: goals in the events make {}-{}, football-data says {}-{}",
                l.label(),
                mine.0,
                mine.1,
                fm.full_time.home,
                fm.full_time.away
            ));
        }
    }
}
