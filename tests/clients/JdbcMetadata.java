import java.sql.*;

/** pgjdbc 42.x DatabaseMetaData against the gateway, as DBeaver and Metabase use it. */
public class JdbcMetadata {
  public static void main(String[] args) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/ecolake";
    try (Connection c = DriverManager.getConnection(url, args[1], args[2])) {
      DatabaseMetaData md = c.getMetaData();
      StringBuilder schemas = new StringBuilder();
      try (ResultSet rs = md.getSchemas()) { while (rs.next()) schemas.append(rs.getString("TABLE_SCHEM")).append(','); }
      System.out.println("schemas=" + schemas);
      StringBuilder tables = new StringBuilder();
      try (ResultSet rs = md.getTables(null, "air", "%", new String[] {"TABLE"})) {
        while (rs.next()) tables.append(rs.getString("TABLE_NAME")).append(',');
      }
      System.out.println("tables=" + tables);
      StringBuilder columns = new StringBuilder();
      try (ResultSet rs = md.getColumns(null, "air", "city_daily", "%")) {
        while (rs.next()) columns.append(rs.getString("COLUMN_NAME")).append(':').append(rs.getString("TYPE_NAME")).append(',');
      }
      System.out.println("columns=" + columns);
      StringBuilder keys = new StringBuilder();
      try (ResultSet rs = md.getPrimaryKeys(null, "air", "city_daily")) {
        while (rs.next()) {
          if (keys.length() > 0) keys.append(",");
          keys.append(rs.getString("COLUMN_NAME")).append(":").append(rs.getInt("KEY_SEQ"));
        }
      }
      System.out.println("primary_keys=" + keys);
      try (PreparedStatement ps = c.prepareStatement("select count(*) from air.station_hourly where aqi > ?")) {
        long count = 0;
        for (int i = 0; i < 7; i++) {  // past prepareThreshold (5): a named server-side statement
          ps.setInt(1, 100);
          try (ResultSet rs = ps.executeQuery()) { rs.next(); count = rs.getLong(1); }
        }
        System.out.println("prepared_count=" + count);
      }
      c.setAutoCommit(false);  // a fetch size inside a transaction: Execute with a row limit, PortalSuspended
      try (Statement st = c.createStatement()) {
        st.setFetchSize(100);
        int fetched = 0;
        try (ResultSet rs = st.executeQuery("select station_code, observed_at from air.station_hourly limit 1000")) {
          while (rs.next()) fetched++;
        }
        System.out.println("fetched_in_batches=" + fetched);
      }
      c.commit();
    }
  }
}
