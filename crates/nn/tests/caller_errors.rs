//! Caller mistakes in `initlab-nn`'s public API come back as `NnError`s that say what was wrong,
//! never as panics or silently wrong numbers.

use initlab_init::{Initializer, Nonlinearity};
use initlab_nn::{
    Activation, Loss, MlpConfig, Net, NnError, Optimizer, Status, Targets, TrainConfig, Trainer,
};
use ndarray::Array2;

fn network(hidden: usize) -> Net<f64> {
    MlpConfig::new(3, vec![hidden], 2)
        .build(
            &Initializer::he_normal(Nonlinearity::Relu),
            &Initializer::Zeros,
            1,
        )
        .unwrap()
}

fn data() -> (Array2<f64>, Vec<usize>, Array2<f64>) {
    let x = Array2::from_shape_fn((6, 3), |(i, j)| (i as f64 - 2.5) * (j as f64 + 1.0) / 4.0);
    let classes = (0..6).map(|i| i % 2).collect();
    let values = Array2::from_shape_fn((6, 2), |(i, j)| (i + j) as f64 / 6.0);
    (x, classes, values)
}

fn assert_targets_error(result: Result<impl std::fmt::Debug, NnError>, loss: &str) {
    match result {
        Err(NnError::Targets { what }) => assert!(what.contains(loss), "{what}"),
        other => panic!("expected a Targets error, got {other:?}"),
    }
}

#[test]
fn a_loss_given_the_wrong_kind_of_targets_is_an_error_everywhere() {
    let (x, classes, values) = data();
    let mut mlp = network(4);
    for (loss, targets) in [
        (Loss::MeanSquaredError, Targets::Classes(&classes)),
        (
            Loss::BinaryCrossEntropyWithLogits,
            Targets::Classes(&classes),
        ),
        (Loss::SoftmaxCrossEntropy, Targets::Values(values.view())),
    ] {
        assert_targets_error(mlp.loss_and_gradients(x.view(), targets, loss), loss.name());
        assert_targets_error(
            initlab_nn::diagnose(&mlp, x.view(), targets, loss, 0),
            loss.name(),
        );
        let config = TrainConfig::new(loss, Optimizer::sgd(0.1)).with_batch_size(4);
        let mut trainer = Trainer::new(&mlp, config).unwrap();
        assert_targets_error(
            trainer.train(&mut mlp, x.view(), targets, |_, _| {}),
            loss.name(),
        );
        let (head, head_values) = (&classes[..4], values.slice(ndarray::s![..4, ..]));
        let batch = match targets {
            Targets::Classes(_) => Targets::Classes(head),
            Targets::Values(_) => Targets::Values(head_values),
        };
        assert_targets_error(
            trainer.train_batch(&mut mlp, x.slice(ndarray::s![..4, ..]), batch),
            loss.name(),
        );
    }
}

#[test]
fn a_trainer_refuses_a_network_it_was_not_built_for() {
    let (x, classes, _) = data();
    let built_for = network(4);
    let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(0.01));
    let mut trainer = Trainer::new(&built_for, config).unwrap();
    let mut other = network(5);
    let before = other.clone();
    let error = trainer
        .train(&mut other, x.view(), Targets::Classes(&classes), |_, _| {})
        .unwrap_err();
    assert!(
        matches!(
            error,
            NnError::Config {
                field: "network",
                ..
            }
        ) && error.to_string().contains("[3, 5, 2]"),
        "{error}"
    );
    assert!(
        trainer
            .train_batch(&mut other, x.view(), Targets::Classes(&classes))
            .is_err()
    );
    assert_eq!(other, before, "nothing was trained");
}

#[test]
fn predict_refuses_non_finite_inputs() {
    let mlp = network(4);
    let (mut x, _, _) = data();
    x[[2, 1]] = f64::NAN;
    match mlp.predict(x.view()) {
        Err(NnError::NonFiniteInput {
            row: 2, column: 1, ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        mlp.predict(x.slice(ndarray::s![..0, ..])).unwrap().dim(),
        (0, 2)
    );
}

#[test]
fn a_diverged_step_is_not_counted() {
    let (x, classes, _) = data();
    let mut mlp = MlpConfig::deep(3, 6, 16, 2, Activation::Relu)
        .build::<f64>(&Initializer::normal(0.0, 30.0), &Initializer::Zeros, 3)
        .unwrap();
    let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(1e30))
        .with_batch_size(2)
        .with_epochs(3);
    let mut trainer = Trainer::new(&mlp, config).unwrap();
    let history = trainer
        .train(&mut mlp, x.view(), Targets::Classes(&classes), |_, _| {})
        .unwrap();
    let Status::Diverged { step, .. } = history.status else {
        panic!("{:?}", history.status)
    };
    assert_eq!(history.steps, step, "steps taken before the diverged one");
}

/// A one-logit network (binary cross-entropy on a sigmoid) classifies by the logit's sign;
/// before, `accuracy` took the argmax of one logit, class 0 for every row, and refused
/// label 1.
#[test]
fn a_one_logit_network_classifies_by_the_sign_of_its_logit() {
    let config = MlpConfig::new(2, vec![2], 1).with_activation(Activation::Identity);
    let mut mlp: Net<f64> = config
        .build(&Initializer::Zeros, &Initializer::Zeros, 0)
        .unwrap();
    // The identity, then x0 - x1; biases zero.
    let weights = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, -1.0, 0.0];
    mlp.parameters_mut().copy_from_slice(&weights);
    // Logits 1, -1, 0.5, -0.5 and 0 (sigmoid exactly 1/2 reads as class 0).
    let x = ndarray::array![[2.0, 1.0], [1.0, 2.0], [0.5, 0.0], [0.0, 0.5], [1.0, 1.0]];
    assert_eq!(mlp.accuracy(x.view(), &[1, 0, 1, 0, 0]).unwrap(), 1.0);
    assert_eq!(mlp.accuracy(x.view(), &[0, 1, 1, 1, 1]).unwrap(), 0.2);
    let err = mlp.accuracy(x.view(), &[1, 0, 2, 0, 0]).unwrap_err();
    assert!(
        matches!(
            err,
            NnError::LabelOutOfRange {
                sample: 2,
                label: 2,
                classes: 2
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_layer_no_memory_could_hold_is_an_error_not_an_abort() {
    // 2 x 10^12 weights, 8 TB in f32: the build reports the layer and the tensor instead
    // of aborting the process when its vector cannot grow.
    let he = Initializer::he_normal(Nonlinearity::Relu);
    for hidden in [1_000_000_000_000, usize::MAX / 2] {
        let error = MlpConfig::new(2, vec![hidden], 2)
            .build::<f32>(&he, &Initializer::Zeros, 0)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("layers.0") && error.contains("more memory than can be allocated"),
            "{hidden}: {error}"
        );
    }
}

#[test]
fn a_saved_network_with_a_nan_weight_does_not_load() {
    let mut net = network(4);
    net.parameters_mut()[5] = f64::NAN;
    let path = std::env::temp_dir().join(format!("initlab-nan-{}.safetensors", std::process::id()));
    net.save(&path).unwrap();
    let error = Net::<f64>::load(&path).unwrap_err().to_string();
    std::fs::remove_file(&path).unwrap();
    assert!(
        error.contains("layers.0.weight[5] is NaN") && error.contains("finite"),
        "{error}"
    );
}

#[test]
fn a_saved_network_is_read_only_from_a_regular_file_that_holds_its_tensors() {
    // A device that never ends is refused before a byte is read.
    #[cfg(unix)]
    {
        let error = Net::<f32>::load(std::path::Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a regular file"), "{error}");
    }
    // A few hundred bytes whose configuration describes 600 million weights: refused for
    // the tensors it lacks, before a network that size is built.
    let config = MlpConfig::new(3, vec![100_000_000], 2).to_net_config();
    let metadata = std::collections::HashMap::from([(
        "initlab.net_config".to_owned(),
        serde_json::to_string(&config).unwrap(),
    )]);
    let bytes = safetensors::serialize(
        Vec::<(&str, safetensors::tensor::TensorView<'_>)>::new(),
        Some(metadata),
    )
    .unwrap();
    assert!(bytes.len() < 1000, "{} bytes", bytes.len());
    let path =
        std::env::temp_dir().join(format!("initlab-huge-{}.safetensors", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let error = Net::<f64>::load(&path).unwrap_err().to_string();
    std::fs::remove_file(&path).unwrap();
    assert!(
        error.contains("describes 600000002 parameters, at least 2400000008 bytes as f32"),
        "{error}"
    );
}
