//! `eni-watch report FILE.jsonl --svg out.svg`: ENI count over time per security-group set, with
//! the gaps marked, drawn with plotters' SVG backend.

use std::collections::BTreeMap;

use plotters::prelude::*;

use crate::timeline::Item;

/// The chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

fn chart_error(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

/// Step series (count held until the next sample) per security-group set, plus the total.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Label → points `(t, count)`.
    pub per_set: BTreeMap<String, Vec<(f64, f64)>>,
    /// Points `(t, count)` of every ENI together.
    pub total: Vec<(f64, f64)>,
    /// `(t, code)` of each gap.
    pub gaps: Vec<(f64, String)>,
    /// The last moment recorded, in seconds since the watch started (the x axis's end).
    pub t_max: f64,
    /// The largest ENI count of any sample (the y axis's end).
    pub max_count: usize,
}

fn step(points: &mut Vec<(f64, f64)>, t: f64, value: f64) {
    if let Some(&(_, last)) = points.last()
        && last != value
    {
        points.push((t, last));
    }
    points.push((t, value));
}

/// The series a recording draws: every set that ever had an ENI gets a value at every sample
/// (0 when it has none).
pub fn series(items: &[Item]) -> Series {
    let mut out = Series::default();
    let samples: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Sample(s) => Some(s),
            _ => None,
        })
        .collect();
    for sample in &samples {
        for eni in &sample.enis {
            out.per_set.entry(eni.security_group_set()).or_default();
        }
    }
    for sample in &samples {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for eni in &sample.enis {
            *counts.entry(eni.security_group_set()).or_default() += 1;
        }
        for (set, points) in out.per_set.iter_mut() {
            step(points, sample.t, counts.get(set).copied().unwrap_or(0) as f64);
        }
        step(&mut out.total, sample.t, sample.count as f64);
        out.max_count = out.max_count.max(sample.count);
    }
    for item in items {
        match item {
            Item::Gap(gap) => out.gaps.push((gap.t, gap.code.clone())),
            Item::Sample(s) => out.t_max = out.t_max.max(s.t),
            Item::Event(e) => out.t_max = out.t_max.max(e.t),
            _ => {}
        }
    }
    if let Some(&(t, _)) = out.gaps.last() {
        out.t_max = out.t_max.max(t);
    }
    out
}

/// The chart as an SVG document.
pub fn svg(items: &[Item], title: &str) -> Result<String, ChartError> {
    let series = series(items);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1000, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let x_max = if series.t_max > 0.0 { series.t_max * 1.02 } else { 1.0 };
        let y_max = series.max_count as f64 + 1.0;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .x_desc("seconds since the start of the watch")
            .y_desc("ENIs")
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(chart_error)?;

        for (i, (gap_t, _)) in series.gaps.iter().enumerate() {
            let style = RED.mix(0.45).stroke_width(1);
            let drawn = chart
                .draw_series(std::iter::once(PathElement::new(vec![(*gap_t, 0.0), (*gap_t, y_max)], style)))
                .map_err(chart_error)?;
            if i == 0 {
                drawn.label(format!("failed poll ({} gaps)", series.gaps.len())).legend(move |(x, y)| {
                    PathElement::new(vec![(x + 10, y - 8), (x + 10, y + 8)], RED.mix(0.45).stroke_width(2))
                });
            }
        }
        if series.per_set.len() > 1 {
            chart
                .draw_series(LineSeries::new(series.total.clone(), BLACK.stroke_width(3)))
                .map_err(chart_error)?
                .label("all ENIs")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(3)));
        }
        for (i, (set, points)) in series.per_set.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(chart_error)?
                .label(format!("[{set}]"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        if !series.per_set.is_empty() || !series.gaps.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(chart_error)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(out)
}
