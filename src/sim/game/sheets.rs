//! Team sheets: the eleven and the bench a side names before kick-off, a late change, and the
//! lineup record they become.
//!
//! **In:** a team's squad (latent qualities, lines), a formation and the football's random
//! stream. **Out:** [`Sheet`]s, and [`Lineup`] records of them.

use std::collections::BTreeMap;

use oddsflow_dataflows::model::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::normal;
use crate::sim::world::{Formation, Role, Team};

/// A team sheet: (player, line, position label) of the eleven and of the bench.
#[derive(Clone, Debug)]
pub(super) struct Sheet {
    pub(super) formation: &'static str,
    pub(super) starters: Vec<(PlayerId, Role, &'static str)>,
    pub(super) bench: Vec<(PlayerId, Role, &'static str)>,
}

pub(super) fn pick_sheet(rng: &mut ChaCha8Rng, team: &Team, formation: &Formation) -> Sheet {
    let mut lines: BTreeMap<Role, Vec<(f64, usize)>> = BTreeMap::new();
    for (k, p) in team.squad.iter().enumerate() {
        let form = p.quality + 0.4 * normal(rng);
        lines.entry(p.role).or_default().push((form, k));
    }
    for v in lines.values_mut() {
        v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        v.reverse(); // pop() takes the best
    }
    let mut starters = Vec::with_capacity(11);
    for &(label, role) in &formation.slots {
        let k = lines.get_mut(&role).and_then(|v| v.pop()).or_else(|| {
            // Not enough players of that line: take anyone left (never with the built-in squads).
            lines
                .values_mut()
                .find(|v| !v.is_empty())
                .and_then(|v| v.pop())
        });
        if let Some((_, k)) = k {
            starters.push((team.squad[k].id, role, label));
        }
    }
    let mut bench = Vec::with_capacity(7);
    for (role, n) in [
        (Role::Gk, 1),
        (Role::Def, 2),
        (Role::Mid, 2),
        (Role::Fwd, 2),
    ] {
        for _ in 0..n {
            if let Some((_, k)) = lines.get_mut(&role).and_then(|v| v.pop()) {
                bench.push((team.squad[k].id, team.squad[k].role, team.squad[k].natural));
            }
        }
    }
    Sheet {
        formation: formation.name,
        starters,
        bench,
    }
}

/// A late change: a bench player of the same line replaces a starter (not the keeper).
pub(super) fn change_sheet(rng: &mut ChaCha8Rng, team: &Team, sheet: &Sheet) -> Option<Sheet> {
    let outfield: Vec<usize> = (0..sheet.starters.len())
        .filter(|&i| sheet.starters[i].1 != Role::Gk)
        .collect();
    if outfield.is_empty() {
        return None;
    }
    let s = outfield[rng.random_range(0..outfield.len())];
    let role = sheet.starters[s].1;
    let b = sheet.bench.iter().position(|p| p.1 == role)?;
    let mut next = sheet.clone();
    let out = next.starters[s];
    let inn = next.bench[b];
    next.starters[s] = (inn.0, role, out.2);
    let natural = team
        .squad
        .iter()
        .find(|p| p.id == out.0)
        .map_or("SUB", |p| p.natural);
    next.bench[b] = (out.0, role, natural);
    Some(next)
}

pub(super) fn sheet_record(team: &Team, side: Side, version: Version, sheet: &Sheet) -> Lineup {
    let name = |id: PlayerId| {
        team.squad
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| format!("Player {id}"), |p| p.name.clone())
    };
    let players = sheet
        .starters
        .iter()
        .map(|&(id, _, pos)| (id, pos, true))
        .chain(sheet.bench.iter().map(|&(id, _, pos)| (id, pos, false)))
        .map(|(id, pos, starter)| Player {
            id,
            name: name(id),
            position: pos.to_string(),
            starter,
        })
        .collect();
    Lineup {
        version,
        side,
        formation: sheet.formation.to_string(),
        players,
    }
}
