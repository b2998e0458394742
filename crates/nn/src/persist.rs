//! Saving and loading weights as `.safetensors` (readable by PyTorch and candle), with the
//! network's configuration as JSON in the file's metadata.

use std::collections::HashMap;
use std::path::Path;

use ndarray::{Array1, Array2};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::{Dense, Mlp, MlpConfig, NnError, Real};

/// Metadata key holding the configuration JSON.
const CONFIG_KEY: &str = "initlab.mlp_config";

fn dtype<T: Real>() -> Dtype {
    if std::mem::size_of::<T>() == 4 {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

impl<T: Real> Mlp<T> {
    /// Writes every parameter under its name (`layers.0.weight`, ...) in `T`'s precision,
    /// with the configuration as JSON in the metadata.
    ///
    /// # Errors
    /// [`NnError::Io`] if the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), NnError> {
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = self
            .named_parameters()
            .into_iter()
            .map(|(name, tensor)| {
                let data = tensor.iter().flat_map(|v| to_le_bytes(*v)).collect();
                (name, tensor.shape().to_vec(), data)
            })
            .collect();
        let views: Vec<(String, TensorView<'_>)> = bytes
            .iter()
            .map(|(name, shape, data)| {
                (
                    name.clone(),
                    TensorView::new(dtype::<T>(), shape.clone(), data).expect("sizes agree"),
                )
            })
            .collect();
        let config = serde_json::to_string(self.config()).expect("a config serializes");
        let metadata = HashMap::from([(CONFIG_KEY.to_owned(), config)]);
        let serialized =
            safetensors::serialize(views, Some(metadata)).map_err(|e| NnError::Format {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        std::fs::write(path, serialized).map_err(|source| NnError::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads a network written by [`save`](Self::save). Every tensor's name, shape and
    /// dtype is checked against the configuration, and a mismatch names the tensor.
    ///
    /// # Errors
    /// [`NnError::Io`] if the file cannot be read, [`NnError::Format`] naming what is
    /// missing or wrong.
    pub fn load(path: &Path) -> Result<Self, NnError> {
        let bytes = std::fs::read(path).map_err(|source| NnError::Io {
            path: path.to_owned(),
            source,
        })?;
        let format = |message: String| NnError::Format {
            path: path.to_owned(),
            message,
        };
        let (_, metadata) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| format(format!("not a safetensors file: {e}")))?;
        let config_json = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get(CONFIG_KEY))
            .ok_or_else(|| {
                format(format!(
                    "metadata has no `{CONFIG_KEY}` entry; was it written by initlab?"
                ))
            })?;
        let config: MlpConfig = serde_json::from_str(config_json)
            .map_err(|e| format(format!("`{CONFIG_KEY}`: {e}")))?;
        config.validate()?;
        let tensors = SafeTensors::deserialize(&bytes)
            .map_err(|e| format(format!("not a safetensors file: {e}")))?;
        let read = |name: String, shape: &[usize]| -> Result<Vec<T>, NnError> {
            let view = tensors
                .tensor(&name)
                .map_err(|_| format(format!("tensor `{name}` is missing")))?;
            if view.dtype() != dtype::<T>() {
                return Err(format(format!(
                    "tensor `{name}` has dtype {:?}; expected {:?}",
                    view.dtype(),
                    dtype::<T>()
                )));
            }
            if view.shape() != shape {
                return Err(format(format!(
                    "tensor `{name}` has shape {:?}; expected {shape:?}",
                    view.shape()
                )));
            }
            Ok(view
                .data()
                .chunks_exact(std::mem::size_of::<T>())
                .map(from_le_bytes)
                .collect())
        };
        let mut layers = Vec::new();
        for (l, (fan_in, fan_out)) in config.layer_shapes().into_iter().enumerate() {
            let weight = Array2::from_shape_vec(
                (fan_out, fan_in),
                read(format!("layers.{l}.weight"), &[fan_out, fan_in])?,
            )
            .expect("checked shape");
            let bias = Array1::from(read(format!("layers.{l}.bias"), &[fan_out])?);
            let activation = config
                .activations
                .get(l)
                .copied()
                .unwrap_or(crate::Activation::Identity);
            layers.push(Dense {
                weight,
                bias,
                activation,
            });
        }
        let expected = 2 * layers.len();
        if tensors.len() != expected {
            return Err(format(format!(
                "file holds {} tensors; the configuration has {expected}",
                tensors.len()
            )));
        }
        Mlp::from_layers(config, layers)
    }
}

fn to_le_bytes<T: Real>(value: T) -> Vec<u8> {
    if std::mem::size_of::<T>() == 4 {
        (value.wide() as f32).to_le_bytes().to_vec()
    } else {
        value.wide().to_le_bytes().to_vec()
    }
}

fn from_le_bytes<T: Real>(bytes: &[u8]) -> T {
    match bytes.len() {
        4 => T::of(f64::from(f32::from_le_bytes(
            bytes.try_into().expect("4 bytes"),
        ))),
        _ => T::of(f64::from_le_bytes(bytes.try_into().expect("8 bytes"))),
    }
}
