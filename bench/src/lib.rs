pub mod histogram;
pub mod machine;
pub mod report;
pub mod rng;
pub mod rss;
pub mod runner;
pub mod target;
pub mod workload;
