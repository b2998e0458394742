//! One sample's input unrolled into the columns a convolution's product reads (im2col),
//! and the product's columns folded back onto the input (col2im), in two ways with the
//! same bits.
//!
//! **By phase planes**, where the geometry allows it. A stride `s` splits each input plane
//! into `s × s` phase planes (the pixels whose row and column leave the same remainders
//! mod `s`), `⌈h / s⌉ × ⌈w / s⌉` each; a stride of 1 leaves the input as its own phase
//! plane. Every kernel tap then reads one phase plane, shifted: output pixel `(oy, ox)`
//! reads phase pixel `(oy + dy, ox + dx)`. Where the phase planes are as wide as the output
//! (a "same" convolution, the usual case), a tap's whole row of columns is one contiguous
//! copy, and its fold one contiguous sum, instead of a run per output row: the values that
//! wrap around a row's ends belong to taps outside the input, which a flag per tap and
//! output pixel turns into zeros as they are copied and folded. A fold adds such a zero to
//! some other pixel's sum, which leaves the sum's bits alone, since a sum that starts at
//! +0 is never -0.
//!
//! **By runs**, in every other geometry: each output row's taps inside the input, one run
//! at a time.
//!
//! Both write only the taps inside the input, so the columns' buffer comes zeroed and
//! keeps zeros where the kernel overhangs the input; both fold each pixel's taps in the
//! order of their rows.

use std::ops::Range;

use super::Conv2d;
use crate::Real;

/// Where a convolution's kernel taps land on one sample, for its unrolls: per kernel row,
/// the output rows whose tap lies inside the input; per kernel column, the output columns.
pub(super) struct Taps {
    conv: Conv2d,
    input: (usize, usize),
    output: (usize, usize),
    /// Per kernel row `i`, the output rows `oy` with `oy * sy + i - py` inside the input.
    rows: Vec<Range<usize>>,
    /// Per kernel column `j`, the output columns `ox` with `ox * sx + j - px` inside it.
    columns: Vec<Range<usize>>,
    /// The phase planes, where they are as wide as the output.
    phases: Option<Phases>,
}

/// The phase planes of a geometry whose planes are as wide as its output.
struct Phases {
    /// Rows and columns of one phase plane.
    size: (usize, usize),
    /// Per kernel row, the phase it reads and its shift.
    rows: Vec<Shift>,
    /// Per kernel column, the same.
    columns: Vec<Shift>,
    /// Per kernel tap `(i, j)`, whether each output pixel's tap lies inside the input.
    inside: Vec<Vec<bool>>,
}

/// Tap `t` of an axis, padded by `pad` and strided by `s`: output line `o` reads input
/// line `o * s + t - pad`, which is line `o + shift` of phase `phase`.
#[derive(Clone, Copy)]
struct Shift {
    phase: usize,
    shift: isize,
}

impl Shift {
    fn new(t: usize, pad: usize, stride: usize) -> Self {
        // Sizes were checked to fit a usize; the kernel and padding fit an isize with them.
        let (t, pad, stride) = (t as isize, pad as isize, stride as isize);
        Self {
            phase: (t - pad).rem_euclid(stride) as usize,
            shift: (t - pad).div_euclid(stride),
        }
    }
}

impl Taps {
    pub(super) fn new(conv: &Conv2d, input: (usize, usize), output: (usize, usize)) -> Self {
        // The outputs `o` whose tap `t` lands inside: o * stride + t - pad in 0..size.
        let inside = |t: usize, size: usize, stride: usize, pad: usize, outputs: usize| {
            let first = pad.saturating_sub(t).div_ceil(stride);
            let end = match (size + pad).checked_sub(t + 1) {
                Some(last) => (last / stride + 1).min(outputs),
                None => 0,
            };
            first..end.max(first)
        };
        let (kh, kw) = conv.kernel;
        let ((sy, sx), (py, px)) = (conv.stride, conv.padding);
        let rows: Vec<_> = (0..kh)
            .map(|i| inside(i, input.0, sy, py, output.0))
            .collect();
        let columns: Vec<_> = (0..kw)
            .map(|j| inside(j, input.1, sx, px, output.1))
            .collect();
        let size = (input.0.div_ceil(sy), input.1.div_ceil(sx));
        let phases = (size.1 == output.1).then(|| Phases {
            size,
            rows: (0..kh).map(|i| Shift::new(i, py, sy)).collect(),
            columns: (0..kw).map(|j| Shift::new(j, px, sx)).collect(),
            inside: rows
                .iter()
                .flat_map(|rows| {
                    columns.iter().map(move |columns| {
                        (0..output.0 * output.1)
                            .map(|k| {
                                rows.contains(&(k / output.1)) && columns.contains(&(k % output.1))
                            })
                            .collect()
                    })
                })
                .collect(),
        });
        Self {
            conv: *conv,
            input,
            output,
            rows,
            columns,
            phases,
        }
    }

    /// A zeroed buffer for one group's columns (`in / groups * kh * kw` by output pixels).
    pub(super) fn columns_buffer<T: Real>(&self) -> Vec<T> {
        vec![T::zero(); self.conv.patch_len() * self.output.0 * self.output.1]
    }

    /// Values of one sample's planes as the unrolls read and fold them: the phase planes
    /// of every channel, or the sample itself.
    pub(super) fn planes_len(&self) -> usize {
        let per_channel = match &self.phases {
            Some(phases) => self.conv.stride.0 * self.conv.stride.1 * phases.size.0 * phases.size.1,
            None => self.input.0 * self.input.1,
        };
        self.conv.in_channels * per_channel
    }

    /// A zeroed buffer of [`planes_len`](Self::planes_len) values.
    pub(super) fn planes_buffer<T: Real>(&self) -> Vec<T> {
        vec![T::zero(); self.planes_len()]
    }

    /// The planes the unrolls read for sample `x`: the sample itself, or its phase planes
    /// split into `planes` (a buffer of [`planes_buffer`](Self::planes_buffer), used only
    /// for this geometry: the values past the input's edge stay zero).
    pub(super) fn planes<'a, T: Real>(&self, x: &'a [T], planes: &'a mut [T]) -> &'a [T] {
        if !self.splits() {
            return x;
        }
        let (w, sx, next) = (self.input.1, self.conv.stride.1, self.phase_plane_len());
        self.each_line(|line, phase| {
            let line = &x[line..line + w];
            if sx == 2 {
                // The common stride by halves, so that the loop vectorizes.
                let (even, odd) = planes[phase..].split_at_mut(next);
                let (even, odd) = (&mut even[..w.div_ceil(2)], &mut odd[..w / 2]);
                for ((pair, e), o) in line.chunks_exact(2).zip(even.iter_mut()).zip(odd) {
                    (*e, *o) = (pair[0], pair[1]);
                }
                if w % 2 == 1 {
                    even[w / 2] = line[w - 1];
                }
                return;
            }
            for b in 0..sx.min(w) {
                let phase = &mut planes[phase + b * next..][..(w - b).div_ceil(sx)];
                gather_run(phase, &line[b..], sx);
            }
        });
        planes
    }

    /// Writes the sum folded into `planes` by [`col2im`](Self::col2im) onto the sample's
    /// input gradient `dx`.
    pub(super) fn unsplit<T: Real>(&self, planes: &[T], dx: &mut [T]) {
        if !self.splits() {
            dx.copy_from_slice(&planes[..dx.len()]);
            return;
        }
        let (w, sx, next) = (self.input.1, self.conv.stride.1, self.phase_plane_len());
        self.each_line(|line, phase| {
            let line = &mut dx[line..line + w];
            if sx == 2 {
                let (even, odd) = (
                    &planes[phase..][..w.div_ceil(2)],
                    &planes[phase + next..][..w / 2],
                );
                for ((pair, &e), &o) in line.chunks_exact_mut(2).zip(even).zip(odd) {
                    (pair[0], pair[1]) = (e, o);
                }
                if w % 2 == 1 {
                    line[w - 1] = even[w / 2];
                }
                return;
            }
            for b in 0..sx.min(w) {
                let phase = &planes[phase + b * next..][..(w - b).div_ceil(sx)];
                for (k, &v) in phase.iter().enumerate() {
                    line[b + k * sx] = v;
                }
            }
        });
    }

    /// Whether the unrolls read phase planes split from the sample rather than the sample
    /// itself (its own phase plane at stride 1).
    fn splits(&self) -> bool {
        self.phases.is_some() && self.conv.stride != (1, 1)
    }

    /// Values of one phase plane.
    fn phase_plane_len(&self) -> usize {
        self.phases.as_ref().map_or(0, |p| p.size.0 * p.size.1)
    }

    /// Calls `at(line, phase)` for every line of the input, with its index in the sample
    /// and the index in the phase planes of the line its first value is on: the line of
    /// column phase `b` starts `b` [phase planes](Self::phase_plane_len) further.
    fn each_line(&self, mut at: impl FnMut(usize, usize)) {
        let Some(phases) = &self.phases else { return };
        let (sy, sx) = self.conv.stride;
        let (h, w) = self.input;
        let pw = phases.size.1;
        for c in 0..self.conv.in_channels {
            for y in 0..h {
                let plane = (c * sy + y % sy) * sx * self.phase_plane_len();
                at((c * h + y) * w, plane + y / sy * pw);
            }
        }
    }

    /// Group `g`'s patches of one sample as columns into `cols` (`patch_len` rows of
    /// output pixels): row `(c, i, j)` of the kernel, column `(oy, ox)` of the output.
    /// `planes` are [`planes`](Self::planes)' for the sample; `cols` comes from
    /// [`columns_buffer`](Self::columns_buffer) and holds only this geometry's unrolls.
    pub(super) fn im2col<T: Real>(&self, planes: &[T], g: usize, cols: &mut [T]) {
        if self.phases.is_some() {
            self.each_row(g, |inside, span, at| {
                let (cols, planes) = (&mut cols[span.clone()], &planes[at..at + span.len()]);
                match inside {
                    None => cols.copy_from_slice(planes),
                    Some(inside) => {
                        for ((c, &p), &inside) in cols.iter_mut().zip(planes).zip(inside) {
                            *c = if inside { p } else { T::zero() };
                        }
                    }
                }
            });
            return;
        }
        let step = self.conv.stride.1;
        self.each_run(g, |row, at, len| {
            let dst = &mut cols[row..row + len];
            if step == 1 {
                copy_run(dst, &planes[at..]);
            } else {
                gather_run(dst, &planes[at..], step);
            }
        });
    }

    /// Adds group `g`'s columns back onto the planes they were read from: the transpose
    /// of [`im2col`](Self::im2col), into `planes` (a zeroed buffer of
    /// [`planes_len`](Self::planes_len) for the sample, for [`unsplit`](Self::unsplit)),
    /// in one fixed order: each pixel's sum over the taps that read it runs in the order
    /// of their rows.
    pub(super) fn col2im<T: Real>(&self, cols: &[T], planes: &mut [T], g: usize) {
        if self.phases.is_some() {
            self.each_row(g, |inside, span, at| {
                let sums = &mut planes[at..at + span.len()];
                match inside {
                    None => {
                        for (sum, &v) in sums.iter_mut().zip(&cols[span]) {
                            *sum = *sum + v;
                        }
                    }
                    Some(inside) => {
                        for ((sum, &v), &inside) in sums.iter_mut().zip(&cols[span]).zip(inside) {
                            *sum = *sum + if inside { v } else { T::zero() };
                        }
                    }
                }
            });
            return;
        }
        let step = self.conv.stride.1;
        self.each_run(g, |row, at, len| {
            let src = &cols[row..row + len];
            if step == 1 {
                for (d, &v) in planes[at..at + len].iter_mut().zip(src) {
                    *d = *d + v;
                }
            } else {
                let planes = &mut planes[at..=at + (len - 1) * step];
                for (k, &v) in src.iter().enumerate() {
                    planes[k * step] = planes[k * step] + v;
                }
            }
        });
    }

    /// Calls `row(inside, span, at)` for every kernel tap `(c, i, j)` of group `g` that
    /// lands inside the input for some output pixel, in the order of the columns' rows:
    /// `span` runs in the columns from the first such pixel to the last, the same span of
    /// the phase planes starts at `at`, and `inside` says which of the span's pixels the
    /// tap reads inside the input (`None`: all of them). Only for geometries with phase
    /// planes.
    fn each_row(&self, g: usize, mut row: impl FnMut(Option<&[bool]>, Range<usize>, usize)) {
        let Some(phases) = &self.phases else { return };
        let (kh, kw) = self.conv.kernel;
        let (sy, sx) = self.conv.stride;
        let (ph, pw) = phases.size;
        let width = self.output.0 * self.output.1;
        let channels = self.conv.in_channels / self.conv.groups;
        for c in 0..channels {
            for (i, (rows, dy)) in self.rows.iter().zip(&phases.rows).enumerate() {
                for (j, (columns, dx)) in self.columns.iter().zip(&phases.columns).enumerate() {
                    if rows.is_empty() || columns.is_empty() {
                        continue;
                    }
                    let plane = (((g * channels + c) * sy + dy.phase) * sx + dx.phase) * ph * pw;
                    let start = ((c * kh + i) * kw + j) * width;
                    let span = rows.start * pw + columns.start..(rows.end - 1) * pw + columns.end;
                    let inside =
                        (columns.len() < pw).then(|| &phases.inside[i * kw + j][span.clone()]);
                    // The first pixel's tap lies inside, so its index is not negative.
                    let at =
                        plane as isize + dy.shift * pw as isize + dx.shift + span.start as isize;
                    row(inside, start + span.start..start + span.end, at as usize);
                }
            }
        }
    }

    /// Calls `run(index, at, len)` for every run of kernel taps that land inside the
    /// input along one output row: the run's first value in the columns at `index`, its
    /// `len` input values from index `at` of the sample's row, `stride.1` apart. Rows,
    /// then output rows: one fixed order.
    fn each_run(&self, g: usize, mut run: impl FnMut(usize, usize, usize)) {
        let (kh, kw) = self.conv.kernel;
        let ((sy, sx), (py, px)) = (self.conv.stride, self.conv.padding);
        let (plane, width) = (self.input.0 * self.input.1, self.output.0 * self.output.1);
        let channels = self.conv.in_channels / self.conv.groups;
        for c in 0..channels {
            let plane = (g * channels + c) * plane;
            for (i, rows) in self.rows.iter().enumerate() {
                for (j, columns) in self.columns.iter().enumerate() {
                    let row = ((c * kh + i) * kw + j) * width;
                    let len = columns.len();
                    if len == 0 {
                        continue;
                    }
                    for oy in rows.clone() {
                        let y = oy * sy + i - py;
                        let at = plane + y * self.input.1 + columns.start * sx + j - px;
                        run(row + oy * self.output.1 + columns.start, at, len);
                    }
                }
            }
        }
    }
}

/// Copies a run of values. Runs are an output row long, often under 16 values, where a
/// call to memcpy costs more than the copy (perf: a fifth of a CNN step in unrolling and
/// memmove before): short runs are copied as two overlapping fixed-size blocks instead,
/// as memcpy's own small path does.
#[inline]
fn copy_run<T: Copy>(dst: &mut [T], src: &[T]) {
    let len = dst.len();
    let src = &src[..len];
    match len {
        0 => {}
        1..4 => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
        4..8 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[len - 4..].copy_from_slice(&src[len - 4..]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[len - 8..].copy_from_slice(&src[len - 8..]);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// Gathers every `step`-th value of `src` into `dst`.
#[inline]
fn gather_run<T: Copy>(dst: &mut [T], src: &[T], step: usize) {
    let Some(last) = dst.len().checked_sub(1) else {
        return;
    };
    if step == 2 {
        // Pairs, so that the loop has no bounds checks and vectorizes.
        for (d, pair) in dst[..last].iter_mut().zip(src[..2 * last].chunks_exact(2)) {
            *d = pair[0];
        }
        dst[last] = src[2 * last];
        return;
    }
    let src = &src[..=last * step];
    for (k, d) in dst.iter_mut().enumerate() {
        *d = src[k * step];
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// Values of many magnitudes, so that a sum's bits depend on its order.
    fn values(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
        (0..len)
            .map(|_| rng.random_range(-1.0_f32..1.0) * 2f32.powi(rng.random_range(-12..12)))
            .collect()
    }

    /// Same-padded geometries of strides 1 to 3, odd and even sizes, groups: the ones
    /// with phase planes.
    fn geometries() -> Vec<(Conv2d, (usize, usize))> {
        let mut all = Vec::new();
        for (kernel, padding) in [((3, 3), (1, 1)), ((1, 1), (0, 0)), ((5, 3), (2, 1))] {
            for stride in [(1, 1), (2, 2), (3, 3), (2, 1), (1, 3)] {
                for (input, groups) in [((7, 7), 1), ((8, 6), 2), ((5, 9), 1), ((1, 4), 2)] {
                    let conv = Conv2d::new(2 * groups, 3 * groups, kernel)
                        .with_stride(stride)
                        .with_padding(padding)
                        .with_groups(groups);
                    all.push((conv, input));
                }
            }
        }
        all
    }

    #[test]
    fn phase_planes_unroll_and_fold_with_the_bits_of_runs() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut phased = 0;
        for (conv, input) in geometries() {
            let Ok(output) = conv.output_size(input) else {
                continue;
            };
            let by_phase = Taps::new(&conv, input, output);
            let by_runs = Taps {
                phases: None,
                ..Taps::new(&conv, input, output)
            };
            if by_phase.phases.is_none() {
                continue;
            }
            phased += 1;
            let sample = conv.in_channels * input.0 * input.1;
            let (mut phase_cols, mut run_cols) =
                (by_phase.columns_buffer(), by_runs.columns_buffer());
            let mut split = by_phase.planes_buffer();
            // Twice on the same buffers: the zeros where the kernel overhangs must stay.
            for _ in 0..2 {
                let x = values(sample, &mut rng);
                let planes = by_phase.planes(&x, &mut split);
                for g in 0..conv.groups {
                    by_phase.im2col(planes, g, &mut phase_cols);
                    by_runs.im2col(&x, g, &mut run_cols);
                    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&phase_cols), bits(&run_cols), "{conv:?} {input:?}");
                }
            }
            let (mut phase_sums, mut run_sums) = (by_phase.planes_buffer(), vec![0.0; sample]);
            for g in 0..conv.groups {
                let cols = values(run_cols.len(), &mut rng);
                by_phase.col2im(&cols, &mut phase_sums, g);
                by_runs.col2im(&cols, &mut run_sums, g);
            }
            let mut dx = vec![f32::NAN; sample];
            by_phase.unsplit(&phase_sums, &mut dx);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&dx), bits(&run_sums), "{conv:?} {input:?}");
        }
        assert!(phased >= 40, "only {phased} geometries had phase planes");
    }
}
