import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { validateRequest, validateResponse } from './openapi.js'

// Every request the BFF sent to the emulator, and every answer the emulator gave, checked against
// Stytch's OpenAPI subset (requests with unknown fields forbidden; MFA endpoints against their
// SDK field lists). Returns the number of requests checked.
export function assertUpstreamContract (t: Test, emulator: FastifyInstance): number {
  let checked = 0
  for (const r of emulator.emulator.requests) {
    const path = r.path.split('?', 1)[0] ?? r.path
    const body = r.method === 'GET' ? undefined : r.body
    t.same(validateRequest(r.method, path, body, { forbidUnknown: true }), [], `request ${r.method} ${path} follows Stytch's schema`)
    if (r.status === 200) t.same(validateResponse(r.method, path, 200, r.response), [], `response ${r.method} ${path} follows Stytch's schema`)
    checked++
  }
  return checked
}
