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
        "\nGains (he_normal, he_uniform, orthogonal) follow the hidden activation, as PyTorch's calculate_gain."
    );
}
