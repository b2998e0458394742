//! Saving and loading [`Net`] weights as `.safetensors` (readable by PyTorch
//! and candle), with the network's configuration as JSON in the file's metadata.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::net::{Net, NetConfig, NetInit};
use crate::{MlpConfig, NnError, Real};

/// Metadata key holding an [`MlpConfig`]'s JSON.
const CONFIG_KEY: &str = "initlab.mlp_config";

/// Metadata key holding a [`NetConfig`]'s JSON.
const NET_CONFIG_KEY: &str = "initlab.net_config";

/// The name an MLP's file gives the tensor a plain net names `name`: `layers.{2i}.weight`
/// is `layers.{i}.weight`.
fn mlp_name(name: &str) -> String {
    let mut parts: Vec<String> = name.split('.').map(str::to_owned).collect();
    if let Some(index) = parts.get(1).and_then(|i| i.parse::<usize>().ok()) {
        parts[1] = (index / 2).to_string();
    }
    parts.join(".")
}

fn dtype<T: Real>() -> Dtype {
    if std::mem::size_of::<T>() == 4 {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

impl<T: Real> Net<T> {
    /// Writes every parameter and running average under its name (`layers.0.weight`,
    /// `layers.2.branch.1.bias`, `layers.3.alpha` as a 0-dimensional tensor,
    /// `layers.1.running_mean`) in `T`'s precision, with the configuration as JSON in the
    /// metadata.
    ///
    /// # Errors
    /// [`NnError::Io`] if the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), NnError> {
        let config = serde_json::to_string(self.config()).expect("a config serializes");
        let mut tensors = self.named_parameters();
        tensors.extend(self.named_buffers());
        write(path, tensors, NET_CONFIG_KEY, config)
    }

    /// Reads a network written by [`save`](Self::save), or an MLP's file written
    /// before nets and MLPs were one model (as the plain net of the same layers, predicting
    /// the same bits), checking every tensor's name,
    /// shape and dtype against the configuration.
    ///
    /// # Errors
    /// [`NnError::Io`] if the file cannot be read, [`NnError::Format`] naming what is
    /// missing or wrong (a non-finite value included), [`NnError::Layer`] for a
    /// configuration that cannot be built.
    pub fn load(path: &Path) -> Result<Self, NnError> {
        let file = Stored::open(path, &[NET_CONFIG_KEY, CONFIG_KEY])?;
        // An MLP's file (the only kind before nets and MLPs were one model) names its
        // layers `layers.{i}`: the same net names them `layers.{2i}`, the activation between.
        let (config, renamed): (NetConfig, fn(&str) -> String) = if file.key == CONFIG_KEY {
            let mlp: MlpConfig = file.config()?;
            mlp.validate()?;
            (mlp.to_net_config(), mlp_name)
        } else {
            (file.config()?, str::to_owned)
        };
        // The configuration is the file's word for how large a network to build: a few
        // hundred bytes may describe billions of weights. The tensors must be in the file.
        // Counted at f32's 4 bytes, the least a network is saved in, so that a file of the
        // other precision is told so by `read` below, naming the tensor. (A configuration
        // whose layers do not fit together is left to `build` to name.)
        if let Some(count) = config.parameter_count() {
            let needed = count.checked_mul(std::mem::size_of::<f32>());
            if needed.is_none_or(|needed| needed > file.bytes.len()) {
                return Err(file.error(format!(
                    "the configuration describes {count} parameters, at least {} as f32, and the file has {} bytes in all",
                    needed.map_or_else(|| "past usize::MAX bytes".into(), |n| format!("{n} bytes")),
                    file.bytes.len()
                )));
            }
        }
        let zeros = NetInit::new(
            initlab_init::Initializer::Zeros,
            initlab_init::Initializer::Zeros,
        );
        let mut net = config.build::<T>(&zeros, 0)?;
        let tensors = file.tensors()?;
        let params = net.tensors().to_vec();
        let buffers = net.buffer_tensors().to_vec();
        for (list, values) in [(params, true), (buffers, false)] {
            for tensor in list {
                let read = file.read::<T>(&tensors, &renamed(&tensor.name), &tensor.shape)?;
                // A trainer never writes NaN or infinity into a network: such a file was
                // damaged or made elsewhere, and would predict NaN.
                if let Some(at) = read.iter().position(|v| !v.is_finite()) {
                    return Err(NnError::Format {
                        path: path.to_owned(),
                        message: format!(
                            "{}[{at}] is {}; a network's parameters and running statistics are finite",
                            tensor.name,
                            read[at].wide()
                        ),
                    });
                }
                let target = if values {
                    net.parameters_mut()
                } else {
                    net.buffers_mut()
                };
                target[tensor.offset..tensor.offset + tensor.len()].copy_from_slice(&read);
            }
        }
        file.expect_count(&tensors, net.tensors().len() + net.buffer_tensors().len())?;
        Ok(net)
    }
}

/// Writes `tensors` in `T`'s precision with `config` under `key` in the metadata.
fn write<T: Real>(
    path: &Path,
    tensors: Vec<(String, ndarray::ArrayViewD<'_, T>)>,
    key: &str,
    config: String,
) -> Result<(), NnError> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
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
    let metadata = HashMap::from([(key.to_owned(), config)]);
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

/// The bytes of `path`, which must be a regular file: a saved network is read whole, so
/// its length is known before reading and the buffer is reserved fallibly, where a pipe
/// or a device (`/dev/zero`) might never end.
fn read_whole(path: &Path) -> Result<Vec<u8>, NnError> {
    use std::io::Read;
    let io = |source| NnError::Io {
        path: path.to_owned(),
        source,
    };
    let refuse = |message: String| NnError::Format {
        path: path.to_owned(),
        message,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(refuse(
            "not a regular file; a saved network is read whole, and a pipe or device may never end: copy it into a file first".into(),
        ));
    }
    let mut bytes = Vec::new();
    usize::try_from(metadata.len())
        .ok()
        .and_then(|len| bytes.try_reserve_exact(len).ok())
        .ok_or_else(|| refuse(format!("{} bytes do not fit in memory", metadata.len())))?;
    // A file that grows meanwhile is read as long as it was when opened.
    file.take(metadata.len())
        .read_to_end(&mut bytes)
        .map_err(io)?;
    Ok(bytes)
}

/// A `.safetensors` file read into memory, with the configuration under `key`.
struct Stored<'p> {
    path: &'p Path,
    bytes: Vec<u8>,
    key: &'static str,
    config: String,
}

impl<'p> Stored<'p> {
    /// Opens `path` and reads the configuration under the first of `keys` its metadata has.
    fn open(path: &'p Path, keys: &[&'static str]) -> Result<Self, NnError> {
        let bytes = read_whole(path)?;
        let mut file = Self {
            path,
            bytes,
            key: keys[0],
            config: String::new(),
        };
        let (_, metadata) = SafeTensors::read_metadata(&file.bytes)
            .map_err(|e| file.error(format!("not a safetensors file: {e}")))?;
        let found = keys.iter().find_map(|&key| {
            let config = metadata.metadata().as_ref()?.get(key)?;
            Some((key, config.clone()))
        });
        let Some((key, config)) = found else {
            let names: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
            return Err(file.error(format!(
                "metadata has no {} entry; was it written by initlab?",
                names.join(" or ")
            )));
        };
        (file.key, file.config) = (key, config);
        Ok(file)
    }

    fn error(&self, message: String) -> NnError {
        NnError::Format {
            path: self.path.to_owned(),
            message,
        }
    }

    fn config<C: serde::de::DeserializeOwned>(&self) -> Result<C, NnError> {
        serde_json::from_str(&self.config).map_err(|e| self.error(format!("`{}`: {e}", self.key)))
    }

    fn tensors(&self) -> Result<SafeTensors<'_>, NnError> {
        SafeTensors::deserialize(&self.bytes)
            .map_err(|e| self.error(format!("not a safetensors file: {e}")))
    }

    /// The values of tensor `name`, checked to be of `shape` and `T`'s dtype.
    fn read<T: Real>(
        &self,
        tensors: &SafeTensors<'_>,
        name: &str,
        shape: &[usize],
    ) -> Result<Vec<T>, NnError> {
        let view = tensors
            .tensor(name)
            .map_err(|_| self.error(format!("tensor `{name}` is missing")))?;
        if view.dtype() != dtype::<T>() {
            return Err(self.error(format!(
                "tensor `{name}` has dtype {:?}; expected {:?}",
                view.dtype(),
                dtype::<T>()
            )));
        }
        if view.shape() != shape {
            return Err(self.error(format!(
                "tensor `{name}` has shape {:?}; expected {shape:?}",
                view.shape()
            )));
        }
        Ok(view
            .data()
            .chunks_exact(std::mem::size_of::<T>())
            .map(from_le_bytes)
            .collect())
    }

    /// Refuses a file with tensors the configuration does not have.
    fn expect_count(&self, tensors: &SafeTensors<'_>, expected: usize) -> Result<(), NnError> {
        if tensors.len() == expected {
            Ok(())
        } else {
            Err(self.error(format!(
                "file holds {} tensors; the configuration has {expected}",
                tensors.len()
            )))
        }
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
