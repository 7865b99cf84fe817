//! The offline verifying IAM Roles Anywhere endpoint (`rolesanywhere-local`).
