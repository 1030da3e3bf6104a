//! Live charts of the server's own numbers: writes/s, reads/s, p99 latency
//! and client connections, sampled once a second into a ring of at most
//! `ui_chart_samples` and drawn as SVG on the server (plotters, SVG
//! backend only). The page refreshes itself every few seconds (a meta
//! refresh: no script needed).

use super::login;
use super::{html, Nav, UiError, UiState};
use crate::service::latency::Totals;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use plotters::prelude::*;
use std::collections::VecDeque;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One second's numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// Writes answered in the second.
    pub writes: f64,
    /// Reads answered in the second.
    pub reads: f64,
    /// p99 latency of the second's requests, ms (0: none).
    pub p99_ms: f64,
    /// Open client connections.
    pub connections: f64,
}

/// The ring of samples, newest last.
#[derive(Debug)]
pub struct Samples {
    ring: VecDeque<Sample>,
    capacity: usize,
    last: Option<Totals>,
}

impl Samples {
    /// An empty ring of at most `capacity` samples.
    pub fn new(capacity: usize) -> Self {
        Samples {
            ring: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(2),
            last: None,
        }
    }

    /// Adds the sample taken from `totals` and `connections`, one second
    /// after the previous one; the oldest goes past the bound.
    pub fn record(&mut self, totals: Totals, connections: usize) {
        if let Some(last) = self.last {
            let sample = Sample {
                writes: totals.writes.saturating_sub(last.writes) as f64,
                reads: totals.reads.saturating_sub(last.reads) as f64,
                p99_ms: totals.p99_micros_since(&last).unwrap_or(0) as f64 / 1000.0,
                connections: connections as f64,
            };
            while self.ring.len() >= self.capacity {
                self.ring.pop_front();
            }
            self.ring.push_back(sample);
        }
        self.last = Some(totals);
    }

    /// The samples, oldest first.
    pub fn list(&self) -> Vec<Sample> {
        self.ring.iter().copied().collect()
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True before the second sample.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

/// Samples `state`'s service once a second until `stop`.
pub async fn sample_every_second(state: UiState, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                let service = state.service();
                let totals = service.latency().totals();
                let connections = service.live_connections().len();
                state.samples().lock().record(totals, connections);
            }
        }
    }
}

/// A chart: its name, title, unit, and the value it plots of a sample.
type Chart = (&'static str, &'static str, &'static str, fn(&Sample) -> f64);

/// The charts.
const CHARTS: [Chart; 4] = [
    ("writes", "writes/s", "per second", |s| s.writes),
    ("reads", "reads/s", "per second", |s| s.reads),
    ("p99", "p99 latency", "ms", |s| s.p99_ms),
    ("connections", "connections", "open", |s| s.connections),
];

/// One chart on the page.
#[derive(Debug)]
pub struct ChartCard {
    name: &'static str,
    title: &'static str,
    unit: &'static str,
    latest: String,
    peak: String,
    svg: String,
}

#[derive(askama::Template)]
#[template(path = "ui/charts.html")]
struct ChartsPage {
    nav: Nav,
    charts: Vec<ChartCard>,
    seconds: usize,
}

/// `GET /ui/charts`: the four charts inline.
pub async fn page(State(state): State<UiState>, headers: HeaderMap) -> Result<Response, UiError> {
    let login = login::current(&state, &headers);
    let samples = state.samples().lock().list();
    let capacity = state.service().config().ui_chart_samples;
    let charts = CHARTS
        .iter()
        .map(|(name, title, unit, value)| {
            let values: Vec<f64> = samples.iter().map(value).collect();
            let peak = values.iter().copied().fold(0.0, f64::max);
            ChartCard {
                name,
                title,
                unit,
                latest: values.last().map_or("-".into(), |v| format!("{v:.1}")),
                peak: format!("{peak:.1}"),
                svg: draw(&values, capacity),
            }
        })
        .collect();
    html(&ChartsPage {
        nav: login::nav(login.as_ref()),
        charts,
        seconds: samples.len(),
    })
}

/// `GET /ui/charts/NAME.svg`: one chart alone.
pub async fn svg(State(state): State<UiState>, Path(name): Path<String>) -> Response {
    let name = name.trim_end_matches(".svg");
    let Some((_, _, _, value)) = CHARTS.iter().find(|c| c.0 == name) else {
        return (StatusCode::NOT_FOUND, "no such chart\n").into_response();
    };
    let values: Vec<f64> = state.samples().lock().list().iter().map(value).collect();
    let capacity = state.service().config().ui_chart_samples;
    (
        [(header::CONTENT_TYPE, "image/svg+xml")],
        draw(&values, capacity),
    )
        .into_response()
}

/// Width and height of a chart, pixels.
const SIZE: (u32, u32) = (360, 120);

/// The values as a line over `capacity` slots (newest at the right), its
/// scale from zero to the peak. Labels are the page's, not the picture's.
pub fn draw(values: &[f64], capacity: usize) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let _ = root.fill(&WHITE);
        let (w, h) = (SIZE.0 as i32, SIZE.1 as i32);
        let peak = values.iter().copied().fold(0.0, f64::max).max(1.0);
        let slots = capacity.max(2) as f64;
        let offset = slots - values.len() as f64;
        let points: Vec<(i32, i32)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let x = ((offset + i as f64) / (slots - 1.0) * (w - 1) as f64) as i32;
                let y = (h - 2) - (v / peak * (h - 6) as f64) as i32;
                (x, y)
            })
            .collect();
        let grid = RGBColor(220, 220, 220);
        for i in 1..4 {
            let y = h * i / 4;
            let _ = root.draw(&PathElement::new(vec![(0, y), (w, y)], grid));
        }
        let _ = root.draw(&Rectangle::new([(0, 0), (w - 1, h - 1)], grid));
        let _ = root.draw(&PathElement::new(points, BLUE.stroke_width(2)));
        let _ = root.present();
    }
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_is_bounded_and_counts_per_second() {
        let mut samples = Samples::new(3);
        let mut totals = Totals::default();
        samples.record(totals, 0);
        assert!(samples.is_empty());
        for i in 1..=5 {
            totals.writes += 10 * i;
            samples.record(totals, 2);
        }
        assert_eq!(samples.len(), 3);
        let writes: Vec<f64> = samples.list().iter().map(|s| s.writes).collect();
        assert_eq!(writes, vec![30.0, 40.0, 50.0]);
        assert!(draw(&writes, 3).contains("<svg"));
    }
}
