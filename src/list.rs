//! `initlab list`: every initializer with its formula and source.

use initlab_bench::registry;

pub(crate) fn list() {
    say!("| name | also accepted | weights and biases | source |\n|---|---|---|---|");
    for entry in registry::CATALOG {
        say!(
            "| {} | {} | {} | {} |",
            entry.name,
            entry.aliases.join(", "),
            entry.formula,
            entry.source
        );
    }
    say!(
        "\nGains (he_normal, he_uniform, orthogonal, delta_orthogonal) follow the hidden activation, as PyTorch's calculate_gain."
    );
    say!(
        "A name may end in parameters, as in `delta_orthogonal(gain = 1.04, bias_std = 0.01)`: gain (on {}) sets the weights' gain, by default the activation's for the orthogonal ones and 1 for the others; bias_std draws every bias from N(0, bias_std^2).",
        registry::GAINED.join(", ")
    );
}
