package identity

import "yiku/fault"

// CanManage says whether actor may create or change principals with role in
// department dept. The e-government office (catalog admins) manages everyone;
// a department admin manages its own department's systems and officers; no
// one else manages principals. Reviewers and catalog admins are appointed by
// the e-government office only, which keeps the audit role separate.
func CanManage(actor Principal, dept string, role Role) error {
	switch actor.Role {
	case RoleCatalogAdmin:
		return nil
	case RoleDeptAdmin:
		if dept != actor.DepartmentCode {
			return fault.Forbiddenf("forbidden", "a department admin manages only department %s", actor.DepartmentCode)
		}
		switch role {
		case RoleSystem, RoleOfficer, RoleDeptAdmin:
			return nil
		}
		return fault.Forbiddenf("forbidden", "role %s is appointed by the e-government office", role)
	}
	return fault.Forbiddenf("forbidden", "role %s does not manage principals", actor.Role)
}
