//! What a run needs of a network, plain or not.

use nn::net::Net;
use nn::{Event, History, LayerDiagnostics, Loss, Mlp, NnError, TrainConfig, Trainer};

/// What a run needs of a network, plain or not.
pub(crate) trait Model: Sync + Sized {
    fn accuracy(&self, x: ndarray::ArrayView2<'_, f32>, labels: &[usize]) -> Result<f64, NnError>;
    fn mean_loss(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        loss: Loss,
    ) -> Result<f64, NnError>;
    fn diagnose(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        loss: Loss,
    ) -> Result<Vec<LayerDiagnostics>, NnError>;
    fn train(
        &mut self,
        config: TrainConfig,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        on_event: impl FnMut(&Event, &Self) + Send,
    ) -> Result<History, NnError>;
    fn dense_shapes(&self) -> Vec<(usize, usize)>;
}

impl Model for Mlp<f32> {
    fn accuracy(&self, x: ndarray::ArrayView2<'_, f32>, labels: &[usize]) -> Result<f64, NnError> {
        Mlp::accuracy(self, x, labels)
    }
    fn mean_loss(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        loss: Loss,
    ) -> Result<f64, NnError> {
        self.loss(x, targets, loss)
    }
    fn diagnose(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        loss: Loss,
    ) -> Result<Vec<LayerDiagnostics>, NnError> {
        nn::diagnose(self, x, targets, loss, 0)
    }
    fn train(
        &mut self,
        config: TrainConfig,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        on_event: impl FnMut(&Event, &Self) + Send,
    ) -> Result<History, NnError> {
        Trainer::new(self, config)?.train(self, x, targets, on_event)
    }
    fn dense_shapes(&self) -> Vec<(usize, usize)> {
        self.config().layer_shapes()
    }
}

impl Model for Net<f32> {
    fn accuracy(&self, x: ndarray::ArrayView2<'_, f32>, labels: &[usize]) -> Result<f64, NnError> {
        Net::accuracy(self, x, labels)
    }
    fn mean_loss(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        loss: Loss,
    ) -> Result<f64, NnError> {
        self.loss(x, targets, loss)
    }
    fn diagnose(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        loss: Loss,
    ) -> Result<Vec<LayerDiagnostics>, NnError> {
        nn::net::diagnose(self, x, targets, loss, 0)
    }
    fn train(
        &mut self,
        config: TrainConfig,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        on_event: impl FnMut(&Event, &Self) + Send,
    ) -> Result<History, NnError> {
        nn::Trainer::new(self, config)?.train(self, x, targets, on_event)
    }
    fn dense_shapes(&self) -> Vec<(usize, usize)> {
        self.config().dense_shapes()
    }
}
