//! The sqllogictest driver shared by the golden-file runners (`slt_embedded`, `slt_server`).
//!
//! It owns: finding the golden files under `tests/slt/` (filtered by `SLT_FILTER`), the
//! scratch database each file runs in, how cells are printed, and the per-file
//! pass/fail report. Invariants: every file runs in its own freshly created database
//! named by [`scratch_db_name`] (the same name on every backend, so outputs that show
//! `DATABASE()` agree), files run one after another, and a run fails when any file fails.
//!
//! Cell format (the MySQL text protocol's bytes, made line-safe): `NULL` for NULL,
//! `(empty)` for the empty string, other bytes as UTF-8 with newlines and tabs turned
//! into spaces (so `SHOW CREATE TABLE` fits one line) and other control characters
//! shown as `@`. The crate's default comparison collapses whitespace, so tests that care
//! about spaces wrap values, e.g. `CONCAT('[', c, ']')`.
//!
//! Files for LOAD DATA: a golden file turns on sqllogictest's substitution
//! (`control substitution on`) and writes its input with `system ok` commands under
//! `$__TEST_DIR__`, the runner's temporary directory (removed after the file). The
//! runners let server-side LOAD DATA read from the system temporary directory
//! ([`load_data_dir`], as `--secure-file-priv`); LOCAL files are read by the embedded
//! engine itself, or sent by the wire runner's client.
//!
//! Environment:
//! * `SLT_FILTER=substr` runs only the files whose path (relative to `tests/slt/`)
//!   contains `substr`.
//! * `SLT_OVERRIDE=1` rewrites each file's expected results with what the backend
//!   returned (used to record from MariaDB; review the diff before committing).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use sqllogictest::{
    default_normalizer, default_validator, AsyncDB, DefaultColumnType, MakeConnection, Record,
    RecordOutput, Runner,
};

/// Column types are written in the files (`query IIT`) but only their count is checked:
/// MySQL and MariaDB disagree on the result type of many expressions, the values do not.
/// (The signature is the crate's `ColumnTypeValidator`, hence `&Vec`.)
#[allow(clippy::ptr_arg)]
pub fn column_count_validator(
    actual: &Vec<DefaultColumnType>,
    expected: &Vec<DefaultColumnType>,
) -> bool {
    actual.len() == expected.len()
}

/// Print one cell as the golden files record it (see the module doc).
pub fn format_cell(cell: Option<&[u8]>) -> String {
    match cell {
        None => "NULL".to_string(),
        Some([]) => "(empty)".to_string(),
        Some(bytes) => String::from_utf8_lossy(bytes)
            .chars()
            .map(|c| match c {
                '\n' | '\r' | '\t' => ' ',
                c if c.is_control() => '@',
                c => c,
            })
            .collect(),
    }
}

/// The sqllogictest column letter for a MySQL protocol type code.
pub fn type_letter(mysql_type: u8) -> DefaultColumnType {
    match mysql_type {
        // TINY, SHORT, LONG, LONGLONG, INT24, YEAR
        1 | 2 | 3 | 8 | 9 | 13 => DefaultColumnType::Integer,
        // DECIMAL, FLOAT, DOUBLE, NEWDECIMAL
        0 | 4 | 5 | 246 => DefaultColumnType::FloatingPoint,
        _ => DefaultColumnType::Text,
    }
}

/// The database a file runs in: `slt_` and the file's path under `tests/slt/` with
/// every non-alphanumeric character turned into `_` (at most 64 characters).
pub fn scratch_db_name(rel: &str) -> String {
    let stem = rel.strip_suffix(".slt").unwrap_or(rel);
    let mut name: String = format!("slt_{stem}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    name.truncate(64);
    name
}

/// The directory server-side LOAD DATA may read (the backends' `secure_file_priv`):
/// where sqllogictest creates `$__TEST_DIR__`.
pub fn load_data_dir() -> PathBuf {
    let tmp = std::env::temp_dir();
    tmp.canonicalize().unwrap_or(tmp)
}

/// The root of the golden files.
pub fn slt_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("slt")
}

/// Every `.slt` file under [`slt_root`] whose relative path contains `SLT_FILTER`, sorted.
pub fn golden_files() -> Vec<(PathBuf, String)> {
    let root = slt_root();
    let filter = std::env::var("SLT_FILTER").unwrap_or_default();
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "slt") {
                let rel = path
                    .strip_prefix(&root)
                    .expect("file is under the root")
                    .to_string_lossy()
                    .replace('\\', "/");
                if rel.contains(&filter) {
                    out.push((path, rel));
                }
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// Drive a future whose I/O is synchronous (every backend here blocks), so it never
/// waits on a waker; polling until ready is all an executor has to do.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// What a backend provides to run one file.
pub trait Backend {
    type Conn: AsyncDB<ColumnType = DefaultColumnType>;
    type Make: MakeConnection<Conn = Self::Conn>;
    /// A short name for the report.
    fn name(&self) -> String;
    /// Labels for `skipif`/`onlyif` (e.g. `borealis`, `embedded`, `mariadb`).
    fn labels(&self) -> Vec<String>;
    /// Create the scratch database `db` (fresh) and return a maker of connections whose
    /// current database is `db`.
    fn prepare(&mut self, db: &str) -> Result<Self::Make, String>;
    /// Drop the scratch database after the file (best effort).
    fn cleanup(&mut self, _db: &str) {}
}

/// Run every golden file on `backend`; print one line per file and a summary; panic
/// when any file failed or no file matched.
pub fn run_all<B: Backend>(backend: &mut B) {
    let files = golden_files();
    assert!(
        !files.is_empty(),
        "no .slt file under {} matches SLT_FILTER",
        slt_root().display()
    );
    let override_mode = std::env::var("SLT_OVERRIDE").is_ok_and(|v| v == "1");
    let mut failed = Vec::new();
    // Files Borealis is known to fail (each with its reason): reported, not fatal; a
    // listed file that passes fails the run so the list stays true. Only for Borealis.
    let known_failures: Vec<String> = if backend.labels().iter().any(|l| l == "borealis") {
        std::fs::read_to_string(slt_root().join("known_failures.txt"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    } else {
        Vec::new()
    };
    let mut known_count = 0usize;
    let started = Instant::now();
    for (path, rel) in &files {
        let t = Instant::now();
        let db = scratch_db_name(rel);
        let outcome = match backend.prepare(&db) {
            Err(e) => Err(format!("cannot prepare database {db}: {e}")),
            Ok(make) => {
                let mut runner = Runner::new(make);
                for label in backend.labels() {
                    runner.add_label(&label);
                }
                runner.with_column_validator(column_count_validator);
                // A panic in the system under test fails this file, not the whole run.
                let res = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    if override_mode {
                        block_on(runner.update_test_file(
                            path,
                            " ",
                            default_validator,
                            default_normalizer,
                            column_count_validator,
                        ))
                        .map_err(|e| e.to_string())
                    } else {
                        run_records(&mut runner, path)
                    }
                }))
                .unwrap_or_else(|payload| Err(format!("panicked: {}", panic_message(&*payload))));
                drop(runner);
                backend.cleanup(&db);
                res
            }
        };
        let secs = t.elapsed().as_secs_f64();
        let known = known_failures.iter().any(|k| k == rel);
        match outcome {
            Ok(()) if known => {
                println!("FIXED {rel} ({secs:.2}s): remove it from tests/slt/known_failures.txt");
                failed.push(rel.clone());
            }
            Ok(()) => println!("PASS {rel} ({secs:.2}s)"),
            Err(e) if known => {
                println!(
                    "KNOWN {rel} ({secs:.2}s): listed in tests/slt/known_failures.txt\n{}",
                    indent(&e)
                );
                known_count += 1;
            }
            Err(e) => {
                println!("FAIL {rel} ({secs:.2}s)\n{}", indent(&e));
                failed.push(rel.clone());
            }
        }
    }
    println!(
        "slt on {}: {} files, {} passed, {} failed, {} known failures ({:.1}s)",
        backend.name(),
        files.len(),
        files.len() - failed.len() - known_count,
        failed.len(),
        known_count,
        started.elapsed().as_secs_f64()
    );
    assert!(failed.is_empty(), "failed files: {}", failed.join(", "));
}

/// How many failures of one file are printed in full.
const SHOWN_FAILURES: usize = 3;

/// Run a file's records one by one, going on after a failure (unlike
/// `Runner::run_file`) so one report shows every broken record of the file.
fn run_records<D, M>(runner: &mut Runner<D, M>, path: &Path) -> Result<(), String>
where
    D: AsyncDB<ColumnType = DefaultColumnType>,
    M: MakeConnection<Conn = D>,
{
    let records = sqllogictest::parse_file::<DefaultColumnType>(path)
        .map_err(|e| format!("parse error: {e}"))?;
    let (mut run, mut skipped) = (0usize, 0usize);
    let mut failures = Vec::new();
    for record in records {
        if matches!(record, Record::Halt { .. }) {
            break;
        }
        let counted = matches!(record, Record::Statement { .. } | Record::Query { .. });
        match block_on(runner.run_async(record)) {
            Ok(RecordOutput::Nothing) if counted => skipped += 1,
            Ok(_) => run += usize::from(counted),
            Err(e) => {
                run += usize::from(counted);
                failures.push(e.display(false).to_string());
            }
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    let mut report = format!(
        "{} of {run} records failed ({skipped} skipped by skipif/onlyif)",
        failures.len()
    );
    for f in failures.iter().take(SHOWN_FAILURES) {
        report.push('\n');
        report.push_str(f.trim_end());
    }
    if failures.len() > SHOWN_FAILURES {
        report.push_str(&format!(
            "\n... and {} more",
            failures.len() - SHOWN_FAILURES
        ));
    }
    Err(report)
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn cells_are_line_safe() {
        assert_eq!(format_cell(None), "NULL");
        assert_eq!(format_cell(Some(b"")), "(empty)");
        assert_eq!(format_cell(Some(b"a\nb\x01")), "a b@");
        assert_eq!(format_cell(Some("é".as_bytes())), "é");
    }

    #[test]
    fn db_names_are_identifiers() {
        assert_eq!(
            scratch_db_name("dml/insert-select.slt"),
            "slt_dml_insert_select"
        );
        assert!(scratch_db_name(&"x".repeat(100)).len() <= 64);
    }
}
