// MariaDB Connector/J (JDBC) against a Borealis server: client-side and server-side
// prepared statements (useServerPrepStmts), generated keys, batches, every column type
// read back, transactions, an error's code and SQLSTATE, and DatabaseMetaData (tables,
// columns, keys, indexes), which ORMs and tools read through information_schema.
//
// Usage: java -cp mariadb-java-client.jar JdbcClient.java PORT PASSWORD
//        (prints "jdbc: all checks passed"; run once per prepare mode)
import java.math.BigDecimal;
import java.sql.*;
import java.util.Arrays;

public class JdbcClient {
    static void check(boolean cond, String what) {
        if (!cond) {
            System.out.println("FAILED: " + what);
            System.exit(1);
        }
    }

    public static void main(String[] args) throws Exception {
        for (String mode : new String[] {"", "&useServerPrepStmts=true"}) {
            String db = mode.isEmpty() ? "jt_client" : "jt_server";
            String url = "jdbc:mariadb://127.0.0.1:" + args[0] + "/?user=root&password=" + args[1] + mode;
            try (Connection c = DriverManager.getConnection(url)) {
                run(c, db);
            }
        }
        System.out.println("jdbc: all checks passed");
    }

    static void run(Connection c, String db) throws SQLException {
        Statement s = c.createStatement();
        s.execute("CREATE DATABASE " + db);
        c.setCatalog(db);
        s.execute("CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20), "
                + "price DECIMAL(8,2), b BLOB, d DATETIME(3), f DOUBLE, bi BIT(4), ok BOOLEAN, "
                + "KEY k_name (name))");
        PreparedStatement p = c.prepareStatement(
                "INSERT INTO t (name, price, b, d, f, bi, ok) VALUES (?, ?, ?, ?, ?, ?, ?)",
                Statement.RETURN_GENERATED_KEYS);
        p.setString(1, "ünï");
        p.setBigDecimal(2, new BigDecimal("12.50"));
        p.setBytes(3, new byte[] {0, (byte) 0xff, 1});
        p.setTimestamp(4, Timestamp.valueOf("2024-01-02 03:04:05.678"));
        p.setDouble(5, 1.25);
        p.setInt(6, 5);
        p.setBoolean(7, true);
        check(p.executeUpdate() == 1, "insert count");
        ResultSet k = p.getGeneratedKeys();
        check(k.next() && k.getLong(1) == 1, "generated key");

        p.setString(1, "second");
        p.setNull(2, Types.DECIMAL);
        p.setNull(3, Types.BLOB);
        p.setNull(4, Types.TIMESTAMP);
        p.setDouble(5, -0.5);
        p.setInt(6, 15);
        p.setBoolean(7, false);
        p.addBatch();
        p.setString(1, "third");
        p.addBatch();
        check(p.executeBatch().length == 2, "batch");

        PreparedStatement q = c.prepareStatement(
                "SELECT id, name, price, b, d, f, bi, ok FROM t WHERE id >= ? ORDER BY id");
        q.setInt(1, 1);
        ResultSet rs = q.executeQuery();
        ResultSetMetaData md = rs.getMetaData();
        check(md.getColumnCount() == 8 && md.getColumnTypeName(3).equals("DECIMAL")
                && md.getColumnTypeName(7).equals("BIT"), "metadata");
        check(rs.next(), "first row");
        check(rs.getInt(1) == 1 && rs.getString(2).equals("ünï")
                && rs.getBigDecimal(3).equals(new BigDecimal("12.50"))
                && Arrays.equals(rs.getBytes(4), new byte[] {0, (byte) 0xff, 1})
                && rs.getTimestamp(5).equals(Timestamp.valueOf("2024-01-02 03:04:05.678"))
                && rs.getDouble(6) == 1.25 && rs.getInt(7) == 5 && rs.getBoolean(8),
                "first row values");
        check(rs.next(), "second row");
        check(rs.getString(2).equals("second") && rs.getBigDecimal(3) == null
                && rs.getBytes(4) == null && rs.getTimestamp(5) == null && rs.getInt(7) == 15
                && !rs.getBoolean(8), "second row values");
        check(rs.next() && !rs.next(), "three rows");

        c.setAutoCommit(false);
        s.executeUpdate("DELETE FROM t WHERE id = 1");
        c.rollback();
        c.setAutoCommit(true);
        rs = s.executeQuery("SELECT COUNT(*) FROM t");
        check(rs.next() && rs.getInt(1) == 3, "rollback");

        try {
            s.executeQuery("SELECT * FROM nosuch");
            check(false, "error expected");
        } catch (SQLException e) {
            check(e.getErrorCode() == 1146 && e.getSQLState().equals("42S02"), "error code");
        }

        DatabaseMetaData dm = c.getMetaData();
        check(dm.getDatabaseProductName().equals("MySQL"), "product name");
        rs = dm.getTables(db, null, "%", null);
        check(rs.next() && rs.getString("TABLE_NAME").equals("t") && !rs.next(), "getTables");
        rs = dm.getColumns(db, null, "t", "%");
        int n = 0;
        while (rs.next()) n++;
        check(n == 8, "getColumns");
        rs = dm.getPrimaryKeys(db, null, "t");
        check(rs.next() && rs.getString("COLUMN_NAME").equals("id"), "getPrimaryKeys");
        rs = dm.getIndexInfo(db, null, "t", false, false);
        int idx = 0;
        while (rs.next()) idx++;
        check(idx == 2, "getIndexInfo");
    }
}
