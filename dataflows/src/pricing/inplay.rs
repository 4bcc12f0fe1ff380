//! The in-play constants every pricer of the rest of a match shares — the simulator's true
//! process, the in-play importer's modelled prices and the value baseline's model — and the rule
//! for when a market is already decided by the score.

use crate::model::MarketKind;

/// Goal-rate factor per own red card.
pub const RED_OWN: f64 = 0.72;
/// Goal-rate factor per opponent red card.
pub const RED_OPP: f64 = 1.22;
/// Expected stoppage minutes of the first and second half, before the board is shown: the
/// simulator's own expectation (its stoppage draws), which every model of it uses.
pub const EXPECTED_STOPPAGE_MIN: [f64; 2] = [2.6, 5.3];

/// Goal-rate factor of `side` (0 home, 1 away) from red cards (at most 11 count: a side has no
/// more players).
pub fn red_factor(side: usize, reds: [u8; 2]) -> f64 {
    let n = |r: u8| i32::from(r.min(11));
    RED_OWN.powi(n(reds[side])) * RED_OPP.powi(n(reds[1 - side]))
}

/// Is a market settled already by the score (an over/under line passed, both teams scored, the
/// goal of a next-goal market scored) or by the corners (a corners line passed)?
pub fn decided(kind: MarketKind, score: [u8; 2], corners: [u8; 2]) -> bool {
    let total = i32::from(score[0]) + i32::from(score[1]);
    match kind {
        MarketKind::OverUnder { line } => f64::from(total) > line.goals(),
        MarketKind::Btts => score[0] > 0 && score[1] > 0,
        MarketKind::NextGoal { goal } => total >= i32::from(goal),
        MarketKind::CornersOverUnder { line } => {
            f64::from(i32::from(corners[0]) + i32::from(corners[1])) > line.goals()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Line;

    #[test]
    fn red_cards_move_rates_both_ways_and_decided_markets_are_known() {
        assert_eq!(red_factor(0, [0, 0]), 1.0);
        assert_eq!(red_factor(0, [1, 0]), RED_OWN);
        assert_eq!(red_factor(1, [1, 0]), RED_OPP);
        let over_2_5 = MarketKind::OverUnder { line: Line(10) };
        assert!(!decided(over_2_5, [1, 1], [0, 0]));
        assert!(decided(over_2_5, [2, 1], [0, 0]));
        assert!(decided(MarketKind::Btts, [1, 1], [0, 0]));
        assert!(decided(MarketKind::NextGoal { goal: 2 }, [1, 1], [0, 0]));
        assert!(!decided(MarketKind::NextGoal { goal: 3 }, [1, 1], [0, 0]));
        assert!(decided(
            MarketKind::CornersOverUnder { line: Line(34) },
            [0, 0],
            [5, 4]
        ));
        assert!(!decided(MarketKind::MatchOdds, [5, 0], [9, 9]));
    }
}
