//! The two-sample Kolmogorov–Smirnov test, two-sided, as SciPy's `ks_2samp` computes it.
//!
//! * The statistic `D` is the largest gap between the two empirical CDFs, evaluated after
//!   all tied values are consumed. It is computed as an integer on the lattice
//!   (`max |i·n − j·m|`, `D` = that / (m·n)), so the exact p-value has no rounding issue.
//! * **Exact p** (`method='exact'`): the probability that a uniformly random lattice path
//!   from (0,0) to (m,n) — every interleaving of the two samples being equally likely under
//!   the null hypothesis — touches a point with `|i·n − j·m| ≥ m·n·D`. Computed by dynamic
//!   programming over the path's first passage, in probabilities (no binomial overflow),
//!   O(m·n) time and O(n) memory; used when m·n ≤ [`EXACT_MAX_CELLS`].
//! * **Asymptotic p** (`method='asymp'`): SciPy uses the one-sample two-sided KS
//!   distribution with `n = round(m·n/(m+n))` samples, `kstwo.sf(D, n)`; it is computed here
//!   exactly with Marsaglia, Tsang & Wang's matrix method ("Evaluating Kolmogorov's
//!   distribution", J. Stat. Software 8(18), 2003), for n up to [`MTW_MAX_N`], and with
//!   Kolmogorov's limiting series beyond.
//!
//! Test vectors from SciPy are stored in `core/tests-data/ks_vectors.json` (the script
//! beside it says how they were made).

use serde::Serialize;

/// Largest m·n for which the exact p-value is computed (SciPy's default switches to the
/// asymptotic method above 10 000 per sample; 25 M cells take well under a second here).
pub const EXACT_MAX_CELLS: u64 = 25_000_000;
/// Largest effective n for the exact one-sample distribution (the matrix has ≤ 2·n·D + 1 rows).
pub const MTW_MAX_N: u64 = 100_000;

/// Which p-value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Exact,
    Asymp,
}

/// Result of a two-sample KS test.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct KsResult {
    /// The statistic D (0..=1).
    pub d: f64,
    /// Two-sided p-value.
    pub p: f64,
    pub method: Method,
}

/// `max |i·n − j·m|` over the merged ECDF walk of two samples (NaNs ignored).
fn lattice_d(a: &[f64], b: &[f64]) -> (u64, u64, u64) {
    let mut x: Vec<f64> = a.iter().copied().filter(|v| !v.is_nan()).collect();
    let mut y: Vec<f64> = b.iter().copied().filter(|v| !v.is_nan()).collect();
    x.sort_by(f64::total_cmp);
    y.sort_by(f64::total_cmp);
    let (m, n) = (x.len() as u64, y.len() as u64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut best: u64 = 0;
    while i < x.len() || j < y.len() {
        let v = match (x.get(i), y.get(j)) {
            (Some(&p), Some(&q)) => p.min(q),
            (Some(&p), None) => p,
            (None, Some(&q)) => q,
            (None, None) => break,
        };
        while x.get(i).is_some_and(|&p| p <= v) {
            i += 1;
        }
        while y.get(j).is_some_and(|&q| q <= v) {
            j += 1;
        }
        let diff = (i as i128 * n as i128 - j as i128 * m as i128).unsigned_abs() as u64;
        best = best.max(diff);
    }
    (best, m, n)
}

/// Exact two-sided p: probability that a random path touches `|i·n − j·m| ≥ k`.
fn exact_p(m: u64, n: u64, k: u64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    let (m, n) = (m as usize, n as usize);
    let (mi, ni) = (m as i128, n as i128);
    let outside =
        |i: usize, j: usize| (i as i128 * ni - j as i128 * mi).unsigned_abs() >= u128::from(k);
    let mut out = 0.0f64;
    // Row 0: moves right only, from (0,0) with probability 1.
    let mut row = Vec::with_capacity(n + 1);
    let mut from = 1.0f64;
    row.push(from);
    for j in 1..=n {
        let left = (m + n - (j - 1)) as f64;
        let mut v = from * ((n - (j - 1)) as f64 / left);
        if outside(0, j) {
            out += v;
            v = 0.0;
        }
        row.push(v);
        from = v;
    }
    for i in 1..=m {
        // Down move into (i, j) from (i-1, j): probability (m-(i-1)) / (m-(i-1) + n-j);
        // right move from (i, j-1), carried in `prev`.
        let mut new = Vec::with_capacity(n + 1);
        let mut prev = 0.0f64;
        for (j, &up) in row.iter().enumerate() {
            let rem_m = (m - (i - 1)) as f64;
            let mut v = up * (rem_m / (rem_m + (n - j) as f64));
            if j > 0 {
                let rem_n = (n - (j - 1)) as f64;
                v += prev * (rem_n / ((m - i) as f64 + rem_n));
            }
            if outside(i, j) {
                out += v;
                v = 0.0;
            }
            new.push(v);
            prev = v;
        }
        row = new;
    }
    out.clamp(0.0, 1.0)
}

type Mat = Vec<Vec<f64>>;

fn mat_mul(a: &Mat, b: &Mat) -> Mat {
    let m = a.len();
    let mut c = vec![vec![0.0; m]; m];
    for (ci, ai) in c.iter_mut().zip(a) {
        for (&aik, bk) in ai.iter().zip(b) {
            if aik == 0.0 {
                continue;
            }
            for (cij, &bkj) in ci.iter_mut().zip(bk) {
                *cij += aik * bkj;
            }
        }
    }
    c
}

/// `a[i][i]`, 0 outside the matrix.
fn diag(a: &Mat, i: usize) -> f64 {
    a.get(i).and_then(|r| r.get(i)).copied().unwrap_or(0.0)
}

/// `H^n` with a decimal exponent kept aside (Marsaglia, Tsang & Wang's `mPower`).
fn mat_pow(h: &Mat, n: u64) -> (Mat, i32) {
    if n == 1 {
        return (h.clone(), 0);
    }
    let (v, ev) = mat_pow(h, n / 2);
    let b = mat_mul(&v, &v);
    let mut eb = 2 * ev;
    let mut r = if n & 1 == 0 { b } else { mat_mul(h, &b) };
    let mid = r.len() / 2;
    if diag(&r, mid) > 1e140 {
        for row in r.iter_mut() {
            for x in row.iter_mut() {
                *x *= 1e-140;
            }
        }
        eb += 140;
    }
    (r, eb)
}

/// P(D_n < d) for the one-sample two-sided KS statistic (Marsaglia, Tsang & Wang 2003).
pub fn kolmogorov_cdf(n: u64, d: f64) -> f64 {
    if n == 0 || d <= 0.0 {
        return 0.0;
    }
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    let k = nd.floor() as usize + 1;
    let m = 2 * k - 1;
    let h = k as f64 - nd;
    let mut hm: Mat = vec![vec![0.0; m]; m];
    for (i, row) in hm.iter_mut().enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            *x = if i + 1 >= j { 1.0 } else { 0.0 };
        }
    }
    for (i, row) in hm.iter_mut().enumerate() {
        if let Some(x) = row.first_mut() {
            *x -= powu(h, i + 1);
        }
    }
    if let Some(last) = hm.last_mut() {
        for (i, x) in last.iter_mut().enumerate() {
            *x -= powu(h, m - i);
        }
    }
    if 2.0 * h - 1.0 > 0.0 {
        if let Some(x) = hm.last_mut().and_then(|r| r.first_mut()) {
            *x += powu(2.0 * h - 1.0, m);
        }
    }
    for (i, row) in hm.iter_mut().enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            if i + 1 > j {
                for g in 1..=(i + 1 - j) {
                    *x /= g as f64;
                }
            }
        }
    }
    let (q, mut eq) = mat_pow(&hm, n);
    let mut s = diag(&q, k - 1);
    for i in 1..=n {
        s = s * i as f64 / n as f64;
        if s < 1e-140 {
            s *= 1e140;
            eq -= 140;
        }
    }
    (s * libm::pow(10.0, f64::from(eq))).clamp(0.0, 1.0)
}

/// Kolmogorov's limiting survival function Q(λ) = 2 Σ (−1)^(k−1) e^(−2k²λ²).
pub fn kolmogorov_limit_sf(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    let mut s = 0.0;
    for k in 1..=100 {
        let kf = f64::from(k);
        let t = libm::exp(-2.0 * kf * kf * lambda * lambda);
        s += if k % 2 == 1 { t } else { -t };
        if t < 1e-18 {
            break;
        }
    }
    (2.0 * s).clamp(0.0, 1.0)
}

/// The asymptotic two-sided p as SciPy's `method='asymp'`: `kstwo.sf(d, round(m·n/(m+n)))`.
fn asymp_p(m: u64, n: u64, d: f64) -> f64 {
    let en = (m as f64 * n as f64 / (m + n) as f64).round().max(1.0) as u64;
    if d <= 0.0 {
        return 1.0;
    }
    // The matrix has 2⌊n·d⌋+1 rows; beyond 200 rows Kolmogorov's limit law is used (n is
    // then large: its error is O(1/√n), as in SciPy's own large-n approximations).
    if en <= MTW_MAX_N && (en as f64 * d) < 100.0 {
        (1.0 - kolmogorov_cdf(en, d)).clamp(0.0, 1.0)
    } else {
        kolmogorov_limit_sf((en as f64).sqrt() * d)
    }
}

/// Two-sided two-sample KS test with the requested method. `None` if a sample is empty.
pub fn ks_2samp_with(a: &[f64], b: &[f64], method: Method) -> Option<KsResult> {
    let (k, m, n) = lattice_d(a, b);
    if m == 0 || n == 0 {
        return None;
    }
    let d = k as f64 / (m as f64 * n as f64);
    let p = match method {
        Method::Exact => exact_p(m, n, k),
        Method::Asymp => asymp_p(m, n, d),
    };
    Some(KsResult { d, p, method })
}

/// Two-sided two-sample KS test: exact p when m·n ≤ [`EXACT_MAX_CELLS`], else asymptotic.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Option<KsResult> {
    let cells = (a.len() as u64).saturating_mul(b.len() as u64);
    let method = if cells <= EXACT_MAX_CELLS {
        Method::Exact
    } else {
        Method::Asymp
    };
    ks_2samp_with(a, b, method)
}

/// `x` to a non-negative integer power by square-and-multiply, written out so that every target
/// performs the same multiplications in the same order (`f64::powi` is an LLVM intrinsic whose
/// lowering is the compiler's choice).
fn powu(x: f64, n: usize) -> f64 {
    let (mut base, mut n, mut acc) = (x, n, 1.0);
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= 1e-9 + 1e-6 * want.abs()
    }

    #[test]
    fn agrees_with_scipy_vectors() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests-data/ks_vectors.json");
        let text = std::fs::read_to_string(path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let cases = v["cases"].as_array().unwrap();
        assert!(cases.len() >= 8);
        for c in cases {
            let name = c["name"].as_str().unwrap();
            let a: Vec<f64> = c["a"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            let b: Vec<f64> = c["b"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            let ex = ks_2samp_with(&a, &b, Method::Exact).unwrap();
            let asy = ks_2samp_with(&a, &b, Method::Asymp).unwrap();
            let (d, pe, pa) = (
                c["d"].as_f64().unwrap(),
                c["p_exact"].as_f64().unwrap(),
                c["p_asymp"].as_f64().unwrap(),
            );
            assert!(close(ex.d, d), "{name}: D {} vs scipy {d}", ex.d);
            assert!(close(ex.p, pe), "{name}: exact p {} vs scipy {pe}", ex.p);
            assert!(close(asy.p, pa), "{name}: asymp p {} vs scipy {pa}", asy.p);
        }
    }

    #[test]
    fn identical_samples_have_d_zero_p_one() {
        let a = [1.0, 2.0, 3.0];
        let r = ks_2samp(&a, &a).unwrap();
        assert_eq!(r.d, 0.0);
        assert_eq!(r.p, 1.0);
        assert_eq!(r.method, Method::Exact);
        assert!(ks_2samp(&[], &a).is_none());
    }

    #[test]
    fn exact_p_of_complete_separation_is_two_over_binomial() {
        // m = n = 3, all of a below all of b: only 2 of C(6,3) = 20 paths reach D = 1.
        let r = ks_2samp(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(r.d, 1.0);
        assert!((r.p - 0.1).abs() < 1e-12, "{}", r.p);
    }

    #[test]
    fn kolmogorov_distribution_known_values() {
        // Marsaglia, Tsang & Wang's example: K(10, 0.274) = 0.6284796154565043.
        assert!((kolmogorov_cdf(10, 0.274) - 0.628_479_615_456_504_3).abs() < 1e-12);
        // Q(1.36) ≈ 0.0494 (the classic 5 % critical value is λ = 1.358).
        assert!((kolmogorov_limit_sf(1.358) - 0.05).abs() < 1e-3);
    }
}
