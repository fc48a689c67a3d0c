import type { Factor, Member, Organization, Session, User } from './store.js'

/** Stytch's JSON objects. Optional fields are omitted rather than null (the OpenAPI has no nullable). */
export const iso = (ms: number): string => new Date(ms).toISOString()

export function organizationJson (org: Organization): Record<string, unknown> {
  return {
    organization_id: org.organization_id,
    organization_name: org.organization_name,
    organization_logo_url: '',
    organization_slug: org.organization_slug,
    sso_jit_provisioning: 'NOT_ALLOWED',
    sso_jit_provisioning_allowed_connections: [],
    sso_active_connections: [],
    email_allowed_domains: [],
    email_jit_provisioning: 'NOT_ALLOWED',
    email_invites: 'ALL_ALLOWED',
    auth_methods: 'ALL_ALLOWED',
    allowed_auth_methods: [],
    mfa_policy: org.mfa_policy,
    rbac_email_implicit_role_assignments: [],
    mfa_methods: 'ALL_ALLOWED',
    allowed_mfa_methods: [],
    oauth_tenant_jit_provisioning: 'NOT_ALLOWED',
    claimed_email_domains: [],
    first_party_connected_apps_allowed_type: 'ALL_ALLOWED',
    allowed_first_party_connected_apps: [],
    third_party_connected_apps_allowed_type: 'ALL_ALLOWED',
    allowed_third_party_connected_apps: [],
    custom_roles: [],
    trusted_metadata: {},
    created_at: iso(org.created_at),
    updated_at: iso(org.updated_at)
  }
}

export function memberRoles (member: Member): string[] {
  return member.is_admin ? ['stytch_member', 'stytch_admin'] : ['stytch_member']
}

export function memberJson (member: Member): Record<string, unknown> {
  return {
    organization_id: member.organization_id,
    member_id: member.member_id,
    email_address: member.email_address,
    status: 'active',
    name: member.name,
    sso_registrations: [],
    is_breakglass: false,
    member_password_id: member.member_password_id,
    oauth_registrations: [],
    email_address_verified: true,
    mfa_phone_number_verified: member.mfa_phone_number !== '',
    is_admin: member.is_admin,
    totp_registration_id: member.totp?.totp_registration_id ?? '',
    retired_email_addresses: [],
    is_locked: false,
    mfa_enrolled: member.mfa_enrolled,
    mfa_phone_number: member.mfa_phone_number,
    default_mfa_method: member.default_mfa_method,
    roles: memberRoles(member).map((roleId) => ({
      role_id: roleId,
      sources: [{ type: roleId === 'stytch_admin' ? 'direct_assignment' : 'default' }]
    })),
    trusted_metadata: {},
    untrusted_metadata: {},
    created_at: iso(member.created_at),
    updated_at: iso(member.updated_at)
  }
}

export function userJson (user: User): Record<string, unknown> {
  return {
    user_id: user.user_id,
    emails: [{ email_id: user.email_id, email: user.email, verified: true }],
    status: 'active',
    phone_numbers: [],
    webauthn_registrations: [],
    providers: [],
    totps: [],
    crypto_wallets: [],
    biometric_registrations: [],
    is_locked: false,
    roles: ['stytch_user'],
    name: { first_name: '', middle_name: '', last_name: '' },
    created_at: iso(user.created_at),
    ...(user.password !== undefined ? { password: { password_id: user.password_id, requires_reset: false } } : {}),
    trusted_metadata: {},
    untrusted_metadata: {}
  }
}

export function factorJson (f: Factor): Record<string, unknown> {
  const { created_at, last_authenticated_at, ...rest } = f
  return { ...rest, created_at: iso(created_at), last_authenticated_at: iso(last_authenticated_at), updated_at: iso(last_authenticated_at) }
}

/** Consumer `session` object. */
export function sessionJson (s: Session): Record<string, unknown> {
  return {
    session_id: s.session_id,
    user_id: s.subject_id,
    authentication_factors: s.factors.map(factorJson),
    roles: s.roles,
    started_at: iso(s.started_at),
    last_accessed_at: iso(s.last_accessed_at),
    expires_at: iso(s.expires_at),
    attributes: { ip_address: '', user_agent: '' },
    custom_claims: s.custom_claims
  }
}

/** B2B `member_session` object. */
export function memberSessionJson (s: Session, org: Organization): Record<string, unknown> {
  return {
    member_session_id: s.session_id,
    member_id: s.subject_id,
    started_at: iso(s.started_at),
    last_accessed_at: iso(s.last_accessed_at),
    expires_at: iso(s.expires_at),
    authentication_factors: s.factors.map(factorJson),
    organization_id: org.organization_id,
    roles: s.roles,
    organization_slug: org.organization_slug,
    custom_claims: s.custom_claims
  }
}
