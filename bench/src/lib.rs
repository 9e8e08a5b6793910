pub mod rng;
pub mod workload;
