import type { Db } from "../../db/open";
import { rebindLegacyToken, tokenBinding, type TokenBinding } from "./token-crypto.server";

// Every column that holds an encrypted vendor token, with the row key its binding is made from.
const ENCRYPTED_COLUMNS: { table: string; column: string; key: string; bind: (key: string | number) => TokenBinding }[] = [
  { table: "plaid_items", column: "access_token_enc", key: "item_id", bind: (k) => tokenBinding.accessToken(String(k)) },
  { table: "processor_tokens", column: "token_enc", key: "id", bind: (k) => tokenBinding.processorToken(Number(k)) },
  { table: "cra_users", column: "user_token_enc", key: "customer_hash", bind: (k) => tokenBinding.userToken(String(k)) },
  { table: "link_sessions", column: "link_token_enc", key: "link_session_id", bind: (k) => tokenBinding.linkToken(String(k)) },
];

export type RebindOutcome = { rebound: number; unreadable: number };

/**
 * Brings tokens stored before they were bound to their rows (the `v1:` form) up to the bound `v2:` form, all in one
 * transaction, at start-up. Running it again changes nothing. A v1 value that does not decrypt under the configured
 * key is left untouched and counted: it is refused when read, never used.
 */
export function rebindStoredTokens(db: Db, key: Buffer): RebindOutcome {
  const client = db.$client;
  return client.transaction((): RebindOutcome => {
    let rebound = 0;
    let unreadable = 0;
    for (const c of ENCRYPTED_COLUMNS) {
      const rows = client.prepare(`select ${c.key} as k, ${c.column} as v from ${c.table} where substr(${c.column}, 1, 3) = 'v1:'`).all() as { k: string | number; v: string }[];
      const update = client.prepare(`update ${c.table} set ${c.column} = @v where ${c.key} = @k`);
      for (const row of rows) {
        const next = rebindLegacyToken(key, row.v, c.bind(row.k));
        if (next === null) {
          unreadable++;
          continue;
        }
        update.run({ k: row.k, v: next });
        rebound++;
      }
    }
    return { rebound, unreadable };
  })();
}
