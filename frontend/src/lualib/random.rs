//! `math.random` / `math.randomseed` of Lua 5.4.4 (`lmathlib.c`): the xoshiro256**
//! generator, its seeding, the float conversion (top 53 bits) and the projection of a
//! random 64-bit value into an integer interval by masked rejection sampling. Seeded
//! sequences are bit-for-bit those of `lua5.4`.

/// The error `math.random` raises for `random(m, n)` with `m > n` (and `random(m)`
/// with `m < 1`, `m ~= 0`).
pub const INTERVAL_EMPTY: &str = "bad argument #1 to 'random' (interval is empty)";

/// The state of Lua's pseudo-random generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LuaRandom {
    s: [u64; 4],
}

impl LuaRandom {
    /// The state after `math.randomseed(n)`.
    pub fn new_seeded(n: i64) -> LuaRandom {
        LuaRandom::new_seeded2(n, 0)
    }

    /// The state after `math.randomseed(n1, n2)`: `{n1, 0xff, n2, 0}`, then 16 values
    /// discarded.
    pub fn new_seeded2(n1: i64, n2: i64) -> LuaRandom {
        let mut g = LuaRandom {
            s: [n1 as u64, 0xff, n2 as u64, 0],
        };
        for _ in 0..16 {
            g.next_u64();
        }
        g
    }

    /// Reseed in place like `math.randomseed(n1, n2)`; returns the two seed parts, which
    /// `math.randomseed` returns in 5.4.4.
    pub fn seed(&mut self, n1: i64, n2: i64) -> (i64, i64) {
        *self = LuaRandom::new_seeded2(n1, n2);
        (n1, n2)
    }

    /// A generator seeded from the clock and an address, as `lua5.4` seeds its state at
    /// startup.
    pub fn seed_from_time() -> LuaRandom {
        let mut g = LuaRandom::new_seeded(0);
        g.reseed_from_time();
        g
    }

    /// `math.randomseed()` with no argument: reseed from the clock and an address;
    /// returns the two seed parts used.
    pub fn reseed_from_time(&mut self) -> (i64, i64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let addr = self as *const LuaRandom as usize as u64;
        self.seed(now as i64, (addr ^ now.rotate_left(32)) as i64)
    }

    /// The next raw 64-bit value (xoshiro256**).
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Consume one value without using it. `math.random` draws its value before
    /// checking its arguments, so a call that fails with a non-integer argument or
    /// `wrong number of arguments` still advances the generator: the glue calls this
    /// before raising those errors. ([`random_range`](Self::random_range) already
    /// draws before its own `interval is empty` check.)
    pub fn discard_one(&mut self) {
        self.next_u64();
    }

    /// `math.random()`: a float in `[0, 1)` from the top 53 bits of the next value.
    pub fn random_float(&mut self) -> f64 {
        u64_to_unit_float(self.next_u64())
    }

    /// `math.random(0)`: the next value as an integer (all 64 bits).
    pub fn random_full(&mut self) -> i64 {
        self.next_u64() as i64
    }

    /// `math.random(m)`: like `random_range(1, m)`, except that `m == 0` gives
    /// [`random_full`](Self::random_full).
    pub fn random_upto(&mut self, m: i64) -> Result<i64, String> {
        if m == 0 {
            return Ok(self.random_full());
        }
        self.random_range(1, m)
    }

    /// `math.random(lo, hi)`: uniform in `[lo, hi]`. A random value is consumed even
    /// when the interval is empty (the error is [`INTERVAL_EMPTY`]), as in Lua.
    pub fn random_range(&mut self, lo: i64, hi: i64) -> Result<i64, String> {
        let rv = self.next_u64();
        if lo > hi {
            return Err(INTERVAL_EMPTY.to_string());
        }
        let n = (hi as u64).wrapping_sub(lo as u64);
        let p = self.project(rv, n);
        Ok(p.wrapping_add(lo as u64) as i64)
    }

    /// Map `ran` into `[0, n]`: mask with the smallest `2^b - 1 >= n` and draw again
    /// while the masked value exceeds `n`.
    fn project(&mut self, ran: u64, n: u64) -> u64 {
        if n & n.wrapping_add(1) == 0 {
            return ran & n; // n + 1 is a power of two
        }
        let mask = u64::MAX >> n.leading_zeros();
        let mut r = ran & mask;
        while r > n {
            r = self.next_u64() & mask;
        }
        r
    }
}

/// Lua's `I2d`: the top 53 bits of `x` scaled by 2^-53.
pub fn u64_to_unit_float(x: u64) -> f64 {
    (x >> 11) as f64 * (0.5f64).powi(53)
}

#[cfg(test)]
mod tests {
    //! Expected sequences are `lua5.4` 5.4.4's output.
    use super::*;

    /// /work/shared/conformance/public/math_random_seeded.lua, line by line.
    #[test]
    fn conformance_math_random_seeded() {
        let expected = [
            "50 76 86 54 64 7 25 3 24 24",
            "0.778981848967 0.388080950064 0.748309811461 0.366109293450 0.016710592659 0.599704824736",
            "4554719557422691265\t9\t0",
            "559234\t634761",
        ];
        let mut g = LuaRandom::new_seeded(42);
        let line: Vec<String> = (0..10)
            .map(|_| g.random_range(1, 100).unwrap().to_string())
            .collect();
        assert_eq!(line.join(" "), expected[0]);
        g.seed(7, 0);
        let line: Vec<String> = (0..6)
            .map(|_| format!("{:.12}", g.random_float()))
            .collect();
        assert_eq!(line.join(" "), expected[1]);
        g.seed(0, 0);
        let (a, b, c) = (
            g.random_upto(0).unwrap(),
            g.random_upto(10).unwrap(),
            g.random_range(-5, 5).unwrap(),
        );
        assert_eq!(format!("{a}\t{b}\t{c}"), expected[2]);
        assert_eq!(g.seed(1, 2), (1, 2));
        let (a, b) = (
            g.random_upto(1000000).unwrap(),
            g.random_upto(1000000).unwrap(),
        );
        assert_eq!(format!("{a}\t{b}"), expected[3]);
    }

    #[test]
    fn full_integers_and_floats() {
        let mut g = LuaRandom::new_seeded(123);
        let got: Vec<i64> = (0..8).map(|_| g.random_full()).collect();
        assert_eq!(
            got,
            [
                3948691412858704932,
                -8685059828176573656,
                -7777759151984932776,
                -5391743551570447441,
                -6939512988692439951,
                -5685993368545250067,
                2981421269560702521,
                -6623586743497918352
            ]
        );
        let mut g = LuaRandom::new_seeded2(-1, 99);
        // string.format("%.17g", math.random())
        let got: Vec<String> = (0..5)
            .map(|_| {
                let mut out = Vec::new();
                crate::lualib::format::write_g(&mut out, g.random_float(), 17, false, false);
                String::from_utf8(out).unwrap()
            })
            .collect();
        assert_eq!(
            got.join(" "),
            "0.82022548115810545 0.7430489243351357 0.31069722294385715 0.0023188143691977858 0.9586289700839109"
        );
        let mut g = LuaRandom::new_seeded(42);
        // print(math.random()) shows %.14g
        assert_eq!(
            crate::lualib::fmt_float(g.random_float()),
            b"0.93081217803957"
        );
    }

    #[test]
    fn ranges() {
        let mut g = LuaRandom::new_seeded(5);
        let got: Vec<i64> = (0..10).map(|_| g.random_upto(3).unwrap()).collect();
        assert_eq!(got, [3, 2, 2, 2, 1, 3, 2, 2, 1, 3]);
        let mut g = LuaRandom::new_seeded(5);
        let got: Vec<i64> = (0..6)
            .map(|_| g.random_range(i64::MIN, -1).unwrap())
            .collect();
        assert_eq!(
            got,
            [
                -5674012787638661302,
                -6956899089192397067,
                -7662136456919560793,
                -8449438107275287043,
                -3751844714358832189,
                -6980869719868610521
            ]
        );
        let mut g = LuaRandom::new_seeded(5);
        let got: Vec<i64> = (0..6).map(|_| g.random_range(0, 6).unwrap()).collect();
        assert_eq!(got, [2, 5, 5, 3, 5, 0]);
        let mut g = LuaRandom::new_seeded(5);
        let got: Vec<i64> = (0..4).map(|_| g.random_upto(i64::MAX).unwrap()).collect();
        assert_eq!(
            got,
            [
                3549359249216114507,
                2266472947662378742,
                1561235579935215016,
                773933929579488766
            ]
        );
        let mut g = LuaRandom::new_seeded(5);
        assert_eq!((g.random_upto(10), g.random_upto(10)), (Ok(6), Ok(8)));
        // math.randomseed(42); math.random(); random(0); random(3); random(minint, maxint);
        // random(maxint); random(-10, -1); random(5, 5)
        let mut g = LuaRandom::new_seeded(42);
        g.random_float();
        assert_eq!(g.random_full(), 8333941968102511665);
        assert_eq!(g.random_upto(3), Ok(2));
        assert_eq!(g.random_range(i64::MIN, i64::MAX), Ok(2164128405858571189));
        assert_eq!(g.random_upto(i64::MAX), Ok(177101407732369984));
        assert_eq!(g.random_range(-10, -1), Ok(-4));
        assert_eq!(g.random_range(5, 5), Ok(5));
    }

    #[test]
    fn errors_consume_a_value() {
        // math.randomseed(5); pcall(math.random, 2, 1); math.random(0, 7), math.random(0, 7)
        let mut g = LuaRandom::new_seeded(5);
        assert_eq!(
            g.random_range(2, 1),
            Err("bad argument #1 to 'random' (interval is empty)".to_string())
        );
        assert_eq!((g.random_range(0, 7), g.random_range(0, 7)), (Ok(5), Ok(7)));
        let mut g = LuaRandom::new_seeded(5);
        assert_eq!(g.random_upto(-3), Err(INTERVAL_EMPTY.to_string()));
        assert_eq!(g.random_range(0, 7), Ok(5));
        // pcall(math.random, 1, 2, 3) / pcall(math.random, 1.5), then math.random(0, 7)
        let mut g = LuaRandom::new_seeded(5);
        g.discard_one();
        assert_eq!(g.random_range(0, 7), Ok(5));
        let mut g = LuaRandom::new_seeded(5);
        assert_eq!(
            (
                g.random_range(0, 7),
                g.random_range(0, 7),
                g.random_range(0, 7)
            ),
            (Ok(2), Ok(5), Ok(7))
        );
    }

    #[test]
    fn time_seeding_gives_a_working_generator() {
        let mut g = LuaRandom::seed_from_time();
        let x = g.random_float();
        assert!((0.0..1.0).contains(&x));
        let (n1, _) = g.reseed_from_time();
        assert_ne!(n1, 0);
        assert!((1..=6).contains(&g.random_upto(6).unwrap()));
    }
}
