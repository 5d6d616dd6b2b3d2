//! `chart.svg`: the ENI count (left axis, from the watch timeline through
//! [`eni_watch::chart::series`]) and the load's invocations ok / failed per second (right axis, from
//! loadgen's per-second series) on one time axis — seconds since the start of the run — with the
//! phase boundaries marked and named.

use plotters::prelude::*;

use super::load::LoadRun;
use super::report::PhaseReport;
use eni_watch::Item;

/// The chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

fn chart_error(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

/// `(seconds since the start of the run, value)`.
type Point = (f64, f64);

/// `items`: the watch timeline (its `t` starts `offset_s` into the run); `load`: what the load phase
/// measured.
pub fn svg(
    items: &[Item],
    offset_s: f64,
    load: Option<&LoadRun>,
    phases: &[PhaseReport],
    title: &str,
) -> Result<String, ChartError> {
    let enis = eni_watch::chart::series(items);
    let eni_points: Vec<(f64, f64)> = enis.total.iter().map(|&(t, n)| (t + offset_s, n)).collect();
    let (ok, failed): (Vec<Point>, Vec<Point>) = load
        .map(|LoadRun { report, started_s: start }| {
            report
                .series
                .iter()
                .map(|s| {
                    // `second` closes the interval `second - 1 .. second`: drawn at its middle.
                    let t = start + s.second as f64 - 0.5;
                    ((t, s.ok as f64), (t, s.failed as f64))
                })
                .unzip()
        })
        .unwrap_or_default();
    let ran: Vec<&PhaseReport> = phases.iter().filter(|p| p.was_run()).collect();
    let t_max =
        eni_points.iter().chain(&ok).map(|p| p.0).chain(ran.iter().map(|p| p.ended_s)).fold(1.0_f64, f64::max) * 1.02;
    let y_max = enis.max_count as f64 + 1.0;
    let rate_max = ok.iter().chain(&failed).map(|p| p.1).fold(1.0_f64, f64::max) * 1.1;

    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1100, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(52)
            .right_y_label_area_size(64)
            .build_cartesian_2d(0f64..t_max, 0f64..y_max)
            .map_err(chart_error)?
            .set_secondary_coord(0f64..t_max, 0f64..rate_max);
        chart
            .configure_mesh()
            .x_desc("seconds since the start of the run")
            .y_desc("ENIs")
            .y_labels(y_max as usize + 1)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(chart_error)?;
        chart
            .configure_secondary_axes()
            .y_desc("invocations per second")
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(chart_error)?;

        for (i, phase) in ran.iter().enumerate() {
            let x = phase.started_s;
            let style = BLACK.mix(0.35).stroke_width(1);
            chart
                .draw_series(std::iter::once(PathElement::new(vec![(x, 0.0), (x, y_max)], style)))
                .map_err(chart_error)?;
            let colour = if phase.matched() { BLACK } else { RED };
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{} {}", phase.phase, if phase.matched() { "✓" } else { "✗" }),
                    // Staggered, so that the names of short phases do not overlap.
                    (x, y_max * (0.97 - 0.05 * (i % 3) as f64)),
                    ("sans-serif", 14).into_font().color(&colour),
                )))
                .map_err(chart_error)?;
        }
        chart
            .draw_series(LineSeries::new(eni_points, BLUE.stroke_width(3)))
            .map_err(chart_error)?
            .label("ENIs (left axis)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(3)));
        let green = RGBColor(0, 150, 60);
        chart
            .draw_secondary_series(LineSeries::new(ok, green.stroke_width(2)))
            .map_err(chart_error)?
            .label("invocations ok per second (right axis)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], green.stroke_width(2)));
        chart
            .draw_secondary_series(LineSeries::new(failed, RED.stroke_width(2)))
            .map_err(chart_error)?
            .label("invocations failed per second (right axis)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::MiddleRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(out)
}
