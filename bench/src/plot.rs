//! SVG plots of a set of runs: throughput against threads per workload (one line per
//! target), and latency percentiles (p50/p95/p99) against threads per workload.
//!
//! The x axis places the thread counts that were measured at equal spacing (1, 8, 32
//! are not evenly spaced numbers), labelled with the counts themselves.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::report::RunResult;

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn uniq<T: PartialEq + Clone>(it: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = Vec::new();
    for x in it {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

/// `c` blended towards white by `f` in [0, 1].
fn lighten(c: RGBColor, f: f64) -> RGBColor {
    let m = |v: u8| (v as f64 + (255.0 - v as f64) * f) as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

type Metric<'a> = &'a dyn Fn(&RunResult) -> f64;

type Series = (String, RGBColor, Vec<(f64, f64)>);

fn draw(
    path: &Path,
    title: &str,
    y_desc: &str,
    threads: &[usize],
    series: &[Series],
) -> Result<(), String> {
    let ymax = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.1))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.15;
    let root = SVGBackend::new(path, (720, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let n = threads.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.3f64..(n - 0.7), 0f64..ymax)
        .map_err(|e| e.to_string())?;
    let labels = threads.to_vec();
    chart
        .configure_mesh()
        .x_desc("threads")
        .y_desc(y_desc)
        .x_labels(threads.len().max(2))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                labels[i as usize].to_string()
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(|e| e.to_string())?;
    for (name, color, pts) in series {
        let c = *color;
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// Write `throughput_<workload>.svg` and `latency_<workload>.svg` into `dir` for every
/// workload in `runs`; returns the files written.
pub fn plot_all(runs: &[RunResult], dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    let labels = uniq(runs.iter().map(|r| r.label.clone()));
    for w in uniq(runs.iter().map(|r| r.workload.clone())) {
        let mut threads = uniq(runs.iter().filter(|r| r.workload == w).map(|r| r.threads));
        threads.sort_unstable();
        let pos = |t: usize| threads.iter().position(|&x| x == t).unwrap_or(0) as f64;
        let pick = |label: &str, f: &dyn Fn(&RunResult) -> f64| -> Vec<(f64, f64)> {
            let mut pts: Vec<(f64, f64)> = threads
                .iter()
                .filter_map(|&t| {
                    runs.iter()
                        .rfind(|r| r.workload == w && r.label == label && r.threads == t)
                        .map(|r| (pos(t), f(r)))
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            pts
        };
        let mut tput = Vec::new();
        let mut lat = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            let t = pick(label, &|r| r.tps());
            if t.is_empty() {
                continue;
            }
            tput.push((label.clone(), c, t));
            let shades = [c, lighten(c, 0.35), lighten(c, 0.6)];
            let metrics: [(&str, Metric); 3] = [
                ("p50", &|r| r.latency.p50),
                ("p95", &|r| r.latency.p95),
                ("p99", &|r| r.latency.p99),
            ];
            for (j, (name, f)) in metrics.into_iter().enumerate() {
                lat.push((format!("{label} {name}"), shades[j], pick(label, f)));
            }
        }
        let p = dir.join(format!("throughput_{w}.svg"));
        draw(
            &p,
            &format!("{w}: throughput"),
            "transactions/s",
            &threads,
            &tput,
        )?;
        files.push(p);
        let p = dir.join(format!("latency_{w}.svg"));
        draw(
            &p,
            &format!("{w}: latency percentiles"),
            "ms",
            &threads,
            &lat,
        )?;
        files.push(p);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_svgs_with_each_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut runs = Vec::new();
        for (label, k) in [("borealis", 2.0), ("mariadb", 1.0)] {
            for t in [1usize, 8, 32] {
                let mut r = RunResult {
                    label: label.into(),
                    workload: "oltp_read_write".into(),
                    threads: t,
                    elapsed_s: 1.0,
                    events: (k * 100.0 * t as f64) as u64,
                    ..Default::default()
                };
                r.latency.p50 = 1.0;
                r.latency.p95 = 2.0;
                r.latency.p99 = 3.0;
                runs.push(r);
            }
        }
        let files = plot_all(&runs, dir.path()).expect("plots");
        assert_eq!(files.len(), 2);
        let svg = std::fs::read_to_string(&files[0]).expect("svg");
        assert!(svg.contains("<svg") && svg.contains("borealis") && svg.contains("mariadb"));
    }
}
