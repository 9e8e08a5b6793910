"""PyMySQL against a Borealis server: what PyMySQL sends on connect (SET NAMES,
SET AUTOCOMMIT = 0), client-side parameter interpolation with every Python type,
executemany, implicit transactions under autocommit=0, errors with their codes, ping.

Usage: pymysql_client.py PORT PASSWORD   (prints "pymysql: all checks passed")
"""
import datetime
import decimal
import sys

import pymysql


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


def main():
    port, password = int(sys.argv[1]), sys.argv[2]
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password=password)
    cur = conn.cursor()
    cur.execute("CREATE DATABASE py")
    cur.execute("USE py")
    cur.execute(
        "CREATE TABLE t (id INT PRIMARY KEY, i BIGINT, f DOUBLE, d DECIMAL(8,3), "
        "s VARCHAR(40), b VARBINARY(10), dt DATE, ts DATETIME, n INT)"
    )
    row = (1, -(2**40), 1.25, decimal.Decimal("12.345"), "b'q\\z", b"\x00\xff",
           datetime.date(2024, 2, 29), datetime.datetime(2020, 1, 2, 3, 4, 5), None)
    cur.execute("INSERT INTO t VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", row)
    check(cur.rowcount == 1, "rowcount after INSERT")
    conn.commit()
    cur.execute("SELECT id, i, f, d, s, b, dt, ts, n FROM t WHERE id = %s", (1,))
    got = cur.fetchone()
    check(got == row, "round trip: %r != %r" % (got, row))

    # executemany becomes one multi-row INSERT.
    cur.executemany("INSERT INTO t (id, s) VALUES (%s, %s)", [(2, "a"), (3, "b'q"), (4, None)])
    check(cur.rowcount == 3, "executemany rowcount %r" % cur.rowcount)
    conn.rollback()
    cur.execute("SELECT COUNT(*) FROM t")
    check(cur.fetchone()[0] == 1, "rollback undid the implicit transaction")
    cur.executemany("INSERT INTO t (id, s) VALUES (%s, %s)", [(2, "a"), (3, "b'q"), (4, None)])
    conn.commit()
    cur.execute("SELECT s FROM t WHERE id IN (2, 3, 4) ORDER BY id")
    check(cur.fetchall() == (("a",), ("b'q",), (None,)), "committed rows")

    for sql, code in [("SELECT * FROM nosuch", 1146), ("INSERT INTO t (id) VALUES (1)", 1062),
                      ("SELEC 1", 1064)]:
        try:
            cur.execute(sql)
            check(False, "no error for %s" % sql)
        except pymysql.MySQLError as e:
            check(e.args[0] == code, "%s: %r" % (sql, e.args))
    conn.ping()
    cur.execute("SELECT 1 AS one, 'x' AS s")
    check(cur.fetchone() == (1, "x"), "SELECT 1 AS one")
    conn.close()

    try:
        pymysql.connect(host="127.0.0.1", port=port, user="root", password="wrong")
        check(False, "wrong password accepted")
    except pymysql.err.OperationalError as e:
        check(e.args[0] == 1045, "wrong password: %r" % (e.args,))
    print("pymysql: all checks passed")


if __name__ == "__main__":
    main()
