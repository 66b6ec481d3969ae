/**
 * `inTransaction`: one pooled client, `BEGIN` (or a given opening), `fn`, `COMMIT` — `ROLLBACK` and
 * a discarded client on failure (its session state is unknown then). The one place the adapters
 * manage a transaction of their own.
 */
import type pg from 'pg';

/** Runs `fn` inside a transaction on a client of `pool`. */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = true;
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release(broken);
  }
}
