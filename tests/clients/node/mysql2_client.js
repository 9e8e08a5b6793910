// mysql2 (the common Node.js driver) against a Borealis server: connect, text queries,
// server-side prepared statements (execute) with typed values, transactions, errors with
// codes and SQLSTATEs, a pool with concurrent queries.
// Usage: node mysql2_client.js PORT PASSWORD   (prints "mysql2: all checks passed")
const mysql = require('mysql2/promise');

function check(cond, what) {
  if (!cond) {
    console.log('FAILED:', what);
    process.exit(1);
  }
}

(async () => {
  const [port, password] = [Number(process.argv[2]), process.argv[3]];
  const opts = { host: '127.0.0.1', port, user: 'root', password };
  const c = await mysql.createConnection(opts);
  await c.query('CREATE DATABASE nd');
  await c.query('USE nd');
  await c.query('CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(40), d DECIMAL(10,2), ts DATETIME(3), n INT)');
  await c.execute('INSERT INTO t VALUES (?, ?, ?, ?, ?)', [1, 'héllo', '12.34', '2024-01-02 03:04:05.678', null]);
  const [rows] = await c.execute('SELECT id, s, d, ts, n FROM t WHERE id = ?', [1]);
  check(rows.length === 1 && rows[0].s === 'héllo' && rows[0].d === '12.34' && rows[0].n === null,
    'prepared round trip ' + JSON.stringify(rows));
  check(rows[0].ts instanceof Date && rows[0].ts.getMilliseconds() === 678, 'DATETIME(3) ' + rows[0].ts);

  await c.beginTransaction();
  await c.execute('INSERT INTO t (id, s) VALUES (?, ?)', [2, 'two']);
  await c.rollback();
  const [cnt] = await c.query('SELECT COUNT(*) AS n FROM t');
  check(Number(cnt[0].n) === 1, 'rollback ' + JSON.stringify(cnt));

  for (const [sql, code, state] of [['SELEC 1', 1064, '42000'], ['SELECT * FROM nope', 1146, '42S02']]) {
    try {
      await c.query(sql);
      check(false, sql + ' did not fail');
    } catch (e) {
      check(e.errno === code && e.sqlState === state, `${sql}: ${e.errno} ${e.sqlState}`);
    }
  }

  const pool = mysql.createPool({ ...opts, database: 'nd', connectionLimit: 4 });
  const results = await Promise.all([...Array(16).keys()].map(i =>
    pool.execute('SELECT ? + id AS v FROM t WHERE id = 1', [i])));
  check(results.every(([r], i) => Number(r[0].v) === i + 1), 'pool results');
  await pool.end();
  await c.end();
  console.log('mysql2: all checks passed');
})().catch(e => { console.log('FAILED:', e); process.exit(1); });
