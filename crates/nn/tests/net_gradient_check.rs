//! Backprop through residual blocks, LayerNorm and BatchNorm against central differences
//! in f64: both orderings, α fixed and learnable, every normalization, nested branches.

use initlab_init::{Initializer, RngKey};
use initlab_nn::net::{Alpha, LayerSpec, Net, NetConfig, NetInit, Norm, Ordering, ResidualBlock};
use initlab_nn::{Activation, Loss, Targets};
use ndarray::Array2;

const RELATIVE_TOLERANCE: f64 = 1e-6;

fn inputs(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    Initializer::normal(0.0, 1.0)
        .sample((rows, cols), RngKey::new(seed))
        .unwrap()
}

/// Every parameter's backprop gradient against `(L(p + h) - L(p - h)) / 2h`.
fn check(mut net: Net<f64>, x: &Array2<f64>, labels: &[usize], label: &str) {
    let targets = Targets::Classes(labels);
    let loss = Loss::SoftmaxCrossEntropy;
    let (_, grads) = net.loss_and_gradients(x.view(), targets, loss).unwrap();
    let h = 1e-5;
    for tensor in net.tensors().to_vec() {
        let range = tensor.offset..tensor.offset + tensor.len();
        for (k, &analytic) in range.clone().zip(&grads[range]) {
            net.parameters_mut()[k] += h;
            let plus = net.loss_and_gradients(x.view(), targets, loss).unwrap().0;
            net.parameters_mut()[k] -= 2.0 * h;
            let minus = net.loss_and_gradients(x.view(), targets, loss).unwrap().0;
            net.parameters_mut()[k] += h;
            let numeric = (plus - minus) / (2.0 * h);
            let error = (numeric - analytic).abs() / (numeric.abs() + analytic.abs()).max(1e-8);
            assert!(
                error < RELATIVE_TOLERANCE || (numeric - analytic).abs() < 1e-10,
                "{label}: {} [{}]: backprop {analytic:e} vs numeric {numeric:e} (relative error {error:e})",
                tensor.name,
                k - tensor.offset
            );
        }
    }
}

/// Non-zero biases keep ReLU's kink away from the sampled points.
fn init() -> NetInit {
    NetInit::new(
        Initializer::normal(0.0, 0.5),
        Initializer::uniform(-0.5, 0.5),
    )
}

/// 4 features → dense 5 → the blocks → dense 3.
fn net_with(blocks: Vec<LayerSpec>, seed: u64) -> Net<f64> {
    let mut config = NetConfig::new(4).dense(5);
    config.layers.extend(blocks);
    config.dense(3).build(&init(), seed).unwrap()
}

/// Every vector (normalization gains and biases, dense biases) moved off its initial
/// value, so that gains away from 1 and biases away from 0 are tested too.
fn perturb_norms(net: &mut Net<f64>, seed: u64) {
    let noise: Array2<f64> = Initializer::uniform(-0.3, 0.3)
        .sample((1, net.parameter_count()), RngKey::new(seed))
        .unwrap();
    for tensor in net.tensors().to_vec() {
        if tensor.shape.len() == 1 {
            for k in tensor.offset..tensor.offset + tensor.len() {
                net.parameters_mut()[k] += noise[[0, k]];
            }
        }
    }
}

const LABELS: [usize; 7] = [0, 1, 2, 1, 0, 2, 2];

#[test]
fn residual_blocks_in_both_orderings_with_alpha_fixed_and_learnable() {
    let x = inputs(7, 4, 1);
    let mut seed = 10;
    for ordering in [Ordering::PreActivation, Ordering::PostActivation] {
        for alpha in [Alpha::fixed(0.7), Alpha::learnable(0.6)] {
            for layers in 1..=3 {
                for activation in [Activation::Tanh, Activation::Relu] {
                    let block =
                        ResidualBlock::new(5, layers, activation, ordering).with_alpha(alpha);
                    let mut specs = block.specs();
                    specs.extend(block.specs());
                    seed += 1;
                    let label = format!("{ordering:?}, {alpha:?}, {layers} layers, {activation}");
                    check(net_with(specs, seed), &x, &LABELS, &label);
                }
            }
        }
    }
}

#[test]
fn normalized_residual_blocks() {
    let x = inputs(7, 4, 2);
    let mut seed = 100;
    for norm in [Norm::Layer, Norm::Batch] {
        for ordering in [Ordering::PreActivation, Ordering::PostActivation] {
            for alpha in [Alpha::fixed(1.0), Alpha::learnable(0.5)] {
                let block = ResidualBlock::new(5, 2, Activation::Tanh, ordering)
                    .with_norm(norm)
                    .with_alpha(alpha);
                seed += 1;
                let mut net = net_with(block.specs(), seed);
                perturb_norms(&mut net, seed);
                check(
                    net,
                    &x,
                    &LABELS,
                    &format!("{norm:?}, {ordering:?}, {alpha:?}"),
                );
            }
        }
    }
}

#[test]
fn plain_networks_with_each_normalization() {
    let x = inputs(7, 4, 3);
    for (seed, norm) in [None, Some(Norm::Layer), Some(Norm::Batch)]
        .into_iter()
        .enumerate()
    {
        for activation in Activation::ALL {
            let config = NetConfig::plain(4, &[6, 5], activation, norm, 3);
            let mut net = config.build(&init(), seed as u64 + 200).unwrap();
            perturb_norms(&mut net, seed as u64);
            check(net, &x, &LABELS, &format!("{norm:?}, {activation}"));
        }
    }
}

#[test]
fn a_residual_first_and_nested_branches() {
    let x = inputs(7, 4, 4);
    let inner = ResidualBlock::new(4, 1, Activation::Tanh, Ordering::PreActivation)
        .with_alpha(Alpha::learnable(0.4));
    let mut branch = inner.specs();
    branch.push(LayerSpec::LayerNorm {
        eps: 1e-5,
        gain: 0.8,
    });
    branch.push(LayerSpec::Dense { width: 4 });
    let config = NetConfig::new(4)
        .push(LayerSpec::Residual {
            branch,
            alpha: Alpha::learnable(0.9),
        })
        .norm(Norm::Batch)
        .dense(3);
    check(config.build(&init(), 300).unwrap(), &x, &LABELS, "nested");
}
