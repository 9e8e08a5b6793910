"""LOAD DATA LOCAL INFILE through PyMySQL (local_infile=True) against Borealis.

Usage: pymysql_load_data.py PORT PASSWORD. Prints "pymysql load data: all checks passed".
Checks: a file sent in many packets, the OK info string, a client without
CLIENT_LOCAL_FILES getting 4166 and going on, an error raised while the file is still
arriving (the rest is drained; the connection stays usable), LOAD DATA LOCAL between
other statements of one multi-statement query, a file the client cannot open.
"""
import os
import sys
import tempfile

import pymysql
from pymysql.constants import CLIENT

port, password = int(sys.argv[1]), sys.argv[2]


def connect(**kw):
    return pymysql.connect(host="127.0.0.1", port=port, user="root", password=password, **kw)


tmp = tempfile.mkdtemp()
big = os.path.join(tmp, "big.tsv")
rows = 50000
with open(big, "w") as f:
    for i in range(rows):
        f.write(f"{i}\tname-{i}\t{'x' * 20}\n")

c = connect(local_infile=True, autocommit=True)
cur = c.cursor()
cur.execute("CREATE DATABASE ld")
cur.execute("USE ld")
cur.execute("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), pad VARCHAR(30))")
n = cur.execute(f"LOAD DATA LOCAL INFILE '{big}' INTO TABLE t")
assert n == rows, n
msg = c._result.message
assert msg.endswith(f"Records: {rows}  Deleted: 0  Skipped: 0  Warnings: 0".encode()), msg
cur.execute("SELECT COUNT(*), MAX(id), MIN(name) FROM t")
assert cur.fetchone() == (rows, rows - 1, "name-0"), "count"

# LOCAL implies IGNORE: loading again skips every row.
n = cur.execute(f"LOAD DATA LOCAL INFILE '{big}' INTO TABLE t")
assert n == 0, n
assert c._result.message.endswith(
    f"Records: {rows}  Deleted: 0  Skipped: {rows}  Warnings: {rows}".encode()
), c._result.message

# An error while the client is still sending: the rest of the file is read and dropped,
# the error arrives, and the same connection keeps working.
cur.execute("CREATE TABLE guarded (id INT PRIMARY KEY, name VARCHAR(20), pad VARCHAR(30))")
cur.execute(
    "CREATE TRIGGER no_boom BEFORE INSERT ON guarded FOR EACH ROW "
    "BEGIN IF NEW.id = 3 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'; END IF; END"
)
try:
    cur.execute(f"LOAD DATA LOCAL INFILE '{big}' INTO TABLE guarded")
    raise AssertionError("the trigger should have failed the load")
except pymysql.err.OperationalError as e:
    assert e.args[0] == 1644 and "boom" in e.args[1], e
cur.execute("SELECT COUNT(*) FROM guarded")
assert cur.fetchone() == (0,), "the failed load left rows"
cur.execute("SELECT 42")
assert cur.fetchone() == (42,)

# A file the client cannot open: it sends an empty file; nothing is loaded.
try:
    n = cur.execute(f"LOAD DATA LOCAL INFILE '{tmp}/missing.txt' INTO TABLE guarded")
except pymysql.err.OperationalError:
    pass  # PyMySQL reports its own error for the missing file
c.ping(reconnect=False)
cur.execute("SELECT 43")
assert cur.fetchone() == (43,)

# Within a multi-statement query: results before it arrive first.
small = os.path.join(tmp, "small.csv")
with open(small, "w") as f:
    f.write('1,"a, b"\n2,c\n')
m = connect(local_infile=True, autocommit=True, database="ld", client_flag=CLIENT.MULTI_STATEMENTS)
mc = m.cursor()
mc.execute("CREATE TABLE csv (id INT PRIMARY KEY, s VARCHAR(10))")
mc.execute(
    f"SELECT 1; LOAD DATA LOCAL INFILE '{small}' INTO TABLE csv "
    "FIELDS TERMINATED BY ',' ENCLOSED BY '\"'; SELECT COUNT(*) FROM csv"
)
assert mc.fetchall() == ((1,),)
assert mc.nextset()
assert mc.rowcount == 2, mc.rowcount
assert mc.nextset()
assert mc.fetchall() == ((2,),)
mc.execute("SELECT s FROM csv WHERE id = 1")
assert mc.fetchone() == ("a, b",)

# Without local_infile the client does not set CLIENT_LOCAL_FILES: error 4166, and the
# connection goes on.
d = connect(database="ld", autocommit=True)
dc = d.cursor()
try:
    dc.execute(f"LOAD DATA LOCAL INFILE '{small}' INTO TABLE csv")
    raise AssertionError("expected 4166")
except pymysql.err.OperationalError as e:
    assert e.args[0] == 4166, e
dc.execute("SELECT COUNT(*) FROM csv")
assert dc.fetchone() == (2,)

print("pymysql load data: all checks passed")
