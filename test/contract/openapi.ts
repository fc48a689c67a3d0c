/**
 * Validation against Stytch's OpenAPI subset (./stytch-openapi/, origin and licence in its README). Reusable by every test that
 * talks to Stytch or to the emulator:
 *   validateRequest('POST', '/v1/passwords/authenticate', body, { forbidUnknown: true }) -> string[]
 *   validateResponse('POST', '/v1/passwords/authenticate', 200, body)                  -> string[]
 * An empty array means valid. The spec has no `nullable`: optional fields must be omitted, not null.
 * The four B2B MFA endpoints, absent from the subset, are checked against ./mfa-fields.ts (POST, 200),
 * and the two session lists (GET, query string as the request) against ./session-list-fields.ts.
 */
import { readFileSync } from 'node:fs'
import { Ajv, type ValidateFunction } from 'ajv'
import { mfaOperations, type MfaOperation } from './mfa-fields.js'
import { sessionListOperations } from './session-list-fields.js'

type Json = Record<string, unknown>

export const OPENAPI_URL = new URL('./stytch-openapi/stytch-passwords-sessions.openapi.json', import.meta.url)
export const spec = JSON.parse(readFileSync(OPENAPI_URL, 'utf8')) as {
  paths: Record<string, Record<string, Json>>
  components: { schemas: Record<string, Json> }
}

const LOOSE = 'stytch-openapi.json'
const STRICT = 'stytch-openapi-strict.json'

/** Deep clone with `additionalProperties: false` on every object schema that does not say otherwise. */
export function closeObjects (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects)
  if (schema === null || typeof schema !== 'object') return schema
  const out: Json = {}
  for (const [key, value] of Object.entries(schema)) {
    // `properties` maps names to schemas: recurse into each schema, not into the map itself.
    out[key] =
      key === 'properties' && value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, closeObjects(v)]))
        : closeObjects(value)
  }
  const isObject = out.type === 'object' || (out.properties !== undefined && out.type === undefined)
  if (isObject && out.additionalProperties === undefined) out.additionalProperties = false
  return out
}

export function createAjv (): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true })
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 })
  return ajv
}

const ajv = createAjv()
ajv.addSchema({ $id: LOOSE, components: spec.components })
ajv.addSchema({ $id: STRICT, components: closeObjects(spec.components) })
const compiled = new Map<string, ValidateFunction>()

function validator (doc: string, schema: Json): ValidateFunction {
  const ref = typeof schema.$ref === 'string' ? `${doc}${schema.$ref}` : undefined
  const key = ref ?? `${doc}:${JSON.stringify(schema)}`
  let fn = compiled.get(key)
  if (!fn) {
    fn = ref ? ajv.compile({ $ref: ref }) : ajv.compile(doc === STRICT ? (closeObjects(schema) as Json) : schema)
    compiled.set(key, fn)
  }
  return fn
}

/** The operation for a concrete path (`/v1/sessions/jwks/project-test-…` matches `{project_id}`). */
export function operation (method: string, path: string): Json | undefined {
  const m = method.toLowerCase()
  for (const [template, item] of Object.entries(spec.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`)
    if (pattern.test(path) && item[m]) return item[m] as Json
  }
  return undefined
}

function run (fn: ValidateFunction, data: unknown): string[] {
  return fn(data) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`)
}

function jsonSchema (content: unknown): Json | undefined {
  return ((content as Json | undefined)?.['application/json'] as Json | undefined)?.schema as Json | undefined
}

/** An operation the subset lacks, described from Stytch's SDK types. */
function sdkOperation (method: string, path: string): MfaOperation | undefined {
  const m = method.toUpperCase()
  return m === 'POST' ? mfaOperations[path] : m === 'GET' ? sessionListOperations[path.split('?')[0] ?? path] : undefined
}

export function validateRequest (method: string, path: string, body: unknown, opts: { forbidUnknown?: boolean } = {}): string[] {
  const mfa = sdkOperation(method, path)
  if (mfa) return run(validator(opts.forbidUnknown ? STRICT : LOOSE, mfa.request), body)
  const op = operation(method, path)
  if (!op) return [`no operation ${method} ${path} in the OpenAPI subset`]
  const schema = jsonSchema((op.requestBody as Json | undefined)?.content)
  if (!schema) return body === undefined ? [] : [`${method} ${path} takes no request body`]
  return run(validator(opts.forbidUnknown ? STRICT : LOOSE, schema), body)
}

export function validateResponse (method: string, path: string, status: number, body: unknown): string[] {
  const mfa = sdkOperation(method, path)
  if (mfa) return status === 200 ? run(validator(LOOSE, mfa.response), body) : []
  const op = operation(method, path)
  if (!op) return [`no operation ${method} ${path} in the OpenAPI subset`]
  const response = (op.responses as Json)[String(status)] as Json | undefined
  if (!response) return [`status ${status} is not declared for ${method} ${path}`]
  const schema = jsonSchema(response.content)
  return schema ? run(validator(LOOSE, schema), body) : []
}
