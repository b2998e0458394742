//! A plain stack's weight gradients in fixed blocks of output units, ordered so that the
//! threads share them evenly.

use crate::Real;

/// Output units per weight-gradient block: the unit of parallel work after the row chunks.
/// Large enough for efficient GEMMs, small enough that a 512-unit layer splits in two.
pub const GRAD_ROWS: usize = 256;

/// The weight and bias gradient of [`GRAD_ROWS`] output units of one layer.
#[derive(Debug)]
pub(crate) struct GradBlock<T> {
    pub(super) layer: usize,
    pub(super) units: std::ops::Range<usize>,
    pub(super) dw: ndarray::Array2<T>,
    pub(super) db: ndarray::Array1<T>,
}

/// Every layer's gradient cut into blocks of [`GRAD_ROWS`] units, ordered so that rayon's
/// recursive halving of the list gives every thread about the same GEMM work (a layer of
/// 784 inputs costs more per unit than one of 512), and each layer's block indices.
pub(crate) fn grad_blocks<T: Real>(
    shapes: &[(usize, usize)],
) -> (Vec<GradBlock<T>>, Vec<Vec<usize>>) {
    let mut blocks = Vec::new();
    for (layer, &(fan_in, units)) in shapes.iter().enumerate() {
        for start in (0..units).step_by(GRAD_ROWS) {
            let end = (start + GRAD_ROWS).min(units);
            blocks.push(GradBlock {
                layer,
                units: start..end,
                dw: ndarray::Array2::zeros((end - start, fan_in)),
                db: ndarray::Array1::zeros(end - start),
            });
        }
    }
    let costs: Vec<f64> = blocks.iter().map(|b| b.dw.len() as f64).collect();
    let order = balanced_order(&costs);
    let mut slots: Vec<Option<GradBlock<T>>> = blocks.into_iter().map(Some).collect();
    let blocks: Vec<GradBlock<T>> = order
        .iter()
        .map(|&i| slots[i].take().expect("each block once"))
        .collect();
    let mut layer_blocks = vec![Vec::new(); shapes.len()];
    let mut by_unit: Vec<(usize, usize, usize)> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (b.layer, b.units.start, i))
        .collect();
    by_unit.sort_unstable();
    for (layer, _, index) in by_unit {
        layer_blocks[layer].push(index);
    }
    (blocks, layer_blocks)
}

/// An order of items with these costs in which every recursive halving of the list splits
/// the cost about evenly: largest first, each to the lighter half, then each half ordered
/// the same way.
fn balanced_order(costs: &[f64]) -> Vec<usize> {
    fn order(items: Vec<usize>, costs: &[f64]) -> Vec<usize> {
        if items.len() <= 2 {
            return items;
        }
        let mut sorted = items;
        sorted.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
        let (mut left, mut right) = (Vec::new(), Vec::new());
        let (mut left_cost, mut right_cost) = (0.0, 0.0);
        for i in sorted {
            // Halving puts the first len/2 items left: keep the halves' sizes matched too.
            if (left_cost <= right_cost && left.len() < costs.len()) || right.len() > left.len() + 1
            {
                left_cost += costs[i];
                left.push(i);
            } else {
                right_cost += costs[i];
                right.push(i);
            }
        }
        let mut out = order(left, costs);
        out.extend(order(right, costs));
        out
    }
    order((0..costs.len()).collect(), costs)
}

#[cfg(test)]
mod tests {
    use super::balanced_order;

    #[test]
    fn halving_the_balanced_order_splits_the_cost_evenly() {
        // The 784-512-512-10 network in blocks of 256 units.
        let costs = [200_704.0, 200_704.0, 131_072.0, 131_072.0, 5_120.0];
        let order = balanced_order(&costs);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3, 4], "a permutation");
        let half = order.len() / 2;
        let left: f64 = order[..half].iter().map(|&i| costs[i]).sum();
        let right: f64 = order[half..].iter().map(|&i| costs[i]).sum();
        assert!(
            (left - right).abs() <= 5_120.0 + 1e-9,
            "{order:?}: {left} vs {right}"
        );
    }
}
