//! Events → incidents: which StatsBomb events are incidents, and [`MatchFeed`], which writes a
//! match's incidents and statuses and keeps the in-play book (suspensions, penalty holds,
//! repricing) in step with them.

use oddsflow_dataflows::model::*;

use super::lineups::lineup;
use super::load::Loaded;
use super::source::{SbCard, SbEvent, name_of, player_id};
use super::{PENALTY_HOLD_MS, POSSESSION_EVERY_S};
use crate::import::FeedBuilder;
use crate::import::inplay::{self, Book, Period, State};

/// Card kind of a StatsBomb card name.
fn card_kind(name: &str) -> Option<CardKind> {
    match name.trim() {
        "Yellow Card" => Some(CardKind::Yellow),
        "Second Yellow" => Some(CardKind::SecondYellow),
        "Red Card" => Some(CardKind::Red),
        _ => None,
    }
}

/// Event types that are play, not incidents: skipped silently.
const PLAY_EVENTS: &[&str] = &[
    "Pass",
    "Ball Receipt*",
    "Carry",
    "Ball Recovery",
    "Duel",
    "Clearance",
    "Dribble",
    "Block",
    "Goal Keeper",
    "Dispossessed",
    "Miscontrol",
    "Dribbled Past",
    "Interception",
    "Shield",
    "50/50",
    "Error",
    "Foul Won",
    "Own Goal Against",
    "Half Start",
    "Half End",
    "Starting XI",
    "Camera On",
    "Camera off",
];

/// Is the event mapped (to an incident or a lineup)? Unmapped play is `Some(false)`; an
/// incident by nature without a kind is `None`.
pub(super) fn mapped(e: &SbEvent) -> Option<bool> {
    match e.kind() {
        "Shot" | "Own Goal For" | "Foul Committed" | "Substitution" | "Pressure"
        | "Tactical Shift" => Some(true),
        "Bad Behaviour" => e
            .bad_behaviour
            .as_ref()
            .and_then(|b| b.card.as_ref())
            .map(|_| true),
        "Pass" => Some(is_corner(e)),
        k if PLAY_EVENTS.contains(&k) => Some(false),
        _ => None,
    }
}

/// Is the event a corner kick (a pass of type `Corner`)?
pub(super) fn is_corner(e: &SbEvent) -> bool {
    e.kind() == "Pass"
        && e.pass
            .as_ref()
            .is_some_and(|p| name_of(&p.kind) == "Corner")
}

// ----- the feed of one match ----------------------------------------------------------------------

/// The running state of one match as its timeline is played: the feed it writes to, incident
/// numbering, the score and sendings-off the pricing model sees, the in-play book (with odds) and
/// a penalty awarded but not yet taken.
pub(super) struct MatchFeed<'a> {
    pub(super) b: &'a mut FeedBuilder,
    pub(super) l: &'a Loaded,
    pub(super) id: MatchId,
    pub(super) next_incident: u32,
    pub(super) incidents: usize,
    pub(super) state: State,
    pub(super) book: Option<Book>,
    /// A penalty awarded and not yet taken: (side, when).
    pub(super) penalty: Option<(Side, EventTime)>,
}

impl MatchFeed<'_> {
    fn incident(&mut self, ts: EventTime, side: Side, clock_s: i32, detail: IncidentDetail) {
        let id = self.next_incident;
        self.next_incident += 1;
        self.incidents += 1;
        self.b.push(ts, self.id, |version| {
            Body::Incident(Incident {
                id,
                version,
                side,
                clock_s,
                detail,
                cancelled: false,
            })
        });
    }

    pub(super) fn status(&mut self, ts: EventTime, status: MatchStatus, clock_s: i32) {
        self.b.push(ts, self.id, |version| {
            Body::Status(Status {
                version,
                status,
                clock_s,
            })
        });
    }

    /// The model's state at `ts` (clock from the period's start).
    fn state_at(&self, ts: EventTime) -> State {
        let clock_s = match self.state.period {
            Period::FirstHalf => ((ts - self.l.kickoff) / 1000) as i32,
            Period::HalfTime => self.state.clock_s,
            Period::SecondHalf => 2700 + ((ts - self.l.period_start(2)) / 1000) as i32,
        };
        State {
            clock_s: clock_s.max(0),
            ..self.state
        }
    }

    fn suspend(&mut self, ts: EventTime) {
        if let Some(book) = &mut self.book {
            book.suspend(self.b, ts, ts + inplay::SUSPEND_MS);
        }
    }

    /// Reopens due markets and releases a stale penalty hold, before anything at `ts`.
    pub(super) fn catch_up(&mut self, ts: EventTime) {
        if let Some((_, since)) = self.penalty
            && ts > since + PENALTY_HOLD_MS
        {
            self.release_penalty(since + PENALTY_HOLD_MS);
        }
        let due = self.book.as_ref().and_then(Book::reopen_due);
        if let Some(due) = due
            && due <= ts
        {
            let s = self.state_at(due);
            if let Some(book) = &mut self.book {
                book.reopen(self.b, due, &s);
            }
        }
    }

    pub(super) fn release_penalty(&mut self, ts: EventTime) {
        self.penalty = None;
        if let Some(book) = &mut self.book {
            book.hold(false, ts);
        }
    }

    pub(super) fn reprice(&mut self, ts: EventTime) {
        let s = self.state_at(ts);
        if let Some(book) = &mut self.book {
            book.reprice(self.b, ts, &s);
        }
    }

    fn goal(&mut self, ts: EventTime, side: Side, clock_s: i32, detail: IncidentDetail) {
        self.incident(ts, side, clock_s, detail);
        let i = side as usize;
        self.state.score[i] = self.state.score[i].saturating_add(1);
        self.suspend(ts);
    }

    fn card(&mut self, ts: EventTime, side: Side, e: &SbEvent, card: Option<&SbCard>) {
        let Some(kind) = card
            .and_then(|c| c.card.as_ref())
            .and_then(|c| card_kind(c.name()))
        else {
            return;
        };
        let detail = IncidentDetail::Card {
            player: e.player(),
            card: kind,
        };
        self.incident(ts, side, e.clock_s(), detail);
        if kind.is_sending_off() {
            let i = side as usize;
            self.state.reds[i] = self.state.reds[i].saturating_add(1);
            self.suspend(ts);
        }
    }

    pub(super) fn event(&mut self, ts: EventTime, e: &SbEvent) {
        let Some(side) = self.l.side(e.team_id()) else {
            return;
        };
        let clock = e.clock_s();
        match e.kind() {
            "Shot" => {
                let shot = e.shot.clone().unwrap_or_default();
                let outcome = name_of(&shot.outcome);
                let penalty = name_of(&shot.kind) == "Penalty";
                let on_target = matches!(outcome, "Goal" | "Saved" | "Saved to Post");
                let xg = shot
                    .statsbomb_xg
                    .filter(|x| x.is_finite())
                    .map(|x| F64(x.clamp(0.0, 1.0)));
                self.incident(
                    ts,
                    side,
                    clock,
                    IncidentDetail::Shot {
                        player: e.player(),
                        on_target,
                        xg,
                    },
                );
                if penalty && self.penalty.is_some_and(|(s, _)| s == side) {
                    self.release_penalty(ts);
                }
                if outcome == "Goal" {
                    let detail = IncidentDetail::Goal {
                        player: e.player(),
                        own_goal: false,
                        penalty,
                    };
                    self.goal(ts, side, clock, detail);
                }
            }
            "Own Goal For" => {
                let scorer = self.own_goal_scorer(e);
                let detail = IncidentDetail::Goal {
                    player: scorer,
                    own_goal: true,
                    penalty: false,
                };
                self.goal(ts, side, clock, detail);
            }
            "Pass" if is_corner(e) => self.incident(ts, side, clock, IncidentDetail::Corner),
            "Foul Committed" => {
                self.incident(ts, side, clock, IncidentDetail::Foul { player: e.player() });
                self.card(ts, side, e, e.foul_committed.as_ref());
                if e.foul_committed.as_ref().and_then(|f| f.penalty) == Some(true) {
                    let to = side.other();
                    self.incident(ts, to, clock, IncidentDetail::PenaltyAwarded);
                    self.suspend(ts);
                    self.penalty = Some((to, ts));
                    if let Some(book) = &mut self.book {
                        book.hold(true, ts);
                    }
                }
            }
            "Bad Behaviour" => self.card(ts, side, e, e.bad_behaviour.as_ref()),
            "Substitution" => {
                let on = e
                    .substitution
                    .as_ref()
                    .and_then(|s| s.replacement.as_ref())
                    .and_then(|r| r.id);
                if let (Some(out), Some(on)) = (e.player(), on) {
                    let detail = IncidentDetail::Substitution {
                        player_out: out,
                        player_in: player_id(on),
                    };
                    self.incident(ts, side, clock, detail);
                }
            }
            "Pressure" => self.incident(ts, side, clock, IncidentDetail::Attack),
            "Tactical Shift" => {
                let lineup = lineup(self.l, side, e);
                self.b.push(ts, self.id, |version| {
                    Body::Lineup(Lineup { version, ..lineup })
                });
            }
            _ => {}
        }
    }

    /// The player of the `Own Goal Against` paired with an `Own Goal For` (by related events,
    /// else the nearest one of the same period and second).
    fn own_goal_scorer(&self, e: &SbEvent) -> Option<PlayerId> {
        let against = self
            .l
            .events
            .iter()
            .map(|(_, x)| x)
            .filter(|x| x.kind() == "Own Goal Against");
        let mut best: Option<(u64, &SbEvent)> = None;
        for x in against {
            if e.related_events.contains(&x.id) || x.related_events.contains(&e.id) {
                return x.player();
            }
            if x.period == e.period && x.clock_s() == e.clock_s() {
                let d = x.index.abs_diff(e.index);
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, x));
                }
            }
        }
        best.and_then(|(_, x)| x.player())
    }

    /// Possession shares of the 5 minutes of play before `ts` in `period`: the time from each
    /// event to the next is credited to the event's possession team.
    pub(super) fn possession(&mut self, ts: EventTime, period: u8, clock_s: i32) {
        let from = ts - i64::from(POSSESSION_EVERY_S) * 1000;
        let mut held = [0i64; 2];
        let evs: Vec<&(i64, SbEvent)> = self
            .l
            .events
            .iter()
            .filter(|(_, e)| e.period == period)
            .collect();
        for w in evs.windows(2) {
            let (a, b) = (self.l.ts(period, w[0].0), self.l.ts(period, w[1].0));
            let (lo, hi) = (a.max(from), b.min(ts));
            if hi <= lo {
                continue;
            }
            if let Some(side) = self
                .l
                .side(w[0].1.possession_team.as_ref().and_then(|t| t.id))
            {
                held[side as usize] += hi - lo;
            }
        }
        let total = held[0] + held[1];
        let home = if total > 0 {
            ((held[0] as f64 * 100.0 / total as f64).round() as u8).min(100)
        } else {
            50
        };
        self.incident(
            ts,
            Side::Home,
            clock_s,
            IncidentDetail::Possession { share: home },
        );
        self.incident(
            ts,
            Side::Away,
            clock_s,
            IncidentDetail::Possession { share: 100 - home },
        );
    }
}
