// The Hive JDBC driver (org.apache.hive.jdbc.HiveDriver, HiveServer2 over HTTP) against sqlgate.
// Runs each check, prints one line `SQLGATE <check> <json>` per check (or {"error": ...});
// tests/e2e/test_jdbc.py compiles this with javac, runs it and asserts on the lines.
// Usage: java -cp <jars>:<dir> SqlgateJdbc <jdbc-url> <token> <big-query-sql>
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class SqlgateJdbc {
  private SqlgateJdbc() {}

  interface Check {
    Object run(Connection conn) throws Exception;
  }

  // A tiny JSON writer: maps, lists, strings, numbers, booleans, null.
  static String json(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof Boolean || v instanceof Integer || v instanceof Long) {
      return v.toString();
    }
    if (v instanceof Map) {
      StringBuilder sb = new StringBuilder("{");
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        if (sb.length() > 1) {
          sb.append(',');
        }
        sb.append(json(String.valueOf(e.getKey()))).append(':').append(json(e.getValue()));
      }
      return sb.append('}').toString();
    }
    if (v instanceof List) {
      StringBuilder sb = new StringBuilder("[");
      for (Object x : (List<?>) v) {
        if (sb.length() > 1) {
          sb.append(',');
        }
        sb.append(json(x));
      }
      return sb.append(']').toString();
    }
    StringBuilder sb = new StringBuilder("\"");
    for (char c : v.toString().toCharArray()) {
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }

  static String text(Object o) {
    return o == null ? null : o.toString();
  }

  // Every row of a result set, each value as getObject(...).toString().
  static List<Object> rows(ResultSet rs) throws SQLException {
    List<Object> out = new ArrayList<>();
    int n = rs.getMetaData().getColumnCount();
    while (rs.next()) {
      List<Object> row = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        row.add(text(rs.getObject(i)));
      }
      out.add(row);
    }
    rs.close();
    return out;
  }

  // Column labels, the values of one named column, for metadata result sets.
  static List<Object> column(ResultSet rs, String name) throws SQLException {
    List<Object> out = new ArrayList<>();
    while (rs.next()) {
      out.add(text(rs.getObject(name)));
    }
    rs.close();
    return out;
  }

  static List<Object> labels(ResultSetMetaData md) throws SQLException {
    List<Object> out = new ArrayList<>();
    for (int i = 1; i <= md.getColumnCount(); i++) {
      out.add(md.getColumnLabel(i));
    }
    return out;
  }

  static final String TYPES_SQL = "SELECT true AS c_boolean, CAST(1 AS TINYINT) AS c_tinyint, "
      + "CAST(2 AS SMALLINT) AS c_smallint, 3 AS c_int, CAST(4 AS BIGINT) AS c_bigint, "
      + "CAST(1.5 AS FLOAT) AS c_float, CAST(2.25 AS DOUBLE) AS c_double, "
      + "CAST(12345.67 AS DECIMAL(10,2)) AS c_decimal, 'text' AS c_string, "
      + "CAST('bin' AS BINARY) AS c_binary, DATE '2024-01-02' AS c_date, "
      + "TIMESTAMP '2024-01-02 03:04:05.123456' AS c_timestamp, "
      + "TIMESTAMP_NTZ '2024-01-02 03:04:05' AS c_timestamp_ntz, "
      + "array(1, 2, 3) AS c_array, map('a', 1) AS c_map, "
      + "named_struct('x', 1, 'y', 'z') AS c_struct, CAST(NULL AS STRING) AS c_null";

  static Map<String, Object> types(Connection conn) throws SQLException {
    Map<String, Object> out = new LinkedHashMap<>();
    try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(TYPES_SQL)) {
      ResultSetMetaData md = rs.getMetaData();
      if (!rs.next()) {
        throw new SQLException("no row");
      }
      for (int i = 1; i <= md.getColumnCount(); i++) {
        Map<String, Object> col = new LinkedHashMap<>();
        col.put("type_name", md.getColumnTypeName(i));
        col.put("type", md.getColumnType(i));
        col.put("class", md.getColumnClassName(i));
        col.put("value", text(rs.getObject(i)));
        out.put(md.getColumnLabel(i), col);
      }
      // The typed getters a BI tool calls.
      out.put("getTimestamp", text(rs.getTimestamp("c_timestamp")));
      out.put("getDate", text(rs.getDate("c_date")));
      BigDecimal dec = rs.getBigDecimal("c_decimal");
      out.put("getBigDecimal", dec == null ? null : dec.toPlainString());
      out.put("getLong", rs.getLong("c_bigint"));
      out.put("getBoolean", rs.getBoolean("c_boolean"));
    }
    return out;
  }

  static Map<String, Object> big(Connection conn, String sql) throws SQLException {
    long started = System.nanoTime();
    long rows = 0;
    long chars = 0;
    long sum = 0;
    try (Statement st = conn.createStatement()) {
      st.setFetchSize(10000);
      try (ResultSet rs = st.executeQuery(sql)) {
        while (rs.next()) {
          rows++;
          sum += rs.getLong(1);
          String s = rs.getString(2);
          chars += s == null ? 0 : s.length();
        }
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("rows", rows);
    out.put("chars", chars);
    out.put("sum", sum);
    out.put("ms", (System.nanoTime() - started) / 1_000_000L);
    return out;
  }

  static Object params(Connection conn) throws SQLException {
    String sql = "SELECT n_name, n_nationkey FROM main.tpch.nation "
        + "WHERE n_nationkey = ? AND n_name <> ? AND n_regionkey >= ?";
    try (PreparedStatement ps = conn.prepareStatement(sql)) {
      ps.setInt(1, 3);
      ps.setString(2, "it's ' OR 1=1 --");
      ps.setLong(3, 0L);
      try (ResultSet rs = ps.executeQuery()) {
        return rows(rs);
      }
    }
  }

  static Map<String, Object> error(Connection conn) throws SQLException {
    Map<String, Object> out = new LinkedHashMap<>();
    try (Statement st = conn.createStatement()) {
      try {
        st.executeQuery("SELECT * FROM main.tpch.no_such_table");
        out.put("message", null);
      } catch (SQLException e) {
        out.put("message", e.getMessage());
        out.put("sql_state", e.getSQLState());
      }
      try (ResultSet rs = st.executeQuery("SELECT 2 AS two")) {
        out.put("after", rows(rs));
      }
    }
    return out;
  }

  static Map<String, Object> metadata(Connection conn) throws SQLException {
    DatabaseMetaData md = conn.getMetaData();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("product", md.getDatabaseProductName());
    out.put("version", md.getDatabaseProductVersion());
    out.put("catalogs", column(md.getCatalogs(), "TABLE_CAT"));
    out.put("schemas", column(md.getSchemas("main", "tp%"), "TABLE_SCHEM"));
    out.put("tables", column(md.getTables("main", "tpch", "%", new String[] {"TABLE"}),
        "TABLE_NAME"));
    List<Object> cols = new ArrayList<>();
    try (ResultSet rs = md.getColumns("main", "tpch", "region", "%")) {
      while (rs.next()) {
        List<Object> c = new ArrayList<>();
        c.add(rs.getString("COLUMN_NAME"));
        c.add(rs.getInt("DATA_TYPE"));
        c.add(rs.getString("TYPE_NAME"));
        cols.add(c);
      }
    }
    out.put("columns", cols);
    out.put("table_types", column(md.getTableTypes(), "TABLE_TYPE"));
    out.put("type_info", column(md.getTypeInfo(), "TYPE_NAME"));
    ResultSet fns = md.getFunctions(null, null, "%sum%");
    out.put("function_labels", labels(fns.getMetaData()));
    out.put("functions", column(fns, "FUNCTION_NAME"));
    ResultSet pks = md.getPrimaryKeys("main", "tpch", "region");
    out.put("primary_key_labels", labels(pks.getMetaData()));
    out.put("primary_keys", rows(pks));
    ResultSet fks = md.getImportedKeys("main", "tpch", "nation");
    out.put("imported_key_labels", labels(fks.getMetaData()));
    out.put("imported_keys", rows(fks));
    return out;
  }

  static void report(String name, Connection conn, Check check) {
    Object value;
    try {
      value = check.run(conn);
    } catch (Exception e) {
      Map<String, Object> err = new LinkedHashMap<>();
      StringBuilder why = new StringBuilder(e.getClass().getName() + ": " + e.getMessage());
      for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
        why.append(" <- ").append(c.getClass().getName()).append(": ").append(c.getMessage());
      }
      err.put("error", why.toString());
      value = err;
    }
    System.out.println("SQLGATE " + name + " " + json(value));
    System.out.flush();
  }

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String token = args[1];
    String bigSql = args[2];
    Class.forName("org.apache.hive.jdbc.HiveDriver");
    try (Connection conn = DriverManager.getConnection(url, "token", token)) {
      report("select", conn, c -> {
        try (Statement st = c.createStatement();
            ResultSet rs = st.executeQuery("SELECT 1 AS x, 'a' AS s")) {
          return rows(rs);
        }
      });
      report("types", conn, SqlgateJdbc::types);
      report("params", conn, SqlgateJdbc::params);
      report("error", conn, SqlgateJdbc::error);
      report("metadata", conn, SqlgateJdbc::metadata);
      report("big", conn, c -> big(c, bigSql));
    }
  }
}
