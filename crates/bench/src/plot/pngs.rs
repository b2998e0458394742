//! Which figures a command also writes as PNG files: the HTML report draws every figure
//! inline as SVG, so the PNGs are for pages and slides that embed a picture, and a
//! committed set keeps only the ones a page shows.

use std::path::Path;
use std::str::FromStr;

use super::Figure;
use crate::BenchError;

/// The figures to write as `<stem>.png`: `all` (the default), `none`, or a comma-separated
/// list of figure stems (`loss_relu_10x256,accuracy_relu_10x256`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Pngs {
    /// Every figure.
    #[default]
    All,
    /// No figure.
    None,
    /// The figures with these stems.
    Only(Vec<String>),
}

impl FromStr for Pngs {
    type Err = BenchError;

    fn from_str(text: &str) -> Result<Self, BenchError> {
        match text.trim() {
            "all" => Ok(Self::All),
            "none" => Ok(Self::None),
            list => {
                let stems: Vec<String> = list.split(',').map(|s| s.trim().to_owned()).collect();
                match stems
                    .iter()
                    .find(|s| s.is_empty() || s.contains(['/', '\\', '.']))
                {
                    Some(bad) => Err(BenchError::invalid(
                        "--png",
                        bad,
                        "all, none, or figure names (file names without .png) separated by commas",
                    )),
                    None => Ok(Self::Only(stems)),
                }
            }
        }
    }
}

impl Pngs {
    /// Writes the chosen figures as `<stem>.png` into `dir`, and returns the named stems no
    /// figure has (for the caller to report: the rest of the set is still worth keeping).
    ///
    /// # Errors
    /// A file that cannot be written or a drawing failure.
    pub fn write(&self, dir: &Path, figures: &[Figure]) -> Result<Vec<String>, BenchError> {
        let chosen = |figure: &Figure| match self {
            Self::All => true,
            Self::None => false,
            Self::Only(stems) => stems.contains(&figure.stem),
        };
        for figure in figures.iter().filter(|f| chosen(f)) {
            figure.write_png(dir)?;
        }
        Ok(match self {
            Self::Only(stems) => stems
                .iter()
                .filter(|s| !figures.iter().any(|f| &f.stem == *s))
                .cloned()
                .collect(),
            Self::All | Self::None => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_none_and_lists_and_refuses_paths() {
        assert_eq!("all".parse::<Pngs>().unwrap(), Pngs::All);
        assert_eq!("none".parse::<Pngs>().unwrap(), Pngs::None);
        assert_eq!(
            "loss_relu_2x8, accuracy_relu_2x8".parse::<Pngs>().unwrap(),
            Pngs::Only(vec!["loss_relu_2x8".into(), "accuracy_relu_2x8".into()])
        );
        for bad in ["", "a,,b", "../x", "loss.png"] {
            let error = bad.parse::<Pngs>().unwrap_err().to_string();
            assert!(error.contains("--png"), "{bad:?}: {error}");
        }
    }
}
