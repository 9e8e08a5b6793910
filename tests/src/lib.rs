//! Shared helpers for the integration tests: a scripted fake backend for protocol tests
//! ([`fake`]), a raw packet client ([`raw`]), and the policy for tests that need an external client tool ([`tool`]).

pub mod fake;
pub mod raw;
pub mod tool;
