import { sql, type SQL, type SQLWrapper } from "drizzle-orm";

// Every LIKE in the console goes through here: user text is matched literally, so "_" and "%" typed into a filter
// are characters, not wildcards. The escape character is the backslash, declared on every pattern.
const escapeLike = (text: string) => text.replace(/[%_\\]/g, (m) => `\\${m}`);

/** `column LIKE 'text%'`: a literal prefix. */
export function startsWith(column: SQLWrapper, prefix: string): SQL {
  return sql`${column} like ${`${escapeLike(prefix)}%`} escape '\\'`;
}

/** `column LIKE '%text%'`: a literal substring. */
export function contains(column: SQLWrapper | SQL, text: string): SQL {
  return sql`${column} like ${`%${escapeLike(text)}%`} escape '\\'`;
}
