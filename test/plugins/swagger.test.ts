import t, { type Test } from 'tap'
import type { Vertical } from '../../src/config.js'
import { ENDPOINTS, isServerOwned } from '../../src/stytch/endpoints.js'
import { buildTestApp } from '../helper.js'

// GET /docs/json: the OpenAPI 3 document of the BFF's own routes, from the zod schemas that
// validate: full paths with the prefix, strict request bodies, no server-owned field.

type Schema = { type?: string; properties?: Record<string, Schema>; required?: string[]; additionalProperties?: unknown; items?: Schema; anyOf?: Schema[] }
interface Operation { requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> }; responses?: Record<string, unknown>; tags?: string[] }
interface Doc { openapi: string; info: { title: string }; paths: Record<string, Record<string, Operation>> }

/** every structured object schema (one with declared properties) inside `schema`, with its JSON path; free-form maps such as untrusted_metadata are Stytch's own and stay open */
function objects (schema: Schema, path = '#'): Array<[string, Schema]> {
  const found: Array<[string, Schema]> = []
  if (schema.properties) found.push([path, schema])
  for (const [key, child] of Object.entries(schema.properties ?? {})) found.push(...objects(child, `${path}/${key}`))
  if (schema.items) found.push(...objects(schema.items, `${path}/items`))
  for (const [i, child] of (schema.anyOf ?? []).entries()) found.push(...objects(child, `${path}/anyOf/${i}`))
  return found
}

async function documentFor (t: Test, vertical: Vertical, prefix = '/auth'): Promise<Doc> {
  const { app } = await buildTestApp(t, { STYTCH_VERTICAL: vertical, AUTH_PREFIX: prefix })
  const res = await app.inject({ method: 'GET', url: '/docs/json', headers: { origin: 'https://elsewhere.example' } })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  return res.json() as Doc
}

for (const vertical of ['b2b', 'consumer'] as const) {
  t.test(`${vertical}: every table row is documented at its full path with its strict request body`, async (t) => {
    const doc = await documentFor(t, vertical)
    t.match(doc.openapi, /^3\./, 'OpenAPI 3')
    t.equal(doc.info.title, 'stytch-bff')
    for (const row of ENDPOINTS) {
      const operation = doc.paths[`/auth${row.path}`]?.post
      if (row.vertical !== vertical) continue
      if (!operation) { t.fail(`${row.path} is documented`); continue }
      t.equal(operation.requestBody?.required, true, `${row.path}: body required`)
      const schema = operation.requestBody?.content['application/json']?.schema
      if (!schema) { t.fail(`${row.path}: JSON body schema`); continue }
      t.same(Object.keys(schema.properties ?? {}).sort(), Object.keys(row.body.shape).sort(), `${row.path}: the fields of the validating schema`)
      t.same((schema.required ?? []).sort(), Object.entries(row.body.shape).filter(([, f]) => !(f as { isOptional: () => boolean }).isOptional()).map(([k]) => k).sort(), `${row.path}: its required fields`)
      for (const [at, object] of objects(schema)) {
        t.equal(object.additionalProperties, false, `${row.path} ${at}: additionalProperties false`)
        const owned = Object.keys(object.properties ?? {}).filter(isServerOwned)
        t.same(owned, [], `${row.path} ${at}: no server-owned field`)
      }
      t.ok(operation.responses?.default, `${row.path}: the error envelope is documented`)
    }
    const rows = ENDPOINTS.filter((e) => e.vertical === vertical).map((e) => `/auth${e.path}`)
    const other = ENDPOINTS.filter((e) => e.vertical !== vertical).map((e) => `/auth${e.path}`).filter((p) => !rows.includes(p))
    for (const path of other) t.notOk(doc.paths[path], `${path} (other vertical) is not documented`)
    t.ok(doc.paths['/auth/session']?.get, 'GET /auth/session')
    t.ok(doc.paths['/auth/logout']?.post, 'POST /auth/logout')
    t.ok(doc.paths['/auth/verify']?.get, 'GET /auth/verify')
    for (const ops of ['/healthz', '/readyz', '/metrics']) t.ok(doc.paths[ops]?.get, `${ops} (off the prefix)`)
    t.notOk(doc.paths['/docs/json'], 'the document does not list itself')
  })
}

t.test('paths follow AUTH_PREFIX', async (t) => {
  const doc = await documentFor(t, 'b2b', '/api/identity')
  t.ok(doc.paths['/api/identity/b2b/passwords/authenticate']?.post)
  t.ok(doc.paths['/api/identity/session']?.get)
  t.notOk(Object.keys(doc.paths).some((p) => p.startsWith('/auth/')), 'nothing under the default prefix')
})
