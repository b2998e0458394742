//! Initializers by name, as the command line and config files spell them.

use initlab_init::{FanMode, Initializer, ScalingDistribution, presets};
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
/// A name may end in parameters, `name(gain = 1.0, bias_std = 0.05)`:
/// - `gain` sets the weight gain of the strategies that have one (see [`GAINED`]) in place
///   of their default (the activation's for `orthogonal` and `delta_orthogonal`, 1 for
///   Glorot and LeCun): `lecun_normal(gain = g)` draws `N(0, g² / fan_in)`, the Gaussian
///   at the variance of `delta_orthogonal(gain = g)`, so that mean-field points
///   `(σ_w², σ_b²)` can be asked for by name;
/// - `bias_std` draws every bias from `N(0, bias_std²)` instead of zero.
///
/// # Errors
/// [`BenchError::Invalid`] listing the known names, or naming a parameter that is unknown,
/// not a number in its range, or given to a strategy that does not take it.
pub fn lookup(name: &str, activation: Activation) -> Result<InitChoice, BenchError> {
    let (base, parameters) = split_parameters(name)?;
    let mut choice = lookup_base(name, base, activation, parameters.gain)?;
    if let Some(std) = parameters.bias_std {
        match &mut choice {
            InitChoice::Strategy(layer) => layer.bias = Initializer::normal(0.0, std),
            _ => {
                return Err(BenchError::invalid(
                    "init",
                    name,
                    "bias_std on a weight initializer (lsuv and the residual schemes set whole networks)",
                ));
            }
        }
    }
    Ok(choice)
}

/// A comma-separated list of names split at the commas outside parentheses, so that
/// `orthogonal(gain = 1, bias_std = 0.1),he_normal` is two names; each trimmed, empty ones
/// dropped.
pub fn split_names(list: &str) -> Vec<String> {
    let mut names = Vec::new();
    let (mut depth, mut start) = (0_usize, 0);
    for (i, c) in list.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                names.push(list[start..i].trim().to_owned());
                start = i + 1;
            }
            _ => {}
        }
    }
    names.push(list[start..].trim().to_owned());
    names.retain(|n| !n.is_empty());
    names
}

/// The strategies that take a `gain` parameter.
pub const GAINED: &[&str] = &[
    "glorot_uniform",
    "glorot_normal",
    "lecun_normal",
    "lecun_uniform",
    "orthogonal",
    "delta_orthogonal",
];

/// The parameters a name may end in.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Parameters {
    gain: Option<f64>,
    bias_std: Option<f64>,
}

/// `name(key = value, ...)` split into the name and its checked parameters.
fn split_parameters(name: &str) -> Result<(&str, Parameters), BenchError> {
    let Some((base, rest)) = name.split_once('(') else {
        return Ok((name.trim(), Parameters::default()));
    };
    let list = rest.strip_suffix(')').ok_or_else(|| {
        BenchError::invalid("init", name, "parameters in parentheses: name(gain = 1.0)")
    })?;
    let mut parameters = Parameters::default();
    for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            BenchError::invalid("init", name, format!("key = value, not `{pair}`"))
        })?;
        let (key, value) = (key.trim(), value.trim());
        let number = value.parse::<f64>().ok().filter(|v| v.is_finite());
        let (slot, number) = match key {
            "gain" => (&mut parameters.gain, number.filter(|&g| g > 0.0)),
            "bias_std" => (&mut parameters.bias_std, number.filter(|&s| s >= 0.0)),
            _ => {
                return Err(BenchError::invalid(
                    "init",
                    name,
                    format!("the parameters gain and bias_std, not `{key}`"),
                ));
            }
        };
        let Some(number) = number else {
            let range = if key == "gain" { "> 0" } else { ">= 0" };
            return Err(BenchError::invalid(
                "init",
                name,
                format!("{key} a finite number {range}, not `{value}`"),
            ));
        };
        if slot.replace(number).is_some() {
            return Err(BenchError::invalid("init", name, format!("{key} once")));
        }
    }
    Ok((base.trim(), parameters))
}

/// [`lookup`] of a name without parameters; `gain`, if given, replaces the strategy's.
fn lookup_base(
    full_name: &str,
    name: &str,
    activation: Activation,
    explicit_gain: Option<f64>,
) -> Result<InitChoice, BenchError> {
    let gain = explicit_gain.unwrap_or_else(|| activation.nonlinearity().gain());
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
    if !CATALOG.iter().any(|n| n.name == name) {
        return Err(unknown(name));
    }
    if explicit_gain.is_some() && !GAINED.contains(&name) {
        return Err(BenchError::invalid(
            "init",
            full_name,
            format!("gain on one of {}", GAINED.join(", ")),
        ));
    }
    let glorot_gain = explicit_gain.unwrap_or(1.0);
    let lecun = |distribution| match explicit_gain {
        Some(gain) => Initializer::VarianceScaling {
            scale: gain * gain,
            mode: FanMode::FanIn,
            distribution,
        },
        None if distribution == ScalingDistribution::Normal => Initializer::LeCunNormal,
        None => Initializer::LeCunUniform,
    };
    Ok(match name {
        "zeros" => weights(Initializer::Zeros),
        "constant" => weights(Initializer::Constant { value: 0.05 }),
        "small_normal" => weights(Initializer::normal(0.0, 0.01)),
        "large_normal" => weights(Initializer::normal(0.0, 1.0)),
        "glorot_uniform" => weights(Initializer::GlorotUniform { gain: glorot_gain }),
        "glorot_normal" => weights(Initializer::GlorotNormal { gain: glorot_gain }),
        "he_normal" => weights(Initializer::HeNormal {
            mode: FanMode::FanIn,
            nonlinearity: activation.nonlinearity(),
        }),
        "he_uniform" => weights(Initializer::HeUniform {
            mode: FanMode::FanIn,
            nonlinearity: activation.nonlinearity(),
        }),
        "lecun_normal" => weights(lecun(ScalingDistribution::Normal)),
        "lecun_uniform" => weights(lecun(ScalingDistribution::Uniform)),
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
        _ => return Err(unknown(name)),
    })
}

/// The error for a name the catalog lacks, listing the known ones.
fn unknown(name: &str) -> BenchError {
    let known: Vec<&str> = CATALOG.iter().map(|n| n.name).collect();
    BenchError::invalid("init", name, format!("one of {}", known.join(", ")))
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

    fn strategy(name: &str) -> LayerInit {
        match lookup(name, Activation::Tanh) {
            Ok(InitChoice::Strategy(layer)) => layer,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn parameters_set_the_gain_and_the_bias_spread() {
        let layer = strategy("delta_orthogonal( gain = 1.05 , bias_std=0.02)");
        assert!(matches!(
            layer.weight,
            Initializer::DeltaOrthogonal { gain, groups: 1 } if gain == 1.05
        ));
        assert!(
            matches!(layer.bias, Initializer::Normal { mean, std } if mean == 0.0 && std == 0.02)
        );
        // The Gaussian at delta-orthogonal's variance: g² / fan_in.
        let gaussian = strategy("lecun_normal(gain=1.05)");
        let moments = gaussian
            .weight
            .moments(initlab_init::Fans::new(16 * 9, 16 * 9))
            .unwrap()
            .unwrap();
        assert!((moments.variance * 144.0 - 1.05 * 1.05).abs() < 1e-12);
        // Without parameters, names keep their strategies (and their draws).
        assert!(matches!(
            strategy("lecun_normal").weight,
            Initializer::LeCunNormal
        ));
        assert!(matches!(
            strategy("orthogonal").weight,
            Initializer::Orthogonal { gain } if gain == 5.0 / 3.0
        ));
        assert!(matches!(
            strategy("xavier_normal(gain=2)").weight,
            Initializer::GlorotNormal { gain } if gain == 2.0
        ));
        assert!(
            matches!(strategy("he_normal(bias_std=0)").bias, Initializer::Normal { std, .. } if std == 0.0)
        );
    }

    #[test]
    fn lists_split_at_the_commas_outside_parentheses() {
        assert_eq!(
            split_names(" orthogonal(gain = 1, bias_std = 0.1),he_normal ,, lsuv"),
            ["orthogonal(gain = 1, bias_std = 0.1)", "he_normal", "lsuv"]
        );
    }

    #[test]
    fn bad_parameters_name_what_was_expected() {
        for (name, expected) in [
            ("he_normal(gain=2)", "gain on one of"),
            ("orthogonal(gain=0)", "gain a finite number > 0"),
            ("orthogonal(gain=nan)", "gain a finite number > 0"),
            ("orthogonal(bias_std=-1)", "bias_std a finite number >= 0"),
            (
                "orthogonal(scale=2)",
                "the parameters gain and bias_std, not `scale`",
            ),
            ("orthogonal(gain=1, gain=2)", "gain once"),
            ("orthogonal(gain 1)", "key = value"),
            ("orthogonal(gain=1", "parameters in parentheses"),
            ("lsuv(bias_std=0.1)", "bias_std on a weight initializer"),
            ("fixup(gain=1)", "gain on one of"),
            ("nope(gain=1)", "one of zeros"),
        ] {
            let err = lookup(name, Activation::Tanh).unwrap_err().to_string();
            assert!(err.contains(expected), "{name}: {err}");
        }
    }
}
