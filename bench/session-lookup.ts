// What the sign-in policy costs each request: resolving a session now also reads the policy row and whether the
// account has a second factor. Timed against the session lookup without those reads (the join alone), in the same
// run, on a database with many staff, sessions, passkeys and TOTP secrets.
// Usage: npx tsx bench/session-lookup.ts [staff] [lookups]
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { runMigrations } from "../db/migrate";
import { openDatabase } from "../db/open";
import { staffSessions, staffUsers } from "../db/schema";
import { createSession, hashSessionId, resolveSession } from "../app/staff/sessions.server";
import { timeRepeated } from "./timing";

const staffCount = Number(process.argv[2] ?? 2000);
const lookups = Number(process.argv[3] ?? 20_000);
const db = openDatabase(join(mkdtempSync(join(tmpdir(), "linkdesk-bench-session-")), "sessions.db"));
runMigrations(db);
const now = new Date();
const limits = { idleMs: 30 * 60_000, maxMs: 12 * 3_600_000 };
const sessionIds: string[] = [];
db.transaction((tx) => {
  for (let i = 0; i < staffCount; i++) {
    const { id } = tx.insert(staffUsers).values({ email: `s${i}@example.test`, name: `S ${i}`, role: i % 2 ? "ops" : "support", passwordHash: "x", passwordChangedAt: now, createdAt: now, updatedAt: now }).returning({ id: staffUsers.id }).get();
    // Every ops account has a factor, half by TOTP and half by passkey: the policy (admins and ops) lets them through.
    if (i % 4 === 1) db.$client.prepare("insert into staff_totp (staff_user_id, secret_enc, confirmed_at) values (?, 'v2:x', ?)").run(id, now.getTime());
    if (i % 4 === 3) db.$client.prepare("insert into staff_passkeys (id, staff_user_id, public_key, name) values (?, ?, 'k', 'p')").run(randomBytes(16).toString("hex"), id);
    for (let s = 0; s < 3; s++) sessionIds.push(createSession(tx, { staffUserId: id, clientAddress: "127.0.0.1", userAgent: "bench", now, limits }));
  }
});

const pick = () => sessionIds[Math.floor(Math.random() * sessionIds.length)]!;
const baseline = timeRepeated(() => {
  db.select({ lastSeenAt: staffSessions.lastSeenAt, id: staffUsers.id, role: staffUsers.role, disabledAt: staffUsers.disabledAt })
    .from(staffSessions)
    .innerJoin(staffUsers, eq(staffUsers.id, staffSessions.staffUserId))
    .where(eq(staffSessions.idHash, hashSessionId(pick())))
    .get();
}, lookups);
const withPolicy = timeRepeated(() => resolveSession(db, pick(), now, limits), lookups);
console.log(`${staffCount} staff, ${sessionIds.length} sessions, ${lookups} lookups each`);
console.log(`session join alone:            p50 ${(baseline.p50 * 1000).toFixed(1)} µs, max ${baseline.max.toFixed(2)} ms`);
console.log(`resolveSession (policy, factors): p50 ${(withPolicy.p50 * 1000).toFixed(1)} µs, max ${withPolicy.max.toFixed(2)} ms`);
