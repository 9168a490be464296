import QRCode from "qrcode";
import type { Db } from "../../db/open";
import { recordAudit, type Actor } from "./audit.server";
import { finishPasskeyRegistration, listPasskeys, PasskeyRefused, removePasskey, startPasskeyRegistration } from "./passkeys.server";
import { PASSKEY_FLOW_FIELD, PASSKEY_OPTIONS_INTENT, PASSKEY_RESPONSE_FIELD } from "./proof-fields";
import { verifyProof, type FactorDeps } from "./second-factor.server";
import { beginTotpEnrollment, confirmTotp, hasConfirmedTotp, isTotpShaped, removeTotp, replaceRecoveryCodes, totpState, unusedRecoveryCodes } from "./totp.server";
import { recordLoginFailure } from "./throttle.server";

// What a staff member does on their own security page: set up or remove the authenticator app, replace the
// recovery codes, register and remove passkeys. Each change is audited.

type Me = { id: number; email: string; name: string; role: NonNullable<Actor>["role"] };

export async function securityOverview(db: Db, key: Buffer, staff: Me) {
  const totp = totpState(db, key, staff);
  return {
    totp:
      totp.status === "pending"
        ? { status: "pending" as const, secret: totp.secret, qr: await QRCode.toDataURL(totp.uri, { margin: 1, width: 200 }) }
        : totp.status === "confirmed"
          ? { status: "confirmed" as const, confirmedAt: totp.confirmedAt }
          : { status: "none" as const },
    recoveryCodesLeft: unusedRecoveryCodes(db, staff.id),
    passkeys: listPasskeys(db, staff.id),
  };
}

export const SECURITY_INTENTS = ["totp-start", "totp-confirm", "totp-remove", "recovery-regenerate", PASSKEY_OPTIONS_INTENT, "passkey-register", "passkey-remove"] as const;
export type SecurityIntent = (typeof SECURITY_INTENTS)[number];

export type SecurityResult =
  | { ok: true; message: string; recoveryCodes?: string[]; enrolled?: boolean }
  | { ok: false; status: 400 | 401 | 404 | 409 | 429; message: string; field?: string }
  | { passkey: { flowId: string; options: unknown } };

const str = (v: FormDataEntryValue | null) => (typeof v === "string" ? v : "");

export async function securityAction(deps: FactorDeps, request: Request, staff: Me, form: FormData): Promise<SecurityResult> {
  const intent = str(form.get("intent")) as SecurityIntent;
  const now = deps.now();
  const key = deps.config.tokenEncryptionKey;
  const audit = (action: string, details?: Record<string, unknown>) => recordAudit(deps.db, { actor: staff, action, targetType: "staff", targetId: staff.id, clientAddress: deps.clientAddress, details, at: now });
  switch (intent) {
    case "totp-start": {
      const started = beginTotpEnrollment(deps.db, key, staff, now);
      if (!started) return { ok: false, status: 409, message: "An authenticator app is already set up: remove it first to set up another." };
      return { ok: true, message: "Scan the QR code (or type the key) in your authenticator app, then enter the code it shows." };
    }
    case "totp-confirm": {
      const result = confirmTotp(deps.db, key, staff.id, str(form.get("code")), now);
      if (!result.ok) {
        if (result.check === "none") return { ok: false, status: 409, message: "Start the setup of an authenticator app first." };
        recordLoginFailure(deps.db, { email: staff.email, clientAddress: deps.clientAddress, now, limits: deps.config.loginThrottle });
        recordAudit(deps.db, { actor: staff, action: "staff.second_factor_failed", clientAddress: deps.clientAddress, details: { method: "totp", reason: result.check === "replayed" ? "code already used" : "wrong code", stage: "enrollment" }, at: now });
        return { ok: false, status: 401, field: "code", message: result.check === "replayed" ? "That code was already used. Wait for the next one." : "That code is not right. Check the app's clock and the key, and enter the current code." };
      }
      audit("staff.totp_enroll");
      return { ok: true, message: "Authenticator app set up.", recoveryCodes: result.recoveryCodes, enrolled: true };
    }
    case "totp-remove": {
      if (!hasConfirmedTotp(deps.db, staff.id)) return { ok: false, status: 409, message: "No authenticator app is set up." };
      if (!isTotpShaped(str(form.get("code")))) return { ok: false, status: 400, field: "code", message: "Enter the current six-digit code from your authenticator app to remove it." };
      const proof = await verifyProof(deps, staff.id, form, { stage: "remove authenticator app" });
      if (!proof.ok) return { ok: false, status: proof.status, field: "code", message: proof.message };
      removeTotp(deps.db, staff.id);
      audit("staff.totp_remove");
      return { ok: true, message: "Authenticator app removed, with its recovery codes." };
    }
    case "recovery-regenerate": {
      if (!hasConfirmedTotp(deps.db, staff.id)) return { ok: false, status: 409, message: "Recovery codes come with an authenticator app: set one up first." };
      const codes = replaceRecoveryCodes(deps.db, staff.id, now);
      audit("staff.recovery_codes_regenerate");
      return { ok: true, message: "New recovery codes made; the old ones no longer work.", recoveryCodes: codes };
    }
    case PASSKEY_OPTIONS_INTENT: {
      try {
        return { passkey: await startPasskeyRegistration(deps, request, staff) };
      } catch (error) {
        if (error instanceof PasskeyRefused) return { ok: false, status: 400, message: error.message };
        throw error;
      }
    }
    case "passkey-register": {
      try {
        const added = await finishPasskeyRegistration(deps, staff.id, { flowId: form.get(PASSKEY_FLOW_FIELD), response: form.get(PASSKEY_RESPONSE_FIELD), name: form.get("name") });
        audit("staff.passkey_register", { passkey: added.name });
        return { ok: true, message: `Passkey "${added.name}" registered.`, enrolled: true };
      } catch (error) {
        if (!(error instanceof PasskeyRefused)) throw error;
        audit("staff.passkey_register_failed", { reason: error.reason });
        return { ok: false, status: 400, message: error.message };
      }
    }
    case "passkey-remove": {
      const id = str(form.get("id"));
      const name = listPasskeys(deps.db, staff.id).find((p) => p.id === id)?.name;
      if (!name || !removePasskey(deps.db, staff.id, id)) return { ok: false, status: 404, message: "You have no passkey with that id." };
      audit("staff.passkey_remove", { passkey: name });
      return { ok: true, message: `Passkey "${name}" removed.` };
    }
    default:
      return { ok: false, status: 400, message: `Unknown action: send one of ${SECURITY_INTENTS.join(", ")} as the intent.` };
  }
}
