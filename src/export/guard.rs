//! The deletion guard of both layouts, as one pure decision: given the cards the backup holds,
//! the cards read this run, the listed contacts that could not be read, whether the listing is
//! complete, and the limits, what becomes of each card — written, kept as it was, or deleted —
//! or a refusal of the whole update (then nothing at all is written).
//!
//! Per card (UIDs, see [`super::vdir::uid_for_id`]):
//!
//! | in the backup | read now | listed, unreadable | listing complete | action |
//! |---|---|---|---|---|
//! | any | yes | – | any | write (if its bytes changed) |
//! | yes | no | yes | any | keep: conflicting evidence, an error (exit 3) |
//! | no | no | yes | any | nothing to keep: an error (exit 3) |
//! | yes | no | no | no | keep: perhaps only missing from this listing (exit 3) |
//! | yes | no | no | yes | delete, within the limits below |
//!
//! For the whole update, in this order: an account that gave no card at all while the backup
//! holds some is refused (an empty answer is never trusted); deleting more than `max_delete`
//! cards is refused; deleting more than `max_delete_percent` % of the backup's cards is refused.

use std::collections::BTreeSet;

/// How much one run may delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `--max-delete`: cards.
    pub max_delete: usize,
    /// `--max-delete-percent`: share of the backup's cards, 0–100.
    pub max_delete_percent: u8,
}

/// What this run knows, card by card. Counts and the backup's cards not read, rather than
/// every UID: the evidence of a million-card backup stays small (issue 12).
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// How many cards the backup holds (this tool's only).
    pub existing: usize,
    /// How many cards were read and rendered this run.
    pub read: usize,
    /// The backup's cards whose contact was not read this run, by UID.
    pub not_read: &'a [String],
    /// Listed contacts that could not be read (any error, "data not found" included).
    pub unreadable: &'a BTreeSet<String>,
    pub listing_complete: bool,
}

/// Why a backup card is kept although its contact was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepReason {
    /// Listed but unreadable.
    Unreadable,
    /// Not listed, but the listing is incomplete.
    NotListed,
}

/// What the update does, when it is allowed: every card read is written (where its bytes
/// changed); the backup's other cards are kept or deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub keep: Vec<(String, KeepReason)>,
    pub delete: Vec<String>,
}

/// Why an update was refused (nothing was written or deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The account gave no card while the backup holds some.
    EmptyListing { existing: usize },
    /// More cards would go than `--max-delete` allows.
    TooManyDeletes { would_delete: usize, max_delete: usize },
    /// A larger share of the backup would go than `--max-delete-percent` allows.
    TooLargeShare { would_delete: usize, existing: usize, max_delete_percent: u8 },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::EmptyListing { existing } => write!(
                f,
                "the account listing came back empty but the backup holds {existing} card(s): \
                 refusing to delete them; nothing was written"
            ),
            Refusal::TooManyDeletes { would_delete, max_delete } => write!(
                f,
                "{would_delete} card(s) of vanished contacts would be deleted, more than --max-delete \
                 {max_delete}: nothing was written or deleted (raise --max-delete if this is intended)"
            ),
            Refusal::TooLargeShare { would_delete, existing, max_delete_percent } => write!(
                f,
                "{would_delete} of the backup's {existing} card(s) would be deleted, more than \
                 --max-delete-percent {max_delete_percent}: nothing was written or deleted (is this \
                 the right account? raise --max-delete-percent, up to 100, if this is intended)"
            ),
        }
    }
}

/// The decision (see the module's table).
pub fn decide(evidence: Evidence<'_>, limits: Limits) -> Result<Plan, Refusal> {
    let Evidence { existing, read, not_read, unreadable, listing_complete } = evidence;
    if read == 0 && unreadable.is_empty() && existing > 0 {
        return Err(Refusal::EmptyListing { existing });
    }
    let mut plan = Plan::default();
    for uid in not_read {
        if unreadable.contains(uid) {
            plan.keep.push((uid.clone(), KeepReason::Unreadable));
        } else if !listing_complete {
            plan.keep.push((uid.clone(), KeepReason::NotListed));
        } else {
            plan.delete.push(uid.clone());
        }
    }
    let would_delete = plan.delete.len();
    if would_delete > limits.max_delete {
        return Err(Refusal::TooManyDeletes { would_delete, max_delete: limits.max_delete });
    }
    if would_delete * 100 > existing * usize::from(limits.max_delete_percent.min(100)) {
        return Err(Refusal::TooLargeShare {
            would_delete,
            existing,
            max_delete_percent: limits.max_delete_percent,
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(uids: &[&str]) -> BTreeSet<String> {
        uids.iter().map(|u| u.to_string()).collect()
    }

    /// [`decide`] over the sets of UIDs the evidence is counted from.
    fn decide_sets(
        existing: &BTreeSet<String>,
        read: &BTreeSet<String>,
        unreadable: &BTreeSet<String>,
        listing_complete: bool,
        limits: Limits,
    ) -> Result<Plan, Refusal> {
        let not_read: Vec<String> = existing.difference(read).cloned().collect();
        let evidence = Evidence {
            existing: existing.len(),
            read: read.len(),
            not_read: &not_read,
            unreadable,
            listing_complete,
        };
        decide(evidence, limits)
    }

    const LOOSE: Limits = Limits { max_delete: usize::MAX, max_delete_percent: 100 };

    /// One card through every row of the table: (in backup, read, unreadable, complete) → action.
    #[test]
    fn each_card_follows_the_table() {
        use KeepReason::*;
        #[derive(Debug, PartialEq)]
        enum Action {
            Write,
            Keep(KeepReason),
            Delete,
            Nothing,
        }
        let rows: &[(bool, bool, bool, bool, Action)] = &[
            (true, true, false, true, Action::Write),
            (true, true, false, false, Action::Write),
            (false, true, false, true, Action::Write),
            (true, false, true, true, Action::Keep(Unreadable)),
            (true, false, true, false, Action::Keep(Unreadable)),
            (false, false, true, true, Action::Nothing),
            (true, false, false, false, Action::Keep(NotListed)),
            (true, false, false, true, Action::Delete),
        ];
        for (in_backup, read, unreadable, complete, expected) in rows {
            // Another card read and kept in the backup, so that no refusal applies.
            let mut existing = set(&["other"]);
            let mut read_set = set(&["other"]);
            let mut unreadable_set = set(&[]);
            if *in_backup {
                existing.insert("c".into());
            }
            if *read {
                read_set.insert("c".into());
            }
            if *unreadable {
                unreadable_set.insert("c".into());
            }
            let plan = decide_sets(&existing, &read_set, &unreadable_set, *complete, LOOSE).unwrap();
            let c = "c".to_string();
            let action = if read_set.contains(&c) {
                Action::Write
            } else if let Some((_, why)) = plan.keep.iter().find(|(u, _)| *u == c) {
                Action::Keep(*why)
            } else if plan.delete.contains(&c) {
                Action::Delete
            } else {
                Action::Nothing
            };
            assert_eq!(&action, expected, "row {:?}", (in_backup, read, unreadable, complete));
        }
    }

    #[test]
    fn refusals_come_in_order_and_at_the_limits() {
        let ten: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
        let existing: BTreeSet<String> = ten.iter().cloned().collect();
        let read = |n: usize| ten[..n].iter().cloned().collect::<BTreeSet<_>>();
        let none = BTreeSet::new();
        let run = |read: &BTreeSet<String>, unreadable: &BTreeSet<String>, complete, limits| {
            decide_sets(&existing, read, unreadable, complete, limits)
        };
        let limits = |max_delete, max_delete_percent| Limits { max_delete, max_delete_percent };
        // Empty listing: refused whatever the limits and the completeness.
        for complete in [true, false] {
            assert_eq!(run(&none, &none, complete, LOOSE), Err(Refusal::EmptyListing { existing: 10 }));
        }
        // ...but not when every contact was listed and none could be read: all kept.
        let all_unreadable = existing.clone();
        assert_eq!(run(&none, &all_unreadable, true, limits(0, 0)).unwrap().keep.len(), 10);
        // Absolute limit, checked before the share.
        assert_eq!(
            run(&read(3), &none, true, limits(5, 100)),
            Err(Refusal::TooManyDeletes { would_delete: 7, max_delete: 5 })
        );
        assert!(run(&read(3), &none, true, limits(7, 100)).is_ok());
        // Share: 5 of 10 is half (allowed at 50), 6 of 10 is more.
        assert_eq!(run(&read(5), &none, true, limits(50, 50)).unwrap().delete.len(), 5);
        assert_eq!(
            run(&read(4), &none, true, limits(50, 50)),
            Err(Refusal::TooLargeShare { would_delete: 6, existing: 10, max_delete_percent: 50 })
        );
        assert!(run(&read(1), &none, true, limits(50, 100)).is_ok());
        assert!(run(&read(9), &none, true, limits(50, 0)).is_err(), "0 %: nothing may go");
        // Kept cards are not deletions: an incomplete listing deletes nothing and is not refused.
        let plan = run(&read(2), &none, false, limits(0, 0)).unwrap();
        assert_eq!((plan.keep.len(), plan.delete.len()), (8, 0));
        // A fresh backup: everything written, nothing to refuse.
        let empty = BTreeSet::new();
        let plan = decide_sets(&empty, &read(3), &none, true, limits(0, 0)).unwrap();
        assert_eq!(plan, Plan::default());
        assert!(decide_sets(&empty, &empty, &none, true, limits(0, 0)).is_ok());
    }

    /// The figures: 27 of 33 cards passed `--max-delete 50`; the share stops them.
    #[test]
    fn most_of_the_backup_disappearing_is_refused_by_default() {
        let existing: BTreeSet<String> = (1..=33).map(|i| format!("c{i}")).collect();
        let read: BTreeSet<String> = (1..=6).map(|i| format!("c{i}")).collect();
        let r = decide_sets(
            &existing,
            &read,
            &BTreeSet::new(),
            true,
            Limits { max_delete: 50, max_delete_percent: 50 },
        );
        assert_eq!(r, Err(Refusal::TooLargeShare { would_delete: 27, existing: 33, max_delete_percent: 50 }));
    }
}
