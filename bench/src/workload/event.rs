//! One event (transaction) of each workload: the calls, in sysbench's order, with
//! parameters drawn in sysbench's order.
//!
//! Per `oltp_common.lua`: every statement group (`execute_point_selects`,
//! `execute_range(key)`, `execute_index_updates`, ...) draws its own table uniformly from
//! `1..=tables`; ids come from `sysbench.rand.default(1, table_size)` (the `--rand-type`
//! distribution); a range starts at such an id and spans `range_size` ids; the
//! DELETE/INSERT pair reuses one id, with a fresh `k`, `c` and `pad`.

use crate::rng::Rng;
use crate::workload::data::{c_value, pad_value};
use crate::workload::{Call, OltpOptions, Param, Stmt, StmtKind, Workload};

/// Build the calls of one event of `w` for worker `thread` of `threads`.
pub fn generate(
    w: Workload,
    o: &OltpOptions,
    rng: &mut Rng,
    thread: usize,
    threads: usize,
) -> Vec<Call> {
    let mut g = Gen {
        o,
        rng,
        out: Vec::with_capacity(20),
    };
    match w {
        Workload::PointSelect => {
            // oltp_point_select.lua overrides point_selects to 1 per event.
            g.point_selects(1);
        }
        Workload::ReadOnly => {
            g.begin();
            g.point_selects(o.point_selects);
            g.ranges();
            g.commit();
        }
        Workload::ReadWrite => {
            g.begin();
            g.point_selects(o.point_selects);
            g.ranges();
            g.index_updates();
            g.non_index_updates();
            g.delete_inserts();
            g.commit();
        }
        Workload::WriteOnly => {
            g.begin();
            g.index_updates();
            g.non_index_updates();
            g.delete_inserts();
            g.commit();
        }
        Workload::UpdateIndex => g.index_updates(),
        Workload::UpdateNonIndex => g.non_index_updates(),
        Workload::Insert => {
            let table = g.table();
            let k = g.id();
            let c = c_value(g.rng);
            let pad = pad_value(g.rng);
            g.push(
                StmtKind::InsertAutoInc,
                table,
                vec![Param::Int(k), Param::Str(c), Param::Str(pad)],
            );
        }
        Workload::Delete => {
            let table = g.table();
            let id = g.id();
            g.push(StmtKind::Delete, table, vec![Param::Int(id)]);
        }
        Workload::SelectRandomRanges => g.random_ranges(thread, threads),
    }
    g.out
}

struct Gen<'a> {
    o: &'a OltpOptions,
    rng: &'a mut Rng,
    out: Vec<Call>,
}

impl Gen<'_> {
    fn push(&mut self, kind: StmtKind, table: u32, params: Vec<Param>) {
        self.out.push(Call {
            stmt: Stmt { kind, table },
            params,
        });
    }

    /// `get_table_num()`: uniform over the tables.
    fn table(&mut self) -> u32 {
        self.rng.uniform(1, self.o.tables.max(1))
    }

    /// `get_id()`: the run's distribution over `[1, table_size]`.
    fn id(&mut self) -> i64 {
        self.rng.dist(self.o.rand_type, 1, self.o.table_size.max(1)) as i64
    }

    fn begin(&mut self) {
        if !self.o.skip_trx {
            self.push(StmtKind::Begin, 0, Vec::new());
        }
    }

    fn commit(&mut self) {
        if !self.o.skip_trx {
            self.push(StmtKind::Commit, 0, Vec::new());
        }
    }

    fn point_selects(&mut self, n: u32) {
        let t = self.table();
        for _ in 0..n {
            let id = self.id();
            self.push(StmtKind::PointSelect, t, vec![Param::Int(id)]);
        }
    }

    fn ranges(&mut self) {
        if !self.o.range_selects {
            return;
        }
        let o = self.o;
        for (kind, n) in [
            (StmtKind::SimpleRange, o.simple_ranges),
            (StmtKind::SumRange, o.sum_ranges),
            (StmtKind::OrderRange, o.order_ranges),
            (StmtKind::DistinctRange, o.distinct_ranges),
        ] {
            let t = self.table();
            for _ in 0..n {
                let lo = self.id();
                let hi = lo + o.range_size as i64 - 1;
                self.push(kind, t, vec![Param::Int(lo), Param::Int(hi)]);
            }
        }
    }

    fn index_updates(&mut self) {
        let t = self.table();
        for _ in 0..self.o.index_updates {
            let id = self.id();
            self.push(StmtKind::IndexUpdate, t, vec![Param::Int(id)]);
        }
    }

    fn non_index_updates(&mut self) {
        let t = self.table();
        for _ in 0..self.o.non_index_updates {
            // sysbench sets c before id.
            let c = c_value(self.rng);
            let id = self.id();
            self.push(
                StmtKind::NonIndexUpdate,
                t,
                vec![Param::Str(c), Param::Int(id)],
            );
        }
    }

    fn delete_inserts(&mut self) {
        let t = self.table();
        for _ in 0..self.o.delete_inserts {
            let id = self.id();
            let k = self.id();
            let c = c_value(self.rng);
            let pad = pad_value(self.rng);
            self.push(StmtKind::Delete, t, vec![Param::Int(id)]);
            self.push(
                StmtKind::Insert,
                t,
                vec![
                    Param::Int(id),
                    Param::Int(k),
                    Param::Str(c),
                    Param::Str(pad),
                ],
            );
        }
    }

    /// select_random_ranges.lua: each thread works in its own slice of `k` values,
    /// `table_size / threads` wide, so ranges of different threads do not overlap.
    fn random_ranges(&mut self, thread: usize, threads: usize) {
        let rlen = self.o.table_size as f64 / threads.max(1) as f64;
        let rmin = rlen * (thread % threads.max(1)) as f64;
        let rmax = rmin + rlen;
        let mut params = Vec::with_capacity(2 * self.o.number_of_ranges as usize);
        for _ in 0..self.o.number_of_ranges {
            let v = self.rng.dist(self.o.rand_type, rmin as u32, rmax as u32) as i64;
            params.push(Param::Int(v));
            params.push(Param::Int(v + self.o.delta as i64));
        }
        self.push(StmtKind::RandomRanges, 1, params);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Distribution;
    use std::collections::HashMap;

    const SEED: u64 = 20261126;

    fn opts(tables: u32) -> OltpOptions {
        OltpOptions {
            tables,
            table_size: 10_000,
            ..Default::default()
        }
    }

    fn kinds(calls: &[Call]) -> Vec<StmtKind> {
        calls.iter().map(|c| c.stmt.kind).collect()
    }

    #[test]
    fn read_write_mix_is_sysbenchs() {
        println!("seed {SEED}");
        let o = opts(4);
        let mut r = Rng::new(SEED);
        let calls = generate(Workload::ReadWrite, &o, &mut r, 0, 1);
        use StmtKind::*;
        let mut want = vec![Begin];
        want.extend([PointSelect; 10]);
        want.extend([
            SimpleRange,
            SumRange,
            OrderRange,
            DistinctRange,
            IndexUpdate,
            NonIndexUpdate,
            Delete,
            Insert,
            Commit,
        ]);
        assert_eq!(kinds(&calls), want);
        // 20 statements per transaction, as sysbench counts QPS.
        assert_eq!(calls.len(), 20);
        // The 10 point selects share one table; DELETE and INSERT share table and id.
        let ps: Vec<u32> = calls[1..11].iter().map(|c| c.stmt.table).collect();
        assert!(ps.iter().all(|&t| t == ps[0]));
        let del = &calls[17];
        let ins = &calls[18];
        assert_eq!(del.stmt.table, ins.stmt.table);
        assert_eq!(del.params[0], ins.params[0]);
        // Ranges span range_size ids.
        for c in &calls[11..15] {
            let lo = c.params[0].as_int().expect("int");
            let hi = c.params[1].as_int().expect("int");
            assert_eq!(hi - lo, 99);
        }
        // UPDATE c=? binds the 119-char c first.
        match &calls[16].params[0] {
            Param::Str(s) => assert_eq!(s.len(), 119),
            p => panic!("unexpected {p:?}"),
        }
        match &calls[18].params[3] {
            Param::Str(s) => assert_eq!(s.len(), 59),
            p => panic!("unexpected {p:?}"),
        }
    }

    #[test]
    fn other_workloads_mix() {
        use StmtKind::*;
        let o = opts(2);
        let mut r = Rng::new(SEED);
        let mut g = |w| kinds(&generate(w, &o, &mut r, 0, 1));
        assert_eq!(g(Workload::PointSelect), vec![PointSelect]);
        let ro = g(Workload::ReadOnly);
        assert_eq!(ro.len(), 16);
        assert_eq!((ro[0], ro[15]), (Begin, Commit));
        assert_eq!(
            g(Workload::WriteOnly),
            vec![Begin, IndexUpdate, NonIndexUpdate, Delete, Insert, Commit]
        );
        assert_eq!(g(Workload::UpdateIndex), vec![IndexUpdate]);
        assert_eq!(g(Workload::UpdateNonIndex), vec![NonIndexUpdate]);
        assert_eq!(g(Workload::Insert), vec![InsertAutoInc]);
        assert_eq!(g(Workload::Delete), vec![Delete]);
        assert_eq!(g(Workload::SelectRandomRanges), vec![RandomRanges]);
        let skip = OltpOptions {
            skip_trx: true,
            range_selects: false,
            ..opts(1)
        };
        let k = kinds(&generate(Workload::ReadOnly, &skip, &mut r, 0, 1));
        assert_eq!(k, vec![PointSelect; 10]);
    }

    #[test]
    fn tables_are_uniform_per_group() {
        println!("seed {SEED}");
        let o = opts(4);
        let mut r = Rng::new(SEED);
        let mut per_table: HashMap<u32, u32> = HashMap::new();
        let n = 20_000;
        for _ in 0..n {
            let calls = generate(Workload::WriteOnly, &o, &mut r, 0, 1);
            // index update, non-index update, delete/insert: three independent draws.
            let t: Vec<u32> = calls[1..5].iter().map(|c| c.stmt.table).collect();
            assert_eq!(t[2], t[3]);
            for &x in &t[..3] {
                *per_table.entry(x).or_default() += 1;
            }
        }
        assert_eq!(per_table.len(), 4);
        for (&t, &c) in &per_table {
            // 15_000 expected; 5 sigma about 530.
            assert!((14_400..=15_600).contains(&c), "table {t}: {c}");
        }
    }

    #[test]
    fn ids_follow_the_chosen_distribution() {
        println!("seed {SEED}");
        let mut special_hot = 0;
        let mut uniform_hot = 0;
        let n = 20_000;
        let mut r = Rng::new(SEED);
        let spec = opts(1);
        let uni = OltpOptions {
            rand_type: Distribution::Uniform,
            ..opts(1)
        };
        // special's hot slice for [1, 10000]: about ids 4975..5050.
        let hot = 4970..=5055;
        for _ in 0..n {
            let a = generate(Workload::PointSelect, &spec, &mut r, 0, 1);
            let b = generate(Workload::PointSelect, &uni, &mut r, 0, 1);
            let ida = a[0].params[0].as_int().expect("int");
            let idb = b[0].params[0].as_int().expect("int");
            assert!((1..=10_000).contains(&ida) && (1..=10_000).contains(&idb));
            special_hot += hot.contains(&ida) as u32;
            uniform_hot += hot.contains(&idb) as u32;
        }
        let fs = special_hot as f64 / n as f64;
        let fu = uniform_hot as f64 / n as f64;
        assert!(fs > 0.74 && fs < 0.80, "special {fs}");
        assert!(fu < 0.02, "uniform {fu}");
    }

    #[test]
    fn random_ranges_stay_in_the_threads_slice() {
        let o = OltpOptions {
            table_size: 1000,
            ..opts(1)
        };
        let mut r = Rng::new(SEED);
        for thread in 0..4 {
            for _ in 0..200 {
                let calls = generate(Workload::SelectRandomRanges, &o, &mut r, thread, 4);
                let p = &calls[0].params;
                assert_eq!(p.len(), 20);
                for pair in p.chunks(2) {
                    let lo = pair[0].as_int().expect("int");
                    assert_eq!(pair[1].as_int().expect("int") - lo, 5);
                    let base = 250 * thread as i64;
                    assert!((base..=base + 250).contains(&lo), "{lo} thread {thread}");
                }
            }
        }
    }

    #[test]
    fn same_seed_same_events() {
        let o = opts(4);
        let a = generate(Workload::ReadWrite, &o, &mut Rng::new(9), 0, 1);
        let b = generate(Workload::ReadWrite, &o, &mut Rng::new(9), 0, 1);
        assert_eq!(a, b);
    }
}
