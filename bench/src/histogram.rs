//! A fixed-size log-linear latency histogram (HDR-style) in nanoseconds.
//!
//! Values below 128 ns have their own bucket; above, each power of two is split into 64
//! equal buckets, so a reported percentile is within 1/64 (1.6 %) of the true value.
//! Invariant: `count == sum of buckets`; min/max/sum are exact.

const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS; // 64 buckets per power of two
const LINEAR: u64 = 2 * SUB; // values below this map to themselves
const BUCKETS: usize = (LINEAR + (64 - (SUB_BITS + 1)) as u64 * SUB) as usize;

#[derive(Clone, Debug)]
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

fn index(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= SUB_BITS + 1
    let shift = e - SUB_BITS;
    (LINEAR + (e - SUB_BITS - 1) as u64 * SUB + ((v >> shift) - SUB)) as usize
}

/// The smallest value and the width of bucket `i`.
fn bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < LINEAR {
        return (i, 1);
    }
    let k = i - LINEAR;
    let e = k / SUB + SUB_BITS as u64 + 1;
    let shift = e - SUB_BITS as u64;
    (((k % SUB) + SUB) << shift, 1 << shift)
}

impl Histogram {
    pub fn record(&mut self, ns: u64) {
        self.buckets[index(ns)] += 1;
        self.count += 1;
        self.sum += ns as u128;
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
    }

    pub fn merge(&mut self, o: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(&o.buckets) {
            *a += b;
        }
        self.count += o.count;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn min(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.min
        }
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The value at quantile `q` in [0, 1]: the middle of the bucket holding the
    /// ceil(q * count)-th smallest value, clamped to the exact min and max.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.buckets.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, w) = bounds(i);
                return (lo + w / 2).clamp(self.min, self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn buckets_cover_values_in_order() {
        let mut last = 0;
        for v in [
            0u64,
            1,
            127,
            128,
            129,
            255,
            256,
            1000,
            1 << 20,
            u64::MAX / 3,
            u64::MAX,
        ] {
            let i = index(v);
            assert!(i < BUCKETS, "{v}");
            assert!(i >= last, "{v}");
            last = i;
            let (lo, w) = bounds(i);
            assert!(lo <= v && (v - lo) < w, "{v}: bucket {lo}+{w}");
        }
    }

    #[test]
    fn quantiles_within_two_percent() {
        let seed = 42;
        println!("seed {seed}");
        let mut r = Rng::new(seed);
        let mut h = Histogram::default();
        let mut vals: Vec<u64> = (0..50_000)
            .map(|_| 1_000 + r.next_u64() % 5_000_000)
            .collect();
        for &v in &vals {
            h.record(v);
        }
        vals.sort_unstable();
        for q in [0.5, 0.95, 0.99] {
            let exact = vals[(q * vals.len() as f64).ceil() as usize - 1] as f64;
            let got = h.quantile(q) as f64;
            assert!((got - exact).abs() / exact < 0.02, "q{q}: {got} vs {exact}");
        }
        assert_eq!(h.max(), *vals.last().expect("nonempty"));
        assert_eq!(h.min(), vals[0]);
        let mut h2 = Histogram::default();
        h2.record(10);
        h2.merge(&h);
        assert_eq!(h2.count(), 50_001);
        assert_eq!(h2.min(), 10);
    }
}
