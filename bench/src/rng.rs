//! The benchmark's random numbers: a seeded xoroshiro128+ generator and sysbench 1.0's
//! integer distributions on top of it.
//!
//! Invariant: every function here is a pure function of the generator state, so a run
//! with the same seed and thread count issues the same statements. Each distribution
//! returns a value in the closed range `[a, b]` (for `b >= a`), computed in `f64` and
//! truncated exactly as sysbench's C code does, so the shapes match sysbench's:
//! - `uniform`: `a + u * (b - a + 1)`;
//! - `special` (sysbench 1.0's default `--rand-type`): with `--rand-spec-res=75`, 25 % of
//!   the values are a 12-iteration sum of uniforms (bell-shaped around the middle) and
//!   75 % fall uniformly into a slice of `--rand-spec-pct=1` % of the range near its
//!   centre; the hot slice is what makes `special` contend on a few rows;
//! - `gaussian`: the 12-iteration sum alone; `pareto` with `h = 0.2`.

/// Which distribution picks ids and `k` values (sysbench's `--rand-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    Uniform,
    Special,
    Gaussian,
    Pareto,
}

impl Distribution {
    pub fn parse(s: &str) -> Option<Distribution> {
        Some(match s {
            "uniform" => Distribution::Uniform,
            "special" => Distribution::Special,
            "gaussian" => Distribution::Gaussian,
            "pareto" => Distribution::Pareto,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Distribution::Uniform => "uniform",
            Distribution::Special => "special",
            Distribution::Gaussian => "gaussian",
            Distribution::Pareto => "pareto",
        }
    }
}

/// sysbench's defaults for the shape parameters (`--rand-spec-iter`, `-pct`, `-res`,
/// `--rand-pareto-h`).
pub const SPEC_ITER: u32 = 12;
pub const SPEC_PCT: f64 = 1.0;
pub const SPEC_RES: f64 = 75.0;
pub const PARETO_H: f64 = 0.2;

/// xoroshiro128+ (Blackman and Vigna), seeded through splitmix64 so that nearby seeds
/// give unrelated streams.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 2],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut s = [splitmix64(&mut x), splitmix64(&mut x)];
        if s == [0, 0] {
            // The all-zero state is a fixed point of the generator.
            s[0] = 1;
        }
        Rng { s }
    }

    /// The generator for worker `thread` of a run seeded with `seed`.
    pub fn for_thread(seed: u64, thread: usize) -> Rng {
        Rng::new(seed ^ (thread as u64).wrapping_mul(0xd1b5_4a32_d192_ed03))
    }

    pub fn next_u64(&mut self) -> u64 {
        let s0 = self.s[0];
        let mut s1 = self.s[1];
        let out = s0.wrapping_add(s1);
        s1 ^= s0;
        self.s[0] = s0.rotate_left(24) ^ s1 ^ (s1 << 16);
        self.s[1] = s1.rotate_left(37);
        out
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// sysbench's `sb_rand_uniform(a, b)`.
    pub fn uniform(&mut self, a: u32, b: u32) -> u32 {
        let span = (b as f64) - (a as f64) + 1.0;
        (a as f64 + self.next_f64() * span) as u32
    }

    /// sysbench's `sb_rand_special(a, b)` with the default shape parameters.
    pub fn special(&mut self, a: u32, b: u32) -> u32 {
        if b <= a {
            return a;
        }
        let t = (b - a) as f64;
        let range_size = t * (100.0 / (100.0 - SPEC_RES));
        let rnd = self.next_f64();
        if rnd * range_size < t {
            let mut sum = 0.0;
            for _ in 0..SPEC_ITER {
                sum += self.next_f64();
            }
            return (a as f64 + sum * t / SPEC_ITER as f64) as u32;
        }
        let d = t * SPEC_PCT / 100.0;
        let res = rnd * (d + 1.0) + t / 2.0 - t * SPEC_PCT / 200.0;
        a + res as u32
    }

    /// sysbench's `sb_rand_gaussian(a, b)`.
    pub fn gaussian(&mut self, a: u32, b: u32) -> u32 {
        let t = (b as f64) - (a as f64) + 1.0;
        let mut sum = 0.0;
        for _ in 0..SPEC_ITER {
            sum += self.next_f64() * t;
        }
        a + (sum / SPEC_ITER as f64) as u32
    }

    /// sysbench's `sb_rand_pareto(a, b)`.
    pub fn pareto(&mut self, a: u32, b: u32) -> u32 {
        let power = PARETO_H.ln() / (1.0 - PARETO_H).ln();
        let t = (b as f64) - (a as f64) + 1.0;
        a + (t * self.next_f64().powf(power)) as u32
    }

    /// `sysbench.rand.default(a, b)`: the distribution chosen with `--rand-type`.
    pub fn dist(&mut self, d: Distribution, a: u32, b: u32) -> u32 {
        match d {
            Distribution::Uniform => self.uniform(a, b),
            Distribution::Special => self.special(a, b),
            Distribution::Gaussian => self.gaussian(a, b),
            Distribution::Pareto => self.pareto(a, b),
        }
    }

    /// sysbench's `sb_rand_str`: every `#` becomes a uniform random digit.
    pub fn digits(&mut self, template: &str) -> String {
        template
            .chars()
            .map(|ch| {
                if ch == '#' {
                    char::from(self.uniform(b'0' as u32, b'9' as u32) as u8)
                } else {
                    ch
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: u64 = 0x5eed_2026;

    #[test]
    fn same_seed_same_stream_and_threads_differ() {
        println!("seed {SEED:#x}");
        let mut a = Rng::new(SEED);
        let mut b = Rng::new(SEED);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut t0 = Rng::for_thread(SEED, 0);
        let mut t1 = Rng::for_thread(SEED, 1);
        let same = (0..100).filter(|_| t0.next_u64() == t1.next_u64()).count();
        assert!(same < 3);
    }

    #[test]
    fn uniform_is_flat_and_in_range() {
        println!("seed {SEED:#x}");
        let mut r = Rng::new(SEED);
        let mut hist = [0u32; 10];
        for _ in 0..100_000 {
            let v = r.uniform(1, 10);
            assert!((1..=10).contains(&v));
            hist[(v - 1) as usize] += 1;
        }
        for h in hist {
            // 10_000 expected per bucket; 5 sigma is about 475.
            assert!((9_500..=10_500).contains(&h), "{hist:?}");
        }
        assert_eq!(r.uniform(7, 7), 7);
    }

    #[test]
    fn special_puts_three_quarters_in_the_central_one_percent() {
        println!("seed {SEED:#x}");
        let mut r = Rng::new(SEED);
        let (a, b) = (1u32, 100_000u32);
        let t = (b - a) as f64;
        // The hot slice: rnd in [0.25, 1) mapped onto d + 1 ids, shifted to the centre.
        let lo = (t / 2.0 - t / 200.0 + 0.25 * (t / 100.0 + 1.0)) as u32 + a;
        let hi = (t / 2.0 - t / 200.0 + (t / 100.0 + 1.0)) as u32 + a;
        let n = 200_000;
        let mut hot = 0;
        let mut below_hot = 0;
        for _ in 0..n {
            let v = r.special(a, b);
            assert!((a..=b).contains(&v));
            if (lo..=hi).contains(&v) {
                hot += 1;
            }
            if v < lo {
                below_hot += 1;
            }
        }
        let hot_frac = hot as f64 / n as f64;
        // 75 % from the uniform part plus the gaussian part's small share of the slice.
        assert!((0.75..0.78).contains(&hot_frac), "hot fraction {hot_frac}");
        // The gaussian quarter is symmetric around the middle, so about half of it (minus
        // the ~3.6 % of it that lands inside the slice) falls below the slice.
        let below = below_hot as f64 / n as f64;
        assert!(
            (0.11..0.125).contains(&below),
            "below the hot slice {below}"
        );
    }

    #[test]
    fn gaussian_is_centred_with_sysbench_spread() {
        println!("seed {SEED:#x}");
        let mut r = Rng::new(SEED);
        let n = 100_000;
        let vals: Vec<f64> = (0..n).map(|_| r.gaussian(1, 1000) as f64).collect();
        let mean = vals.iter().sum::<f64>() / n as f64;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        // Mean of 12 uniforms on [0, 1000): 500 (+1 offset, -0.5 truncation); sd 1000/12.
        assert!((mean - 500.5).abs() < 2.0, "mean {mean}");
        assert!(
            (var.sqrt() - 1000.0 / 12.0).abs() < 2.0,
            "sd {}",
            var.sqrt()
        );
    }

    #[test]
    fn pareto_is_skewed_to_the_low_end() {
        println!("seed {SEED:#x}");
        let mut r = Rng::new(SEED);
        let n = 100_000;
        let low = (0..n).filter(|_| r.pareto(1, 1000) <= 200).count();
        // h = 0.2: 80 % of the values in the first 20 % of the range.
        let f = low as f64 / n as f64;
        assert!((0.78..0.82).contains(&f), "{f}");
    }

    #[test]
    fn digits_fills_only_hashes() {
        let mut r = Rng::new(SEED);
        let s = r.digits("##-#x");
        assert_eq!(s.len(), 5);
        assert_eq!(&s[2..3], "-");
        assert_eq!(&s[4..5], "x");
        assert!(s[..2].bytes().all(|b| b.is_ascii_digit()));
    }
}
