import t from 'tap'
import { ENDPOINTS, isServerOwned, stytchPath } from '../../src/stytch/endpoints.js'
import { mfaOperations } from './mfa-fields.js'
import { operation, spec } from './openapi.js'

// The endpoint table against Stytch's own request schemas: each route accepts exactly Stytch's
// fields minus the server-owned ones, with the same required fields.

type Schema = { $ref?: string; properties?: Record<string, unknown>; required?: string[] }

function resolve (schema: Schema): Schema {
  if (schema.$ref) {
    const name = schema.$ref.split('/').at(-1) ?? ''
    return spec.components.schemas[name] as Schema
  }
  return schema
}

function stytchRequestSchema (path: string): Schema {
  const mfa = mfaOperations[path]
  if (mfa) return mfa.request as Schema
  const op = operation('POST', path) as { requestBody?: { content: { 'application/json': { schema: Schema } } } } | undefined
  if (!op?.requestBody) throw new Error(`no request schema for ${path}`)
  return resolve(op.requestBody.content['application/json'].schema)
}

for (const endpoint of ENDPOINTS) {
  t.test(`${endpoint.vertical} ${endpoint.path} -> ${stytchPath(endpoint)}`, async (t) => {
    const stytch = stytchRequestSchema(stytchPath(endpoint))
    const stytchFields = Object.keys(stytch.properties ?? {})
    const ours = endpoint.body.shape as Record<string, { isOptional: () => boolean }>
    const ourFields = Object.keys(ours)
    for (const field of ourFields) {
      t.ok(stytchFields.includes(field), `${field} is a Stytch field`)
      t.notOk(isServerOwned(field), `${field} is not server-owned`)
    }
    for (const field of stytchFields.filter((f) => !isServerOwned(f))) {
      t.ok(ourFields.includes(field), `Stytch field ${field} is accepted`)
    }
    for (const field of stytch.required ?? []) {
      if (isServerOwned(field)) continue
      t.equal(ours[field]?.isOptional(), false, `${field} is required, as Stytch requires it`)
    }
    for (const field of ourFields.filter((f) => ours[f]?.isOptional() === false)) {
      t.ok((stytch.required ?? []).includes(field), `${field} is required only because Stytch requires it`)
    }
  })
}

t.test('the table holds every route of docs/contract.md', async (t) => {
  const routes = ENDPOINTS.map((e) => `${e.vertical} ${e.path}`).sort()
  t.same(routes, [
    'b2b /b2b/discovery/intermediate_sessions/exchange', 'b2b /b2b/discovery/organizations', 'b2b /b2b/discovery/organizations/create',
    'b2b /b2b/otps/sms/authenticate', 'b2b /b2b/otps/sms/send', 'b2b /b2b/passwords/authenticate',
    'b2b /b2b/passwords/discovery/authenticate', 'b2b /b2b/passwords/discovery/email/reset', 'b2b /b2b/passwords/discovery/email/reset/start',
    'b2b /b2b/passwords/email/reset', 'b2b /b2b/passwords/email/reset/start', 'b2b /b2b/passwords/existing_password/reset',
    'b2b /b2b/passwords/session/reset', 'b2b /b2b/passwords/strength_check', 'b2b /b2b/recovery_codes/recover',
    'b2b /b2b/sessions/exchange', 'b2b /b2b/totps/authenticate',
    'consumer /passwords', 'consumer /passwords/authenticate', 'consumer /passwords/email/reset', 'consumer /passwords/email/reset/start',
    'consumer /passwords/existing_password/reset', 'consumer /passwords/session/reset', 'consumer /passwords/strength_check'
  ])
})
