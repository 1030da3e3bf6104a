//! The chart of a run: ads received per second over time, the fleet's
//! budget, and the moments workers were killed (an SVG drawn with plotters).

use plotters::prelude::*;
use std::path::Path;

/// A moment to mark on the chart.
#[derive(Debug, Clone)]
pub struct Mark {
    /// Seconds since the start of the run.
    pub at_s: f64,
    /// What happened.
    pub label: String,
}

/// Draws `ads_per_s` (second since start, ads) against `budget` with
/// `marks` into the SVG file `path`.
pub fn draw(
    path: &Path,
    title: &str,
    ads_per_s: &[(u64, u64)],
    budget: u64,
    marks: &[Mark],
) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(chart_error)?;
    let seconds = ads_per_s.last().map_or(1, |p| p.0 + 1);
    let top = ads_per_s.iter().map(|p| p.1).max().unwrap_or(0).max(budget) * 11 / 10;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..seconds as f64, 0u64..top.max(1))
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("ads / s")
        .draw()
        .map_err(chart_error)?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, budget), (seconds as f64, budget)],
            RED.stroke_width(1),
        ))
        .map_err(chart_error)?
        .label("budget per second")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED));
    chart
        .draw_series(LineSeries::new(
            ads_per_s.iter().map(|&(s, n)| (s as f64 + 0.5, n)),
            BLUE.stroke_width(2),
        ))
        .map_err(chart_error)?
        .label("ads received by the load generator")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE));
    for mark in marks {
        chart
            .draw_series(LineSeries::new(
                [(mark.at_s, 0), (mark.at_s, top)],
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(chart_error)?;
        chart
            .draw_series([Text::new(
                mark.label.clone(),
                (mark.at_s + 0.2, top * 19 / 20),
                ("sans-serif", 13),
            )])
            .map_err(chart_error)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(chart_error)?;
    root.present().map_err(chart_error)?;
    Ok(())
}

fn chart_error<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("chart: {e}")
}
