//! Borealis benchmarks.
