//! The statistics the detectors and `compare` share, in one place so each is written,
//! documented and tested once.
//!
//! * Location: [`median`] (and [`median_with`], reusing a scratch buffer), [`mean`],
//!   nearest-rank [`percentile_sorted`], the coefficient of variation [`cv`].
//! * Series: the 3-point median filter [`median3`] and the level-shift split
//!   [`best_split`] (ShaperProbe, Kanuparthy & Dovrolis, IMC 2011), read by
//!   `detect::shaper` and `detect::rtp_quality`.
//! * Tests: the standard normal upper tail [`normal_sf`], the one-sided Mann–Whitney rank
//!   test [`mann_whitney_greater`] (`detect::shaper`, `detect::rtp_quality`), and the
//!   two-sample Kolmogorov–Smirnov test in [`ks`] (`compare`; kept rather than a library's
//!   because it gives exact p-values for m·n up to 25 M cells, as SciPy does).
//!
//! Every function is total: empty or non-finite input gives `None`, `1.0` (no evidence) or
//! `f64::INFINITY` as documented, never a panic.

pub mod ks;

/// Median of a slice's finite values (the mean of the two middle ones for an even count);
/// `None` when there are none. Selects on a copy in O(n) instead of sorting it: under
/// `total_cmp` equal values are bit-identical, so the result is exactly the sorted one's.
pub fn median(v: &[f64]) -> Option<f64> {
    median_with(v, &mut Vec::new())
}

/// [`median`] using `x` as its scratch copy (callers computing many medians reuse it).
pub fn median_with(v: &[f64], x: &mut Vec<f64>) -> Option<f64> {
    x.clear();
    x.extend(v.iter().copied().filter(|x| x.is_finite()));
    if x.is_empty() {
        return None;
    }
    let n = x.len();
    let (below, hi, _) = x.select_nth_unstable_by(n / 2, f64::total_cmp);
    let hi = *hi;
    if n % 2 == 1 {
        Some(hi)
    } else {
        // The largest value below the upper middle is the lower middle.
        let lo = below.iter().copied().max_by(f64::total_cmp)?;
        Some((lo + hi) / 2.0)
    }
}

/// Nearest-rank percentile (0..=100) of a sorted slice: the element at
/// `round(pct / 100 × (n − 1))`; `None` when empty.
pub fn percentile_sorted(sorted: &[f64], pct: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((pct / 100.0) * (sorted.len() as f64 - 1.0))
        .round()
        .max(0.0) as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

/// Arithmetic mean; 0 for an empty slice.
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Coefficient of variation (population standard deviation / mean); `f64::INFINITY` when
/// the slice is empty or its mean is not positive (a series that is not "flat" at all).
pub fn cv(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::INFINITY;
    }
    let m = x.iter().sum::<f64>() / x.len() as f64;
    if m <= 0.0 {
        return f64::INFINITY;
    }
    let var = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64;
    var.sqrt() / m
}

/// 3-point median filter (edges kept): removes single-bin spikes (ShaperProbe's filter).
pub fn median3(x: &[f64]) -> Vec<f64> {
    let mut out = x.to_vec();
    for (i, w) in x.windows(3).enumerate() {
        let &[a, b, c] = w else { continue };
        let mut v = [a, b, c];
        v.sort_by(f64::total_cmp);
        if let Some(o) = out.get_mut(i + 1) {
            *o = v.get(1).copied().unwrap_or(b);
        }
    }
    out
}

/// The split `k` in `2..=last` that maximises median(`x[..k]`) / median(`x[k..]`), with that
/// ratio; splits whose after-median is not positive are skipped. Ties go to the later split:
/// the transition bin belongs to the burst.
///
/// O(n log n) (issue 12): the medians of every prefix and every suffix come from two
/// running-median sweeps ([`RunningMedian`]) instead of two selections per split (which made
/// a 20,000-bin series cost minutes). The medians are the same values [`median`] selects
/// (non-finite values are skipped in both), so the split and ratio are bit-identical.
pub fn best_split(x: &[f64], last: usize) -> Option<(usize, f64)> {
    let n = x.len();
    let last = last.min(n.saturating_sub(1));
    if last < 2 {
        return None;
    }
    // prefix[k] = median(x[..k]), suffix[k] = median(x[k..]).
    let mut prefix = vec![None; n + 1];
    let mut rm = RunningMedian::default();
    for (k, &v) in x.iter().enumerate() {
        rm.push(v);
        if let Some(p) = prefix.get_mut(k + 1) {
            *p = rm.median();
        }
    }
    let mut suffix = vec![None; n + 1];
    let mut rm = RunningMedian::default();
    for (k, &v) in x.iter().enumerate().rev() {
        rm.push(v);
        if let Some(p) = suffix.get_mut(k) {
            *p = rm.median();
        }
    }
    let mut best: Option<(usize, f64)> = None;
    for k in 2..=last {
        let (Some(Some(b)), Some(Some(a))) = (prefix.get(k), suffix.get(k)) else {
            continue;
        };
        if *a > 0.0 {
            let r = b / a;
            if best.is_none_or(|(_, br)| r >= br) {
                best = Some((k, r));
            }
        }
    }
    best
}

/// A finite `f64` ordered by `total_cmp`, for the heaps of [`RunningMedian`].
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ord64(f64);
impl Eq for Ord64 {}
impl PartialOrd for Ord64 {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ord64 {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// The median of a growing multiset in O(log n) per value: a max-heap of the lower half and
/// a min-heap of the upper half, the lower holding the extra value of an odd count. Gives
/// exactly [`median`]'s value (the middle one, or the mean of the two middle ones).
#[derive(Clone, Debug, Default)]
pub struct RunningMedian {
    lo: std::collections::BinaryHeap<Ord64>,
    hi: std::collections::BinaryHeap<std::cmp::Reverse<Ord64>>,
}

impl RunningMedian {
    /// Adds a value (non-finite values are ignored, as [`median`] ignores them).
    pub fn push(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        match self.lo.peek() {
            Some(top) if v > top.0 => self.hi.push(std::cmp::Reverse(Ord64(v))),
            _ => self.lo.push(Ord64(v)),
        }
        if self.lo.len() > self.hi.len() + 1 {
            if let Some(t) = self.lo.pop() {
                self.hi.push(std::cmp::Reverse(t));
            }
        } else if self.hi.len() > self.lo.len() {
            if let Some(std::cmp::Reverse(t)) = self.hi.pop() {
                self.lo.push(t);
            }
        }
    }

    /// The median so far; `None` before the first finite value.
    pub fn median(&self) -> Option<f64> {
        let lo = self.lo.peek()?.0;
        if self.lo.len() > self.hi.len() {
            Some(lo)
        } else {
            let hi = self.hi.peek()?.0 .0;
            Some((lo + hi) / 2.0)
        }
    }
}

/// Standard normal upper tail P(Z > z) = erfc(z / √2) / 2 (libm's erfc, the FreeBSD msun
/// algorithm: within 1e-10 relative of Python's `math.erfc` at the values tested below; NaN in,
/// NaN out). From the `libm` crate rather than a platform library so that the bits, and so
/// the report's bytes, are the same natively and in wasm32.
pub fn normal_sf(z: f64) -> f64 {
    libm::erfc(z / std::f64::consts::SQRT_2) / 2.0
}

/// `x` rounded to `digits` significant decimal digits, as the f64 nearest that decimal
/// (so it prints as the short decimal: 0.00123, not 0.0012300000000000002). Goes through
/// Rust's exact float formatting and parsing, which are the same on every target, instead
/// of `log10`/`powf`, whose last bit differs between platform math libraries.
pub fn round_sig(x: f64, digits: usize) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let s = format!("{:.*e}", digits.saturating_sub(1), x);
    s.parse().unwrap_or(x)
}

/// One-sided Mann–Whitney U test that `a` is stochastically larger than `b` (normal
/// approximation with tie correction and continuity correction); returns p, 1 when either
/// sample is empty or all values are tied.
pub fn mann_whitney_greater(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let (mut r1, mut ties) = (0.0f64, 0.0f64);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all.get(j + 1).map(|v| v.0) == all.get(i).map(|v| v.0) {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        r1 += rank * all.get(i..=j).unwrap_or(&[]).iter().filter(|v| v.1).count() as f64;
        i = j + 1;
    }
    let u = r1 - n1 * (n1 + 1.0) / 2.0;
    let nn = n1 + n2;
    let var = n1 * n2 / 12.0 * ((nn + 1.0) - ties / (nn * (nn - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    let z = (u - n1 * n2 / 2.0 - 0.5) / var.sqrt();
    normal_sf(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Within `rel` of `b`, relative.
    fn near(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn median_odd_even_empty_and_non_finite() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, f64::INFINITY]), None);
        assert_eq!(median(&[f64::NAN, 5.0, 1.0, 3.0]), Some(3.0));
        let mut scratch = vec![99.0; 10];
        assert_eq!(median_with(&[1.0, 2.0], &mut scratch), Some(1.5));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile_sorted(&v, 0.0), Some(1.0));
        assert_eq!(percentile_sorted(&v, 10.0), Some(1.0)); // rank round(0.4) = 0
        assert_eq!(percentile_sorted(&v, 50.0), Some(3.0));
        assert_eq!(percentile_sorted(&v, 90.0), Some(5.0)); // rank round(3.6) = 4
        assert_eq!(percentile_sorted(&v, 100.0), Some(5.0));
        assert_eq!(percentile_sorted(&v, 250.0), Some(5.0));
        assert_eq!(percentile_sorted(&[], 50.0), None);
    }

    #[test]
    fn mean_and_cv() {
        assert_eq!(mean(&[]), 0.0);
        assert_eq!(mean(&[1.0, 2.0, 6.0]), 3.0);
        // Population sd of [2, 4, 4, 4, 5, 5, 7, 9] is 2, mean 5.
        assert!(close(
            cv(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]),
            0.4,
            1e-12
        ));
        assert_eq!(cv(&[]), f64::INFINITY);
        assert_eq!(cv(&[0.0, 0.0]), f64::INFINITY);
    }

    #[test]
    fn median_filter_and_level_shift_split() {
        assert_eq!(median3(&[1.0, 9.0, 1.0, 1.0]), vec![1.0, 1.0, 1.0, 1.0]);
        assert_eq!(median3(&[5.0]), vec![5.0]);
        // Four bins at 10 then six at 2: splits 4, 5 and 6 all give medians 10 / 2; the
        // tie goes to the latest split allowed.
        let x = [10.0, 10.0, 10.0, 10.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0];
        assert_eq!(best_split(&x, x.len() - 4), Some((6, 5.0)));
        // With a clear burst of three bins at 10 and seven at 2 (ratio 5 at 3 only).
        let y = [10.0, 10.0, 10.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0];
        assert_eq!(best_split(&y, 3), Some((3, 5.0)));
        assert_eq!(best_split(&[0.0; 8], 4), None);
        assert_eq!(best_split(&[1.0], 4), None);
    }

    /// The O(n log n) search gives the quadratic one's answer (issue 12).
    #[test]
    fn best_split_matches_the_quadratic_search() {
        fn slow(x: &[f64], last: usize) -> Option<(usize, f64)> {
            let mut best: Option<(usize, f64)> = None;
            for k in 2..=last {
                let (Some(b), Some(a)) = (median(&x[..k]), median(&x[k..])) else {
                    continue;
                };
                if a > 0.0 && best.is_none_or(|(_, br)| b / a >= br) {
                    best = Some((k, b / a));
                }
            }
            best
        }
        let mut seed = 12345u64;
        for n in [3usize, 4, 7, 10, 33, 100, 257] {
            let x: Vec<f64> = (0..n)
                .map(|i| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let noise = (seed >> 40) as f64 / 16_777_216.0;
                    let level = if i < n / 3 { 10.0 } else { 4.0 };
                    // Ties on purpose: rounded values.
                    (level + 3.0 * noise).round()
                })
                .collect();
            for last in [n.saturating_sub(4), n.saturating_sub(1)] {
                assert_eq!(best_split(&x, last), slow(&x, last), "n {n} last {last}");
            }
        }
        let mut rm = RunningMedian::default();
        assert_eq!(rm.median(), None);
        for (v, m) in [
            (5.0, 5.0),
            (1.0, 3.0),
            (f64::NAN, 3.0),
            (9.0, 5.0),
            (7.0, 6.0),
        ] {
            rm.push(v);
            assert_eq!(rm.median(), Some(m));
        }
    }

    #[test]
    fn round_sig_gives_the_short_decimal() {
        // The f64 nearest the rounded decimal, so it prints short on every target.
        assert_eq!(
            round_sig(3.2345e-19, 3).to_string(),
            "0.000000000000000000323"
        );
        assert_eq!(round_sig(0.012_345_6, 3), 0.0123);
        assert_eq!(round_sig(0.999_96, 3), 1.0);
        assert_eq!(round_sig(123_456.0, 2), 120_000.0);
        assert_eq!(round_sig(0.0, 3), 0.0);
        assert!(round_sig(f64::NAN, 3).is_nan());
    }

    #[test]
    fn normal_tail_known_values() {
        // Reference values: Python's `0.5 * math.erfc(z / math.sqrt(2))`.
        assert_eq!(normal_sf(0.0), 0.5);
        assert!(near(normal_sf(1.959_964), 0.024_999_999_096_442_41, 1e-10));
        assert!(near(normal_sf(-1.0), 0.841_344_746_068_542_9, 1e-10));
        assert!(near(normal_sf(3.0), 0.001_349_898_031_630_095_7, 1e-10));
        assert!(near(normal_sf(-8.0), 0.999_999_999_999_999_3, 1e-10));
        assert!(normal_sf(40.0) >= 0.0 && normal_sf(40.0) < 1e-300);
        assert!(normal_sf(f64::NAN).is_nan());
    }

    #[test]
    fn mann_whitney_known_values() {
        let hi = [10.0, 11.0, 12.0, 13.0];
        let lo = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert!(mann_whitney_greater(&hi, &lo) < 0.01);
        assert!(mann_whitney_greater(&lo, &hi) > 0.99);
        // U = 24 (complete separation), n1 = 4, n2 = 6: z = (24 − 12 − 0.5) / √(24·11/12)
        // = 11.5 / √22 ≈ 2.4518, p ≈ 0.0071 (SciPy `mannwhitneyu(..., alternative="greater",
        // method="asymptotic")` gives 0.00711; 0.5 · erfc(z / √2) = 0.0071070194345).
        assert!(near(
            mann_whitney_greater(&hi, &lo),
            0.007_107_019_434_541,
            1e-10
        ));
        assert_eq!(mann_whitney_greater(&[], &lo), 1.0);
        assert_eq!(mann_whitney_greater(&[1.0, 1.0], &[1.0, 1.0]), 1.0);
    }

    #[test]
    fn ks_is_reachable_from_stats() {
        let r = ks::ks_2samp(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]);
        assert!(r.is_some_and(|r| r.d == 1.0));
    }
}
