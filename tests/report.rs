//! Every command that writes results writes a self-contained HTML report beside its CSV
//! and JSON: it parses (as XML: the page is polyglot HTML), embeds every figure of its set
//! inline, loads nothing from elsewhere, and holds the table and the provenance.

mod common;

use common::{initlab, run_experiment, scratch, stdout_of_success};
use roxmltree::{Document, Node, ParsingOptions};

const SVG: &str = "http://www.w3.org/2000/svg";

/// The report's parsed page, checked for what every report must hold (`figures`: the
/// stems it must embed, sorted), and its text.
fn check_report(dir: &std::path::Path, report: &str, figures: &[String]) -> String {
    let path = dir.join(report);
    let html = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{report}: {e}"));
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    let page = Document::parse_with_options(&html, options)
        .unwrap_or_else(|e| panic!("{report} does not parse: {e}"));
    let root = page.root_element();
    assert_eq!(root.tag_name().name(), "html");
    for node in root.descendants().filter(Node::is_element) {
        let name = node.tag_name().name();
        assert!(
            !matches!(name, "script" | "link" | "iframe" | "object" | "embed"),
            "{report}: <{name}> loads or runs something"
        );
        for attribute in node.attributes() {
            let value = attribute.value();
            let external = matches!(attribute.name(), "src" | "href")
                && !value.starts_with('#')
                && !value.starts_with("data:");
            assert!(
                !external,
                "{report}: <{name} {}=\"{value}\"> refers to another file",
                attribute.name()
            );
        }
    }
    assert!(
        root.descendants()
            .any(|n| n.has_tag_name("td") && n.text().is_some_and(|t| !t.trim().is_empty())),
        "{report}: no table"
    );
    let mut embedded: Vec<String> = root
        .descendants()
        .filter(|n| n.has_tag_name("figure"))
        .map(|figure| {
            let id = figure.attribute("id").expect("every figure has an id");
            let svg = figure
                .children()
                .find(|c| c.tag_name().namespace() == Some(SVG) && c.tag_name().name() == "svg")
                .unwrap_or_else(|| panic!("{report}: figure {id} holds no inline <svg>"));
            let shapes = svg
                .descendants()
                .filter(|n| {
                    matches!(
                        n.tag_name().name(),
                        "path" | "polyline" | "polygon" | "circle" | "rect" | "line"
                    )
                })
                .count();
            assert!(
                shapes > 50,
                "{report}: figure {id} draws only {shapes} shapes"
            );
            id.strip_prefix("figure-").unwrap().to_owned()
        })
        .collect();
    embedded.sort();
    assert_eq!(
        embedded, figures,
        "{report}: figures embedded differ from the PNGs of its set"
    );
    let text: String = root.descendants().filter_map(|n| n.text()).collect();
    let machine = initlab_bench::output::Machine::current(initlab_gemm::Kernel::OPENBLAS);
    for expected in [
        machine.cpu.as_str(),
        machine.blas_core.as_str(),
        "initlab revision",
    ] {
        assert!(
            text.contains(expected),
            "{report}: provenance lacks {expected:?}"
        );
    }
    text
}

/// The PNG figures the manifest lists in the set of `kind`, by stem, sorted.
fn pngs_of_set(dir: &std::path::Path, kind: &str) -> Vec<String> {
    let manifest = initlab_bench::output::Manifest::read(dir).unwrap();
    let set = manifest.sets.iter().find(|s| s.kind == kind).unwrap();
    let mut stems: Vec<String> = set
        .files
        .iter()
        .filter_map(|f| f.strip_suffix(".png"))
        .map(str::to_owned)
        .collect();
    stems.sort();
    stems
}

#[test]
fn every_command_writes_a_self_contained_report() {
    let dir = scratch("report");
    let config = dir.join("circles.toml");
    std::fs::write(
        &config,
        "[dataset]\nkind = \"circles\"\nsamples = 200\n[[arch]]\ndepth = 2\nwidth = 8\nactivation = \"relu\"\n[train]\ninits = [\"zeros\", \"he_normal\"]\noptimizer = \"adam\"\nlr = 0.01\nepochs = 2\nbatch_size = 32\nseeds = [0, 1]\n",
    )
    .unwrap();
    let out = dir.join("out");
    stdout_of_success(run_experiment(&config, &out));
    let o = out.display().to_string();
    stdout_of_success(initlab(&[
        "signal",
        "--depth",
        "4",
        "--width",
        "16",
        "--batch",
        "32",
        "--input",
        "gaussian",
        "--jacobian-samples",
        "1",
        "--quiet",
        "--out",
        &o,
    ]));
    stdout_of_success(initlab(&[
        "throughput",
        "--layers",
        "8,8,2",
        "--batch",
        "8",
        "--steps",
        "1",
        "--repeats",
        "1",
        "--quiet",
        "--out",
        &o,
    ]));

    let figures = pngs_of_set(&out, "results");
    assert_eq!(figures.len(), 4, "{figures:?}");
    let text = check_report(&out, "report.html", &figures);
    assert!(
        text.contains("symmetric and frozen"),
        "the verdicts are in the table"
    );
    assert!(
        text.contains("seeds") && text.contains("0, 1"),
        "the seeds are in the provenance"
    );
    assert!(
        text.contains("kind = \"circles\""),
        "the experiment file is shown"
    );

    let signal = pngs_of_set(&out, "signal");
    assert_eq!(signal.len(), 2);
    let text = check_report(&out, "signal_report.html", &signal);
    assert!(text.contains("he_normal"));

    check_report(&out, "throughput_report.html", &[]);
    std::fs::remove_dir_all(dir).unwrap();
}
