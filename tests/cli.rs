//! The `initlab` binary: listings, and clear errors with a non-zero exit on bad input,
//! leaving no output files behind.

mod common;

use common::{initlab, scratch, stderr_of_failure, stdout_of_success};

#[test]
fn list_prints_every_initializer_with_its_formula() {
    let text = stdout_of_success(initlab(&["list"]));
    for name in [
        "zeros",
        "he_normal",
        "glorot_uniform",
        "orthogonal",
        "lsuv",
        "pytorch_default",
    ] {
        assert!(
            text.contains(&format!("| {name} |")),
            "{name} missing from:\n{text}"
        );
    }
    assert!(text.contains("N(0, gain^2 / fan_in)"));
    for row in [
        "| glorot_uniform | xavier_uniform |",
        "| he_normal | kaiming_normal |",
        "| glorot_standard |",
    ] {
        assert!(text.contains(row), "{row} missing from:\n{text}");
    }
    // The names PyTorch users type run as the strategies they alias.
    let signal = |init: &str| {
        let dir = scratch(&format!("alias-{init}"));
        let args = [
            "signal", "--input", "gaussian", "--depth", "2", "--width", "16", "--batch", "32",
            "--inits", init, "--quiet", "--out",
        ];
        let out = stdout_of_success(initlab(
            &[&args[..], &[&dir.display().to_string()]].concat(),
        ));
        std::fs::remove_dir_all(dir).unwrap();
        out.lines()
            .find(|l| l.starts_with(&format!("| {init} |")))
            .map(|l| l.replacen(init, "", 1))
            .unwrap()
    };
    assert_eq!(signal("kaiming_normal"), signal("he_normal"));
    assert_eq!(signal("xavier_uniform"), signal("glorot_uniform"));
}

#[test]
fn bad_input_fails_with_a_message_and_writes_nothing() {
    let dir = scratch("bad");
    let out_dir = dir.join("out");
    let config = dir.join("experiment.toml");
    std::fs::write(
        &config,
        "[dataset]\nkind = \"circles\"\n[[arch]]\ndepth = 2\nwidth = 4\nactivation = \"relu\"\n[train]\ninits = [\"kaiming\"]\noptimizer = \"sgd\"\nlr = 0.1\nepochs = 1\nbatch_size = 8\nseeds = [0]\n",
    )
    .unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["run".into(), config.display().to_string()],
            "`train.inits` = \"kaiming\"",
        ),
        (
            vec!["run".into(), dir.join("absent.toml").display().to_string()],
            "absent.toml",
        ),
        (
            vec!["demo".into(), "--data".into(), dir.display().to_string()],
            "train-images-idx3-ubyte",
        ),
        (
            vec!["demo".into(), "--depth".into(), "0".into()],
            "at least 1",
        ),
    ];
    for (args, expected) in cases {
        let mut full = args.clone();
        full.extend([
            "--out".to_owned(),
            out_dir.display().to_string(),
            "--quiet".to_owned(),
        ]);
        let out = initlab(&full.iter().map(String::as_str).collect::<Vec<_>>());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr.starts_with("initlab: ") && stderr.contains(expected),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !out_dir.join("results.csv").exists(),
            "{args:?} left output behind"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_experiment_file_runs_end_to_end() {
    let dir = scratch("run");
    let config = dir.join("spirals.toml");
    std::fs::write(
        &config,
        "[dataset]\nkind = \"spirals\"\nsamples = 300\n[[arch]]\ndepth = 3\nwidth = 16\nactivation = \"tanh\"\n[train]\ninits = [\"zeros\", \"glorot_uniform\"]\noptimizer = \"adam\"\nlr = 0.01\nepochs = 2\nbatch_size = 32\nseeds = [0]\n",
    )
    .unwrap();
    let out_dir = dir.join("out");
    let out = initlab(&[
        "run",
        &config.display().to_string(),
        "--out",
        &out_dir.display().to_string(),
        "--quiet",
    ]);
    let stdout = stdout_of_success(out);
    assert!(
        stdout.contains("| tanh 3x16 | zeros |") && stdout.contains("symmetric and frozen"),
        "{stdout}"
    );
    for file in [
        "results.csv",
        "results.json",
        "loss_tanh_3x16.png",
        "gradient_variance_tanh_3x16.png",
    ] {
        assert!(out_dir.join(file).exists(), "{file} missing");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// `initlab throughput` on a 32-16-4 network, two steps of 16 samples timed once, into
/// `dir`, with `extra` arguments.
fn small_throughput(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let out = dir.display().to_string();
    let mut args = vec![
        "throughput",
        "--layers",
        "32,16,4",
        "--batch",
        "16",
        "--steps",
        "2",
        "--repeats",
        "1",
        "--quiet",
        "--out",
        &out,
    ];
    args.extend(extra);
    initlab(&args)
}

#[test]
fn throughput_reports_every_thread_count_beside_the_ceiling() {
    let dir = scratch("throughput");
    let out = small_throughput(&dir, &[]);
    let stdout = stdout_of_success(out);
    assert!(
        stdout.contains("| 32-16-4 | 1 |") && stdout.contains("OpenBLAS"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("throughput.json")).unwrap())
            .unwrap();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(json["rows"].as_array().unwrap().len(), threads);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn throughput_times_residual_and_normalized_networks() {
    let dir = scratch("throughput-residual");
    let out = initlab(&[
        "throughput",
        "--layers",
        "32,16,4",
        "--blocks",
        "3",
        "--norm",
        "batch",
        "--ordering",
        "post",
        "--batch",
        "16",
        "--steps",
        "2",
        "--repeats",
        "1",
        "--quiet",
        "--out",
        &dir.display().to_string(),
    ]);
    let stdout = stdout_of_success(out);
    assert!(
        stdout.contains("| 32 -> relu 3 blocks of 2x16 post batchnorm -> 4 | 1 |"),
        "{stdout}"
    );
    std::fs::remove_dir_all(dir).unwrap();
    for (args, expected) in [
        (
            &["--layers", "32,16,8,4", "--blocks", "3"][..],
            "input,width,output with --blocks",
        ),
        (
            &["--layers", "32,16,4", "--norm", "group"][..],
            "batch or layer",
        ),
        (
            &["--layers", "32,16,4", "--blocks", "0"][..],
            "`--blocks` = \"0\" is not allowed",
        ),
        (&["--blocks", "3"][..], "`--layers` = \"(missing)\""),
    ] {
        let err = stderr_of_failure(initlab(&[&["throughput"][..], args].concat()));
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn signal_predicts_residual_streams_and_measures_normalized_ones() {
    let dir = scratch("signal-residual");
    let out = initlab(&[
        "signal",
        "--residual",
        "--depth",
        "4",
        "--width",
        "32",
        "--input",
        "gaussian",
        "--batch",
        "64",
        "--inits",
        "he_normal,skipinit,fixup",
        "--quiet",
        "--out",
        &dir.display().to_string(),
    ]);
    let stdout = stdout_of_success(out);
    assert!(
        stdout.contains("relu 4 blocks of 2x32 pre at init")
            && stdout.contains("| skipinit | 2.000 | stable | stable | 1.0e0 |")
            && stdout.contains("| stage | he_normal | skipinit | fixup |"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let out = initlab(&[
        "signal",
        "--norm",
        "batch",
        "--depth",
        "4",
        "--width",
        "32",
        "--input",
        "gaussian",
        "--batch",
        "64",
        "--inits",
        "he_normal",
        "--quiet",
        "--out",
        &dir.display().to_string(),
    ]);
    let stdout = stdout_of_success(out);
    assert!(
        stdout.contains("Yang et al. 2019 predict 1.467"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    for (args, expected) in [
        (&["--inits", "fixup"][..], "no residual blocks"),
        (
            &["--residual", "--inits", "zero_gamma"][..],
            "post-activation",
        ),
        (&["--residual", "--inits", "lsuv"][..], "LSUV"),
        (&["--residual", "--branch", "4"][..], "`--branch` = \"4\""),
        (&["--norm", "group"][..], "batch or layer"),
    ] {
        let base = [
            "signal", "--depth", "2", "--width", "8", "--input", "gaussian", "--batch", "16",
        ];
        let err = stderr_of_failure(initlab(&[&base[..], args].concat()));
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn coord_check_writes_its_table_files_and_figures() {
    let dir = scratch("coord-check");
    let out = initlab(&[
        "coord-check",
        "--widths",
        "16,32,64",
        "--depth",
        "1",
        "--steps",
        "2",
        "--seeds",
        "2",
        "--batch",
        "16",
        "--quiet",
        "--out",
        &dir.display().to_string(),
    ]);
    let stdout = stdout_of_success(out);
    assert!(
        stdout.contains("| logits |") && stdout.contains("over widths [32, 64]"),
        "{stdout}"
    );
    for file in [
        "coord_check.csv",
        "coord_check.json",
        "coord_check_report.html",
        "coord_check_mup_step2.png",
        "coord_check_standard_step1.png",
    ] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // A residual net with LayerNorm: its stages and its blocks' branch layers.
    let stdout = stdout_of_success(initlab(&[
        "coord-check",
        "--widths",
        "16,32",
        "--blocks",
        "1",
        "--norm",
        "layer",
        "--steps",
        "1",
        "--seeds",
        "2",
        "--batch",
        "16",
        "--quiet",
        "--out",
        &dir.display().to_string(),
    ]));
    assert!(
        stdout.contains("1 pre-activation residual block of two layers with LayerNorm")
            && stdout.contains("| block 1, normalized |")
            && stdout.contains("| block 1.2 |"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let out = initlab(&["coord-check", "--depth", "2", "--blocks", "2"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--depth with --blocks is a usage error"
    );
    for (args, expected) in [
        (&["--norm", "group"][..], "`--norm`"),
        (&["--blocks", "0"][..], "`blocks`"),
        (&["--blocks", "18446744073709551615"][..], "at most 100000"),
        (&["--depth", "18446744073709551615"][..], "at most 100000"),
        (&["--widths", "64,32"][..], "two or more increasing widths"),
        (&["--optimizer", "rmsprop"][..], "`--optimizer`"),
        (&["--lr=-1"][..], "`--lr`"),
        (&["--steps", "1000"][..], "`steps x batch`"),
        (&["--steps", "18446744073709551615"][..], "`steps x batch`"),
        (
            &["--seeds", "18446744073709551615"][..],
            "`--seeds x --widths`",
        ),
    ] {
        let err = stderr_of_failure(initlab(
            &[&["coord-check", "--widths", "8,16"][..], args].concat(),
        ));
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn signal_across_width_writes_its_tables_and_refuses_depth_only_flags() {
    let dir = scratch("signal-width");
    let stdout = stdout_of_success(initlab(&[
        "signal",
        "--widths",
        "16,32,64",
        "--depth",
        "1",
        "--batch",
        "16",
        "--optimizer",
        "sgd",
        "--lr",
        "0.1",
        "--quiet",
        "--out",
        &dir.display().to_string(),
    ]));
    assert!(
        stdout.contains("Mean square pre-activation")
            && stdout.contains("‖ΔW x‖ / ‖W x‖")
            && stdout.contains("one step of Sgd"),
        "{stdout}"
    );
    for file in [
        "signal_width.csv",
        "signal_width.json",
        "signal_width_report.html",
        "signal_width_mup_update.png",
        "signal_width_standard_variance.png",
    ] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // Residual blocks with LayerNorm, as `coord-check --blocks --norm` builds them.
    let stdout = stdout_of_success(initlab(&[
        "signal",
        "--widths",
        "8,16",
        "--residual",
        "--depth",
        "1",
        "--norm",
        "layer",
        "--batch",
        "8",
        "--quiet",
        "--out",
        &dir.display().to_string(),
    ]));
    assert!(
        stdout.contains("1 pre-activation residual block of two layers with LayerNorm")
            && stdout.contains("| block 1.2 |"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let err = stderr_of_failure(initlab(&["signal", "--widths", "8,16", "--lr=-1"]));
    assert!(err.contains("`--lr`"), "{err}");
    // Flags of the depth view, and the width view's flags without it, are usage errors.
    for (args, expected) in [
        (
            &["--widths", "8,16", "--branch", "3"][..],
            "'--branch <BRANCH>'",
        ),
        (
            &["--widths", "8,16", "--input", "gaussian"][..],
            "'--input <INPUT>'",
        ),
        (&["--lr", "0.1"][..], "--widths <WIDTHS>"),
    ] {
        let out = initlab(&[&["signal"][..], args].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn signal_predicts_and_measures_each_layer() {
    let dir = scratch("signal");
    let args = [
        "signal",
        "--input",
        "gaussian",
        "--depth",
        "6",
        "--width",
        "64",
        "--batch",
        "128",
        "--inits",
        "small_normal,he_normal",
    ];
    let out = initlab(&[&args[..], &["--quiet", "--out", &dir.display().to_string()]].concat());
    let stdout = stdout_of_success(out);
    assert!(
        stdout.contains("critical weight scale fan_in * Var(w) = 2.000 "),
        "{stdout}"
    );
    assert!(
        stdout.contains("| small_normal | 0.006 | vanishing from layer 2 |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| he_normal | 2.000 | stable | stable |"),
        "{stdout}"
    );
    for file in [
        "signal.csv",
        "signal.json",
        "signal_relu.png",
        "signal_gradient_relu.png",
    ] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Runs `initlab signal` with `args` and checks that it wrote both plots. Skips the
/// Jacobian's singular values, which the plots do not show (and which take most of a deep
/// run's time in a test build).
fn signal_plots_finish(name: &str, args: &[&str]) {
    let dir = scratch(name);
    let out = initlab(
        &[
            &["signal"],
            args,
            &["--jacobian-samples", "0", "--quiet"],
            &["--out", &dir.display().to_string()],
        ]
        .concat(),
    );
    stdout_of_success(out);
    for file in ["signal_relu.png", "signal_gradient_relu.png"] {
        assert!(
            std::fs::metadata(dir.join(file)).unwrap().len() > 0,
            "{file} missing"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Variances spanning more than 1e308, which hung the log axis.
#[test]
fn signal_plots_finish_past_the_range_of_a_double() {
    signal_plots_finish("deep-range", &["--depth", "80", "--batch", "64"]);
}

/// Variances through the subnormals down to zero, which hung the log axis.
#[test]
fn signal_plots_finish_through_subnormals() {
    signal_plots_finish("subnormal", &["--depth", "200", "--inits", "small_normal"]);
}

#[test]
fn signal_calls_all_zero_weights_vanishing() {
    let dir = scratch("signal-zeros");
    let args = [
        "signal",
        "--input",
        "gaussian",
        "--depth",
        "3",
        "--width",
        "8",
        "--batch",
        "16",
        "--inits",
        "zeros,sparse",
        "--quiet",
        "--out",
    ];
    let stdout = stdout_of_success(initlab(
        &[&args[..], &[&dir.display().to_string()]].concat(),
    ));
    assert!(
        stdout.contains("| zeros | 0.000 | vanishing from layer 1 | vanishing from layer 1 |"),
        "{stdout}"
    );
    assert!(!stdout.contains("exploding"), "{stdout}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The mean Jacobian singular value `initlab signal` prints for one initializer.
fn mean_singular_value(args: &[&str]) -> f64 {
    let dir = scratch(&format!("sv-{}", args.join("-").replace(['.', '/'], "_")));
    let stdout = stdout_of_success(initlab(
        &[args, &["--quiet", "--out", &dir.display().to_string()]].concat(),
    ));
    std::fs::remove_dir_all(dir).unwrap();
    let row = stdout
        .lines()
        .find(|l| l.starts_with("| glorot_normal |"))
        .unwrap_or_else(|| panic!("{stdout}"));
    row.trim_end_matches(" |")
        .rsplit("| ")
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn signal_inputs_are_gaussian_or_uniform_at_any_scale() {
    let base = [
        "signal",
        "--activation",
        "tanh",
        "--depth",
        "3",
        "--width",
        "96",
        "--batch",
        "64",
        "--inits",
        "glorot_normal",
        "--jacobian-samples",
        "4",
    ];
    let at = |input: &str, scale: &str, extra: &[&str]| {
        mean_singular_value(
            &[
                &base[..],
                &["--input", input, "--input-scale", scale],
                extra,
            ]
            .concat(),
        )
    };
    // Larger inputs push tanh toward saturation: its Jacobian shrinks.
    for input in ["gaussian", "uniform"] {
        let (small, large) = (at(input, "0.1", &[]), at(input, "2", &[]));
        assert!(
            small > large + 0.05,
            "{input}: {small} at std 0.1, {large} at std 2"
        );
    }
    // Layer 1 maps the input width; leaving it out changes the average.
    assert_ne!(
        at("gaussian", "2", &[]),
        at("gaussian", "2", &["--skip-input-layer"])
    );
    let dir = scratch("bad-scale");
    let stderr = stderr_of_failure(initlab(&[
        "signal",
        "--input-scale=-1",
        "--out",
        &dir.display().to_string(),
    ]));
    assert!(stderr.contains("--input-scale"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn signal_of_convolutions_measures_the_jacobian_spectrum_of_a_probe() {
    let dir = scratch("signal-conv");
    let args = [
        "signal",
        "--kernel",
        "3",
        "--width",
        "8",
        "--depth",
        "4",
        "--strides",
        "2,2",
        "--activation",
        "tanh",
        "--batch",
        "32",
        "--input-scale",
        "0.2",
        "--probe-channels",
        "4",
        "--probe-size",
        "5",
        "--spectrum-depths",
        "2,12",
        "--inits",
        "delta_orthogonal(gain = 1.042126, bias_std = 0.01),lecun_normal(gain = 1.042126)",
    ];
    let out = initlab(
        &[
            &args[..],
            &[
                "--quiet",
                "--png",
                "none",
                "--out",
                &dir.display().to_string(),
            ],
        ]
        .concat(),
    );
    let stdout = stdout_of_success(out);
    assert!(
        stdout.starts_with("tanh 4x8 conv3x3 strides 2-2 at init"),
        "{stdout}"
    );
    assert!(
        stdout.contains("on one 4x5x5 image of N(0, 0.2²) values (100 x 100, seed 0"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("signal.json")).unwrap()).unwrap();
    let spectra = json["spectra"].as_array().unwrap();
    let found: Vec<(String, u64)> = spectra
        .iter()
        .map(|s| {
            (
                s["init"].as_str().unwrap().to_owned(),
                s["depth"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(found.len(), 4);
    assert_eq!(found[1].1, 12);
    assert_eq!(json["inits"][0]["layers"].as_array().unwrap().len(), 4);
    // At 12 layers, delta-orthogonal keeps most directions of the input that Gaussian
    // kernels of the same variance lose.
    let below = |i: usize| spectra[i]["below_tenth_of_mean"].as_f64().unwrap();
    assert!(below(1) < 0.05 && below(3) > 0.3, "{spectra:?}");
    for (flags, expected) in [
        (&["--kernel", "4"][..], "an odd size"),
        (&["--kernel", "3", "--strides", "0"][..], "`--strides`"),
        (
            &["--kernel", "3", "--spectrum-depths", "0"][..],
            "`--spectrum-depths`",
        ),
        (&["--kernel", "3", "--residual"][..], "--residual"),
        (
            &[
                "--kernel",
                "3",
                "--batch",
                "4",
                "--probe-size",
                "4294967296",
            ][..],
            "--probe-size",
        ),
    ] {
        let out = initlab(
            &[
                &["signal", "--quiet", "--out", &dir.display().to_string()][..],
                flags,
            ]
            .concat(),
        );
        assert!(!out.status.success(), "{flags:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{flags:?}: {err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn throughput_times_convolutional_networks_beside_their_products() {
    let dir = scratch("throughput-conv");
    let run = |flags: &[&str]| {
        initlab(
            &[
                &[
                    "throughput",
                    "--kernel",
                    "3",
                    "--batch",
                    "4",
                    "--steps",
                    "1",
                ][..],
                &[
                    "--repeats",
                    "1",
                    "--quiet",
                    "--out",
                    &dir.display().to_string(),
                ],
                flags,
            ]
            .concat(),
        )
    };
    let stdout = stdout_of_success(run(&["--channels", "4,8", "--strides", "2"]));
    assert!(
        stdout.contains("1x28x28 -> relu 4-8 conv3x3 strides 2 -> 10"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("throughput.json")).unwrap())
            .unwrap();
    let row = &json["rows"][0];
    // The convolutions' products count: 4 channels of 3x3 on 14x14 (forward and weight
    // gradient), 8 of 4·3·3 on 14x14 (three products), and the 8 -> 10 output layer.
    let flops = 2.0 * 2.0 * (196 * 9 * 4) as f64
        + 3.0 * 2.0 * (196 * 36 * 8) as f64
        + 3.0 * 2.0 * (8 * 10) as f64;
    let rate = row["samples_per_second"].as_f64().unwrap();
    let gflops = row["gflops"].as_f64().unwrap();
    assert!((gflops / (rate * flops / 1e9) - 1.0).abs() < 1e-9, "{row}");
    for (flags, expected) in [
        (&["--channels", "4,0"][..], "`--channels`"),
        (&["--strides", "2,2,2,2"][..], "`--strides`"),
    ] {
        let err = stderr_of_failure(run(flags));
        assert!(err.contains(expected), "{flags:?}: {err}");
    }
    let err = stderr_of_failure(initlab(&["throughput", "--kernel", "2", "--quiet"]));
    assert!(err.contains("an odd size"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_gemm_kernel_is_chosen_at_run_time_and_named_in_the_output() {
    // An unknown name is refused before any work, from the flag or from the environment.
    let stderr = stderr_of_failure(initlab(&["throughput", "--gemm", "mkl", "--quiet"]));
    assert!(
        stderr.contains("--gemm: unknown GEMM kernel \"mkl\": expected one of openblas, packed"),
        "{stderr}"
    );
    let from_env = std::process::Command::new(env!("CARGO_BIN_EXE_initlab"))
        .env("INITLAB_GEMM", "blis")
        .arg("list")
        .output()
        .unwrap();
    let stderr = stderr_of_failure(from_env);
    assert!(
        stderr.contains("INITLAB_GEMM: unknown GEMM kernel \"blis\""),
        "{stderr}"
    );
    // Where this CPU runs the packed kernel, it trains, and the outputs say it did.
    let cpu = initlab_gemm::CpuFeatures::detect();
    let Ok(packed) = initlab_gemm::Kernel::parse("packed", cpu) else {
        eprintln!("this CPU cannot run the packed kernel: its run is not checked");
        return;
    };
    let dir = scratch("gemm-packed");
    let out = small_throughput(&dir, &["--gemm", "packed"]);
    stdout_of_success(out);
    let read = |file: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
    };
    assert_eq!(read("throughput.json")["packed_gemm"], true);
    let isa = packed.isa().unwrap().name();
    let manifest = read("manifest.json");
    let named = manifest["sets"][0]["machine"]["blas_core"]
        .as_str()
        .unwrap();
    assert!(
        named.starts_with(&format!("initlab-gemm packed {isa} for f32")),
        "{named}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
