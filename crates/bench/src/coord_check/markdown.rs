//! The coordinate check's report as CSV and Markdown tables.

use super::{Coord, CoordCheckReport, FLAT, Slope, fitted_widths};

impl CoordCheckReport {
    /// One CSV row per measurement, every quantity: `mean_abs` after each step,
    /// `output_update` and `weight_update` after the first, `second_moment` at
    /// initialization.
    pub fn csv(&self) -> String {
        let mut csv = String::from("quantity,parametrization,width,seed,step,layer,value\n");
        for (quantity, coords) in [
            ("mean_abs", &self.coords),
            ("output_update", &self.updates),
            ("weight_update", &self.weight_updates),
            ("second_moment", &self.second_moments),
        ] {
            for c in coords {
                csv.push_str(&format!(
                    "{quantity},{},{},{},{},{},{:e}\n",
                    c.parametrization, c.width, c.seed, c.step, c.layer, c.value
                ));
            }
        }
        csv
    }

    /// The slopes at the last step, per layer, as a Markdown table.
    pub fn markdown(&self) -> String {
        let widths: Vec<String> = self.widths.iter().map(ToString::to_string).collect();
        let mut out = format!(
            "coordinate check: {} of width {} (μP's base: {}), {}, {} steps; slope of ln(mean |x|) in ln(width) over widths {:?} at step {}, mean ± standard error over seeds (flat: |slope| < {FLAT})\n\n| {} | standard | verdict | μP | verdict | predicted |\n|---|---:|---|---:|---|---:|\n",
            self.network(),
            widths.join(", "),
            self.widths[0],
            self.optimizer,
            self.steps,
            fitted_widths(&self.widths),
            self.steps,
            self.stage_word(),
        );
        let at = |parametrization: &str, layer: usize| {
            self.slopes
                .iter()
                .find(|s| {
                    s.parametrization == parametrization && s.step == self.steps && s.layer == layer
                })
                .expect("a slope per parametrization, step and layer")
        };
        for (layer, name) in (1..).zip(self.stage_names()) {
            let (sp, mup) = (at("standard", layer), at("mup", layer));
            out.push_str(&format!(
                "| {name} | {:.2} ± {:.2} | {} | {:.2} ± {:.2} | {} | {} |\n",
                sp.slope,
                sp.standard_error,
                sp.verdict(),
                mup.slope,
                mup.standard_error,
                mup.verdict(),
                predicted(mup),
            ));
        }
        out.push('\n');
        out.push_str(&self.layer_table(
            &format!(
                "The first step's relative update of each {}'s output, ‖x₁ - x₀‖ / ‖x₀‖ on the probe batch",
                self.stage_word()
            ),
            (self.stage_word(), &self.stage_names()),
            &self.updates,
            &self.update_slopes,
        ));
        out.push('\n');
        out.push_str(&self.weight_update_table());
        out
    }

    /// Width as `initlab signal` shows depth: each layer's mean square pre-activation at
    /// initialization and its own first update `‖ΔW x‖ / ‖W x‖`, their slopes in width
    /// against the predicted ones.
    pub fn width_signal_markdown(&self) -> String {
        let widths: Vec<String> = self.widths.iter().map(ToString::to_string).collect();
        let mut out = format!(
            "signal across width: {} of width {} (μP's base: {}), one step of {}\n\n",
            self.network(),
            widths.join(", "),
            self.widths[0],
            self.optimizer,
        );
        out.push_str(&self.layer_table(
            "Mean square pre-activation q = mean (W x + b)² at initialization",
            ("layer", &self.dense_names()),
            &self.second_moments,
            &self.second_moment_slopes,
        ));
        out.push('\n');
        out.push_str(&self.weight_update_table());
        out
    }

    fn weight_update_table(&self) -> String {
        self.layer_table(
            "Each layer's own first update ‖ΔW x‖ / ‖W x‖, x its input at initialization",
            ("layer", &self.dense_names()),
            &self.weight_updates,
            &self.weight_update_slopes,
        )
    }

    /// A per-layer quantity's slopes in width, predicted slopes and mean at the widest
    /// width, standard beside μP, as a Markdown table under `title`.
    fn layer_table(
        &self,
        title: &str,
        (word, names): (&str, &[String]),
        points: &[Coord],
        slopes: &[Slope],
    ) -> String {
        let widest = self.widths[self.widths.len() - 1];
        let mut out = format!(
            "{title}: slope in ln(width) over widths {:?}, mean ± standard error over seeds, and the mean at width {widest}\n\n| {word} | standard | predicted | at {widest} | μP | predicted | at {widest} |\n|---|---:|---:|---:|---:|---:|---:|\n",
            fitted_widths(&self.widths),
        );
        let at_widest = |parametrization: &str, layer: usize| {
            let values: Vec<f64> = points
                .iter()
                .filter(|p| {
                    p.parametrization == parametrization && p.layer == layer && p.width == widest
                })
                .map(|p| p.value)
                .collect();
            values.iter().sum::<f64>() / values.len().max(1) as f64
        };
        for (layer, name) in (1..).zip(names) {
            let mut row = format!("| {name} |");
            for parametrization in ["standard", "mup"] {
                let slope = slopes
                    .iter()
                    .find(|s| s.parametrization == parametrization && s.layer == layer)
                    .expect("a slope per parametrization and layer");
                row.push_str(&format!(
                    " {:.2} ± {:.2} | {} | {} |",
                    slope.slope,
                    slope.standard_error,
                    predicted(slope),
                    significant(at_widest(parametrization, layer)),
                ));
            }
            out.push_str(&row);
            out.push('\n');
        }
        out
    }

    /// The network in words: `3 hidden layers`, or the blocks and their normalization.
    fn network(&self) -> String {
        let norm = match self.norm {
            Some(initlab_nn::net::Norm::Layer) => " with LayerNorm",
            Some(initlab_nn::net::Norm::Batch) => " with BatchNorm",
            None => "",
        };
        match self.blocks {
            None => format!("{} hidden layers{norm}", self.depth),
            Some(blocks) => format!(
                "a dense stem and {blocks} pre-activation residual block{} of two layers{norm}",
                if blocks == 1 { "" } else { "s" }
            ),
        }
    }

    /// What a row of the stage tables is: a layer, or (residual nets) a stage.
    fn stage_word(&self) -> &'static str {
        if self.blocks.is_some() {
            "stage"
        } else {
            "layer"
        }
    }

    /// The name of each stage whose mean `|x|` and output update are measured, the logits
    /// last: `1, 2, ...`, or `stem, block 1, ...` (a stage is a dense layer or a residual
    /// block with the layers up to the next one, as [`initlab_nn::net::Net::activations`] says).
    pub fn stage_names(&self) -> Vec<String> {
        // A residual net's last block is measured after the normalization that follows
        // it, which holds its size whatever the parametrization.
        let last = if self.norm.is_some() {
            ", normalized"
        } else {
            ""
        };
        let hidden = (1..=self.depth).map(|stage| match self.blocks {
            None => stage.to_string(),
            Some(_) if stage == 1 => "stem".to_owned(),
            Some(_) if stage == self.depth => format!("block {}{last}", stage - 1),
            Some(_) => format!("block {}", stage - 1),
        });
        hidden.chain(std::iter::once("logits".to_owned())).collect()
    }

    /// The name of each dense layer whose second moment and own update are measured,
    /// the logits last: `1, 2, ...`, or `stem, block 1.1, block 1.2, ...`.
    pub fn dense_names(&self) -> Vec<String> {
        let Some(blocks) = self.blocks else {
            return self.stage_names();
        };
        let branches = (1..=blocks).flat_map(|b| [format!("block {b}.1"), format!("block {b}.2")]);
        std::iter::once("stem".to_owned())
            .chain(branches)
            .chain(std::iter::once("logits".to_owned()))
            .collect()
    }
}

fn predicted(slope: &Slope) -> String {
    slope.predicted.map_or("-".to_owned(), |p| format!("{p}"))
}

/// Four significant figures, in plain notation where that is short.
fn significant(value: f64) -> String {
    if value != 0.0 && !(1e-3..1e5).contains(&value.abs()) {
        format!("{value:.3e}")
    } else {
        let decimals = 3 - value.abs().log10().floor().clamp(-3.0, 3.0) as i32;
        format!("{value:.*}", decimals.max(0) as usize)
    }
}
