//! Control-flow functions usable in call form: IF, IFNULL, NULLIF, COALESCE, ISNULL.
//! (CASE is an expression the executor evaluates lazily; these take evaluated args.)

use std::cmp::Ordering;

use super::{builtin, Builtin, FnContext, MANY};
use crate::error::Result;
use crate::value::{compare, Value};

fn f_if(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(if args[0].to_bool() == Some(true) {
        args[1].clone()
    } else {
        args[2].clone()
    })
}

fn f_ifnull(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(if args[0].is_null() {
        args[1].clone()
    } else {
        args[0].clone()
    })
}

fn f_nullif(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(if compare(&args[0], &args[1]) == Some(Ordering::Equal) {
        Value::Null
    } else {
        args[0].clone()
    })
}

fn f_coalesce(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(args
        .iter()
        .find(|v| !v.is_null())
        .cloned()
        .unwrap_or(Value::Null))
}

fn f_isnull(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(Value::Int(args[0].is_null() as i64))
}

pub(super) fn lookup(name: &str) -> Option<Builtin> {
    Some(match name {
        "if" => builtin(3, 3, f_if),
        "ifnull" => builtin(2, 2, f_ifnull),
        "nullif" => builtin(2, 2, f_nullif),
        "coalesce" => builtin(1, MANY, f_coalesce),
        "isnull" => builtin(1, 1, f_isnull),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::call;
    use super::*;

    fn c(name: &str, args: &[Value]) -> Value {
        call(name, args, &mut FnContext::default()).expect(name)
    }

    #[test]
    fn manual_examples() {
        let (i, n) = (Value::Int, Value::Null);
        assert_eq!(c("IF", &[i(1), i(2), i(3)]), i(2));
        assert_eq!(
            c("if", &["1<2".into(), "yes".into(), "no".into()]),
            Value::from("yes")
        );
        assert_eq!(c("if", &[n.clone(), i(2), i(3)]), i(3));
        assert_eq!(c("ifnull", &[i(1), i(0)]), i(1));
        assert_eq!(c("ifnull", &[n.clone(), i(10)]), i(10));
        assert_eq!(c("nullif", &[i(1), i(1)]), n.clone());
        assert_eq!(c("nullif", &[i(1), i(2)]), i(1));
        assert_eq!(c("nullif", &["a".into(), "A".into()]), n.clone());
        assert_eq!(c("coalesce", &[n.clone(), i(1)]), i(1));
        assert_eq!(c("coalesce", &[n.clone(), n.clone(), n.clone()]), n.clone());
        assert_eq!(c("isnull", &[n]), i(1));
        assert_eq!(c("isnull", &[i(0)]), i(0));
    }
}
