//! One network model: a plain [`Net`] is the [`Mlp`] of its layers in every operation, bit
//! for bit (the same passes, each layer's products in one piece), and files written at
//! `cd40921` in either key scheme load as nets.

use std::path::Path;

use ndarray::Array2;
use nn::init::{Initializer, Nonlinearity, RngKey};
use nn::net::{Net, NetConfig, NetInit, Norm, Ordering, ResidualBlock};
use nn::{Activation, Loss, LsuvConfig, Mlp, MlpConfig, Targets};

fn same_bits(a: impl IntoIterator<Item = f32>, b: impl IntoIterator<Item = f32>) -> bool {
    let (a, b): (Vec<u32>, Vec<u32>) = (
        a.into_iter().map(f32::to_bits).collect(),
        b.into_iter().map(f32::to_bits).collect(),
    );
    a == b
}

fn mlp_values(mlp: &Mlp<f32>) -> Vec<f32> {
    mlp.named_parameters()
        .into_iter()
        .flat_map(|(_, t)| t.iter().copied().collect::<Vec<_>>())
        .collect()
}

/// Layers wider than the blocks the general passes cut products into (128 units).
fn pair() -> (Mlp<f32>, Net<f32>) {
    let config = MlpConfig::new(40, vec![300, 200], 7)
        .with_activations(vec![Activation::Relu, Activation::Tanh]);
    let he = Initializer::he_normal(Nonlinearity::Relu);
    let bias = Initializer::normal(0.0, 0.1);
    let mlp = config.build::<f32>(&he, &bias, 3).unwrap();
    let net = config
        .to_net_config()
        .build::<f32>(&NetInit::new(he, bias), 3)
        .unwrap();
    (mlp, net)
}

fn batch(rows: usize) -> (Array2<f32>, Vec<usize>) {
    let x = Initializer::normal(0.0, 1.0)
        .sample::<f32, _>((rows, 40), RngKey::new(9))
        .unwrap();
    (x, (0..rows).map(|i| (i * 5) % 7).collect())
}

#[test]
fn a_plain_net_evaluates_differentiates_and_diagnoses_as_the_mlp_bit_for_bit() {
    let (mlp, net) = pair();
    assert!(same_bits(
        mlp_values(&mlp),
        net.parameters().iter().copied()
    ));
    // More rows than an evaluation chunk (512), so accuracy runs in two.
    let (x, y) = batch(700);
    let targets = Targets::Classes(&y);
    let (a, b) = (
        mlp.predict(x.view()).unwrap(),
        net.predict(x.view()).unwrap(),
    );
    assert!(same_bits(a, b), "predict");
    assert_eq!(
        mlp.accuracy(x.view(), &y).unwrap().to_bits(),
        net.accuracy(x.view(), &y).unwrap().to_bits()
    );
    let loss = Loss::SoftmaxCrossEntropy;
    assert_eq!(
        mlp.loss(x.view(), targets, loss).unwrap().to_bits(),
        net.loss(x.view(), targets, loss).unwrap().to_bits()
    );
    let (value, grads) = mlp.loss_and_gradients(x.view(), targets, loss).unwrap();
    let (net_value, net_grads) = net.loss_and_gradients(x.view(), targets, loss).unwrap();
    assert_eq!(value.to_bits(), net_value.to_bits());
    let flat = grads
        .dw
        .iter()
        .zip(&grads.db)
        .flat_map(|(dw, db)| dw.iter().chain(db.iter()).copied().collect::<Vec<_>>());
    assert!(same_bits(flat, net_grads), "gradients");
    let a = nn::diagnose(&mlp, x.view(), targets, loss, 2).unwrap();
    let b = nn::net::diagnose(&net, x.view(), targets, loss, 2).unwrap();
    assert_eq!(format!("{a:?}"), format!("{b:?}"), "diagnostics");
}

#[test]
fn lsuv_on_a_plain_net_is_the_mlps_bit_for_bit() {
    let (mut mlp, mut net) = pair();
    let (x, _) = batch(256);
    let config = LsuvConfig {
        seed: 4,
        ..LsuvConfig::default()
    };
    let a = nn::lsuv(&mut mlp, x.view(), config).unwrap();
    let b = nn::net::lsuv(&mut net, x.view(), config).unwrap();
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert!(same_bits(
        mlp_values(&mlp),
        net.parameters().iter().copied()
    ));
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn files_written_at_cd40921_in_both_schemes_load_as_nets() {
    // An MLP's file: `initlab.mlp_config`, layers named `layers.{i}`.
    let path = fixture("mlp-cd40921.safetensors");
    let mlp = Mlp::<f32>::load(&path).unwrap();
    let net = Net::<f32>::load(&path).unwrap();
    assert!(same_bits(
        mlp_values(&mlp),
        net.parameters().iter().copied()
    ));
    assert_eq!(
        net.tensors()[2].name,
        "layers.2.weight",
        "the second dense layer"
    );
    let x = Initializer::normal(0.0, 1.0)
        .sample::<f32, _>((9, 6), RngKey::new(2))
        .unwrap();
    assert!(same_bits(
        mlp.predict(x.view()).unwrap(),
        net.predict(x.view()).unwrap()
    ));
    // A net's file: `initlab.net_config`, with running averages. Both were drawn with He
    // and N(0, 0.1²) biases from seed 7, which `init` draws the same on any machine.
    let net = Net::<f32>::load(&fixture("net-cd40921.safetensors")).unwrap();
    let he = Initializer::he_normal(Nonlinearity::Relu);
    let block =
        ResidualBlock::new(5, 2, Activation::Relu, Ordering::PreActivation).with_norm(Norm::Batch);
    let fresh = NetConfig::new(6)
        .dense(5)
        .norm(Norm::Layer)
        .activation(Activation::Relu)
        .blocks(block, 2)
        .dense(3)
        .build::<f32>(&NetInit::new(he, Initializer::normal(0.0, 0.1)), 7)
        .unwrap();
    assert_eq!(net.config(), fresh.config());
    assert!(same_bits(
        net.parameters().iter().copied(),
        fresh.parameters().iter().copied()
    ));
    assert!(same_bits(
        net.buffers().iter().copied(),
        fresh.buffers().iter().copied()
    ));
    assert!(net.predict(x.view()).unwrap().iter().all(|v| v.is_finite()));
}
