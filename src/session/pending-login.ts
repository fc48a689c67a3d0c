import { BffError, errors } from '../errors.js'
import type { StytchBody, StytchClient } from '../stytch/client.js'
import { SESSION_ENDED_ERRORS } from '../stytch/endpoints.js'

// A browser holding only the intermediate-session cookie is half way through a B2B login: a second
// factor is due (mfa_required) or an organization is to be picked (discovery_pending). GET /session
// tells the page which, and what it needs to resume after a reload, without keeping any state:
// Stytch has no endpoint that describes an IST, but discovery/organizations accepts one and
// answers with its email, the organizations it may enter and, for an IST tied to one organization
// (a password login waiting for MFA), that organization's id in organization_id_hint.
// Nothing secret reaches the page: no token, only what the login answer already showed it.

const DISCOVERY_ORGANIZATIONS = '/v1/b2b/discovery/organizations'

type Json = Record<string, unknown>

const asObject = (value: unknown): Json => (value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Json : {})
const asString = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined)

/**
 * The 401 for an IST-only browser: mfa_required or discovery_pending with `intermediate_session`,
 * or session_invalid when Stytch no longer knows the IST (the caller expires its cookie).
 */
export async function pendingLogin (stytch: StytchClient, intermediateSessionToken: string): Promise<BffError> {
  let answer: StytchBody
  try {
    answer = await stytch.post(DISCOVERY_ORGANIZATIONS, { intermediate_session_token: intermediateSessionToken })
  } catch (err) {
    if (!(err instanceof BffError) || err.statusCode >= 500) throw err
    if (SESSION_ENDED_ERRORS.has(err.errorType)) return errors.sessionInvalid()
    // Stytch refuses discovery calls with this IST: an organization-scoped login, waiting for MFA
    return errors.mfaRequired({ step: 'mfa' })
  }
  const email = asString(answer.email_address)
  const discovered = Array.isArray(answer.discovered_organizations) ? answer.discovered_organizations.map(asObject) : []
  const hint = asString(answer.organization_id_hint)
  if (hint === undefined) {
    return errors.discoveryPending({ step: 'discovery', email_address: email ?? '', discovered_organizations: discovered })
  }
  const entry = discovered.find((d) => asObject(d.organization).organization_id === hint) ?? {}
  const organization = asObject(entry.organization)
  const member = asObject(asObject(entry.membership).member)
  const mfaRequired = asObject(entry.mfa_required)
  const options = asObject(mfaRequired.member_options)
  const factors = [
    ...(asString(options.mfa_phone_number) ? ['sms_otp'] : []),
    ...(asString(options.totp_registration_id) ? ['totp', 'recovery_code'] : [])
  ]
  return errors.mfaRequired({
    step: 'mfa',
    email_address: email ?? '',
    organization: {
      organization_id: hint,
      organization_name: asString(organization.organization_name) ?? '',
      organization_slug: asString(organization.organization_slug) ?? ''
    },
    member_id: asString(member.member_id) ?? '',
    mfa_factors: factors,
    ...(entry.mfa_required !== undefined ? { mfa_required: mfaRequired } : {})
  })
}
