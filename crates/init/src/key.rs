//! Reproducible random streams: which generator fills which part of which tensor.

use rand::SeedableRng;
use rayon::prelude::*;

/// The generator behind every fill: ChaCha with 8 rounds, a counter-based generator whose
/// 2^64 independent streams let each block of a tensor draw from its own stream.
pub type BlockRng = rand_chacha::ChaCha8Rng;

/// Elements per block. Fixed, so a block's position in the tensor, and not the number of
/// threads, decides which stream fills it.
pub const BLOCK_LEN: usize = 1 << 14;

/// Identifies the random stream of one tensor: a user seed plus the tensor's id within a
/// model.
///
/// # Reproducibility contract
/// A fill cuts the tensor (in logical row-major order) into blocks of [`BLOCK_LEN`]
/// elements. Block `i` is filled from its own ChaCha8 stream whose key is derived from
/// `(seed, tensor)` and whose stream number is `i`. Hence:
/// - the same key gives bitwise-identical values for any rayon thread count and any memory
///   layout of the target array;
/// - across platforms, uniform draws, `f32` normals (this crate's ziggurat) and the
///   truncated normal's uniform and exponential proposals are identical too: they use
///   only ChaCha8 and the pure-Rust `libm`. `f64` normals (and the truncated normal's
///   normal proposal, for wide intervals) come from `rand_distr`'s ziggurat, whose rare
///   tail and wedge tests call the platform's `exp` and `ln`: identical on one platform,
///   possibly not in the last bits on another. Orthogonal's QR multiplies matrices with
///   `matrixmultiply`, which picks its kernel (FMA or not) for the CPU at run time, so its
///   last bits may differ between CPUs; with the `lapack` feature they depend on the BLAS
///   kernel the CPU selects;
/// - two tensors of one model with different `tensor` ids never share a stream, so a
///   model's layers are independent even with one seed;
/// - reusing a key reuses its stream: two same-shape fills with one key are the same
///   values (and a smaller tensor gets the larger one's first values), so give every
///   tensor its own id with [`tensor`](Self::tensor);
/// - `f32` and `f64` fills from one key share no values: the element type decides how
///   the stream's bits become numbers;
/// - a shard of a tensor filled alone ([`Initializer::fill_shard`](crate::Initializer::fill_shard))
///   gets the values the whole fill puts there.
///
/// # Examples
/// ```
/// use initlab_init::{Initializer, RngKey};
///
/// let key = RngKey::new(42);
/// let w1 = Initializer::normal(0.0, 1.0).sample::<f32, _>((3, 4), key.tensor(0))?;
/// let w2 = Initializer::normal(0.0, 1.0).sample::<f32, _>((3, 4), key.tensor(1))?;
/// assert_ne!(w1, w2);
/// assert_eq!(w1, Initializer::normal(0.0, 1.0).sample::<f32, _>((3, 4), key.tensor(0))?);
/// # Ok::<(), initlab_init::InitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RngKey {
    /// The user's seed.
    pub seed: u64,
    /// The tensor's id within a model (e.g. `2 * layer` for weights, `2 * layer + 1` for
    /// biases).
    pub tensor: u64,
}

/// What a stream is used for, so that one tensor's values and, e.g., its sparsity mask
/// never draw from the same stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Values = 0,
    SparseMask = 1,
}

impl RngKey {
    /// The key of tensor 0 under `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed, tensor: 0 }
    }

    /// The same seed, for tensor `tensor`.
    #[must_use]
    pub fn tensor(self, tensor: u64) -> Self {
        Self { tensor, ..self }
    }

    /// The generator for block `index` of this tensor's values.
    pub fn block_rng(&self, index: u64) -> BlockRng {
        self.stream(Purpose::Values, index)
    }

    pub(crate) fn stream(&self, purpose: Purpose, index: u64) -> BlockRng {
        // Every key word depends on seed, tensor and purpose through a bijective mixer, so
        // distinct (seed, tensor, purpose) triples give unrelated ChaCha keys.
        let seed = mix(self.seed ^ 0x6A09_E667_F3BC_C908);
        let tensor = mix(self.tensor ^ mix(purpose as u64 + 1));
        let mut key = [0u8; 32];
        for (i, chunk) in key.chunks_exact_mut(8).enumerate() {
            let lane = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            chunk.copy_from_slice(
                &mix(seed ^ lane ^ tensor.rotate_left(16 * i as u32)).to_le_bytes(),
            );
        }
        let mut rng = BlockRng::from_seed(key);
        rng.set_stream(index);
        rng
    }
}

/// SplitMix64's finalizer: a bijection on u64 with full avalanche.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fills `values` block by block in parallel, each block from its own stream of `key`.
///
/// `fill_block` receives a block's generator and its slice; the result depends only on
/// `key` and `values.len()`, never on the number of threads. This is the building block
/// of every random strategy and is public so that custom strategies get the same
/// contract.
pub fn fill_parallel<T: Send>(
    values: &mut [T],
    key: RngKey,
    fill_block: impl Fn(&mut BlockRng, &mut [T]) + Sync,
) {
    fill_purpose(values, key, Purpose::Values, fill_block);
}

/// Fills `values` with what [`fill_parallel`] puts at positions `start..start +
/// values.len()` of a longer fill: a piece of a tensor filled on its own gets the very
/// values a fill of the whole tensor gives it (a model-parallel rank's shard).
///
/// A piece that starts inside a block draws that block's values before `start` and drops
/// them: at most [`BLOCK_LEN`] values of extra work. `fill_block` must fill a slice value
/// by value from the front, as every strategy of this crate does, so that a block's first
/// `n` values do not depend on how long the block is.
pub fn fill_parallel_at<T: Send + Copy>(
    values: &mut [T],
    start: usize,
    key: RngKey,
    fill_block: impl Fn(&mut BlockRng, &mut [T]) + Sync,
) {
    fill_purpose_at(values, start, key, Purpose::Values, fill_block);
}

pub(crate) fn fill_purpose<T: Send>(
    values: &mut [T],
    key: RngKey,
    purpose: Purpose,
    fill_block: impl Fn(&mut BlockRng, &mut [T]) + Sync,
) {
    fill_whole_blocks(values, 0, key, purpose, &fill_block);
}

/// Fills `values` from block `first` on, `values` starting at a block boundary.
fn fill_whole_blocks<T: Send>(
    values: &mut [T],
    first: usize,
    key: RngKey,
    purpose: Purpose,
    fill_block: &(impl Fn(&mut BlockRng, &mut [T]) + Sync),
) {
    values
        .par_chunks_mut(BLOCK_LEN)
        .enumerate()
        .for_each(|(i, block)| fill_block(&mut key.stream(purpose, (first + i) as u64), block));
}

pub(crate) fn fill_purpose_at<T: Send + Copy>(
    values: &mut [T],
    start: usize,
    key: RngKey,
    purpose: Purpose,
    fill_block: impl Fn(&mut BlockRng, &mut [T]) + Sync,
) {
    let (first, skip) = (start / BLOCK_LEN, start % BLOCK_LEN);
    if skip == 0 || values.is_empty() {
        return fill_whole_blocks(values, first, key, purpose, &fill_block);
    }
    let head_len = (BLOCK_LEN - skip).min(values.len());
    let (head, rest) = values.split_at_mut(head_len);
    rayon::join(
        || {
            let mut block = vec![head[0]; skip + head_len];
            fill_block(&mut key.stream(purpose, first as u64), &mut block);
            head.copy_from_slice(&block[skip..]);
        },
        || fill_whole_blocks(rest, first + 1, key, purpose, &fill_block),
    );
}
