//! The sysbench OLTP family, re-implemented: which statements each workload sends, with
//! which parameters, in which order (semantics of sysbench 1.0's `oltp_common.lua` and
//! the per-workload scripts, default options).
//!
//! A run goes: [`data`] creates `sbtest1..N` and loads them; each worker thread prepares
//! the [`Workload::statements`] once on its connection; then every *event* (sysbench's
//! word for one transaction) is a list of [`Call`]s produced by [`event::generate`] and
//! executed in order by a target. Invariant: the generator never looks at results, so
//! the statement stream depends only on the seed, the options and the thread id.

pub mod data;
pub mod event;
pub mod stmt;

pub use stmt::{Call, Dialect, Param, Stmt, StmtKind};

use crate::rng::Distribution;

/// The sysbench workloads this crate implements (the names are sysbench's script names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    PointSelect,
    ReadOnly,
    ReadWrite,
    WriteOnly,
    UpdateIndex,
    UpdateNonIndex,
    Insert,
    Delete,
    SelectRandomRanges,
}

impl Workload {
    pub const ALL: [Workload; 9] = [
        Workload::PointSelect,
        Workload::ReadOnly,
        Workload::ReadWrite,
        Workload::WriteOnly,
        Workload::UpdateIndex,
        Workload::UpdateNonIndex,
        Workload::Insert,
        Workload::Delete,
        Workload::SelectRandomRanges,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::PointSelect => "oltp_point_select",
            Workload::ReadOnly => "oltp_read_only",
            Workload::ReadWrite => "oltp_read_write",
            Workload::WriteOnly => "oltp_write_only",
            Workload::UpdateIndex => "oltp_update_index",
            Workload::UpdateNonIndex => "oltp_update_non_index",
            Workload::Insert => "oltp_insert",
            Workload::Delete => "oltp_delete",
            Workload::SelectRandomRanges => "select_random_ranges",
        }
    }

    pub fn parse(s: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == s)
    }

    /// Whether the workload changes data (SQLite takes its write lock at BEGIN for these).
    pub fn writes(self) -> bool {
        !matches!(
            self,
            Workload::PointSelect | Workload::ReadOnly | Workload::SelectRandomRanges
        )
    }

    /// Whether events are wrapped in BEGIN/COMMIT (unless `skip_trx`).
    pub fn transactional(self) -> bool {
        matches!(
            self,
            Workload::ReadOnly | Workload::ReadWrite | Workload::WriteOnly
        )
    }

    /// The statements each connection prepares before its first event, like sysbench's
    /// `prepare_statements()` (`oltp_insert` prepares nothing: it sends text queries).
    pub fn statements(self, o: &OltpOptions) -> Vec<Stmt> {
        let mut kinds: Vec<StmtKind> = Vec::new();
        let ranges = [
            StmtKind::SimpleRange,
            StmtKind::SumRange,
            StmtKind::OrderRange,
            StmtKind::DistinctRange,
        ];
        match self {
            Workload::PointSelect => kinds.push(StmtKind::PointSelect),
            Workload::ReadOnly => {
                kinds.push(StmtKind::PointSelect);
                if o.range_selects {
                    kinds.extend(ranges);
                }
            }
            Workload::ReadWrite => {
                kinds.push(StmtKind::PointSelect);
                if o.range_selects {
                    kinds.extend(ranges);
                }
                kinds.extend([
                    StmtKind::IndexUpdate,
                    StmtKind::NonIndexUpdate,
                    StmtKind::Delete,
                    StmtKind::Insert,
                ]);
            }
            Workload::WriteOnly => kinds.extend([
                StmtKind::IndexUpdate,
                StmtKind::NonIndexUpdate,
                StmtKind::Delete,
                StmtKind::Insert,
            ]),
            Workload::UpdateIndex => kinds.push(StmtKind::IndexUpdate),
            Workload::UpdateNonIndex => kinds.push(StmtKind::NonIndexUpdate),
            Workload::Insert => {}
            Workload::Delete => kinds.push(StmtKind::Delete),
            Workload::SelectRandomRanges => {
                return vec![Stmt {
                    kind: StmtKind::RandomRanges,
                    table: 1,
                }]
            }
        }
        let mut out = Vec::new();
        if self.transactional() && !o.skip_trx {
            out.push(Stmt::global(StmtKind::Begin));
            out.push(Stmt::global(StmtKind::Commit));
        }
        for t in 1..=o.tables {
            for &kind in &kinds {
                out.push(Stmt { kind, table: t });
            }
        }
        out
    }
}

/// sysbench's OLTP options (`oltp_common.lua` and `select_random_ranges.lua`), with
/// sysbench's defaults except `tables`/`table_size`, which every run states explicitly.
#[derive(Clone, Debug, PartialEq)]
pub struct OltpOptions {
    pub tables: u32,
    pub table_size: u32,
    pub range_size: u32,
    pub point_selects: u32,
    pub simple_ranges: u32,
    pub sum_ranges: u32,
    pub order_ranges: u32,
    pub distinct_ranges: u32,
    pub index_updates: u32,
    pub non_index_updates: u32,
    pub delete_inserts: u32,
    pub range_selects: bool,
    pub skip_trx: bool,
    pub rand_type: Distribution,
    /// select_random_ranges: BETWEEN ranges per SELECT and the width of each.
    pub number_of_ranges: u32,
    pub delta: u32,
}

impl Default for OltpOptions {
    fn default() -> Self {
        OltpOptions {
            tables: 1,
            table_size: 10_000,
            range_size: 100,
            point_selects: 10,
            simple_ranges: 1,
            sum_ranges: 1,
            order_ranges: 1,
            distinct_ranges: 1,
            index_updates: 1,
            non_index_updates: 1,
            delete_inserts: 1,
            range_selects: true,
            skip_trx: false,
            rand_type: Distribution::Special,
            number_of_ranges: 10,
            delta: 5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_write_prepares_what_sysbench_prepares() {
        // sysbench 1.0.20 oltp_read_write with 4 tables: 38 COM_STMT_PREPAREs
        // (BEGIN, COMMIT, 9 per table), as captured on the wire.
        let o = OltpOptions {
            tables: 4,
            ..Default::default()
        };
        let s = Workload::ReadWrite.statements(&o);
        assert_eq!(s.len(), 38);
        assert_eq!(s[0].kind, StmtKind::Begin);
        assert_eq!(Workload::PointSelect.statements(&o).len(), 4);
        assert_eq!(Workload::ReadOnly.statements(&o).len(), 2 + 4 * 5);
        assert_eq!(Workload::WriteOnly.statements(&o).len(), 2 + 4 * 4);
        assert!(Workload::Insert.statements(&o).is_empty());
    }

    #[test]
    fn names_round_trip() {
        for w in Workload::ALL {
            assert_eq!(Workload::parse(w.name()), Some(w));
        }
        assert_eq!(Workload::parse("oltp_nothing"), None);
    }
}
