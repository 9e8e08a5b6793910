//! Embedding Borealis: open a database in a directory (the six-node, three-AZ volume
//! in-process), create a table, write in a transaction, query with parameters.
//!
//! Run with `cargo run -p borealis-engine --example embedded [DIR]`.

use borealis_engine::{Database, QueryResult, Value};

fn main() -> Result<(), borealis_engine::Error> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        std::env::temp_dir()
            .join(format!("borealis-example-{}", std::process::id()))
            .display()
            .to_string()
    });
    let db = Database::open(&dir)?;
    let mut s = db.session();
    s.execute("CREATE DATABASE IF NOT EXISTS shop; USE shop")?;
    s.execute("CREATE TABLE IF NOT EXISTS items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(40) NOT NULL, price DECIMAL(8,2))")?;

    s.execute("BEGIN")?;
    for (name, price) in [("apple", "0.50"), ("pear", "0.75"), ("fig", "2.10")] {
        s.query(
            "INSERT INTO items (name, price) VALUES (?, ?)",
            &[Value::from(name), Value::from(price)],
        )?;
    }
    s.execute("COMMIT")?;

    let r = s.query(
        "SELECT name, price FROM items WHERE price < ? ORDER BY price",
        &[Value::from("1.00")],
    )?;
    if let QueryResult::Rows { columns, rows } = r {
        println!(
            "{}",
            columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join("\t")
        );
        for row in rows {
            println!(
                "{}",
                row.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("\t")
            );
        }
    }
    println!("data in {dir}");
    Ok(())
}
