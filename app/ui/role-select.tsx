import { ROLES, ROLE_LABELS, type Role } from "~/staff/permissions";
import { SelectField } from "./field";

export function RoleSelect({ defaultValue, error }: { defaultValue?: Role; error?: string }) {
  return (
    <SelectField label="Role" name="role" defaultValue={defaultValue ?? "support"} error={error}>
      {ROLES.map((role) => (
        <option key={role} value={role}>
          {ROLE_LABELS[role]}
        </option>
      ))}
    </SelectField>
  );
}
