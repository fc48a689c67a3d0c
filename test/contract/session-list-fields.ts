/**
 * The two "list a member's / user's sessions" endpoints, which the OpenAPI subset lacks (it keeps
 * the session objects they return). Transcribed from the stytch-node SDK types (lib/sessions.ts
 * `SessionsGetRequest/Response`, lib/b2b/sessions.ts `B2BSessionsGetRequest/Response`): GET with
 * the ids in the query string; each item is the subset's own Session / MemberSession schema.
 */
import type { MfaOperation } from './mfa-fields.js'

const ref = (name: string) => ({ $ref: `stytch-openapi.json#/components/schemas/${name}` })
const str = { type: 'string' }
const int = { type: 'integer', format: 'int32' }

const list = (field: string, item: string) => ({
  type: 'object',
  required: ['request_id', field, 'status_code'],
  properties: { request_id: str, [field]: { type: 'array', items: ref(item) }, status_code: int }
})

/** GET operations by path; `request` validates the query parameters. */
export const sessionListOperations: Record<string, MfaOperation> = {
  '/v1/b2b/sessions': {
    request: { type: 'object', required: ['organization_id', 'member_id'], properties: { organization_id: str, member_id: str } },
    response: list('member_sessions', 'api_b2b_session_v1_MemberSession')
  },
  '/v1/sessions': {
    request: { type: 'object', required: ['user_id'], properties: { user_id: str } },
    response: list('sessions', 'api_session_v1_Session')
  }
}
