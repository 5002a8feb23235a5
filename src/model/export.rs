//! The ways to take results off the page, one per export button.

/// What an export button makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// The CLI's text report, copied to the clipboard.
    CopyReport,
    /// The results file, which the CLI and this page load back.
    Json,
    /// The per-second series.
    Csv,
    /// Every chart on the page, one SVG file each.
    ChartsSvg,
    /// Every chart on the page, one PNG file each.
    ChartsPng,
    /// One HTML file: this app with the results inline, which opens anywhere with no network.
    Html,
}

impl ExportKind {
    /// In the order of the buttons.
    pub const ALL: [Self; 6] = [
        Self::CopyReport,
        Self::Json,
        Self::Csv,
        Self::ChartsSvg,
        Self::ChartsPng,
        Self::Html,
    ];

    /// The button's text.
    pub fn label(self) -> &'static str {
        match self {
            Self::CopyReport => "Copy report",
            Self::Json => "Export JSON",
            Self::Csv => "Export CSV",
            Self::ChartsSvg => "Charts as SVG",
            Self::ChartsPng => "Charts as PNG",
            Self::Html => "Export HTML",
        }
    }
}
