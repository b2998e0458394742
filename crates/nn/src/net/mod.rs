//! The network model: every network `initlab-nn` trains is a [`Net`], from plain stacks of dense
//! layers and activations to residual blocks, LayerNorm and BatchNorm, and convolutional
//! networks on images ([`NetConfig::image`]: convolutions, pooling, flatten, BatchNorm over
//! channels), with the initializations made for them (Fixup, SkipInit, ReZero, GPT-2's
//! residual scaling, zero γ, delta-orthogonal kernels).
//!
//! A [`NetConfig`] lists [`LayerSpec`]s; [`NetConfig::build`] lays out and initializes
//! them with a [`NetInit`] into a [`Net`], whose trainable values live in one flat vector
//! (named by its [`Tensor`]s), and [`Trainer`](crate::Trainer) trains it. A net whose
//! layers are a plain stack runs the plain-stack passes (each layer's products in one
//! piece, row chunks in training); any other runs the general ones, layer by layer in
//! fixed blocks of units. Every layer's backward pass is checked against finite
//! differences in f64 (`tests/net_gradient_check.rs`), and
//! training is bitwise identical on any number of threads, BatchNorm included: its
//! statistics cover the whole mini-batch, each feature summed over samples in order.
//! [`diagnose`] reports them per stage (a dense layer or a block, with the normalization
//! and activation after it), and [`lsuv`] initializes them on data.
//!
//! # The schemes, at initialization
//! | scheme | configuration | what a block computes at init |
//! |---|---|---|
//! | SkipInit (De & Smith 2020) | [`Alpha::learnable`]`(0.0)`, no normalization | the identity |
//! | ReZero (Bachlechner et al. 2020) | [`Alpha::learnable`]`(0.0)`, no normalization | the identity |
//! | Fixup (Zhang et al. 2019) | [`BranchInit::Fixup`], [`Alpha::learnable`]`(1.0)` | the identity; output layer zero |
//! | zero last layer | [`BranchInit::ZeroLast`] | the identity |
//! | zero γ (Goyal et al. 2017) | [`NetConfig::with_zero_gamma`], post-activation with a norm ending the branch | the activation of its input |
//! | GPT-2 | [`BranchInit::Gpt2`]`{ std: 0.02 }` | `x + O(1/sqrt(2L))` |
//!
//! SkipInit and ReZero are the same function in an MLP: SkipInit multiplies a residual
//! branch by a learnable scalar initialized at 0 to replace BatchNorm in ResNets; ReZero
//! does the same to replace LayerNorm in Transformers. They differ in the networks they
//! were made for, not in what the multiplier does.
//!
//! # Examples
//! ```
//! use initlab_nn::init::{Initializer, Nonlinearity};
//! use initlab_nn::ndarray::Array2;
//! use initlab_nn::net::{Alpha, NetConfig, NetInit, Ordering, ResidualBlock};
//! use initlab_nn::Activation;
//!
//! // ReZero: eight blocks that start as the identity.
//! let block = ResidualBlock::new(16, 2, Activation::Relu, Ordering::PreActivation).with_alpha(Alpha::learnable(0.0));
//! let config = NetConfig::new(16).blocks(block, 8);
//! let net = config.build::<f64>(&NetInit::new(Initializer::he_normal(Nonlinearity::Relu), Initializer::Zeros), 0)?;
//! let x = Array2::from_shape_fn((4, 16), |(i, j)| (i * 16 + j) as f64 / 64.0 - 0.5);
//! assert_eq!(net.predict(x.view())?, x);
//! # Ok::<(), initlab_nn::NnError>(())
//! ```

mod block;
mod build;
mod diagnose;
mod lsuv;
mod norm;
pub(crate) mod pass;
mod plain;
mod shape;
mod spec;

use ndarray::{Array2, ArrayView2, ArrayViewD, IxDyn, s};

pub use block::{Ordering, ResidualBlock};
pub use build::{BranchInit, DenseInit, NetInit, Tensor};
pub use diagnose::diagnose;
pub use lsuv::lsuv;
pub use shape::{EVALUATION_VALUES, GemmShape, Image, Shape};
pub use spec::{Alpha, LayerSpec, NetConfig, Norm};

use crate::data::Io;
use crate::stack;
use crate::workspace::Workspace;
use crate::{Loss, NnError, Real, Targets};
use initlab_gemm::Kernel;
use pass::{Mode, Node, Slot};

/// A network built from a [`NetConfig`]: its layers, trainable parameters in one flat
/// vector, and BatchNorm's running averages.
#[derive(Debug, Clone, PartialEq)]
pub struct Net<T> {
    config: NetConfig,
    output: usize,
    nodes: Vec<Node>,
    params: Vec<T>,
    running: Vec<T>,
    tensors: Vec<Tensor>,
    buffers: Vec<Tensor>,
    /// Its dense layers when it is a plain stack (see [`plain`](Self::plain)).
    plain: Option<Vec<plain::PlainLayer>>,
    /// What runs its f32 products.
    kernel: Kernel,
}

impl NetConfig {
    /// Lays out and initializes the network; parameter tensor `k` (in
    /// [`Net::tensors`] order) draws from tensor `k` of `seed`.
    ///
    /// # Errors
    /// A bad layer ([`NnError::Layer`]) or initializer parameter ([`NnError::Init`]).
    pub fn build<T: Real>(&self, init: &NetInit, seed: u64) -> Result<Net<T>, NnError> {
        let output = self.output()?;
        let compiled = build::compile(self, init, seed)?;
        Ok(Net {
            plain: plain::layout(&compiled.nodes),
            config: self.clone(),
            output,
            nodes: compiled.nodes,
            params: compiled.params,
            running: compiled.running,
            tensors: compiled.tensors,
            buffers: compiled.buffers,
            kernel: Kernel::default(),
        })
    }
}

impl<T: Real> Workspace<T> {
    /// Buffers for every layer of `net`.
    pub(crate) fn for_net(net: &Net<T>, rows: usize) -> Self {
        Self {
            slots: Slot::sequence(&net.nodes, net.config.input, rows).0,
        }
    }
}

impl<T: Real> Net<T> {
    /// What runs its f32 products: OpenBLAS unless [`set_kernel`](Self::set_kernel) chose
    /// otherwise (f64 products always run on BLAS).
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Runs its f32 products on `kernel` from now on: OpenBLAS, or initlab-gemm's packed
    /// kernel, whose bits do not depend on the thread count or the instruction set. The
    /// same network on another kernel trains to other bits.
    ///
    /// # Examples
    /// ```
    /// use initlab_nn::gemm::{CpuFeatures, Kernel};
    /// use initlab_nn::init::{Initializer, Nonlinearity};
    /// use initlab_nn::{net::{NetConfig, NetInit}, Activation};
    ///
    /// let config = NetConfig::new(4).dense(8).activation(Activation::Relu).dense(2);
    /// let init = NetInit::new(Initializer::he_normal(Nonlinearity::Relu), Initializer::Zeros);
    /// let mut net = config.build::<f32>(&init, 0)?;
    /// if let Ok(packed) = Kernel::parse("packed", CpuFeatures::detect()) {
    ///     net.set_kernel(packed);
    ///     assert_eq!(net.kernel(), packed);
    /// }
    /// # Ok::<(), initlab_nn::NnError>(())
    /// ```
    pub fn set_kernel(&mut self, kernel: Kernel) {
        self.kernel = kernel;
    }

    /// The description it was built from.
    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    /// Width of the logits.
    pub fn output(&self) -> usize {
        self.output
    }

    /// Every trainable value, tensor after tensor (see [`tensors`](Self::tensors)).
    pub fn parameters(&self) -> &[T] {
        &self.params
    }

    /// Every trainable value, to change in place.
    pub fn parameters_mut(&mut self) -> &mut [T] {
        &mut self.params
    }

    /// The trainable tensors, in the order of [`parameters`](Self::parameters).
    pub fn tensors(&self) -> &[Tensor] {
        &self.tensors
    }

    /// BatchNorm's running means and variances (not trained), in the order of
    /// [`buffer_tensors`](Self::buffer_tensors).
    pub fn buffers(&self) -> &[T] {
        &self.running
    }

    /// The running averages, to change in place.
    pub fn buffers_mut(&mut self) -> &mut [T] {
        &mut self.running
    }

    /// The running-average tensors.
    pub fn buffer_tensors(&self) -> &[Tensor] {
        &self.buffers
    }

    /// Number of trainable values.
    pub fn parameter_count(&self) -> usize {
        self.params.len()
    }

    /// Parameters by name, in PyTorch's style.
    pub fn named_parameters(&self) -> Vec<(String, ArrayViewD<'_, T>)> {
        named(&self.tensors, &self.params)
    }

    /// Running averages by name (`layers.1.running_mean`, `layers.1.running_var`).
    pub fn named_buffers(&self) -> Vec<(String, ArrayViewD<'_, T>)> {
        named(&self.buffers, &self.running)
    }

    pub(crate) fn io(&self) -> Io {
        Io {
            input: self.config.input,
            output: self.output,
        }
    }

    /// Logits for `inputs` in evaluation mode (BatchNorm on its running averages), in
    /// chunks of [`NetConfig::evaluation_rows`]; a plain stack in one piece.
    ///
    /// # Errors
    /// [`NnError::InputWidth`] or [`NnError::NonFiniteInput`]; no rows give no logits.
    pub fn predict(&self, inputs: ArrayView2<'_, T>) -> Result<Array2<T>, NnError> {
        crate::data::check_width(self.io(), inputs.ncols())?;
        if inputs.nrows() == 0 {
            return Ok(Array2::zeros((0, self.output)));
        }
        // ReLU and friends would turn a NaN input into finite logits.
        crate::data::validate_inputs(self.io(), inputs)?;
        // A plain stack runs as an MLP does, BLAS threads as they are set: the same bits.
        if let Some(plain) = self.plain() {
            return Ok(stack::logits(&plain, inputs));
        }
        let mut logits = Array2::zeros((inputs.nrows(), self.output));
        self.evaluate(inputs, |start, chunk| {
            logits
                .slice_mut(s![start..start + chunk.nrows(), ..])
                .assign(&chunk);
        });
        Ok(logits)
    }

    /// Fraction of rows classified as labelled, in evaluation mode, in chunks of
    /// [`NetConfig::evaluation_rows`]:
    /// the class is the index of the largest logit (the first of equals) or, for one logit
    /// (a sigmoid's, trained with [`Loss::BinaryCrossEntropyWithLogits`]), 1 when it is
    /// positive and 0 otherwise.
    ///
    /// # Errors
    /// Wrong input width, mismatched or out-of-range labels, or no rows.
    pub fn accuracy(&self, inputs: ArrayView2<'_, T>, labels: &[usize]) -> Result<f64, NnError> {
        crate::data::validate_inputs(self.io(), inputs)?;
        crate::data::validate_labels(labels, inputs.nrows(), self.output.max(2))?;
        if let Some(plain) = self.plain() {
            return Ok(stack::correct(&plain, inputs, labels) as f64 / inputs.nrows() as f64);
        }
        let mut correct = 0;
        self.evaluate(inputs, |start, logits| {
            for (row, &label) in logits.rows().into_iter().zip(&labels[start..]) {
                correct += usize::from(stack::predicted_class(row) == label);
            }
        });
        Ok(correct as f64 / inputs.nrows() as f64)
    }

    /// The mean loss in evaluation mode (BatchNorm on its running averages).
    ///
    /// # Errors
    /// Data the network cannot use.
    pub fn loss(
        &self,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        loss: Loss,
    ) -> Result<f64, NnError> {
        crate::data::validate(self.io(), inputs, targets)?;
        loss.check_targets(targets)?;
        if let Some(plain) = self.plain() {
            return Ok(stack::forward_loss(&plain, inputs, targets, loss).0);
        }
        let scale = T::of(1.0 / inputs.nrows() as f64);
        let mut total = 0.0;
        // The loss is fused with its gradient: one scratch buffer for every chunk's.
        let rows = self.config.evaluation_rows().min(inputs.nrows());
        let mut grad = Array2::zeros((rows, self.output));
        self.evaluate(inputs, |start, logits| {
            let rows = start..start + logits.nrows();
            let grad = grad.slice_mut(s![..logits.nrows(), ..]);
            total += loss.forward_backward(logits, targets.rows(rows), scale, grad);
        });
        Ok(total)
    }

    /// Runs evaluation mode over `inputs` in chunks, handing each chunk's logits with its
    /// first row to `visit`.
    fn evaluate(&self, inputs: ArrayView2<'_, T>, mut visit: impl FnMut(usize, ArrayView2<'_, T>)) {
        // The passes split layers across rayon's threads: BLAS stays on one each.
        let _single_threaded_blas = initlab_gemm::SingleThreadedBlas::new();
        let chunk = self.config.evaluation_rows().min(inputs.nrows());
        let mut workspace = Workspace::for_net(self, chunk);
        for start in (0..inputs.nrows()).step_by(chunk) {
            let x = inputs.slice(s![start..(start + chunk).min(inputs.nrows()), ..]);
            let x = x.as_standard_layout();
            self.forward(x.view(), &mut workspace, Mode::Eval);
            visit(start, workspace.logits(x.nrows()));
        }
    }

    /// The mean loss over all rows as one mini-batch (BatchNorm on the batch's statistics,
    /// its running averages left alone), and the gradient of every parameter, aligned with
    /// [`parameters`](Self::parameters).
    ///
    /// # Errors
    /// Data the network cannot use.
    pub fn loss_and_gradients(
        &self,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        loss: Loss,
    ) -> Result<(f64, Vec<T>), NnError> {
        crate::data::validate(self.io(), inputs, targets)?;
        loss.check_targets(targets)?;
        let mut grads = vec![T::zero(); self.params.len()];
        if let Some(plain) = self.plain() {
            let mut views = plain.gradient_views(&mut grads);
            let (value, _) = stack::full_pass(&plain, inputs, targets, loss, &mut views);
            return Ok((value, grads));
        }
        let _single_threaded_blas = initlab_gemm::SingleThreadedBlas::new();
        let x = inputs.as_standard_layout();
        let rows = x.nrows();
        let mut workspace = Workspace::for_net(self, rows);
        let value = self.train_pass(x.view(), targets, loss, &mut workspace, &mut grads);
        Ok((value, grads))
    }

    /// Forward in training mode, loss, backward: the mean loss, and every parameter's
    /// gradient in `grads`.
    pub(crate) fn train_pass(
        &self,
        x: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        loss: Loss,
        ws: &mut Workspace<T>,
        grads: &mut [T],
    ) -> f64 {
        let rows = x.nrows();
        self.forward(x, ws, Mode::Train);
        let (logits, grad) = ws.logits_and_grad(rows);
        let value = loss.forward_backward(logits, targets, T::of(1.0 / rows as f64), grad);
        let nodes = &self.nodes;
        pass::backward(
            self.kernel,
            nodes,
            &mut ws.slots,
            x,
            None,
            &self.params,
            grads,
        );
        value
    }

    fn forward(&self, x: ArrayView2<'_, T>, ws: &mut Workspace<T>, mode: Mode) {
        pass::forward(
            self.kernel,
            &self.nodes,
            &mut ws.slots,
            x,
            &self.params,
            &self.running,
            mode,
        );
    }

    /// Every dense layer's weight `[out, in]` and bias `[out]`, in the order a forward pass
    /// meets them (residual branches included).
    pub fn dense_parameters(&self) -> Vec<(ArrayView2<'_, T>, ndarray::ArrayView1<'_, T>)> {
        pass::dense_layers(&self.nodes)
            .iter()
            .map(|d| pass::dense_parameters(&self.params, d.at, d.input, d.output))
            .collect()
    }

    /// Every layer's output for `inputs` in training mode (BatchNorm on the batch), for
    /// looking inside the network: each hidden stage's output (a dense layer or residual
    /// block with the normalization and activation after it, as [`diagnose`] reports
    /// them), then the logits, `[rows, width]` each. A plain stack's stages are its dense
    /// layers' activations, each layer computed in one piece.
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn activations(&self, inputs: ArrayView2<'_, T>) -> Result<Vec<Array2<T>>, NnError> {
        crate::data::validate_inputs(self.io(), inputs)?;
        if let Some(plain) = self.plain() {
            return Ok(stack::layer_outputs(&plain, inputs));
        }
        Ok(self.training_pass(inputs, |slots, x| {
            pass::stages(&self.nodes)
                .into_iter()
                .map(|stage| {
                    slots[stage.end - 1]
                        .out
                        .slice(s![..x.nrows(), ..])
                        .to_owned()
                })
                .collect()
        }))
    }

    /// Each dense layer's input for `inputs` in training mode, `[rows, fan_in]`, in the
    /// order [`dense_parameters`](Self::dense_parameters) lists the layers: with `(W, b)`
    /// from there, `x Wᵀ + b` is the layer's pre-activation, and `x ΔWᵀ` what a change of
    /// its weights alone does to it.
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn dense_inputs(&self, inputs: ArrayView2<'_, T>) -> Result<Vec<Array2<T>>, NnError> {
        crate::data::validate_inputs(self.io(), inputs)?;
        if let Some(plain) = self.plain() {
            // The same bits as `activations`: each hidden layer's activations feed the next.
            let mut outputs = stack::layer_outputs(&plain, inputs);
            outputs.pop();
            return Ok(std::iter::once(inputs.to_owned()).chain(outputs).collect());
        }
        Ok(self.training_pass(inputs, |slots, x| {
            pass::dense_layers(&self.nodes)
                .iter()
                .map(|dense| pass::input_at(slots, x, &dense.path).to_owned())
                .collect()
        }))
    }

    /// The input-output Jacobian at the sample `x`: row `i` is the gradient of output `i`
    /// (a logit) with respect to the input, `[output, input]`. One backward pass computes
    /// every row at once, over `output` copies of `x`, each seeded with one output's unit
    /// gradient. Its singular values tell whether a network is dynamically isometric
    /// (Pennington et al. 2017; Xiao et al. 2018 for CNNs): all near one, a signal's every
    /// direction keeps its size through depth.
    ///
    /// It holds the network's buffers for `output` rows while it runs: for a network of
    /// many outputs, take the Jacobian of a part of it (its layers up to a narrow one).
    ///
    /// # Errors
    /// [`NnError::InputWidth`] or [`NnError::NonFiniteInput`]; [`NnError::Config`] for a
    /// network with BatchNorm, whose training statistics would couple the copies.
    ///
    /// # Examples
    /// ```
    /// use initlab_nn::init::Initializer;
    /// use initlab_nn::ndarray::Array1;
    /// use initlab_nn::net::{NetConfig, NetInit};
    ///
    /// // Linear 3x3 convolutions whose kernels are orthogonal at the centre and zero
    /// // elsewhere map each pixel's channels orthogonally: the Jacobian is orthogonal.
    /// let config = NetConfig::image(4, 5, 5).conv(4, 3, 1, 1).conv(4, 3, 1, 1).flatten();
    /// let init = NetInit::new(Initializer::delta_orthogonal(1.0), Initializer::Zeros);
    /// let net = config.build::<f64>(&init, 0)?;
    /// let j = net.input_jacobian(Array1::linspace(-1.0, 1.0, 100).view())?;
    /// let gram = j.t().dot(&j);
    /// assert!((gram[[7, 7]] - 1.0).abs() < 1e-12 && gram[[7, 8]].abs() < 1e-12);
    /// # Ok::<(), initlab_nn::NnError>(())
    /// ```
    pub fn input_jacobian(&self, x: ndarray::ArrayView1<'_, T>) -> Result<Array2<T>, NnError> {
        let x = x.insert_axis(ndarray::Axis(0));
        crate::data::check_width(self.io(), x.ncols())?;
        crate::data::validate_inputs(self.io(), x)?;
        if self.config.has_batch_norm() {
            return Err(NnError::Config {
                field: "network",
                value: "a network with BatchNorm".into(),
                expected: "one without: BatchNorm's batch statistics would couple the copies \
                           of the sample that the Jacobian's rows are computed on",
            });
        }
        let rows = self.output;
        let copies = x
            .broadcast((rows, x.ncols()))
            .expect("one row broadcasts")
            .to_owned();
        let _single_threaded_blas = initlab_gemm::SingleThreadedBlas::new();
        let mut workspace = Workspace::for_net(self, rows);
        self.forward(copies.view(), &mut workspace, Mode::Train);
        let (_, mut seed) = workspace.logits_and_grad(rows);
        seed.fill(T::zero());
        seed.diag_mut().fill(T::one());
        let mut jacobian = Array2::zeros(copies.dim());
        let mut grads = vec![T::zero(); self.params.len()];
        pass::backward(
            self.kernel,
            &self.nodes,
            &mut workspace.slots,
            copies.view(),
            Some(jacobian.view_mut()),
            &self.params,
            &mut grads,
        );
        Ok(jacobian)
    }

    /// Runs a training-mode forward pass over `inputs` and reads the layers' buffers.
    fn training_pass<R>(
        &self,
        inputs: ArrayView2<'_, T>,
        read: impl FnOnce(&[Slot<T>], ArrayView2<'_, T>) -> R,
    ) -> R {
        let x = inputs.as_standard_layout();
        let mut workspace = Workspace::for_net(self, x.nrows());
        let _single_threaded_blas = initlab_gemm::SingleThreadedBlas::new();
        self.forward(x.view(), &mut workspace, Mode::Train);
        read(&workspace.slots, x.view())
    }

    /// Where each dense layer's weight and bias start in [`parameters`](Self::parameters),
    /// in the order a forward pass meets them.
    pub(crate) fn dense_parameter_offsets(&self) -> Vec<(usize, usize)> {
        pass::dense_layers(&self.nodes)
            .iter()
            .map(|d| (d.at, d.at + d.input * d.output))
            .collect()
    }

    /// Folds the batch statistics of the last training pass over `rows` samples into the
    /// running averages.
    pub(crate) fn update_running(&mut self, ws: &Workspace<T>, rows: usize) {
        pass::update_running(&self.nodes, &ws.slots, &mut self.running, rows);
    }
}

fn named<'a, T>(tensors: &[Tensor], values: &'a [T]) -> Vec<(String, ArrayViewD<'a, T>)> {
    tensors
        .iter()
        .map(|t| {
            let view =
                ArrayViewD::from_shape(IxDyn(&t.shape), &values[t.offset..t.offset + t.len()])
                    .expect("tensor shape");
            (t.name.clone(), view)
        })
        .collect()
}
