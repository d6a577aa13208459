//! `table.sort` as Lua 5.4 does it (`auxsort` in `ltablib.c`): a quicksort that
//! orders `a[lo]`, `a[mid]`, `a[up]` (median of three), parks the pivot at `up - 1`,
//! partitions, recurses into the smaller side and loops on the larger one. When a
//! partition comes out very unbalanced, later pivots of large ranges are chosen at a
//! "random" position in the middle half.
//!
//! The elements stay the VM's: the algorithm reads them with [`SortAccess::get`],
//! compares the values it holds (the pivot is a held value, not a position, exactly
//! like Lua's stack copy), and writes them back with [`SortAccess::set`], in the same
//! sequence of reads, comparisons and writes as `lua5.4`. So results agree with Lua
//! even for inconsistent comparators, and the "invalid order function for sorting"
//! error comes where Lua raises it. The one deliberate difference: Lua seeds the
//! randomized pivot from `clock()` and `time()`; here it comes from
//! [`SortAccess::randomize_pivot`] (a fixed value by default), which only matters
//! for which of several equal elements ends where, after an unbalanced partition.

use std::fmt;

/// The error message for a comparator that is not a strict order.
pub const INVALID_ORDER: &str = "invalid order function for sorting";

/// Access to the array being sorted (positions `1..=n`) and to the order.
pub trait SortAccess {
    /// An element (a Lua value; the VM must keep held values alive across calls of
    /// [`less`](SortAccess::less), which may run Lua code). Cloning is Lua's
    /// `lua_pushvalue`: no access to the table.
    type Elem: Clone;
    /// The VM's error (from `__index`/`__newindex`, or a failing comparator).
    type Error;
    /// `t[i]` (`lua_geti`).
    fn get(&mut self, i: usize) -> Result<Self::Elem, Self::Error>;
    /// `t[i] = v` (`lua_seti`).
    fn set(&mut self, i: usize, v: Self::Elem) -> Result<(), Self::Error>;
    /// `a < b` under the sort's order (the comparator, or Lua's `<`).
    fn less(&mut self, a: &Self::Elem, b: &Self::Elem) -> Result<bool, Self::Error>;
    /// A fresh pseudo-random value for pivot choice after an unbalanced partition
    /// (Lua mixes `clock()` and `time()`).
    fn randomize_pivot(&mut self) -> u32 {
        0x9e37_79b9
    }
}

/// Why [`sort`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortError<E> {
    /// The comparator is inconsistent: [`INVALID_ORDER`].
    InvalidOrder,
    /// An access or comparison failed.
    Access(E),
}

impl<E: fmt::Display> fmt::Display for SortError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SortError::InvalidOrder => f.write_str(INVALID_ORDER),
            SortError::Access(e) => write!(f, "{e}"),
        }
    }
}

impl<E> From<E> for SortError<E> {
    fn from(e: E) -> Self {
        SortError::Access(e)
    }
}

/// Ranges shorter than this always pivot on their middle element.
const RANLIMIT: usize = 100;

/// Sort positions `1..=n` in place. (Lua's own checks — `n < INT_MAX`, the
/// comparator being a function — are the caller's.)
pub fn sort<A: SortAccess>(a: &mut A, n: usize) -> Result<(), SortError<A::Error>> {
    if n > 1 {
        aux_sort(a, 1, n, 0)?;
    }
    Ok(())
}

/// Write `x` to `i` then `y` to `j` (Lua's `set2` order).
fn set2<A: SortAccess>(
    a: &mut A,
    i: usize,
    x: A::Elem,
    j: usize,
    y: A::Elem,
) -> Result<(), A::Error> {
    a.set(i, x)?;
    a.set(j, y)
}

fn aux_sort<A: SortAccess>(
    a: &mut A,
    mut lo: usize,
    mut up: usize,
    mut rnd: u32,
) -> Result<(), SortError<A::Error>> {
    while lo < up {
        // order a[lo] and a[up]
        let x_lo = a.get(lo)?;
        let x_up = a.get(up)?;
        if a.less(&x_up, &x_lo)? {
            set2(a, lo, x_up, up, x_lo)?;
        }
        if up - lo == 1 {
            break;
        }
        let mut p = if up - lo < RANLIMIT || rnd == 0 {
            (lo + up) / 2
        } else {
            choose_pivot(lo, up, rnd)
        };
        // order a[lo], a[p], a[up]
        let x_p = a.get(p)?;
        let x_lo = a.get(lo)?;
        if a.less(&x_p, &x_lo)? {
            set2(a, p, x_lo, lo, x_p)?;
        } else {
            drop(x_lo);
            let x_up = a.get(up)?;
            if a.less(&x_up, &x_p)? {
                set2(a, p, x_up, up, x_p)?;
            }
        }
        if up - lo == 2 {
            break;
        }
        // park the pivot at up - 1
        let pivot = a.get(p)?;
        let pivot_copy = pivot.clone();
        let x_up1 = a.get(up - 1)?;
        set2(a, p, x_up1, up - 1, pivot_copy)?;
        p = partition(a, lo, up, pivot)?;
        let n;
        if p - lo < up - p {
            aux_sort(a, lo, p - 1, rnd)?;
            n = p - lo;
            lo = p + 1;
        } else {
            aux_sort(a, p + 1, up, rnd)?;
            n = up - p;
            up = p - 1;
        }
        if up.wrapping_sub(lo) / 128 > n {
            rnd = a.randomize_pivot();
        }
    }
    Ok(())
}

/// A pivot position in the middle half of `[lo, up]`.
fn choose_pivot(lo: usize, up: usize, rnd: u32) -> usize {
    let r4 = (up - lo) / 4;
    rnd as usize % (r4 * 2) + (lo + r4)
}

/// Partition `[lo, up]` around `pivot` (which sits at `up - 1`); returns its final
/// position.
fn partition<A: SortAccess>(
    a: &mut A,
    lo: usize,
    up: usize,
    pivot: A::Elem,
) -> Result<usize, SortError<A::Error>> {
    let mut i = lo;
    let mut j = up - 1;
    loop {
        // advance i while a[i] < P
        let x_i = loop {
            i += 1;
            let x = a.get(i)?;
            if !a.less(&x, &pivot)? {
                break x;
            }
            if i == up - 1 {
                return Err(SortError::InvalidOrder);
            }
        };
        // retreat j while P < a[j]
        let x_j = loop {
            j -= 1;
            let x = a.get(j)?;
            if !a.less(&pivot, &x)? {
                break x;
            }
            if j < i {
                return Err(SortError::InvalidOrder);
            }
        };
        if j < i {
            drop(x_j);
            set2(a, up - 1, x_i, i, pivot)?;
            return Ok(i);
        }
        set2(a, i, x_j, j, x_i)?;
    }
}

#[cfg(test)]
mod tests {
    //! Expected orders, comparison traces and error states are `lua5.4` 5.4.4's.
    use super::*;

    /// A Lua array in a `Vec` (index 0 unused), sorted with a comparator closure.
    struct VecSort<'c, T> {
        v: Vec<T>,
        less: &'c mut dyn FnMut(&T, &T) -> bool,
        randomized: u32,
    }

    impl<T: Clone> SortAccess for VecSort<'_, T> {
        type Elem = T;
        type Error = String;
        fn get(&mut self, i: usize) -> Result<T, String> {
            self.v
                .get(i)
                .cloned()
                .ok_or_else(|| format!("index {i} out of range"))
        }
        fn set(&mut self, i: usize, x: T) -> Result<(), String> {
            *self
                .v
                .get_mut(i)
                .ok_or_else(|| format!("index {i} out of range"))? = x;
            Ok(())
        }
        fn less(&mut self, a: &T, b: &T) -> Result<bool, String> {
            Ok((self.less)(a, b))
        }
        fn randomize_pivot(&mut self) -> u32 {
            self.randomized += 1;
            self.randomized.wrapping_mul(2654435761)
        }
    }

    /// The sorted array and the sort's result.
    type Sorted<T> = (Vec<T>, Result<(), SortError<String>>);

    fn lua_sort<T: Clone + Default>(
        items: &[T],
        less: &mut dyn FnMut(&T, &T) -> bool,
    ) -> Sorted<T> {
        lua_sort_counting(items, less).0
    }

    /// Also returns how often the pivot was randomized.
    fn lua_sort_counting<T: Clone + Default>(
        items: &[T],
        less: &mut dyn FnMut(&T, &T) -> bool,
    ) -> (Sorted<T>, u32) {
        let mut v = vec![T::default()];
        v.extend_from_slice(items);
        let mut s = VecSort {
            v,
            less,
            randomized: 0,
        };
        let r = sort(&mut s, items.len());
        ((s.v.split_off(1), r), s.randomized)
    }

    fn join(v: &[i64]) -> String {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `x = (x * 1103515245 + 12345) % 2^31` sequence used by the Lua probes.
    fn lcg(n: usize, seed: i64) -> Vec<i64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = (x * 1103515245 + 12345) % 2147483648;
                x % 1000
            })
            .collect()
    }

    #[test]
    fn comparison_trace_matches_lua() {
        let t = [5, 3, 9, 1, 7, 2, 8, 6, 4, 0, 11, 10];
        let mut log = Vec::new();
        let (out, r) = lua_sort(&t, &mut |a: &i64, b: &i64| {
            log.push(format!("{a}<{b}"));
            a < b
        });
        assert_eq!(r, Ok(()));
        assert_eq!(join(&out), "0 1 2 3 4 5 6 7 8 9 10 11");
        assert_eq!(log.len(), 32);
        assert_eq!(
            log.join(" "),
            "10<5 2<5 3<5 9<5 5<0 1<5 7<5 5<4 11<5 5<6 5<8 5<11 5<4 4<2 0<2 3<2 2<1 3<2 2<1 4<3 1<0 \
             10<8 7<8 6<8 11<8 8<9 8<11 8<6 6<7 10<9 11<9 10<11"
        );
    }

    #[test]
    fn ties_land_where_lua_puts_them() {
        let recs: Vec<(i64, i64)> = (1..=40).map(|i| ((i * 7) % 5, i)).collect();
        let (out, r) = lua_sort(&recs, &mut |a: &(i64, i64), b: &(i64, i64)| a.0 < b.0);
        assert_eq!(r, Ok(()));
        let ids: Vec<i64> = out.iter().map(|r| r.1).collect();
        assert_eq!(
            join(&ids),
            "40 25 15 30 35 10 20 5 8 23 28 18 13 3 33 38 31 26 36 21 1 16 11 6 29 39 14 24 4 9 19 34 37 2 12 27 32 7 17 22"
        );
        let recs: Vec<(i64, i64)> = (1..=300).map(|i| ((i * 37) % 11, i)).collect();
        let (out, r) = lua_sort(&recs, &mut |a: &(i64, i64), b: &(i64, i64)| a.0 < b.0);
        assert_eq!(r, Ok(()));
        let ids: Vec<i64> = out.iter().map(|r| r.1).collect();
        let want = include_str!("testdata/sort_ties_300.txt");
        assert_eq!(join(&ids), want.trim_end());
    }

    #[test]
    fn invalid_order_functions() {
        let (out, r) = lua_sort(&[5, 3, 1, 4, 2, 3, 3, 1], &mut |a: &i64, b: &i64| a <= b);
        assert_eq!(r, Err(SortError::InvalidOrder));
        assert_eq!(join(&out), "1 3 1 3 2 3 4 5");
        let v: Vec<i64> = (1..=20).map(|i| (i * 7) % 11).collect();
        let (out, r) = lua_sort(&v, &mut |a: &i64, b: &i64| a <= b);
        assert_eq!(r, Err(SortError::InvalidOrder));
        assert_eq!(join(&out), "4 3 5 6 2 2 5 1 6 1 0 7 3 7 8 9 10 10 8 9");
        let (out, r) = lua_sort(&[3, 1, 2, 5, 4, 7, 6, 9, 8], &mut |_: &i64, _: &i64| true);
        assert_eq!(r, Err(SortError::InvalidOrder));
        assert_eq!(join(&out), "4 1 2 5 9 7 6 8 3");
        let (out, r) = lua_sort(&lcg(50, 7), &mut |_: &i64, _: &i64| true);
        assert_eq!(
            r.unwrap_err().to_string(),
            "invalid order function for sorting"
        );
        assert_eq!(
            join(&out),
            "660 333 938 571 640 521 262 87 796 717 450 227 880 465 646 327 700 205 906 227 112 81 54 767 836 \
             453 906 467 720 489 726 319 596 853 538 259 768 569 86 671 684 133 714 675 832 249 438 831 501 116"
        );
        let mut c = 0;
        let (out, r) = lua_sort(&lcg(30, 3), &mut |a: &i64, b: &i64| {
            c += 1;
            (a + b + c) % 3 == 0
        });
        assert_eq!(r, Err(SortError::InvalidOrder));
        assert_eq!(
            join(&out),
            "74 439 278 495 980 936 66 869 636 879 238 454 865 389 928 107 941 603 623 161 702 819 290 828 989 \
             129 72 569 204 432"
        );
    }

    #[test]
    fn conformance_program() {
        // /work/shared/conformance/public/table_sort.lua
        let (out, _) = lua_sort(&[5, 2, 8, 1, 9, 3, 7, 4, 6, 0], &mut |a: &i64, b: &i64| {
            a < b
        });
        assert_eq!(join(&out), "0 1 2 3 4 5 6 7 8 9");
        let (out, _) = lua_sort(&out, &mut |a: &i64, b: &i64| a > b);
        assert_eq!(join(&out), "9 8 7 6 5 4 3 2 1 0");
        let s = ["banana", "apple", "Cherry", "date", "apple2", "Apple"];
        let (out, _) = lua_sort(&s, &mut |a: &&str, b: &&str| a < b);
        assert_eq!(out.join(" "), "Apple Cherry apple apple2 banana date");
        let (out, _) = lua_sort(&out, &mut |a: &&str, b: &&str| {
            a.len() < b.len() || (a.len() == b.len() && a < b)
        });
        assert_eq!(out.join(" "), "date Apple apple Cherry apple2 banana");
        let mut x: i64 = 12345;
        let big: Vec<i64> = (0..500)
            .map(|_| {
                x = (x * 1103515245 + 12345) % 2147483648;
                x % 1000
            })
            .collect();
        let (out, r) = lua_sort(&big, &mut |a: &i64, b: &i64| a < b);
        assert_eq!(r, Ok(()));
        assert!(out.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!((out[0], out[249], out[499]), (0, 471, 999));
        let (one, r) = lua_sort(&[42i64], &mut |a: &i64, b: &i64| a < b);
        assert_eq!((join(&one), r), ("42".to_string(), Ok(())));
        let (none, r) = lua_sort(&[] as &[i64], &mut |a: &i64, b: &i64| a < b);
        assert_eq!((none.len(), r), (0, Ok(())));
    }

    /// `testdata/sort_cases.txt` (from `testdata/gen_sort_cases.lua`): random arrays
    /// with many ties, valid and invalid order functions.
    #[test]
    fn sort_cases_file() {
        let data = include_str!("testdata/sort_cases.txt");
        let mut errors = 0;
        for line in data.lines() {
            let p: Vec<&str> = line.split('|').collect();
            let keys: Vec<(i64, i64)> = p[1]
                .split(',')
                .filter(|k| !k.is_empty())
                .enumerate()
                .map(|(i, k)| (k.parse().unwrap(), i as i64 + 1))
                .collect();
            let mode = p[0];
            let (out, r) = lua_sort(&keys, &mut |a: &(i64, i64), b: &(i64, i64)| match mode {
                "1" => a.0 < b.0,
                "2" => a.0 > b.0,
                _ => a.0 <= b.0,
            });
            let ids: Vec<i64> = out.iter().map(|r| r.1).collect();
            let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
            assert_eq!(
                (r.is_ok().to_string(), ids.join(",")),
                (p[2].to_string(), p[3].to_string()),
                "{line}"
            );
            errors += r.is_err() as usize;
        }
        assert!(errors > 10);
    }

    #[test]
    fn sorts_adversarial_inputs() {
        let inputs: Vec<Vec<i64>> = vec![
            (0..1000).collect(),
            (0..1000).rev().collect(),
            vec![7; 777],
            (0..1000)
                .map(|i| if i < 500 { i } else { 1000 - i })
                .collect(), // organ pipe
            (0..2000).map(|i| (i * i) % 17).collect(),
            lcg(3000, 99),
            (0..1024).map(|i| i ^ 0x155).collect(),
        ];
        let mut randomized = 0;
        for v in inputs {
            let ((out, r), k) = lua_sort_counting(&v, &mut |a: &i64, b: &i64| a < b);
            randomized += k;
            assert_eq!(r, Ok(()));
            let mut want = v.clone();
            want.sort();
            assert_eq!(out, want);
        }
        assert!(randomized > 0, "no input exercised the randomized pivot");
    }

    #[test]
    fn access_errors_propagate() {
        let mut s = VecSort {
            v: vec![0, 3, 1, 2],
            less: &mut |a: &i64, b: &i64| a < b,
            randomized: 0,
        };
        assert_eq!(
            sort(&mut s, 5),
            Err(SortError::Access("index 5 out of range".to_string()))
        );
    }
}
