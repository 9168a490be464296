import { ROLES, ROLE_LABELS, type Role } from "~/staff/permissions";

export function RoleSelect({ defaultValue, error }: { defaultValue?: Role; error?: string }) {
  return (
    <div>
      <label htmlFor="role" className="label">
        Role
      </label>
      <select id="role" name="role" className="input" defaultValue={defaultValue ?? "support"} aria-invalid={error ? true : undefined}>
        {ROLES.map((role) => (
          <option key={role} value={role}>
            {ROLE_LABELS[role]}
          </option>
        ))}
      </select>
      {error ? (
        <p role="alert" className="mt-1 text-sm text-red-700">
          {error}
        </p>
      ) : null}
    </div>
  );
}
