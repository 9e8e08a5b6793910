"""MySQL Connector/Python (Oracle's driver, pure-Python implementation) against a
Borealis server: its connect sequence, client-side parameters and server-side prepared
statements (COM_STMT_PREPARE/EXECUTE with typed binary values: DATETIME(3), DECIMAL,
utf8mb4, NULL, BLOB), executemany, transactions, errors with codes and SQLSTATEs, and a
caching_sha2_password account.

Usage: connector_python_client.py PORT PASSWORD   (prints "connector-python: all checks passed")
"""
import datetime
import decimal
import sys

import mysql.connector
from mysql.connector import errorcode


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


def connect(port, user, password, **kw):
    return mysql.connector.connect(
        host="127.0.0.1", port=port, user=user, password=password, use_pure=True, **kw
    )


def main():
    port, password = int(sys.argv[1]), sys.argv[2]
    conn = connect(port, "root", password)
    cur = conn.cursor()
    cur.execute("CREATE DATABASE cp")
    cur.execute("USE cp")
    cur.execute(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(40), d DECIMAL(10,2), "
        "ts DATETIME(3), b BLOB, n INT)"
    )
    row = (1, "héllo \U0001F600", decimal.Decimal("12.34"),
           datetime.datetime(2024, 1, 2, 3, 4, 5, 678000), b"\x00\x01\xff", None)
    cur.execute("INSERT INTO t VALUES (%s, %s, %s, %s, %s, %s)", row)
    conn.commit()

    # Server-side prepared statements: typed values in the binary protocol both ways.
    pcur = conn.cursor(prepared=True)
    pcur.execute("SELECT id, s, d, ts, b, n FROM t WHERE id = ?", (1,))
    got = tuple(pcur.fetchone())
    check(got[:4] == row[:4] and bytes(got[4]) == row[4] and got[5] is None,
          "prepared round trip: %r != %r" % (got, row))
    pcur.execute("INSERT INTO t (id, s, ts) VALUES (?, ?, ?)",
                 (2, "two", datetime.datetime(2000, 2, 29, 23, 59, 59, 1000)))
    pcur.execute("SELECT ts FROM t WHERE id = ?", (2,))
    check(pcur.fetchone()[0] == datetime.datetime(2000, 2, 29, 23, 59, 59, 1000),
          "prepared DATETIME(3) insert")

    cur.executemany("INSERT INTO t (id, s) VALUES (%s, %s)", [(3, "a"), (4, "b'q")])
    check(cur.rowcount == 2, "executemany rowcount %r" % cur.rowcount)
    conn.rollback()
    cur.execute("SELECT COUNT(*) FROM t")
    check(cur.fetchone()[0] == 1, "rollback undid the uncommitted rows")

    # Errors keep MySQL's codes and SQLSTATEs.
    for sql, code, state in [
        ("SELEC 1", errorcode.ER_PARSE_ERROR, "42000"),
        ("SELECT * FROM nope", errorcode.ER_NO_SUCH_TABLE, "42S02"),
        ("INSERT INTO t (id) VALUES (1)", errorcode.ER_DUP_ENTRY, "23000"),
    ]:
        try:
            cur.execute(sql)
            check(False, "%s did not fail" % sql)
        except mysql.connector.Error as e:
            check(e.errno == code and e.sqlstate == state,
                  "%s: got %s %s" % (sql, e.errno, e.sqlstate))
    cur.execute("SELECT 1")
    check(cur.fetchone() == (1,), "connection usable after errors")

    # An account with caching_sha2_password.
    cur.execute("CREATE USER 'sha'@'%' IDENTIFIED WITH caching_sha2_password BY 'sha-pw'")
    cur.execute("GRANT ALL ON cp.* TO 'sha'@'%'")
    other = connect(port, "sha", "sha-pw", database="cp")
    ocur = other.cursor()
    ocur.execute("SELECT CURRENT_USER(), COUNT(*) FROM t")
    check(ocur.fetchone() == ("sha@%", 1), "caching_sha2 account")
    other.close()
    try:
        connect(port, "sha", "wrong")
        check(False, "a wrong password was accepted")
    except mysql.connector.Error as e:
        check(e.errno == errorcode.ER_ACCESS_DENIED_ERROR, "wrong password: %s" % e.errno)

    conn.close()
    print("connector-python: all checks passed")


main()
