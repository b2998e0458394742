//! Standard normal `f32` variates from one 32-bit draw each: Marsaglia & Tsang's ziggurat
//! ("The Ziggurat Method for Generating Random Variables", J. Stat. Soft. 5(8), 2000) with
//! 256 layers, the layer index and sign taken from bits separate from the magnitude
//! (avoiding the correlation Doornik 2005 found in the original).

use std::sync::OnceLock;

use rand::Rng;

const LAYERS: usize = 256;
/// Right edge of the base layer.
const R: f64 = 3.654_152_885_361_009;
/// Area of every layer (the base layer's includes the tail beyond `R`).
const V: f64 = 0.004_928_673_233_99;
/// Scale of the 23-bit magnitude.
const MAGNITUDE: f64 = (1u32 << 23) as f64;

struct Tables {
    /// Magnitudes below `k[i]` fall inside the curve: accept at once.
    k: [u32; LAYERS],
    /// `x[i] / 2^23`: converts a magnitude to a variate in layer `i`.
    w: [f32; LAYERS],
    /// The density `exp(-x[i]^2 / 2)` at each layer's right edge.
    f: [f32; LAYERS],
}

/// `exp` and `ln` come from the pure-Rust `libm`, not the platform's math library, so the
/// tables and every draw are the same bits on every platform.
fn density(x: f64) -> f64 {
    libm::exp(-0.5 * x * x)
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut k = [0u32; LAYERS];
        let mut w = [0f32; LAYERS];
        let mut f = [0f32; LAYERS];
        let q = V / density(R);
        k[0] = (R / q * MAGNITUDE) as u32;
        w[0] = (q / MAGNITUDE) as f32;
        w[LAYERS - 1] = (R / MAGNITUDE) as f32;
        f[0] = 1.0;
        f[LAYERS - 1] = density(R) as f32;
        let (mut edge, mut previous) = (R, R);
        for i in (1..LAYERS - 1).rev() {
            edge = (-2.0 * libm::log(V / edge + density(edge))).sqrt();
            k[i + 1] = (edge / previous * MAGNITUDE) as u32;
            previous = edge;
            f[i] = density(edge) as f32;
            w[i] = (edge / MAGNITUDE) as f32;
        }
        Tables { k, w, f }
    })
}

/// A uniform variate in (0, 1], safe to take the logarithm of.
fn open_unit<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    ((rng.next_u32() >> 8) + 1) as f32 * (1.0 / (1u32 << 24) as f32)
}

pub(crate) fn standard_normal_f32<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    let t = tables();
    loop {
        let bits = rng.next_u32();
        let layer = (bits & 0xff) as usize;
        let negative = bits & 0x100 != 0;
        let magnitude = bits >> 9;
        let x = magnitude as f32 * t.w[layer];
        let signed = |v: f32| if negative { -v } else { v };
        if magnitude < t.k[layer] {
            return signed(x);
        }
        if layer == 0 {
            // The tail beyond R, by Marsaglia's exponential rejection.
            loop {
                let xx = -libm::logf(open_unit(rng)) / R as f32;
                let yy = -libm::logf(open_unit(rng));
                if yy + yy > xx * xx {
                    return signed(R as f32 + xx);
                }
            }
        }
        let y = t.f[layer] + open_unit(rng) * (t.f[layer - 1] - t.f[layer]);
        if y < libm::expf(-0.5 * x * x) {
            return signed(x);
        }
    }
}
