//! One network model: an [`MlpConfig`] is the shorthand for the plain [`Net`] of its layers,
//! and files written at `cd40921` in either key scheme (an MLP's, a net's) load as nets.

use std::path::Path;

use initlab_nn::init::{Initializer, Nonlinearity, RngKey};
use initlab_nn::net::{LayerSpec, Net, NetConfig, NetInit, Norm, Ordering, ResidualBlock};
use initlab_nn::{Activation, MlpConfig};

fn same_bits(a: impl IntoIterator<Item = f32>, b: impl IntoIterator<Item = f32>) -> bool {
    let (a, b): (Vec<u32>, Vec<u32>) = (
        a.into_iter().map(f32::to_bits).collect(),
        b.into_iter().map(f32::to_bits).collect(),
    );
    a == b
}

#[test]
fn an_mlp_config_builds_the_plain_net_of_its_layers() {
    let config = MlpConfig::new(40, vec![300, 200], 7)
        .with_activations(vec![Activation::Relu, Activation::Tanh]);
    let he = Initializer::he_normal(Nonlinearity::Relu);
    let bias = Initializer::normal(0.0, 0.1);
    let shorthand = config.build::<f32>(&he, &bias, 3).unwrap();
    let net = config
        .to_net_config()
        .build::<f32>(&NetInit::new(he, bias), 3)
        .unwrap();
    assert_eq!(shorthand, net);
    let names: Vec<&str> = net.tensors().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "layers.0.weight",
            "layers.0.bias",
            "layers.2.weight",
            "layers.2.bias",
            "layers.4.weight",
            "layers.4.bias"
        ]
    );
    assert_eq!(
        net.config().layers[3],
        LayerSpec::Activation {
            activation: Activation::Tanh
        }
    );
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn files_written_at_cd40921_in_both_schemes_load_as_nets() {
    // Both drawn with He weights and N(0, 0.1²) biases from seed 7, which `initlab-init` draws the
    // same on any machine.
    let he = Initializer::he_normal(Nonlinearity::Relu);
    let bias = Initializer::normal(0.0, 0.1);
    // An MLP's file: `initlab.mlp_config`, layers named `layers.{i}`.
    let net = Net::<f32>::load(&fixture("mlp-cd40921.safetensors")).unwrap();
    let fresh = MlpConfig::new(6, vec![5, 4], 3)
        .with_activations(vec![Activation::Relu, Activation::Tanh])
        .build::<f32>(&he, &bias, 7)
        .unwrap();
    assert_eq!(net, fresh);
    assert_eq!(
        net.tensors()[2].name,
        "layers.2.weight",
        "the second dense layer"
    );
    let x = Initializer::normal(0.0, 1.0)
        .sample::<f32, _>((9, 6), RngKey::new(2))
        .unwrap();
    assert!(same_bits(
        net.predict(x.view()).unwrap(),
        fresh.predict(x.view()).unwrap()
    ));
    // A net's file: `initlab.net_config`, with running averages.
    let net = Net::<f32>::load(&fixture("net-cd40921.safetensors")).unwrap();
    let block =
        ResidualBlock::new(5, 2, Activation::Relu, Ordering::PreActivation).with_norm(Norm::Batch);
    let fresh = NetConfig::new(6)
        .dense(5)
        .norm(Norm::Layer)
        .activation(Activation::Relu)
        .blocks(block, 2)
        .dense(3)
        .build::<f32>(&NetInit::new(he, bias), 7)
        .unwrap();
    assert_eq!(net, fresh, "configuration, parameters and running averages");
    assert!(net.predict(x.view()).unwrap().iter().all(|v| v.is_finite()));
}
