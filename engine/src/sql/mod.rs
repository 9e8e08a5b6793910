//! The SQL layer: parse (sqlparser, MySQL dialect, plus MySQL lexical extras), bind
//! names and plan (`bind`, `from`), execute (`exec`, `window`), DML/DDL, SHOW and
//! information_schema, accounts, EXPLAIN, triggers. `session.rs` walks one statement through it.

pub mod accounts;
pub mod bind;
pub mod check;
pub mod coerce;
#[cfg(test)]
mod collation_differential;
pub mod collations;
pub mod constraint_ddl;
pub mod covering;
pub mod ddl;
pub mod dml;
pub mod exec;
pub mod explain;
pub mod foreign_key;
pub mod from;
#[cfg(test)]
mod join_differential;
#[cfg(test)]
mod join_many_tests;
pub mod joinplan;
pub mod load_data;
pub mod multi_dml;
pub mod optimize;
pub mod parse;
pub mod plan;
pub mod session_state;
pub mod show;
pub mod show_stmt;
pub mod trigger;
pub mod views;
pub mod window;
