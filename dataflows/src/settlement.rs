//! Settlement rules: how a selection and a coupon settle against a match's facts.
//!
//! Pure functions, for the settlement dataflow (issue 4) to apply inside its operators and for
//! tests to check table by table. A single bet returns `stake × payout`:
//!
//! | outcome | payout (multiple of the stake returned) |
//! |---|---|
//! | won | price |
//! | lost | 0 |
//! | void (push, abandoned match, cancelled market) | 1 |
//! | half won (Asian quarter line) | (1 + price) / 2 |
//! | half lost (Asian quarter line) | 1 / 2 |
//!
//! **Lines** are in quarter goals ([`Line`]). A whole or half line settles once: above it wins,
//! on it pushes (void), below it loses. A quarter line (±0.25, ±0.75, …) splits the stake in two
//! halves on the two neighbouring lines: win + push = half won, push + lose = half lost. Asian
//! handicap lines apply to the home side (the away side takes the opposite line); over/under and
//! corners over/under compare the total with the line.
//!
//! **Coupons** multiply the legs' payouts: a lost leg loses the coupon at once (even with other
//! legs pending), a void leg counts at price 1, a half-settled leg at its half payout.

use serde::{Deserialize, Serialize};

use crate::model::{Line, MarketKind, Score, Selection, Side};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Won,
    Lost,
    Void,
    HalfWon,
    HalfLost,
    /// Void because the match produced no result (nor an abandonment) by its settlement
    /// deadline ([`crate::bookmaker::BookmakerConfig::settle_deadline_ms`] after kick-off): the
    /// stake back, with this reason.
    NoResult,
}

impl Outcome {
    /// The multiple of the stake returned at decimal `price`.
    pub fn payout(self, price: f64) -> f64 {
        match self {
            Outcome::Won => price,
            Outcome::Lost => 0.0,
            Outcome::Void | Outcome::NoResult => 1.0,
            Outcome::HalfWon => (1.0 + price) / 2.0,
            Outcome::HalfLost => 0.5,
        }
    }
}

/// What settlement needs to know about a match.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MatchFacts {
    pub full_time: Score,
    /// Final corners, when known (corner markets are void without them).
    pub corners: Option<Score>,
    /// The side credited with each (valid) goal, in order — for next-goal markets.
    pub goals: Vec<Side>,
    /// An abandoned match voids every bet.
    pub abandoned: bool,
    /// No result nor abandonment by the settlement deadline: every bet is void as
    /// [`Outcome::NoResult`].
    #[serde(default)]
    pub no_result: bool,
}

/// A selection that does not belong to its market: such a bet should never have been accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("selection {selection:?} does not belong to market {market:?}")]
pub struct NotInMarket {
    pub market: MarketKind,
    pub selection: Selection,
}

/// Settles `excess` quarter goals above a line: > 0 won, 0 void, < 0 lost; a quarter line
/// (odd `line`) is two half bets on the neighbouring lines.
fn against_line(value_quarters: i32, line: Line) -> Outcome {
    let single = |l: i32| (value_quarters - l).signum();
    if line.0 % 2 == 0 {
        return match single(line.0) {
            1 => Outcome::Won,
            0 => Outcome::Void,
            _ => Outcome::Lost,
        };
    }
    match (single(line.0 - 1), single(line.0 + 1)) {
        (1, 1) => Outcome::Won,
        (-1, -1) => Outcome::Lost,
        (1, 0) | (0, 1) => Outcome::HalfWon,
        (-1, 0) | (0, -1) => Outcome::HalfLost,
        // Neighbouring lines are half a goal apart: one cannot be won while the other is lost.
        _ => Outcome::Void,
    }
}

fn won(b: bool) -> Outcome {
    if b { Outcome::Won } else { Outcome::Lost }
}

/// Settles one selection. `listed` are the market's selections (a correct-score "any other"
/// wins when the score is none of the listed ones).
pub fn settle(
    market: MarketKind,
    selection: Selection,
    listed: &[Selection],
    facts: &MatchFacts,
) -> Result<Outcome, NotInMarket> {
    use Selection::*;
    let not_in_market = Err(NotInMarket { market, selection });
    let (h, a) = (
        i32::from(facts.full_time.home),
        i32::from(facts.full_time.away),
    );
    if facts.no_result {
        return Ok(Outcome::NoResult);
    }
    if facts.abandoned {
        return Ok(Outcome::Void);
    }
    Ok(match (market, selection) {
        (MarketKind::MatchOdds, Home) => won(h > a),
        (MarketKind::MatchOdds, Draw) => won(h == a),
        (MarketKind::MatchOdds, Away) => won(h < a),
        (MarketKind::DoubleChance, HomeOrDraw) => won(h >= a),
        (MarketKind::DoubleChance, DrawOrAway) => won(h <= a),
        (MarketKind::DoubleChance, HomeOrAway) => won(h != a),
        (MarketKind::Btts, Yes) => won(h > 0 && a > 0),
        (MarketKind::Btts, No) => won(h == 0 || a == 0),
        (MarketKind::OverUnder { line }, Over) => against_line((h + a) * 4, line),
        (MarketKind::OverUnder { line }, Under) => against_line(-(h + a) * 4, Line(-line.0)),
        (MarketKind::CornersOverUnder { line }, s @ (Over | Under)) => match facts.corners {
            None => Outcome::Void,
            Some(c) => {
                let total = (i32::from(c.home) + i32::from(c.away)) * 4;
                if s == Over {
                    against_line(total, line)
                } else {
                    against_line(-total, Line(-line.0))
                }
            }
        },
        (MarketKind::AsianHandicap { line }, Home) => against_line((h - a) * 4, Line(-line.0)),
        (MarketKind::AsianHandicap { line }, Away) => against_line((a - h) * 4, line),
        (MarketKind::NextGoal { goal }, s @ (Home | Away | NoGoal)) => {
            let scorer = facts.goals.get(usize::from(goal).wrapping_sub(1)).copied();
            match (s, scorer) {
                (NoGoal, None) => Outcome::Won,
                (Home, Some(Side::Home)) | (Away, Some(Side::Away)) => Outcome::Won,
                _ => Outcome::Lost,
            }
        }
        (MarketKind::CorrectScore, Selection::Score { home, away }) => {
            won(i32::from(home) == h && i32::from(away) == a)
        }
        (MarketKind::CorrectScore, AnyOther) => {
            let listed_score = listed.iter().any(|s| matches!(s, Selection::Score { home, away } if i32::from(*home) == h && i32::from(*away) == a));
            won(!listed_score)
        }
        _ => return not_in_market,
    })
}

/// Settles a coupon from its legs' `(price, outcome)`, an outcome `None` while that leg is not
/// settled yet. Returns the coupon's payout multiple once it is decided: 0 as soon as a leg is
/// lost, else the product of the legs' payouts when every leg is settled.
pub fn settle_coupon(legs: &[(f64, Option<Outcome>)]) -> Option<f64> {
    if legs.iter().any(|(_, o)| *o == Some(Outcome::Lost)) {
        return Some(0.0);
    }
    legs.iter()
        .map(|(price, o)| o.map(|o| o.payout(*price)))
        .product()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;
    use Selection::{
        AnyOther, Away, Draw, DrawOrAway, Home, HomeOrAway, HomeOrDraw, No, NoGoal, Over, Under,
        Yes,
    };

    fn cs_sel(home: u8, away: u8) -> Selection {
        Selection::Score { home, away }
    }

    fn facts(h: u8, a: u8) -> MatchFacts {
        MatchFacts {
            full_time: Score { home: h, away: a },
            corners: Some(Score { home: 6, away: 4 }),
            goals: vec![],
            abandoned: false,
            no_result: false,
        }
    }

    fn q(goals: f64) -> Line {
        Line::from_goals(goals).expect("a quarter line")
    }

    fn s(market: MarketKind, sel: Selection, f: &MatchFacts) -> Outcome {
        settle(market, sel, &[], f).expect("a valid selection")
    }

    #[test]
    fn one_x_two_double_chance_and_btts() {
        let cases = [
            ((2, 1), [Won, Lost, Lost], [Won, Lost, Won], [Won, Lost]),
            ((1, 1), [Lost, Won, Lost], [Won, Won, Lost], [Won, Lost]),
            ((0, 2), [Lost, Lost, Won], [Lost, Won, Won], [Lost, Won]),
            ((0, 0), [Lost, Won, Lost], [Won, Won, Lost], [Lost, Won]),
        ];
        for ((h, a), x12, dc, btts) in cases {
            let f = facts(h, a);
            assert_eq!(
                [Home, Draw, Away].map(|x| s(MarketKind::MatchOdds, x, &f)),
                x12,
                "{h}-{a} 1X2"
            );
            assert_eq!(
                [HomeOrDraw, DrawOrAway, HomeOrAway].map(|x| s(MarketKind::DoubleChance, x, &f)),
                dc,
                "{h}-{a} DC"
            );
            assert_eq!(
                [Yes, No].map(|x| s(MarketKind::Btts, x, &f)),
                btts,
                "{h}-{a} BTTS"
            );
        }
    }

    #[test]
    fn over_under_on_every_half_line_and_whole_and_quarter_lines() {
        // 3 goals.
        let f = facts(2, 1);
        for (line, over) in [
            (0.5, Won),
            (1.5, Won),
            (2.5, Won),
            (3.5, Lost),
            (4.5, Lost),
            (3.0, Void),
            (2.75, HalfWon),
            (3.25, HalfLost),
        ] {
            let m = MarketKind::OverUnder { line: q(line) };
            assert_eq!(s(m, Over, &f), over, "over {line}");
            let under = match over {
                Won => Lost,
                Lost => Won,
                Void => Void,
                NoResult => NoResult,
                HalfWon => HalfLost,
                HalfLost => HalfWon,
            };
            assert_eq!(s(m, Under, &f), under, "under {line}");
        }
        // Corners: 10 in all; without corner facts the market is void.
        let corners = MarketKind::CornersOverUnder { line: q(9.5) };
        assert_eq!((s(corners, Over, &f), s(corners, Under, &f)), (Won, Lost));
        let no_corners = MatchFacts { corners: None, ..f };
        assert_eq!(s(corners, Over, &no_corners), Void);
    }

    #[test]
    fn asian_handicap_including_quarter_lines() {
        // Home wins 2-1 (by one goal).
        let f = facts(2, 1);
        let ah = |line: f64| MarketKind::AsianHandicap { line: q(line) };
        let table = [
            // home line: home outcome, away outcome
            (0.0, Won, Lost),
            (-0.5, Won, Lost),
            (-1.0, Void, Void),
            (-1.5, Lost, Won),
            (-0.25, Won, Lost),
            (-0.75, HalfWon, HalfLost),
            (-1.25, HalfLost, HalfWon),
            (-1.75, Lost, Won),
            (0.25, Won, Lost),
            (0.5, Won, Lost),
        ];
        for (line, home, away) in table {
            assert_eq!(s(ah(line), Home, &f), home, "home {line}");
            assert_eq!(s(ah(line), Away, &f), away, "away {line}");
        }
        // A draw: +0.25 for home is half won, −0.25 half lost, 0 void.
        let d = facts(1, 1);
        assert_eq!(
            [0.25, -0.25, 0.0].map(|l| s(ah(l), Home, &d)),
            [HalfWon, HalfLost, Void]
        );
    }

    #[test]
    fn next_goal_correct_score_and_abandonment() {
        let f = MatchFacts {
            goals: vec![Side::Away, Side::Home],
            ..facts(1, 1)
        };
        let ng = |goal| MarketKind::NextGoal { goal };
        assert_eq!(
            [Home, Away, NoGoal].map(|x| s(ng(1), x, &f)),
            [Lost, Won, Lost]
        );
        assert_eq!(
            [Home, Away, NoGoal].map(|x| s(ng(2), x, &f)),
            [Won, Lost, Lost]
        );
        assert_eq!(
            [Home, Away, NoGoal].map(|x| s(ng(3), x, &f)),
            [Lost, Lost, Won]
        );

        let listed = [cs_sel(0, 0), cs_sel(1, 1), AnyOther];
        let cs =
            |sel, f: &MatchFacts| settle(MarketKind::CorrectScore, sel, &listed, f).expect("valid");
        assert_eq!(cs(cs_sel(1, 1), &f), Won);
        assert_eq!(cs(cs_sel(0, 0), &f), Lost);
        assert_eq!(cs(AnyOther, &f), Lost);
        assert_eq!(cs(AnyOther, &facts(4, 2)), Won, "4-2 is not listed");

        let unsettled = MatchFacts {
            no_result: true,
            ..MatchFacts::default()
        };
        assert_eq!(s(MarketKind::MatchOdds, Home, &unsettled), NoResult);
        assert_eq!(NoResult.payout(3.0), 1.0, "the stake back");
        let abandoned = MatchFacts {
            abandoned: true,
            ..facts(3, 0)
        };
        assert_eq!(s(MarketKind::MatchOdds, Home, &abandoned), Void);
        assert_eq!(
            s(
                MarketKind::AsianHandicap { line: q(-0.75) },
                Home,
                &abandoned
            ),
            Void
        );
        assert!(
            settle(MarketKind::MatchOdds, Over, &[], &facts(1, 0)).is_err(),
            "over is not a 1X2 selection"
        );
    }

    #[test]
    fn payouts_and_coupons_with_void_half_and_lost_legs() {
        assert_eq!(
            [Won, Lost, Void, HalfWon, HalfLost].map(|o| o.payout(3.0)),
            [3.0, 0.0, 1.0, 2.0, 0.5]
        );
        // All won: the product of prices.
        assert_eq!(
            settle_coupon(&[(2.0, Some(Won)), (1.5, Some(Won))]),
            Some(3.0)
        );
        // A void leg counts at price 1.
        assert_eq!(
            settle_coupon(&[(2.0, Some(Won)), (1.5, Some(Void)), (3.0, Some(Won))]),
            Some(6.0)
        );
        // A half-won leg at (1 + p) / 2, a half-lost leg at 1/2.
        assert_eq!(
            settle_coupon(&[(2.0, Some(HalfWon)), (4.0, Some(Won))]),
            Some(6.0)
        );
        assert_eq!(
            settle_coupon(&[(2.0, Some(HalfLost)), (4.0, Some(Won))]),
            Some(2.0)
        );
        // Lost as soon as one leg is lost, even with legs pending.
        assert_eq!(
            settle_coupon(&[(2.0, None), (1.5, Some(Lost)), (3.0, None)]),
            Some(0.0)
        );
        // Undecided while a leg is pending and none is lost.
        assert_eq!(settle_coupon(&[(2.0, Some(Won)), (1.5, None)]), None);
        // Every leg void: the stake back.
        assert_eq!(
            settle_coupon(&[(2.0, Some(Void)), (1.5, Some(Void))]),
            Some(1.0)
        );
    }
}
