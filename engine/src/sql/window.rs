//! Window functions: ROW_NUMBER, RANK, DENSE_RANK, LAG/LEAD, FIRST/LAST/NTH_VALUE,
//! NTILE, PERCENT_RANK, CUME_DIST and aggregates OVER (...). Each call appends one
//! column to every input row. Rows come out in the order of the last call's window.

use std::cmp::Ordering;

use crate::collation::Collation;
use crate::error::Result;
use crate::result::Row;
use crate::sql::collations::of_expr;
use crate::sql::exec::{arg_collations, group_key_in, AggState, Exec};
use crate::sql::plan::{AggCall, WinFunc, WindowCall};
use crate::value::{sort_cmp_in, Value};

/// Run `calls` over `rows`, whose columns have collations `input` (PARTITION BY, ORDER
/// BY and MIN/MAX compare strings under their expressions' collations).
pub fn run_window(
    ex: &mut Exec<'_>,
    mut rows: Vec<Row>,
    calls: &[WindowCall],
    input: &[Collation],
) -> Result<Vec<Row>> {
    let n = rows.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut results: Vec<Vec<Value>> = Vec::with_capacity(calls.len());
    for call in calls {
        let part_colls: Vec<Collation> = call.partition.iter().map(|e| of_expr(e, input)).collect();
        let order_colls: Vec<Collation> =
            call.order.iter().map(|(e, _)| of_expr(e, input)).collect();
        let mut part: Vec<Vec<u8>> = Vec::with_capacity(n);
        let mut okeys: Vec<Vec<Value>> = Vec::with_capacity(n);
        let mut args: Vec<Vec<Value>> = Vec::with_capacity(n);
        for r in &rows {
            let mut p = Vec::new();
            for e in &call.partition {
                p.push(ex.eval(e, r)?);
            }
            part.push(group_key_in(&p, &part_colls));
            let mut o = Vec::new();
            for (e, _) in &call.order {
                o.push(ex.eval(e, r)?);
            }
            okeys.push(o);
            let mut a = Vec::new();
            for e in &call.args {
                a.push(ex.eval(e, r)?);
            }
            args.push(a);
        }
        let cmp_order = |a: usize, b: usize| -> Ordering {
            for (i, (_, desc)) in call.order.iter().enumerate() {
                let o = sort_cmp_in(&okeys[a][i], &okeys[b][i], order_colls[i]);
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        };
        order.sort_by(|&a, &b| part[a].cmp(&part[b]).then_with(|| cmp_order(a, b)));
        let mut out = vec![Value::Null; n];
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && part[order[end]] == part[order[start]] {
                end += 1;
            }
            let idx = &order[start..end];
            compute_partition(call, idx, &args, &cmp_order, &mut out, input);
            start = end;
        }
        results.push(out);
    }
    for (ri, r) in rows.iter_mut().enumerate() {
        for res in &results {
            r.push(res[ri].clone());
        }
    }
    Ok(order
        .into_iter()
        .map(|i| std::mem::take(&mut rows[i]))
        .collect())
}

fn compute_partition(
    call: &WindowCall,
    idx: &[usize],
    args: &[Vec<Value>],
    cmp_order: &dyn Fn(usize, usize) -> Ordering,
    out: &mut [Value],
    input: &[Collation],
) {
    let m = idx.len();
    // peers: [first, last] position of the rows equal in ORDER BY to position i.
    let mut peer_start = vec![0usize; m];
    let mut peer_end = vec![0usize; m];
    let mut i = 0;
    while i < m {
        let mut j = i + 1;
        while j < m && cmp_order(idx[i], idx[j]) == Ordering::Equal {
            j += 1;
        }
        for k in i..j {
            peer_start[k] = i;
            peer_end[k] = j - 1;
        }
        i = j;
    }
    let arg =
        |pos: usize, a: usize| -> Value { args[idx[pos]].get(a).cloned().unwrap_or(Value::Null) };
    match call.func {
        WinFunc::RowNumber => {
            for p in 0..m {
                out[idx[p]] = Value::Int(p as i64 + 1);
            }
        }
        WinFunc::Rank => {
            for p in 0..m {
                out[idx[p]] = Value::Int(peer_start[p] as i64 + 1);
            }
        }
        WinFunc::DenseRank => {
            let mut rank = 0;
            for p in 0..m {
                if p == peer_start[p] {
                    rank += 1;
                }
                out[idx[p]] = Value::Int(rank);
            }
        }
        WinFunc::PercentRank => {
            for p in 0..m {
                let v = if m <= 1 {
                    0.0
                } else {
                    peer_start[p] as f64 / (m - 1) as f64
                };
                out[idx[p]] = Value::Double(v);
            }
        }
        WinFunc::CumeDist => {
            for p in 0..m {
                out[idx[p]] = Value::Double((peer_end[p] + 1) as f64 / m as f64);
            }
        }
        WinFunc::Ntile => {
            for p in 0..m {
                let buckets = arg(p, 0).to_i64().unwrap_or(1).max(1) as usize;
                let base = m / buckets;
                let extra = m % buckets;
                // The first `extra` buckets get one more row.
                let big = extra * (base + 1);
                let b = if p < big {
                    p / (base + 1)
                } else {
                    extra + (p - big) / base.max(1)
                };
                out[idx[p]] = Value::Int(b as i64 + 1);
            }
        }
        WinFunc::Lag | WinFunc::Lead => {
            for p in 0..m {
                let off = if call.args.len() > 1 {
                    arg(p, 1).to_i64().unwrap_or(1)
                } else {
                    1
                };
                let target = if call.func == WinFunc::Lag {
                    p as i64 - off
                } else {
                    p as i64 + off
                };
                out[idx[p]] = if target >= 0 && (target as usize) < m {
                    arg(target as usize, 0)
                } else if call.args.len() > 2 {
                    arg(p, 2)
                } else {
                    Value::Null
                };
            }
        }
        WinFunc::FirstValue | WinFunc::LastValue | WinFunc::NthValue => {
            for p in 0..m {
                let (fs, fe) = frame(call, p, m, &peer_end);
                out[idx[p]] = match call.func {
                    WinFunc::FirstValue => {
                        if fs <= fe && fe < m {
                            arg(fs, 0)
                        } else {
                            Value::Null
                        }
                    }
                    WinFunc::LastValue => {
                        if fs <= fe && fe < m {
                            arg(fe, 0)
                        } else {
                            Value::Null
                        }
                    }
                    _ => {
                        let nth = arg(p, 1).to_i64().unwrap_or(1).max(1) as usize;
                        let t = fs + nth - 1;
                        if t <= fe && fe < m {
                            arg(t, 0)
                        } else {
                            Value::Null
                        }
                    }
                };
            }
        }
        WinFunc::Agg(func) => {
            let agg = AggCall {
                func,
                args: call.args.clone(),
                distinct: false,
                order: Vec::new(),
                separator: ",".into(),
            };
            for p in 0..m {
                let (fs, fe) = frame(call, p, m, &peer_end);
                let mut st = AggState::new_in(&agg, arg_collations(&agg, input));
                if fs <= fe {
                    for q in fs..=fe.min(m - 1) {
                        st.add(&agg, &mut args[idx[q]].clone(), &mut Vec::new());
                    }
                }
                out[idx[p]] = st.finish(&agg);
            }
        }
    }
}

/// Frame [start, end] positions for the row at `p`.
fn frame(call: &WindowCall, p: usize, m: usize, peer_end: &[usize]) -> (usize, usize) {
    if let Some((a, b)) = call.rows_frame {
        let s = (p as i64 + a).max(0) as usize;
        let e = (p as i64 + b).min(m as i64 - 1);
        if e < 0 {
            return (1, 0);
        }
        return (s, e as usize);
    }
    if call.whole_partition || call.order.is_empty() {
        (0, m - 1)
    } else {
        (0, peer_end[p])
    }
}
