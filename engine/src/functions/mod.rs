//! MySQL's built-in scalar functions and operators, evaluated on [`Value`]s.
//!
//! The executor calls in through a small surface: [`call`] for a function by name,
//! [`binary`], [`negate`] and [`bit_not`] for operators, [`like`] and [`regexp_like`] for
//! pattern matching, [`cast`] for CAST/CONVERT, [`date_add`] for `+ INTERVAL` and
//! [`json_extract_path`] for `->`/`->>`. Every entry point follows MySQL's NULL
//! propagation and type rules; soft problems (a string that is not a number, division by
//! zero) become warnings in [`FnContext::warnings`] and the executor decides whether strict
//! mode turns them into errors. Hard problems (integer overflow, a wrong argument count)
//! are errors.
//!
//! A call end to end: the planner resolves `UPPER(name)` once with [`resolve`] (error
//! 1305 for an unknown name) and keeps the [`ScalarFn`]; per row the executor evaluates
//! the arguments to [`Value`]s and calls [`ScalarFn::call`] with the statement's
//! [`FnContext`], which checks the argument count (1582) and runs the family's
//! implementation; the executor then moves `ctx.warnings` into the session's SHOW
//! WARNINGS list. [`call`] does the lookup and the call in one step.
//!
//! Representation invariants: a character string is `Value::Str`, a binary string
//! `Value::Bytes` (string functions given a binary argument return a binary result); a
//! JSON value is `Value::Str` holding canonical JSON text (see `json`); the session time
//! zone is UTC.
//!
//! One file per family: `ops` (arithmetic), `cast`, `string`, `numeric`, `datetime`
//! (with `interval` and `timefmt`), `json`, `like`, `regexp`, `control`, `misc`, and
//! `digest` (MD5/SHA/CRC32/base64 codecs); `args` holds the shared coercions. Each family
//! exposes a `lookup(name)` returning the arity and the implementation; [`resolve`] asks
//! them in turn.

mod args;
mod cast;
mod control;
mod datetime;
mod digest;
#[cfg(test)]
mod examples;
mod interval;
mod json;
mod like;
mod locks;
mod misc;
mod numeric;
mod ops;
#[cfg(test)]
mod randomized;
mod regexp;
#[cfg(test)]
mod sql_e2e;
mod string;
mod timefmt;

pub use cast::{cast, CastType};
pub use interval::{date_add, IntervalUnit};
pub use json::json_extract_path;
pub use like::{like, like_in};
pub use locks::UserLocks;
pub use ops::{binary, bit_not, negate, BinOp};
pub(crate) use ops::{precise_arith, round_shown};
pub use regexp::regexp_like;
pub use string::{ENUM_NUMBER, SET_NUMBER};

use crate::error::{code, Error, Result};
use crate::temporal::DateTime;
use crate::value::Value;

/// Per-statement evaluation state.
#[derive(Clone, Debug)]
pub struct FnContext {
    /// Statement start time (UTC); NOW() is stable within a statement.
    pub now: DateTime,
    /// MySQL warnings raised while evaluating: (code, message).
    pub warnings: Vec<(u16, String)>,
    /// Strict sql_mode. Functions still return NULL plus a warning where MySQL does; the
    /// executor turns warnings into errors for INSERT/UPDATE when strict.
    pub strict: bool,
    /// Seed for RAND() without an argument (None: seeded from the clock). After the first
    /// RAND() it holds the generator's state (top bit set), so keeping one context for a
    /// statement (or a session) continues one sequence, as MySQL's session generator does.
    pub rng_seed: Option<u64>,
}

impl FnContext {
    pub fn new(now: DateTime) -> FnContext {
        FnContext {
            now,
            warnings: Vec::new(),
            strict: true,
            rng_seed: None,
        }
    }

    /// Record a warning.
    pub fn warn(&mut self, code: u16, msg: impl Into<String>) {
        self.warnings.push((code, msg.into()));
    }
}

impl Default for FnContext {
    fn default() -> Self {
        FnContext::new(DateTime::now_utc())
    }
}

/// A built-in's implementation: arguments already evaluated.
pub(crate) type FnImpl = fn(&[Value], &mut FnContext) -> Result<Value>;

/// Arity and implementation of one built-in.
#[derive(Clone, Copy)]
pub(crate) struct Builtin {
    pub min: usize,
    pub max: usize,
    pub f: FnImpl,
}

/// Upper arity bound for variadic functions.
pub(crate) const MANY: usize = usize::MAX;

pub(crate) const fn builtin(min: usize, max: usize, f: FnImpl) -> Builtin {
    Builtin { min, max, f }
}

/// Look up `name` in any case without allocating for the usual short ASCII names (the
/// by-name [`call`] runs once per row).
fn lookup_any_case(name: &str) -> Option<Builtin> {
    let mut buf = [0u8; 32];
    if name.len() <= buf.len() && name.is_ascii() {
        for (d, c) in buf.iter_mut().zip(name.bytes()) {
            *d = c.to_ascii_lowercase();
        }
        let lower = std::str::from_utf8(&buf[..name.len()]).expect("ASCII stays UTF-8");
        return lookup(lower);
    }
    lookup(&name.to_ascii_lowercase())
}

fn lookup(lower: &str) -> Option<Builtin> {
    let families: &[fn(&str) -> Option<Builtin>] = &[
        string::lookup,
        numeric::lookup,
        control::lookup,
        datetime::lookup,
        digest::lookup,
        json::lookup,
        regexp::lookup,
        misc::lookup,
    ];
    families.iter().find_map(|f| f(lower))
}

/// A resolved built-in: look the name up once at plan time with [`resolve`], then call
/// it per row without the name lookup.
///
/// A `ScalarFn` is one expression's function: RAND(N) keeps its sequence in it, so
/// resolve once per expression node (not once per name) and keep it for the statement.
#[derive(Clone)]
pub struct ScalarFn {
    /// The name as written, for error messages.
    name: Box<str>,
    b: Builtin,
    /// Per-expression state of RAND(N) (a Mutex so the plan can be shared between threads).
    rand: Option<std::sync::Arc<std::sync::Mutex<numeric::SeededRand>>>,
}

impl std::fmt::Debug for ScalarFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScalarFn")
            .field("name", &self.name)
            .finish()
    }
}

impl ScalarFn {
    /// Whether `n` arguments are acceptable.
    pub fn accepts(&self, n: usize) -> bool {
        n >= self.b.min && n <= self.b.max
    }

    /// Whether equal arguments always give an equal result within one statement, so a
    /// call on constants may be folded at plan time (NOW() is: it is the statement's
    /// start time; RAND(), UUID(), SYSDATE(), SLEEP() are not).
    pub fn is_deterministic(&self) -> bool {
        !matches!(
            self.name.to_ascii_lowercase().as_str(),
            "rand" | "uuid" | "uuid_short" | "sysdate" | "sleep" | "random_bytes"
        )
    }

    /// Call with evaluated arguments (1582 for a wrong count, as [`call`]).
    pub fn call(&self, args: &[Value], ctx: &mut FnContext) -> Result<Value> {
        if !self.accepts(args.len()) {
            return Err(wrong_count(&self.name));
        }
        if let (Some(state), 1) = (&self.rand, args.len()) {
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            return numeric::rand_seeded(args, ctx, &mut st);
        }
        (self.b.f)(args, ctx)
    }
}

fn wrong_count(name: &str) -> Error {
    Error::new(
        code::ER_WRONG_ARGUMENTS_FN,
        format!("Incorrect parameter count in the call to native function '{name}'"),
    )
}

fn unknown(name: &str) -> Error {
    Error::new(
        code::ER_FUNCTION_NOT_DEFINED,
        format!("FUNCTION {name} does not exist"),
    )
}

/// Resolve a built-in by (case-insensitive) name: 1305 when there is none.
pub fn resolve(name: &str) -> Result<ScalarFn> {
    let lower = name.to_ascii_lowercase();
    let b = lookup(&lower).ok_or_else(|| unknown(name))?;
    Ok(ScalarFn {
        name: name.into(),
        b,
        rand: (lower == "rand").then(Default::default),
    })
}

/// Whether `name` (any case) is a built-in scalar function this module implements.
pub fn exists(name: &str) -> bool {
    lookup_any_case(name).is_some()
}

/// Call a scalar built-in by (case-insensitive) name.
///
/// Errors: 1305 for an unknown name, 1582 for a wrong argument count, and whatever the
/// function itself raises (1690 overflow, 3140 invalid JSON, ...).
pub fn call(name: &str, args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(b) = lookup_any_case(name) else {
        return Err(unknown(name));
    };
    if args.len() < b.min || args.len() > b.max {
        return Err(wrong_count(name));
    }
    (b.f)(args, ctx)
}
