// Drives the Node @databricks/sql driver against sqlgate over HTTPS and prints one JSON
// object with what each check saw; tests/e2e/test_node.py asserts on it.
// Usage: node run.js <port> <http_path> <token> <ca_cert.pem>
'use strict';
const fs = require('fs');
const { DBSQLClient } = require('@databricks/sql');

async function rows(session, sql, options) {
  const op = await session.executeStatement(sql, { runAsync: true, ...(options || {}) });
  try {
    return await op.fetchAll();
  } finally {
    await op.close();
  }
}

async function main() {
  const [port, path, token, ca] = process.argv.slice(2);
  const client = new DBSQLClient();
  const out = {};
  await client.connect({
    host: '127.0.0.1', port: Number(port), path, token, customCaCert: fs.readFileSync(ca),
  });
  const session = await client.openSession();
  try {
    out.select1 = await rows(session, 'SELECT 1 AS x');
    out.paged = (await rows(session,
      'SELECT n_nationkey FROM main.tpch.nation ORDER BY n_nationkey', { maxRows: 10 }))
      .map((r) => Number(r.n_nationkey));
    out.params = await rows(session,
      'SELECT n_name FROM main.tpch.nation WHERE n_nationkey = :k',
      { namedParameters: { k: 3 } });
    out.ordinal = await rows(session,
      'SELECT n_name FROM main.tpch.nation WHERE n_regionkey = ? AND n_nationkey > ? ' +
      'ORDER BY n_nationkey LIMIT ?', { ordinalParameters: [1, 2, 1] });
    out.typed = await rows(session,
      "SELECT CAST(1.25 AS DECIMAL(10,2)) AS d, DATE '2024-01-02' AS dt, true AS b, " +
      'CAST(NULL AS STRING) AS z');
    const cat = await session.getCatalogs();
    out.catalogs = (await cat.fetchAll()).map((r) => r.TABLE_CAT);
    await cat.close();
    const cols = await session.getColumns({
      catalogName: 'main', schemaName: 'tpch', tableName: 'region',
    });
    out.columns = (await cols.fetchAll()).map((r) => r.COLUMN_NAME);
    await cols.close();
    const big = await rows(session,
      'SELECT o_orderkey, o_comment FROM main.tpch.orders ORDER BY o_orderkey',
      { useCloudFetch: true });
    out.cloud = { rows: big.length, first: Number(big[0].o_orderkey) };
    try {
      await rows(session, 'SELECT * FROM main.tpch.no_such_table');
      out.error = null;
    } catch (e) {
      out.error = String(e.message || e);
    }
  } finally {
    await session.close();
    await client.close();
  }
  // The driver logs to stdout too: mark the result line.
  process.stdout.write('\nSQLGATE_RESULT ' + JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e));
  process.exit(1);
});
