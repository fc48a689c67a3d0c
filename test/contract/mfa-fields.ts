/**
 * Request/response field lists of the four B2B MFA endpoints, which the OpenAPI subset lacks.
 * Transcribed from the stytch-node SDK types (lib/b2b/otp_sms.ts, lib/b2b/totps.ts,
 * lib/b2b/recovery_codes.ts). Shared objects point into the OpenAPI subset's components.
 * Note Stytch's TOTP path: /v1/b2b/totp/authenticate (singular); /totps/ is listed as an alias.
 */
const ref = (name: string) => ({ $ref: `stytch-openapi.json#/components/schemas/${name}` })
const str = { type: 'string' }
const int = { type: 'integer', format: 'int32' }
const claims = { type: 'object', additionalProperties: true }

const sessionArgs = { intermediate_session_token: str, session_token: str, session_jwt: str }
const sessionOptions = { session_duration_minutes: int, session_custom_claims: claims }

const authenticateRequest = {
  type: 'object',
  required: ['organization_id', 'member_id', 'code'],
  properties: {
    organization_id: str,
    member_id: str,
    code: str,
    ...sessionArgs,
    ...sessionOptions,
    set_mfa_enrollment: str,
    set_default_mfa: { type: 'boolean' }
  }
}

const sessionResponse = {
  type: 'object',
  required: ['request_id', 'member_id', 'member', 'organization', 'session_token', 'session_jwt', 'status_code'],
  properties: {
    request_id: str,
    member_id: str,
    member: ref('api_organization_v1_Member'),
    organization: ref('api_organization_v1_Organization'),
    session_token: str,
    session_jwt: str,
    status_code: int,
    member_session: ref('api_b2b_session_v1_MemberSession')
  }
}

export interface MfaOperation {
  request: Record<string, unknown>
  response: Record<string, unknown>
}

export const mfaOperations: Record<string, MfaOperation> = {
  '/v1/b2b/otps/sms/send': {
    request: {
      type: 'object',
      required: ['organization_id', 'member_id'],
      properties: { organization_id: str, member_id: str, mfa_phone_number: str, locale: str, ...sessionArgs }
    },
    response: {
      type: 'object',
      required: ['request_id', 'member_id', 'member', 'organization', 'status_code'],
      properties: {
        request_id: str,
        member_id: str,
        member: ref('api_organization_v1_Member'),
        organization: ref('api_organization_v1_Organization'),
        status_code: int
      }
    }
  },
  '/v1/b2b/otps/sms/authenticate': { request: authenticateRequest, response: sessionResponse },
  '/v1/b2b/totp/authenticate': { request: authenticateRequest, response: sessionResponse },
  '/v1/b2b/totps/authenticate': { request: authenticateRequest, response: sessionResponse },
  '/v1/b2b/recovery_codes/recover': {
    request: {
      type: 'object',
      required: ['organization_id', 'member_id', 'recovery_code'],
      properties: { organization_id: str, member_id: str, recovery_code: str, ...sessionArgs, ...sessionOptions }
    },
    response: {
      ...sessionResponse,
      required: [...sessionResponse.required, 'recovery_codes_remaining'],
      properties: { ...sessionResponse.properties, recovery_codes_remaining: int }
    }
  }
}
