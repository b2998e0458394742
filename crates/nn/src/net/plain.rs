//! A [`Net`] whose layers are `dense → activation → … → dense`, as a plain
//! [`Stack`]: it then trains in row chunks and runs each layer's products in one piece.

use initlab_gemm::Kernel;
use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};

use super::Net;
use super::pass::Node;
use crate::stack::{LayerGrads, LayerUpdate, Stack, StackLayer, StackMut};
use crate::{Activation, Real};

/// A dense layer of a plain net: where its weight starts in the flat parameters (its bias
/// follows), its widths and the activation after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PlainLayer {
    at: usize,
    input: usize,
    output: usize,
    activation: Activation,
}

/// The dense layers of `nodes` when they form a plain stack: a dense layer first and last,
/// and between every two dense layers exactly one activation.
pub(crate) fn layout(nodes: &[Node]) -> Option<Vec<PlainLayer>> {
    let mut layers = Vec::with_capacity(nodes.len() / 2 + 1);
    for (i, node) in nodes.iter().enumerate() {
        match (i % 2, node) {
            (0, &Node::Dense { input, output, at }) => layers.push(PlainLayer {
                at,
                input,
                output,
                activation: Activation::Identity,
            }),
            (1, &Node::Activation(activation)) if i + 1 < nodes.len() => {
                layers.last_mut()?.activation = activation;
            }
            _ => return None,
        }
    }
    (!layers.is_empty()).then_some(layers)
}

/// A plain net's parameters seen as a stack.
#[derive(Debug)]
pub(crate) struct PlainNet<'a, T> {
    pub(crate) params: &'a [T],
    pub(crate) layers: &'a [PlainLayer],
    pub(crate) kernel: Kernel,
}

/// A plain net's parameters to update.
#[derive(Debug)]
pub(crate) struct PlainNetMut<'a, T> {
    pub(crate) params: &'a mut [T],
    pub(crate) layers: &'a [PlainLayer],
    pub(crate) kernel: Kernel,
}

fn stack_layer<T>(params: &[T], layer: PlainLayer) -> StackLayer<'_, T> {
    let (w, rest) = params[layer.at..].split_at(layer.input * layer.output);
    StackLayer {
        weight: ArrayView2::from_shape((layer.output, layer.input), w).expect("weight shape"),
        bias: ArrayView1::from(&rest[..layer.output]),
        activation: layer.activation,
    }
}

impl<T: Real> PlainNet<'_, T> {
    /// Layer `l`'s weight in `values`, a vector aligned with the net's parameters (such as
    /// their gradient).
    pub(crate) fn weight_in<'v>(&self, values: &'v [T], l: usize) -> ArrayView2<'v, T> {
        stack_layer(values, self.layers[l]).weight
    }

    /// Each layer's weight and bias gradient as views into `grads`, a gradient aligned with
    /// the net's parameters.
    pub(crate) fn gradient_views<'g>(&self, grads: &'g mut [T]) -> Vec<LayerGrads<'g, T>> {
        let mut rest = grads;
        let mut offset = 0;
        let mut views = Vec::with_capacity(self.layers.len());
        for layer in self.layers {
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(layer.at - offset);
            let (weight, tail) = tail.split_at_mut(layer.input * layer.output);
            let (bias, tail) = tail.split_at_mut(layer.output);
            offset = layer.at + layer.input * layer.output + layer.output;
            rest = tail;
            let weight = ArrayViewMut2::from_shape((layer.output, layer.input), weight)
                .expect("weight shape");
            views.push((weight, ArrayViewMut1::from(bias)));
        }
        views
    }
}

impl<T: Real> Stack<T> for PlainNet<'_, T> {
    fn depth(&self) -> usize {
        self.layers.len()
    }

    fn kernel(&self) -> Kernel {
        self.kernel
    }

    fn layer(&self, l: usize) -> StackLayer<'_, T> {
        stack_layer(self.params, self.layers[l])
    }
}

impl<T: Real> Stack<T> for PlainNetMut<'_, T> {
    fn depth(&self) -> usize {
        self.layers.len()
    }

    fn kernel(&self) -> Kernel {
        self.kernel
    }

    fn layer(&self, l: usize) -> StackLayer<'_, T> {
        stack_layer(self.params, self.layers[l])
    }
}

impl<T: Real> StackMut<T> for PlainNetMut<'_, T> {
    fn layer_mut(&mut self, l: usize) -> (ArrayViewMut2<'_, T>, ArrayViewMut1<'_, T>) {
        let layer = self.layers[l];
        let (w, rest) = self.params[layer.at..].split_at_mut(layer.input * layer.output);
        let weight =
            ArrayViewMut2::from_shape((layer.output, layer.input), w).expect("weight shape");
        (weight, ArrayViewMut1::from(&mut rest[..layer.output]))
    }

    fn update_layers<S: Send>(&mut self, state: &mut [S], update: &LayerUpdate<'_, T, S>) {
        // The layers' tensors lie one after another: halve the list and the flat vector
        // together, so every layer gets its own slices without a list of them.
        fn split<T: Real, S: Send>(
            params: &mut [T],
            offset: usize,
            layers: &[PlainLayer],
            first: usize,
            state: &mut [S],
            update: &LayerUpdate<'_, T, S>,
        ) {
            if let [layer] = layers {
                let values = &mut params[layer.at - offset..];
                let (weight, rest) = values.split_at_mut(layer.input * layer.output);
                update(first, weight, &mut rest[..layer.output], state);
                return;
            }
            let mid = layers.len() / 2;
            let cut = layers[mid].at - offset;
            let (left, right) = params.split_at_mut(cut);
            let (left_state, right_state) = state.split_at_mut(2 * mid);
            rayon::join(
                || split(left, offset, &layers[..mid], first, left_state, update),
                || {
                    let offset = offset + cut;
                    split(
                        right,
                        offset,
                        &layers[mid..],
                        first + mid,
                        right_state,
                        update,
                    );
                },
            );
        }
        split(self.params, 0, self.layers, 0, state, update);
    }
}

impl<T: Real> Net<T> {
    /// The network as a plain stack, when it is one.
    pub(crate) fn plain(&self) -> Option<PlainNet<'_, T>> {
        self.plain.as_deref().map(|layers| PlainNet {
            params: &self.params,
            layers,
            kernel: self.kernel,
        })
    }

    /// The network as a plain stack to update, when it is one.
    pub(crate) fn plain_mut(&mut self) -> Option<PlainNetMut<'_, T>> {
        self.plain.as_deref().map(|layers| PlainNetMut {
            params: &mut self.params,
            layers,
            kernel: self.kernel,
        })
    }
}
