//! A stable-toolchain fuzz pass over every decoder of network input (the same surface as
//! the cargo-fuzz target in server/fuzz, through `protocol::untrusted`), run in CI:
//! seeded random bytes, and seeded mutations (bit flips, truncation, splices, extreme
//! length bytes) of valid packets — handshake responses, SSL requests, COM_CHANGE_USER
//! and COM_STMT_EXECUTE with every parameter type. The seed is printed; a panic is the
//! failure. Set BOREALIS_FUZZ_ITERS for a longer run.

use borealis_server::protocol::untrusted::exercise_decoders;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn lenenc_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(s.len() as u8);
    out.extend_from_slice(s);
}

/// Valid inputs to start mutating from.
fn corpus() -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    // HandshakeResponse41: caps, max packet, charset, 23 zeros, user, auth, db, plugin,
    // connect attributes.
    let caps: u32 = 0x0000_0200 | 0x0000_8000 | 0x0008_0000 | 0x0000_0008 | 0x0010_0000;
    let mut hr = caps.to_le_bytes().to_vec();
    hr.extend_from_slice(&(1u32 << 24).to_le_bytes());
    hr.push(45);
    hr.extend_from_slice(&[0; 23]);
    hr.extend_from_slice(b"root\0");
    lenenc_str(&mut hr, &[7u8; 20]);
    hr.extend_from_slice(b"test\0");
    hr.extend_from_slice(b"mysql_native_password\0");
    let mut attrs = Vec::new();
    lenenc_str(&mut attrs, b"_client_name");
    lenenc_str(&mut attrs, b"libmariadb");
    hr.push(attrs.len() as u8);
    hr.extend_from_slice(&attrs);
    v.push(hr);
    // SSLRequest.
    let mut ssl = (caps | 0x800).to_le_bytes().to_vec();
    ssl.extend_from_slice(&(1u32 << 24).to_le_bytes());
    ssl.push(45);
    ssl.extend_from_slice(&[0; 23]);
    v.push(ssl);
    // COM_CHANGE_USER body: user, auth, db, charset, plugin.
    let mut cu = b"app\0".to_vec();
    lenenc_str(&mut cu, &[1u8; 20]);
    cu.extend_from_slice(b"d\0");
    cu.extend_from_slice(&45u16.to_le_bytes());
    cu.extend_from_slice(b"caching_sha2_password\0");
    v.push(cu);
    // COM_STMT_EXECUTE body: stmt id, flags, iterations, null bitmap, new-params flag,
    // types, values — one parameter of each common type.
    let types: [(u8, Vec<u8>); 8] = [
        (0x01, vec![5]),                            // TINY
        (0x03, 42u32.to_le_bytes().to_vec()),       // LONG
        (0x08, 7u64.to_le_bytes().to_vec()),        // LONGLONG
        (0x05, 1.5f64.to_le_bytes().to_vec()),      // DOUBLE
        (0xfd, vec![3, b'a', b'b', b'c']),          // VAR_STRING
        (0x0c, vec![7, 0xe8, 0x07, 1, 2, 3, 4, 5]), // DATETIME
        (0x0b, vec![8, 0, 1, 0, 0, 0, 2, 3, 4]),    // TIME
        (0xf6, vec![4, b'1', b'.', b'2', b'5']),    // NEWDECIMAL
    ];
    let mut ex = 1u32.to_le_bytes().to_vec();
    ex.push(0);
    ex.extend_from_slice(&1u32.to_le_bytes());
    ex.push(0); // null bitmap for 8 params
    ex.push(1);
    for (t, _) in &types {
        ex.push(*t);
        ex.push(0);
    }
    for (_, val) in &types {
        ex.extend_from_slice(val);
    }
    v.push(ex);
    // Framed packets, one of them split at the 16 MiB boundary marker.
    v.push(vec![3, 0, 0, 0, 0x03, b'S', b'1', 1, 0, 0, 1, 0x0e]);
    v.push(vec![0xff, 0xff, 0xff, 0, 1, 2, 3]);
    v
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut d = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
            1 if !d.is_empty() => {
                let n = rng.below(d.len());
                d.truncate(n);
            }
            2 => {
                let i = rng.below(d.len() + 1);
                let extra: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
                d.splice(i..i, extra);
            }
            3 if !d.is_empty() => {
                // Length-ish bytes at their extremes.
                let i = rng.below(d.len());
                d[i] = [0x00, 0xfb, 0xfc, 0xfd, 0xfe, 0xff][rng.below(6)];
            }
            4 if d.len() > 1 => {
                let i = rng.below(d.len());
                let j = rng.below(d.len());
                d.swap(i, j);
            }
            _ => {
                let i = rng.below(d.len() + 1);
                d.insert(i, rng.next() as u8);
            }
        }
    }
    d
}

#[test]
fn decoders_never_panic_on_mutated_or_random_input() {
    let seed: u64 = std::env::var("BOREALIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0dec_0de5);
    let iters: usize = std::env::var("BOREALIS_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            20_000
        } else {
            200_000
        });
    println!("seed {seed} iterations {iters} (BOREALIS_SEED / BOREALIS_FUZZ_ITERS)");
    let corpus = corpus();
    for c in &corpus {
        exercise_decoders(c);
    }
    let mut rng = Rng(seed | 1);
    for i in 0..iters {
        let input = if i % 4 == 0 {
            (0..rng.below(96)).map(|_| rng.next() as u8).collect()
        } else {
            let base = &corpus[rng.below(corpus.len())];
            mutate(&mut rng, base)
        };
        exercise_decoders(&input);
    }
}
