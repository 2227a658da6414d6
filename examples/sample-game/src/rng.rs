//! A small seeded random number generator, so a run is reproducible from `--seed`.

use bevy_ecs::prelude::Resource;

/// SplitMix64: tiny, fast and good enough to script bots. Not for anything secret.
#[derive(Resource, Debug, Clone)]
pub struct GameRng {
    state: u64,
}

impl GameRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> GameRng {
        GameRng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        // 53 random bits, the precision of an f64 mantissa.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index in `0..n` (`0` when `n` is 0).
    pub fn index(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        // `n` is small (players, lines), so the modulo bias is negligible.
        (self.next_u64() % n as u64) as usize
    }

    /// An exponentially distributed wait with the given mean (a Poisson process).
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -(1.0 - self.unit()).ln() * mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers() {
        let mut a = GameRng::new(7);
        let mut b = GameRng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let u = a.unit();
        assert!((0.0..1.0).contains(&u));
        assert!(a.index(8) < 8);
    }
}
