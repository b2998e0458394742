//! Initializers by name, as the command line and config files spell them.

use initlab_init::{FanMode, Initializer, presets};
use initlab_nn::{Activation, LayerInit};

use crate::BenchError;

/// How a network is initialized: a weight/bias strategy pair, or LSUV on data.
#[derive(Debug, Clone)]
pub enum InitChoice {
    /// The same strategies for every layer.
    Strategy(LayerInit),
    /// Orthogonal, then layer-sequential unit variance on a training batch.
    Lsuv,
    /// A scheme for residual networks, which needs their structure.
    Residual(Scheme),
}

/// An initialization made for residual networks: He initialization (for the activation)
/// everywhere, changed where the scheme says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Zhang, Dauphin & Ma 2019: branches scaled by `L^(-1/(2m-2))`, their last layer and
    /// the output layer zero, a learnable multiplier starting at 1.
    Fixup,
    /// De & Smith 2020: a learnable multiplier starting at 0 on every branch.
    SkipInit,
    /// Bachlechner et al. 2020: the same function as SkipInit in an MLP.
    ReZero,
    /// The last dense layer of every branch zero.
    ZeroLast,
    /// Goyal et al. 2017: the gain of the normalization ending every branch zero.
    ZeroGamma,
    /// Radford et al. 2019: `N(0, 0.02²)` everywhere, each branch's projection scaled by
    /// `1/sqrt(2L)`.
    Gpt2,
}

/// A named initializer with its formula, as `initlab list` prints it.
#[derive(Debug, Clone, Copy)]
pub struct NamedInit {
    /// The name used on the command line.
    pub name: &'static str,
    /// Other names accepted for it (PyTorch's, burn's).
    pub aliases: &'static [&'static str],
    /// Weight distribution and parameters.
    pub formula: &'static str,
    /// Where it comes from.
    pub source: &'static str,
}

/// Every initializer the experiments know, in the order reports list them.
pub const CATALOG: &[NamedInit] = &[
    NamedInit {
        name: "zeros",
        aliases: &[],
        formula: "W = 0, b = 0",
        source: "the classic mistake",
    },
    NamedInit {
        name: "constant",
        aliases: &[],
        formula: "W = 0.05, b = 0",
        source: "symmetric: every unit identical",
    },
    NamedInit {
        name: "small_normal",
        aliases: &[],
        formula: "W ~ N(0, 0.01^2), b = 0",
        source: "'small random numbers'",
    },
    NamedInit {
        name: "large_normal",
        aliases: &[],
        formula: "W ~ N(0, 1), b = 0",
        source: "unscaled Gaussian",
    },
    NamedInit {
        name: "glorot_uniform",
        aliases: &["xavier_uniform"],
        formula: "W ~ U(±sqrt(6 / (fan_in + fan_out))), b = 0",
        source: "Glorot & Bengio 2010",
    },
    NamedInit {
        name: "glorot_normal",
        aliases: &["xavier_normal"],
        formula: "W ~ N(0, 2 / (fan_in + fan_out)), b = 0",
        source: "Glorot & Bengio 2010",
    },
    NamedInit {
        name: "glorot_standard",
        aliases: &[],
        formula: "W ~ U(±1/sqrt(fan_in)), b = 0",
        source: "Glorot & Bengio 2010, eq. 1",
    },
    NamedInit {
        name: "he_normal",
        aliases: &["kaiming_normal"],
        formula: "W ~ N(0, gain^2 / fan_in), gain of the activation, b = 0",
        source: "He et al. 2015",
    },
    NamedInit {
        name: "he_uniform",
        aliases: &["kaiming_uniform"],
        formula: "W ~ U(±gain sqrt(3 / fan_in)), b = 0",
        source: "He et al. 2015",
    },
    NamedInit {
        name: "lecun_uniform",
        aliases: &[],
        formula: "W ~ U(±sqrt(3 / fan_in)), b = 0",
        source: "LeCun et al. 1998",
    },
    NamedInit {
        name: "lecun_normal",
        aliases: &[],
        formula: "W ~ N(0, 1 / fan_in), b = 0",
        source: "LeCun et al. 1998",
    },
    NamedInit {
        name: "orthogonal",
        aliases: &[],
        formula: "W = gain Q, Q Haar-orthogonal, b = 0",
        source: "Saxe et al. 2014",
    },
    NamedInit {
        name: "delta_orthogonal",
        aliases: &[],
        formula: "kernel centre gain Q, Q Haar-orthogonal out x in, zeros elsewhere; dense layers orthogonal; b = 0",
        source: "Xiao et al. 2018",
    },
    NamedInit {
        name: "lsuv",
        aliases: &[],
        formula: "orthogonal, then W /= sqrt(Var(xW^T)) per layer until |Var - 1| < 0.1",
        source: "Mishkin & Matas 2015",
    },
    NamedInit {
        name: "pytorch_default",
        aliases: &[],
        formula: "W ~ U(±1/sqrt(fan_in)), b ~ U(±1/sqrt(fan_in))",
        source: "torch.nn.Linear",
    },
    NamedInit {
        name: "keras_default",
        aliases: &[],
        formula: "W ~ U(±sqrt(6 / (fan_in + fan_out))), b = 0",
        source: "keras.layers.Dense",
    },
    NamedInit {
        name: "flax_default",
        aliases: &[],
        formula: "W ~ N(0, 1 / fan_in) truncated at ±2σ (variance-corrected), b = 0",
        source: "flax.linen.Dense",
    },
    NamedInit {
        name: "fixup",
        aliases: &[],
        formula: "He; branch layers × L^(-1/(2m-2)); branch ends and output layer 0; α = 1 learnable",
        source: "Zhang, Dauphin & Ma 2019 (residual nets)",
    },
    NamedInit {
        name: "skipinit",
        aliases: &[],
        formula: "He; x + α·branch(x) with α = 0 learnable",
        source: "De & Smith 2020 (residual nets)",
    },
    NamedInit {
        name: "rezero",
        aliases: &[],
        formula: "He; x + α·branch(x) with α = 0 learnable (SkipInit's function in an MLP)",
        source: "Bachlechner et al. 2020 (residual nets)",
    },
    NamedInit {
        name: "zero_last",
        aliases: &[],
        formula: "He; the last layer of every branch 0",
        source: "residual nets",
    },
    NamedInit {
        name: "zero_gamma",
        aliases: &[],
        formula: "He; the gain of the norm ending every branch 0",
        source: "Goyal et al. 2017 (post-activation residual nets with a norm)",
    },
    NamedInit {
        name: "gpt2",
        aliases: &[],
        formula: "W ~ N(0, 0.02^2); each branch's last layer N(0, 0.02^2 / (2L))",
        source: "Radford et al. 2019 (residual nets)",
    },
    NamedInit {
        name: "sparse",
        aliases: &[],
        formula: "W ~ N(0, 0.1^2) with 90% zeros per column, b = 0",
        source: "Martens 2010",
    },
];

/// The initialization called `name` for a network whose hidden layers use `activation`
/// (gains follow the activation where the strategy has one).
///
/// # Errors
/// [`BenchError::Invalid`] listing the known names.
pub fn lookup(name: &str, activation: Activation) -> Result<InitChoice, BenchError> {
    let gain = activation.nonlinearity().gain();
    let weights = |weight: Initializer| {
        InitChoice::Strategy(LayerInit {
            weight,
            bias: Initializer::Zeros,
        })
    };
    let name = CATALOG
        .iter()
        .find(|n| n.aliases.contains(&name))
        .map_or(name, |n| n.name);
    Ok(match name {
        "zeros" => weights(Initializer::Zeros),
        "constant" => weights(Initializer::Constant { value: 0.05 }),
        "small_normal" => weights(Initializer::normal(0.0, 0.01)),
        "large_normal" => weights(Initializer::normal(0.0, 1.0)),
        "glorot_uniform" => weights(Initializer::GlorotUniform { gain: 1.0 }),
        "glorot_normal" => weights(Initializer::GlorotNormal { gain: 1.0 }),
        "he_normal" => weights(Initializer::HeNormal {
            mode: FanMode::FanIn,
            nonlinearity: activation.nonlinearity(),
        }),
        "he_uniform" => weights(Initializer::HeUniform {
            mode: FanMode::FanIn,
            nonlinearity: activation.nonlinearity(),
        }),
        "lecun_normal" => weights(Initializer::LeCunNormal),
        "lecun_uniform" => weights(Initializer::LeCunUniform),
        "glorot_standard" => weights(Initializer::GlorotStandard),
        "orthogonal" => weights(Initializer::Orthogonal { gain }),
        "delta_orthogonal" => weights(Initializer::DeltaOrthogonal { gain, groups: 1 }),
        "lsuv" => InitChoice::Lsuv,
        "pytorch_default" => InitChoice::Strategy(presets::pytorch_linear()),
        "keras_default" => InitChoice::Strategy(presets::keras_dense()),
        "flax_default" => InitChoice::Strategy(presets::flax_dense()),
        "fixup" => InitChoice::Residual(Scheme::Fixup),
        "skipinit" => InitChoice::Residual(Scheme::SkipInit),
        "rezero" => InitChoice::Residual(Scheme::ReZero),
        "zero_last" => InitChoice::Residual(Scheme::ZeroLast),
        "zero_gamma" => InitChoice::Residual(Scheme::ZeroGamma),
        "gpt2" => InitChoice::Residual(Scheme::Gpt2),
        "sparse" => weights(Initializer::Sparse {
            sparsity: 0.9,
            std: 0.1,
        }),
        _ => {
            let known: Vec<&str> = CATALOG.iter().map(|n| n.name).collect();
            return Err(BenchError::invalid(
                "init",
                name,
                format!("one of {}", known.join(", ")),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_entry_resolves_and_unknown_names_list_the_choices() {
        for entry in CATALOG {
            assert!(
                lookup(entry.name, Activation::Relu).is_ok(),
                "{}",
                entry.name
            );
        }
        for (alias, name) in [
            ("xavier_uniform", "glorot_uniform"),
            ("xavier_normal", "glorot_normal"),
            ("kaiming_normal", "he_normal"),
            ("kaiming_uniform", "he_uniform"),
        ] {
            let (InitChoice::Strategy(a), InitChoice::Strategy(b)) = (
                lookup(alias, Activation::Tanh).unwrap(),
                lookup(name, Activation::Tanh).unwrap(),
            ) else {
                panic!("{alias} is a strategy");
            };
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{alias}");
        }
        let err = lookup("xavier", Activation::Tanh).unwrap_err().to_string();
        assert!(
            err.contains("`init` = \"xavier\"") && err.contains("glorot_uniform"),
            "{err}"
        );
    }
}
