//! LSUV (Mishkin & Matas 2015) on a [`Net`]: every dense and convolutional layer, branches
//! included, in the order a forward pass meets them, rescaled until its output variance on
//! the batch is one.

use initlab_init::{Initializer, RngKey};
use ndarray::{ArrayView2, ArrayViewMut2, s};

use super::Net;
use super::pass::{self, Slot, weighted_layers};
use crate::workspace::Workspace;
use crate::{LsuvConfig, LsuvLayer, NnError, Real};

fn slot_at<'a, T>(slots: &'a [Slot<T>], path: &[usize]) -> &'a Slot<T> {
    match path {
        [i] => &slots[*i],
        [i, rest @ ..] => slot_at(&slots[*i].branch, rest),
        [] => unreachable!("a path names a layer"),
    }
}

/// Runs LSUV on `net` with the batch `inputs` (BatchNorm on the batch's statistics, as in
/// training): orthogonal weights and zero biases first (unless
/// [`LsuvConfig::orthogonal_first`] is false; a convolution's kernel as the matrix
/// `[out, in / groups * kh * kw]`, as PyTorch's `orthogonal_`), then each dense or
/// convolutional layer, first to last with a block's branch in place, rescaled until the
/// variance of its output is within tolerance of one. Reports per such layer, in
/// [`Net::tensors`] order.
///
/// In a residual network this gives every branch's last layer unit variance, so each
/// block adds one unit of variance to the stream: it grows linearly with depth, as with
/// BatchNorm in the branches.
///
/// # Errors
/// Bad settings, inputs of the wrong width or non-finite, or an empty batch.
///
/// # Examples
/// ```
/// use initlab_nn::init::{Initializer, RngKey};
/// use initlab_nn::net::{NetConfig, NetInit, Norm, Ordering, ResidualBlock};
/// use initlab_nn::{Activation, LsuvConfig};
///
/// let block = ResidualBlock::new(32, 2, Activation::Relu, Ordering::PreActivation);
/// let config = NetConfig::new(16).dense(32).blocks(block, 4).dense(3);
/// let mut net = config.build::<f64>(&NetInit::new(Initializer::Zeros, Initializer::Zeros), 0)?;
/// let batch = Initializer::normal(0.0, 1.0).sample::<f64, _>((256, 16), RngKey::new(1)).unwrap();
/// let report = initlab_nn::net::lsuv(&mut net, batch.view(), LsuvConfig::default())?;
/// assert_eq!(report.len(), 10);
/// assert!(report.iter().all(|layer| (layer.final_variance - 1.0).abs() < 0.1));
/// # Ok::<(), initlab_nn::NnError>(())
/// ```
pub fn lsuv<T: Real>(
    net: &mut Net<T>,
    inputs: ArrayView2<'_, T>,
    config: LsuvConfig,
) -> Result<Vec<LsuvLayer>, NnError> {
    config.validate()?;
    crate::data::validate_inputs(net.io(), inputs)?;
    if net.plain.is_some() {
        let names: Vec<String> = net.tensors.iter().map(|t| t.name.clone()).collect();
        let mut plain = net.plain_mut().expect("a plain net");
        return crate::lsuv::plain(&mut plain, inputs, config, |l| names[2 * l].clone());
    }
    let x = inputs.as_standard_layout();
    let layers = weighted_layers(&net.nodes);
    if config.orthogonal_first {
        let key = RngKey::new(config.seed);
        for layer in &layers {
            // The stream of the tensor the weight is, as `NetConfig::build` would draw it.
            let tensor = net
                .tensors
                .iter()
                .position(|t| t.offset == layer.at)
                .expect("every weight is a tensor");
            let (weight, rest) = net.params[layer.at..].split_at_mut(layer.input * layer.output);
            let mut weight = ArrayViewMut2::from_shape((layer.output, layer.input), weight)
                .expect("weight shape");
            Initializer::Orthogonal { gain: 1.0 }
                .fill(&mut weight, key.tensor(tensor as u64))
                .map_err(|source| NnError::Init {
                    tensor: net.tensors[tensor].name.clone(),
                    source,
                })?;
            rest[..layer.output].fill(T::zero());
        }
    }
    let rows = x.nrows();
    let mut workspace = Workspace::for_net(net, rows);
    // The passes split layers across rayon's threads: BLAS stays on one each.
    let _single_threaded_blas = initlab_gemm::SingleThreadedBlas::new();
    let mut report = Vec::with_capacity(layers.len());
    for layer in &layers {
        let variance_of = |net: &Net<T>| {
            pass::forward_until(
                net.kernel,
                &net.nodes,
                &mut workspace.slots,
                x.view(),
                &net.params,
                &net.running,
                &layer.path,
            );
            let out = &slot_at(&workspace.slots, &layer.path).out;
            crate::lsuv::variance(out.slice(s![..rows, ..]))
        };
        let weights = layer.at..layer.at + layer.input * layer.output;
        report.push(config.rescale(
            variance_of,
            |net: &mut Net<T>, factor| {
                net.params[weights.clone()]
                    .iter_mut()
                    .for_each(|w| *w = *w * factor);
            },
            net,
        ));
    }
    Ok(report)
}
