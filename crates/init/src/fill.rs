//! Filling tensors with an [`Initializer`]'s values: in PyTorch's layout or another, whole
//! or block by block, with the fans of the shape or given ones.

use ndarray::{Array, ArrayBase, ArrayViewMutD, DataMut, Dimension, IntoDimension};

use crate::initializer::{Initializer, WeightLayout};
use crate::row_major::with_row_major;
use crate::{Element, Fans, InitError, RngKey, orthogonal, sparse, structured};

impl Initializer {
    /// Fills `tensor` in place. Fans, where needed, come from its shape in PyTorch's layout
    /// (`[out, in, k...]`); use [`fill_with_fans`](Self::fill_with_fans) for other layouts
    /// or for a bias that scales with its weight's fans.
    ///
    /// Values depend only on the strategy, `key` and the shape: see [`RngKey`] for the
    /// reproducibility contract.
    ///
    /// # Errors
    /// A bad parameter, an empty shape, a shape of the wrong rank, or missing/zero fans.
    pub fn fill<T, S, D>(&self, tensor: &mut ArrayBase<S, D>, key: RngKey) -> Result<(), InitError>
    where
        T: Element,
        S: DataMut<Elem = T>,
        D: Dimension,
    {
        self.fill_in_layout(tensor, WeightLayout::PyTorch, key)
    }

    /// Fills `tensor` stored in `layout`: fans come from the layout's axes, and orthogonal
    /// flattens along them (Keras: `[k... * in, out]`, whose columns, or rows if fewer, are
    /// orthonormal, as Keras's `Orthogonal`). Dirac and sparse are defined for PyTorch's
    /// layout only.
    ///
    /// # Errors
    /// As [`fill`](Self::fill); [`InitError::Rank`] for dirac or sparse in Keras's layout.
    ///
    /// # Examples
    /// ```
    /// use initlab_init::{Initializer, RngKey, WeightLayout};
    /// use initlab_init::ndarray::Array2;
    ///
    /// // A Keras dense kernel [in, out] = [300, 100]: its 100 columns are orthonormal.
    /// let mut kernel = Array2::<f64>::zeros((300, 100));
    /// Initializer::orthogonal(1.0).fill_in_layout(&mut kernel, WeightLayout::Keras, RngKey::new(1))?;
    /// let gram = kernel.t().dot(&kernel);
    /// assert!((gram[[3, 3]] - 1.0).abs() < 1e-12 && gram[[3, 4]].abs() < 1e-12);
    /// # Ok::<(), initlab_init::InitError>(())
    /// ```
    pub fn fill_in_layout<T, S, D>(
        &self,
        tensor: &mut ArrayBase<S, D>,
        layout: WeightLayout,
        key: RngKey,
    ) -> Result<(), InitError>
    where
        T: Element,
        S: DataMut<Elem = T>,
        D: Dimension,
    {
        let fans = self.fans_in_layout(tensor.shape(), layout)?;
        self.fill_dyn(tensor.view_mut().into_dyn(), fans, key, layout)
    }

    /// The fans this strategy reads from `shape` in `layout`, if it reads any.
    fn fans_in_layout(
        &self,
        shape: &[usize],
        layout: WeightLayout,
    ) -> Result<Option<Fans>, InitError> {
        Ok(if self.needs_fans() {
            Some(layout.fans(shape).map_err(|e| match e {
                InitError::FanOverflow { .. } => e,
                _ => InitError::NoFans {
                    strategy: self.static_name(),
                    shape: shape.to_vec(),
                },
            })?)
        } else if let Self::Custom(_) = self.innermost() {
            // A custom strategy decides what to do without fans (a bias, a vector).
            layout.fans(shape).ok()
        } else {
            None
        })
    }

    /// Fills `values` with the shard `rows x cols` of the tensor `shape` (PyTorch's layout,
    /// flattened to `[shape[0], rest]`), row-major: exactly the values a fill of the whole
    /// tensor with `key` puts there. Each model-parallel rank fills only its own shard, and
    /// the shards put together are the full fill bit for bit, whatever the world size or
    /// the thread count. Fans, and so the variance, are the whole tensor's.
    ///
    /// A row shard costs its own size. The whole tensor's values are drawn row after row,
    /// so a column shard draws every row it spans whole: `n` column shards cost `n` full
    /// fills in all.
    ///
    /// Elementwise strategies only. Orthogonal needs the QR of the whole matrix: fill the
    /// full tensor once and slice it (or broadcast it); identity, Dirac, sparse and custom
    /// strategies are refused too.
    ///
    /// # Errors
    /// As [`fill`](Self::fill); [`InitError::Shard`] for ranges outside the tensor, a
    /// `values` of another length than the shard's, or a strategy that is not elementwise.
    ///
    /// # Examples
    /// ```
    /// use initlab_init::{Initializer, Nonlinearity, RngKey};
    ///
    /// // A [4096, 1024] weight split over 4 ranks by rows: rank 2 holds rows 2048..3072.
    /// let he = Initializer::he_normal(Nonlinearity::Relu);
    /// let key = RngKey::new(0).tensor(3);
    /// let mut shard = vec![0.0f32; 1024 * 1024];
    /// he.fill_shard(&mut shard, &[4096, 1024], 2048..3072, 0..1024, key)?;
    ///
    /// let full = he.sample::<f32, _>((4096, 1024), key)?;
    /// assert_eq!(shard, full.as_slice().unwrap()[2048 * 1024..3072 * 1024]);
    /// # Ok::<(), initlab_init::InitError>(())
    /// ```
    pub fn fill_shard<T: Element>(
        &self,
        values: &mut [T],
        shape: &[usize],
        rows: std::ops::Range<usize>,
        cols: std::ops::Range<usize>,
        key: RngKey,
    ) -> Result<(), InitError> {
        self.validate()?;
        let strategy = self.static_name();
        let refuse = |detail: String| InitError::Shard { strategy, detail };
        let Some((&height, rest)) = shape.split_first() else {
            return Err(InitError::EmptyShape { strategy });
        };
        let width = rest.iter().try_fold(1_usize, |w, &d| w.checked_mul(d));
        let Some(width) = width.filter(|w| height.checked_mul(*w).is_some()) else {
            return Err(refuse(format!(
                "shape {shape:?} has more values than a usize counts"
            )));
        };
        if rows.start > rows.end || rows.end > height || cols.start > cols.end || cols.end > width {
            return Err(refuse(format!(
                "rows {rows:?} and columns {cols:?} are not within the {height} x {width} of shape {shape:?}"
            )));
        }
        let (shard_rows, shard_cols) = (rows.len(), cols.len());
        if values.len() != shard_rows * shard_cols {
            return Err(refuse(format!(
                "{} values given for a {shard_rows} x {shard_cols} shard",
                values.len()
            )));
        }
        let fans = self.fans_in_layout(shape, WeightLayout::PyTorch)?;
        let sampler = match fans {
            Some(fans) => self.sampler(fans)?,
            None => self.sampler_without_fans(),
        };
        let Some(sampler) = sampler else {
            return Err(refuse(
                "only elementwise strategies fill a shard alone; fill the whole tensor and slice it"
                    .to_owned(),
            ));
        };
        sampler.check_range::<T>(strategy)?;
        if values.is_empty() {
            return Ok(());
        }
        if shard_cols == width {
            sampler.fill_at(values, rows.start * width, key);
            return Ok(());
        }
        // Whole rows a few blocks at a time, then the shard's columns out of them.
        let rows_per_chunk = (4 * crate::BLOCK_LEN / width).max(1);
        let mut whole = vec![T::zero(); rows_per_chunk.min(shard_rows) * width];
        for (chunk, out) in rows
            .clone()
            .step_by(rows_per_chunk)
            .zip(values.chunks_mut(rows_per_chunk * shard_cols))
        {
            let count = out.len() / shard_cols;
            let whole = &mut whole[..count * width];
            sampler.fill_at(whole, chunk * width, key);
            for (row, out) in whole.chunks(width).zip(out.chunks_mut(shard_cols)) {
                out.copy_from_slice(&row[cols.clone()]);
            }
        }
        Ok(())
    }

    /// [`fill_in_layout`](Self::fill_in_layout) for a tensor held as a plain slice, such
    /// as a `Vec<f32>` on its way to a burn `TensorData` or a candle `Tensor`: `values` is
    /// the tensor of `shape` in row-major order.
    ///
    /// # Errors
    /// As [`fill_in_layout`](Self::fill_in_layout); [`InitError::Length`] when `values`
    /// does not hold exactly the shape's number of values.
    ///
    /// # Examples
    /// ```
    /// use initlab_init::{Initializer, RngKey, WeightLayout};
    ///
    /// // A Keras-layout [in, out] kernel as a plain vector.
    /// let mut kernel = vec![0.0f32; 784 * 256];
    /// Initializer::glorot_uniform().fill_slice(&mut kernel, &[784, 256], WeightLayout::Keras, RngKey::new(0).tensor(1))?;
    /// let bound = (6.0f32 / (784.0 + 256.0)).sqrt();
    /// assert!(kernel.iter().all(|v| v.abs() <= bound));
    /// // candle: Tensor::from_vec(kernel, (784, 256), &device)?
    /// // burn:   TensorData::new(kernel, [784, 256])
    /// # Ok::<(), initlab_init::InitError>(())
    /// ```
    pub fn fill_slice<T: Element>(
        &self,
        values: &mut [T],
        shape: &[usize],
        layout: WeightLayout,
        key: RngKey,
    ) -> Result<(), InitError> {
        let len = shape.iter().try_fold(1_usize, |n, &d| n.checked_mul(d));
        if len != Some(values.len()) {
            return Err(InitError::Length {
                strategy: self.static_name(),
                values: values.len(),
                shape: shape.to_vec(),
                expected: len.map_or_else(
                    || "a shape of at most usize::MAX values".to_owned(),
                    |n| format!("{n} values"),
                ),
            });
        }
        let mut tensor = ndarray::ArrayViewMut::from_shape(shape.to_vec(), values)
            .expect("the length was checked against the shape");
        self.fill_in_layout(&mut tensor, layout, key)
    }

    /// Fills `tensor` in place using the given fans instead of its shape's.
    ///
    /// # Errors
    /// As [`fill`](Self::fill).
    pub fn fill_with_fans<T, S, D>(
        &self,
        tensor: &mut ArrayBase<S, D>,
        fans: Fans,
        key: RngKey,
    ) -> Result<(), InitError>
    where
        T: Element,
        S: DataMut<Elem = T>,
        D: Dimension,
    {
        self.fill_dyn(
            tensor.view_mut().into_dyn(),
            Some(fans),
            key,
            WeightLayout::PyTorch,
        )
    }

    /// A new array of `shape` (C order) filled by this strategy, fans from the shape.
    ///
    /// # Errors
    /// As [`fill`](Self::fill).
    ///
    /// # Examples
    /// ```
    /// use initlab_init::{Initializer, Nonlinearity, RngKey};
    ///
    /// let w = Initializer::he_normal(Nonlinearity::Relu).sample::<f32, _>((256, 784), RngKey::new(7))?;
    /// let variance = w.mapv(|v| v * v).mean().unwrap();
    /// assert!((variance - 2.0 / 784.0).abs() < 0.02 * 2.0 / 784.0);
    /// # Ok::<(), initlab_init::InitError>(())
    /// ```
    pub fn sample<T, Sh>(&self, shape: Sh, key: RngKey) -> Result<Array<T, Sh::Dim>, InitError>
    where
        T: Element,
        Sh: IntoDimension,
    {
        let mut tensor = Array::from_elem(shape.into_dimension(), T::zero());
        self.fill(&mut tensor, key)?;
        Ok(tensor)
    }

    fn fill_dyn<T: Element>(
        &self,
        mut tensor: ArrayViewMutD<'_, T>,
        fans: Option<Fans>,
        key: RngKey,
        layout: WeightLayout,
    ) -> Result<(), InitError> {
        self.validate()?;
        if tensor.ndim() == 0 {
            return Err(InitError::EmptyShape {
                strategy: self.static_name(),
            });
        }
        // Nothing to fill, whichever dimension is zero (as PyTorch, which no-ops on
        // zero-element tensors).
        if tensor.is_empty() {
            return Ok(());
        }
        let sampler = match fans {
            Some(fans) => self.sampler(fans)?,
            None => self.sampler_without_fans(),
        };
        if let Some(sampler) = sampler {
            sampler.check_range::<T>(self.static_name())?;
            return with_row_major(&mut tensor, |values| {
                sampler.fill(values, key);
                Ok(())
            });
        }
        self.fill_structured(tensor.view_mut(), fans, key, layout)?;
        // Structured fills are slow next to one pass over the values, and scale by a gain
        // that may overflow the element type.
        if let Some(bad) = tensor.iter().find(|v| !v.is_finite()) {
            return Err(InitError::OutOfRange {
                strategy: self.static_name(),
                element: std::any::type_name::<T>(),
                detail: format!("it produced {bad:?}"),
            });
        }
        Ok(())
    }

    /// The strategies that are not one i.i.d. distribution.
    fn fill_structured<T: Element>(
        &self,
        mut tensor: ArrayViewMutD<'_, T>,
        fans: Option<Fans>,
        key: RngKey,
        layout: WeightLayout,
    ) -> Result<(), InitError> {
        let shape = tensor.shape().to_vec();
        if layout == WeightLayout::Keras && matches!(self, Self::Dirac { .. } | Self::Sparse { .. })
        {
            return Err(InitError::Rank {
                strategy: self.static_name(),
                expected: "PyTorch's layout [out, in, k...], not Keras's",
                shape,
            });
        }
        match *self {
            Self::Orthogonal { gain } => orthogonal::orthogonal(&mut tensor, gain, key, layout),
            Self::DeltaOrthogonal { gain, groups } => {
                orthogonal::delta_orthogonal(&mut tensor, gain, groups, key, layout)
            }
            Self::Identity { gain } => structured::identity(&mut tensor, gain),
            Self::Dirac { groups } => structured::dirac(&mut tensor, groups),
            Self::Sparse { sparsity, std } => sparse::sparse(&mut tensor, sparsity, std, key),
            Self::Scaled { ref inner, factor } => {
                inner.fill_structured(tensor.view_mut(), fans, key, layout)?;
                let factor = T::from_f64_rounded(factor);
                tensor.mapv_inplace(|v| v * factor);
                Ok(())
            }
            Self::Custom(ref custom) => with_row_major(&mut tensor, |values| {
                let mut wide: Vec<f64> = vec![0.0; values.len()];
                custom.fill(&mut wide, &shape, fans, key)?;
                for (v, w) in values.iter_mut().zip(wide) {
                    *v = T::from_f64_rounded(w);
                }
                Ok(())
            }),
            _ => Err(InitError::NoFans {
                strategy: self.static_name(),
                shape,
            }),
        }
    }
}
