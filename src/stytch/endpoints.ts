import { z } from 'zod'
import type { Config, Vertical } from '../config.js'

// THE endpoint table: one row per Stytch endpoint the browser may reach through us. The generic
// handler (src/stytch/proxy.ts) reads a row and does the rest. Adding an endpoint is a row here
// and a test; nothing else.
//
// Each BFF route is `${AUTH_PREFIX}${path}` and forwards to Stytch's `/v1${path}`. Body schemas are
// Stytch's request schema (test/contract/stytch-openapi/, MFA routes from Stytch's SDK types) minus the
// server-owned fields (docs/contract.md), strict: an unknown field is a 400.

/** Fields the browser may never send, on any route (docs/contract.md). */
export const SERVER_OWNED_FIELDS: ReadonlySet<string> = new Set([
  'session_token', 'session_jwt', 'intermediate_session_token', 'session_custom_claims',
  'session_duration_minutes', 'trusted_metadata', 'reset_password_expiration_minutes',
  'code_challenge', 'code_verifier', 'pkce_code_challenge', 'pkce_code_verifier'
])
const SERVER_OWNED_SUFFIXES = ['_redirect_url', '_template_id']

export function isServerOwned (field: string): boolean {
  return SERVER_OWNED_FIELDS.has(field) || SERVER_OWNED_SUFFIXES.some((s) => field.endsWith(s))
}

/** Which configuration fills which Stytch field; a field is omitted when its value is unset. */
export const CONFIG_FIELDS = {
  session_duration_minutes: (c: Config) => c.sessionDurationMinutes,
  reset_password_redirect_url: (c: Config) => c.reset.redirectUrl,
  login_redirect_url: (c: Config) => c.reset.loginRedirectUrl,
  discovery_redirect_url: (c: Config) => c.reset.discoveryRedirectUrl,
  reset_password_expiration_minutes: (c: Config) => c.reset.expirationMinutes,
  reset_password_template_id: (c: Config) => c.reset.templateId,
  verify_email_template_id: (c: Config) => c.reset.verifyEmailTemplateId
} satisfies Record<string, (c: Config) => string | number | undefined>
export type ConfigField = keyof typeof CONFIG_FIELDS

export interface Endpoint {
  /** path under the prefix, and Stytch's path without /v1 */
  path: string
  /** one line for the API reference (GET /docs/json) */
  summary: string
  /** Stytch's path when it differs from `/v1${path}` */
  upstream?: string
  vertical: Vertical
  body: z.ZodObject
  /**
   * Which cookie feeds the request (never the body). Without it: 401 session_missing.
   * session: session_token (or session_jwt when only the JWT cookie is there);
   * intermediateSession: intermediate_session_token; either: the IST when present, else the session.
   */
  credential?: 'session' | 'intermediateSession' | 'either'
  /** configuration written into the request */
  fill?: readonly ConfigField[]
  /** reset-link binding: where the BFF puts the PKCE challenge (reset start) or verifier (reset) */
  pkce?: { challenge: 'code_challenge' | 'pkce_code_challenge' } | { verifier: 'code_verifier' | 'pkce_code_verifier' }
  /** reset start: HIDE_ACCOUNT_EXISTENCE applies */
  resetStart?: boolean
  /**
   * a password check (login, reset with the existing password): under HIDE_ACCOUNT_EXISTENCE an
   * unknown account answers exactly as a wrong password does (401 unauthorized_credentials)
   */
  passwordCheck?: boolean
  /** whether the answer may carry session / intermediate-session tokens to turn into cookies */
  setsCookies: boolean
  /** counts against the stricter per-IP and per-identifier limits (authenticate, sign-up, reset, MFA) */
  authLimited: boolean
}

// Building blocks. Strings are bounded so a body can never make us forward megabytes.
const text = z.string().max(1024)
const email = z.string().min(1).max(320)
/** any UTF-8, never trimmed or normalised */
const password = z.string().min(1).max(1024)
const id = z.string().min(1).max(256)
const code = z.string().min(1).max(64)
const token = z.string().min(1).max(2048)
const locale = z.enum(['en', 'es', 'pt-br', 'fr'])
const exchangeLocale = z.enum(['en', 'es', 'pt-br', 'fr', 'it', 'de-DE', 'zh-Hans', 'ca-ES'])
const telemetry = { telemetry_id: text.optional() }
const attributes = z.strictObject({ ip_address: text.optional(), user_agent: text.optional() })
const metadata = z.record(z.string().max(256), z.unknown())
const mfa = {
  organization_id: id,
  member_id: id,
  set_mfa_enrollment: z.enum(['enroll', 'unenroll']).optional(),
  set_default_mfa: z.boolean().optional()
}

const RESET_START_FILL = ['reset_password_redirect_url', 'login_redirect_url', 'reset_password_expiration_minutes', 'reset_password_template_id'] as const
const SESSION = ['session_duration_minutes'] as const

const b2b = (path: string, row: Omit<Endpoint, 'path' | 'vertical'>): Endpoint => ({ path: `/b2b${path}`, vertical: 'b2b', ...row })
const consumer = (path: string, row: Omit<Endpoint, 'path' | 'vertical'>): Endpoint => ({ path, vertical: 'consumer', ...row })

export const ENDPOINTS: readonly Endpoint[] = [
  // ---- B2B: organization-scoped passwords
  b2b('/passwords/authenticate', {
    summary: 'Log in to an organization with email and password',
    body: z.strictObject({ organization_id: id, email_address: email, password, locale: locale.optional(), ...telemetry }),
    fill: SESSION,
    passwordCheck: true,
    setsCookies: true,
    authLimited: true
  }),
  b2b('/passwords/strength_check', {
    summary: 'Check a password\'s strength',
    body: z.strictObject({ password, email_address: email.optional() }),
    setsCookies: false,
    authLimited: false
  }),
  b2b('/passwords/email/reset/start', {
    summary: 'Email a password reset link (organization)',
    body: z.strictObject({ organization_id: id, email_address: email, locale: locale.optional() }),
    fill: [...RESET_START_FILL, 'verify_email_template_id'],
    pkce: { challenge: 'code_challenge' },
    resetStart: true,
    setsCookies: false,
    authLimited: true
  }),
  b2b('/passwords/email/reset', {
    summary: 'Set a new password from a reset link (organization)',
    body: z.strictObject({ password_reset_token: token, password, locale: locale.optional(), ...telemetry }),
    fill: SESSION,
    pkce: { verifier: 'code_verifier' },
    setsCookies: true,
    authLimited: true
  }),
  b2b('/passwords/existing_password/reset', {
    summary: 'Change a password with the current one',
    body: z.strictObject({ organization_id: id, email_address: email, existing_password: password, new_password: password, locale: locale.optional(), ...telemetry }),
    fill: SESSION,
    passwordCheck: true,
    setsCookies: true,
    authLimited: true
  }),
  b2b('/passwords/session/reset', {
    summary: 'Change the password of the logged-in member',
    body: z.strictObject({ organization_id: id, password, locale: locale.optional(), ...telemetry }),
    credential: 'session',
    fill: SESSION,
    setsCookies: true,
    authLimited: true
  }),
  // ---- B2B: discovery (log in before choosing an organization)
  b2b('/passwords/discovery/authenticate', {
    summary: 'Log in with email and password before choosing an organization',
    body: z.strictObject({ email_address: email, password }),
    passwordCheck: true,
    setsCookies: true,
    authLimited: true
  }),
  b2b('/passwords/discovery/email/reset/start', {
    summary: 'Email a password reset link (discovery)',
    body: z.strictObject({ email_address: email, locale: text.optional() }),
    fill: ['reset_password_redirect_url', 'discovery_redirect_url', 'reset_password_expiration_minutes', 'reset_password_template_id', 'verify_email_template_id'],
    pkce: { challenge: 'pkce_code_challenge' },
    resetStart: true,
    setsCookies: false,
    authLimited: true
  }),
  b2b('/passwords/discovery/email/reset', {
    summary: 'Set a new password from a reset link (discovery)',
    body: z.strictObject({ password_reset_token: token, password }),
    pkce: { verifier: 'pkce_code_verifier' },
    setsCookies: true,
    authLimited: true
  }),
  b2b('/discovery/organizations', {
    summary: 'List the organizations the pending login or session may enter',
    body: z.strictObject({}),
    credential: 'either',
    setsCookies: false,
    authLimited: false
  }),
  b2b('/discovery/intermediate_sessions/exchange', {
    summary: 'Enter a discovered organization',
    body: z.strictObject({ organization_id: id, locale: exchangeLocale.optional(), ...telemetry }),
    credential: 'intermediateSession',
    fill: SESSION,
    setsCookies: true,
    authLimited: false
  }),
  b2b('/discovery/organizations/create', {
    summary: 'Create an organization and enter it',
    body: z.strictObject({
      organization_name: text.optional(),
      organization_slug: text.optional(),
      organization_external_id: text.optional(),
      organization_logo_url: text.optional(),
      sso_jit_provisioning: text.optional(),
      email_allowed_domains: z.array(text).max(100).optional(),
      email_jit_provisioning: text.optional(),
      email_invites: text.optional(),
      auth_methods: text.optional(),
      allowed_auth_methods: z.array(text).max(50).optional(),
      mfa_policy: text.optional(),
      rbac_email_implicit_role_assignments: z.array(z.strictObject({ role_id: text, domain: text })).max(100).optional(),
      mfa_methods: text.optional(),
      allowed_mfa_methods: z.array(text).max(50).optional(),
      oauth_tenant_jit_provisioning: text.optional(),
      allowed_oauth_tenants: metadata.optional(),
      first_party_connected_apps_allowed_type: z.enum(['ALL_ALLOWED', 'RESTRICTED', 'NOT_ALLOWED']).optional(),
      allowed_first_party_connected_apps: z.array(text).max(100).optional(),
      third_party_connected_apps_allowed_type: z.enum(['ALL_ALLOWED', 'RESTRICTED', 'NOT_ALLOWED']).optional(),
      allowed_third_party_connected_apps: z.array(text).max(100).optional(),
      ...telemetry
    }),
    credential: 'intermediateSession',
    fill: SESSION,
    setsCookies: true,
    authLimited: false
  }),
  b2b('/sessions/exchange', {
    summary: 'Switch the session to another organization',
    body: z.strictObject({ organization_id: id, locale: exchangeLocale.optional(), ...telemetry }),
    credential: 'session',
    fill: SESSION,
    setsCookies: true,
    authLimited: false
  }),
  // ---- B2B: finishing MFA after a password login answered member_authenticated: false
  b2b('/otps/sms/send', {
    summary: 'Send an SMS code for the second factor',
    body: z.strictObject({ organization_id: id, member_id: id, mfa_phone_number: text.optional(), locale: text.optional() }),
    credential: 'intermediateSession',
    setsCookies: false,
    authLimited: true
  }),
  b2b('/otps/sms/authenticate', {
    summary: 'Finish the login with an SMS code',
    body: z.strictObject({ ...mfa, code }),
    credential: 'intermediateSession',
    fill: SESSION,
    setsCookies: true,
    authLimited: true
  }),
  b2b('/totps/authenticate', {
    summary: 'Finish the login with an authenticator app (TOTP) code',
    // Stytch's own path is singular (stytch-node lib/b2b/totps.ts); the BFF route is plural (docs/contract.md).
    upstream: '/v1/b2b/totp/authenticate',
    body: z.strictObject({ ...mfa, code }),
    credential: 'intermediateSession',
    fill: SESSION,
    setsCookies: true,
    authLimited: true
  }),
  b2b('/recovery_codes/recover', {
    summary: 'Finish the login with a recovery code',
    body: z.strictObject({ organization_id: id, member_id: id, recovery_code: code }),
    credential: 'intermediateSession',
    fill: SESSION,
    setsCookies: true,
    authLimited: true
  }),
  // ---- Consumer
  consumer('/passwords', {
    summary: 'Sign up with email and password',
    body: z.strictObject({
      email,
      password,
      untrusted_metadata: metadata.optional(),
      name: z.strictObject({ first_name: text.optional(), middle_name: text.optional(), last_name: text.optional() }).optional(),
      ...telemetry
    }),
    fill: SESSION,
    setsCookies: true,
    authLimited: true
  }),
  consumer('/passwords/authenticate', {
    summary: 'Log in with email and password',
    body: z.strictObject({ email, password, ...telemetry }),
    fill: SESSION,
    passwordCheck: true,
    setsCookies: true,
    authLimited: true
  }),
  consumer('/passwords/strength_check', {
    summary: 'Check a password\'s strength',
    body: z.strictObject({ password, email: email.optional() }),
    setsCookies: false,
    authLimited: false
  }),
  consumer('/passwords/email/reset/start', {
    summary: 'Email a password reset link',
    body: z.strictObject({ email, attributes: attributes.optional(), locale: locale.optional() }),
    fill: RESET_START_FILL,
    pkce: { challenge: 'code_challenge' },
    resetStart: true,
    setsCookies: false,
    authLimited: true
  }),
  consumer('/passwords/email/reset', {
    summary: 'Set a new password from a reset link',
    body: z.strictObject({
      token,
      password,
      attributes: attributes.optional(),
      options: z.strictObject({ ip_match_required: z.boolean(), user_agent_match_required: z.boolean() }).optional(),
      ...telemetry
    }),
    fill: SESSION,
    pkce: { verifier: 'code_verifier' },
    setsCookies: true,
    authLimited: true
  }),
  consumer('/passwords/existing_password/reset', {
    summary: 'Change a password with the current one',
    body: z.strictObject({ email, existing_password: password, new_password: password, ...telemetry }),
    fill: SESSION,
    passwordCheck: true,
    setsCookies: true,
    authLimited: true
  }),
  consumer('/passwords/session/reset', {
    summary: 'Change the password of the logged-in user',
    body: z.strictObject({ password, ...telemetry }),
    credential: 'session',
    fill: SESSION,
    setsCookies: true,
    authLimited: true
  })
]

/** Stytch error types that mean "no such account" on a reset start or a password check (hidden by HIDE_ACCOUNT_EXISTENCE). */
export const ACCOUNT_NOT_FOUND_ERRORS: ReadonlySet<string> = new Set([
  'email_not_found', 'member_not_found', 'user_not_found', 'member_password_not_found', 'no_user_password'
])

/** Stytch error types that mean the session or IST we sent is gone: its cookies are expired. */
export const SESSION_ENDED_ERRORS: ReadonlySet<string> = new Set([
  'session_not_found', 'invalid_session_token', 'invalid_session_id', 'unable_to_parse_session_jwt',
  'session_expired', 'intermediate_session_not_found', 'invalid_intermediate_session_token'
])

/** Stytch's own path for a row. */
export function stytchPath (endpoint: Endpoint): string {
  return endpoint.upstream ?? `/v1${endpoint.path}`
}

/** Stytch's session paths for a vertical. */
export function sessionPaths (vertical: Vertical) {
  const base = vertical === 'b2b' ? '/v1/b2b/sessions' : '/v1/sessions'
  return {
    authenticate: `${base}/authenticate`,
    revoke: `${base}/revoke`,
    /** GET: the live sessions of a member (organization_id, member_id) or user (user_id) */
    list: base,
    jwks: (projectId: string) => `${base}/jwks/${projectId}`
  }
}
