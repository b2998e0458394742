//! Self-contained HTML reports: one file that opens offline, holding the run's table with
//! its verdicts, where and how the numbers were made, and every figure inline as SVG. No
//! script, no stylesheet or font from elsewhere.
//!
//! The table is rendered from the same Markdown the terminal prints, so the page, the
//! terminal and the CSV written beside it show one set of numbers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::BenchError;
use crate::output::Machine;
use crate::plot::Figure;

/// Where and how a report's numbers were made.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The command line, starting with `initlab`.
    pub command: String,
    /// The git revision initlab was built from.
    pub revision: String,
    /// CPU and BLAS kernel.
    pub machine: Machine,
    /// Rayon threads the runs were spread over.
    pub threads: usize,
    /// Further settings, such as the seeds and the dataset, as label and value.
    pub settings: Vec<(String, String)>,
    /// The experiment file, when one was given: its path and text.
    pub config: Option<(String, String)>,
}

/// One report page.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// The page's heading.
    pub title: String,
    /// What the command printed: Markdown tables and plain lines.
    pub markdown: String,
    /// The figures, drawn inline.
    pub figures: &'a [Figure],
    /// Where the numbers come from.
    pub provenance: Provenance,
}

/// The id of a figure's element in a report: `figure-<stem>`.
pub fn figure_id(figure: &Figure) -> String {
    format!("figure-{}", figure.stem)
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222;line-height:1.45}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;font-size:.9rem;margin:.6rem 0}th,td{border:1px solid #ddd;padding:.25rem .5rem;vertical-align:top}\
th{background:#f4f4f4;text-align:left}td.num{text-align:right;white-space:nowrap}\
figure{margin:1.5rem 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.9rem;color:#555}\
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}\
pre{background:#f7f7f7;padding:.6rem;overflow-x:auto;font-size:.85rem}code{font-size:.9em}";

impl Report<'_> {
    /// The page as one HTML document.
    ///
    /// # Errors
    /// A figure that fails to draw.
    pub fn render(&self) -> Result<String, BenchError> {
        let mut page = String::new();
        let _ = write!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
             <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n",
            title = escape(&self.title)
        );
        let _ = writeln!(
            page,
            "<p><code>{}</code></p>",
            escape(&self.provenance.command)
        );
        page.push_str("<h2>Results</h2>\n");
        page.push_str(&markdown_to_html(&self.markdown));
        if !self.figures.is_empty() {
            page.push_str("<h2>Figures</h2>\n");
            for figure in self.figures {
                let _ = write!(
                    page,
                    "<figure id=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
                    escape(&figure_id(figure)),
                    strip_xml_declaration(&figure.svg()?),
                    escape(&figure.title)
                );
            }
        }
        page.push_str(&self.provenance.html());
        page.push_str("</body>\n</html>\n");
        Ok(page)
    }

    /// Writes the page to `dir/name` and returns its path.
    ///
    /// # Errors
    /// A figure that fails to draw or a file that cannot be written.
    pub fn write(&self, dir: &Path, name: &str) -> Result<PathBuf, BenchError> {
        let path = dir.join(name);
        std::fs::write(&path, self.render()?).map_err(BenchError::io(&path))?;
        Ok(path)
    }
}

impl Provenance {
    fn html(&self) -> String {
        let m = &self.machine;
        let mut rows: Vec<(String, String)> = vec![
            ("command".into(), self.command.clone()),
            ("initlab revision".into(), self.revision.clone()),
            ("CPU".into(), m.cpu.clone()),
            ("OpenBLAS kernel".into(), m.blas_core.clone()),
            ("OpenBLAS build".into(), m.blas_config.clone()),
            (
                "OPENBLAS_CORETYPE".into(),
                m.openblas_coretype
                    .clone()
                    .unwrap_or_else(|| "not set (OpenBLAS's own choice)".into()),
            ),
            ("threads".into(), self.threads.to_string()),
        ];
        rows.extend(self.settings.iter().cloned());
        let mut out = String::from(
            "<h2>Provenance</h2>\n<p>Results are bitwise reproducible on the same CPU and BLAS \
             kernel for any thread count; other kernels round differently.</p>\n<dl>\n",
        );
        for (label, value) in rows {
            let _ = writeln!(
                out,
                "<dt>{}</dt><dd>{}</dd>",
                escape(&label),
                escape(&value)
            );
        }
        out.push_str("</dl>\n");
        if let Some((path, text)) = &self.config {
            let _ = writeln!(
                out,
                "<h3>{}</h3>\n<pre>{}</pre>",
                escape(path),
                escape(text)
            );
        }
        out
    }
}

/// `&`, `<`, `>` and `"` as entities: safe in text and in attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn strip_xml_declaration(svg: &str) -> &str {
    match svg.strip_prefix("<?xml") {
        Some(rest) => rest
            .split_once("?>")
            .map_or(svg, |(_, body)| body.trim_start()),
        None => svg,
    }
}

/// Markdown tables (`| a | b |` rows with a `|---|---:|` separator) as HTML tables, code
/// fences as `<pre>`, other non-empty lines as paragraphs.
fn markdown_to_html(markdown: &str) -> String {
    let mut out = String::new();
    let mut lines = markdown.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.trim_end();
        if line.starts_with("```") {
            out.push_str("<pre>");
            for code in lines.by_ref() {
                if code.starts_with("```") {
                    break;
                }
                out.push_str(&escape(code));
                out.push('\n');
            }
            out.push_str("</pre>\n");
        } else if line.starts_with('|') {
            let mut rows = vec![cells(line)];
            while let Some(next) = lines.peek().filter(|l| l.starts_with('|')) {
                rows.push(cells(next));
                lines.next();
            }
            out.push_str(&table(&rows));
        } else if !line.trim().is_empty() {
            let _ = writeln!(out, "<p>{}</p>", escape(line));
        }
    }
    out
}

fn cells(row: &str) -> Vec<String> {
    let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|c| c.trim().to_owned()).collect()
}

fn table(rows: &[Vec<String>]) -> String {
    let is_separator = |row: &Vec<String>| {
        row.iter()
            .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')))
    };
    let (header, body) = match rows {
        [header, separator, body @ ..] if is_separator(separator) => {
            let right: Vec<bool> = separator.iter().map(|c| c.ends_with(':')).collect();
            ((Some(header), right), body)
        }
        _ => ((None, Vec::new()), rows),
    };
    let (header, right) = header;
    let mut out = String::from("<table>\n");
    if let Some(header) = header {
        out.push_str("<thead><tr>");
        for cell in header {
            let _ = write!(out, "<th>{}</th>", escape(cell));
        }
        out.push_str("</tr></thead>\n");
    }
    out.push_str("<tbody>\n");
    for row in body {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if right.get(i).copied().unwrap_or(false) {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_tables_become_html_tables() {
        let html = markdown_to_html(
            "20 x 512 relu at init\n\n| init | value |\n|---|---:|\n| he <normal> | 1.0 |\n",
        );
        assert_eq!(
            html,
            "<p>20 x 512 relu at init</p>\n<table>\n<thead><tr><th>init</th><th>value</th></tr></thead>\n<tbody>\n<tr><td>he &lt;normal&gt;</td><td class=\"num\">1.0</td></tr>\n</tbody>\n</table>\n"
        );
    }

    #[test]
    fn code_fences_become_preformatted_text() {
        assert_eq!(
            markdown_to_html("```\na & b\n```\nafter"),
            "<pre>a &amp; b\n</pre>\n<p>after</p>\n"
        );
    }
}
