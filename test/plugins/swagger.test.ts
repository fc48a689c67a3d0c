import t, { type Test } from 'tap'
import type { Vertical } from '../../src/config.js'
import { ENDPOINTS, isServerOwned } from '../../src/stytch/endpoints.js'
import { Validator } from '@seriousme/openapi-schema-validator'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { buildTestApp } from '../helper.js'

// GET /docs/json: the OpenAPI 3 document of the BFF's own routes, from the zod schemas that
// validate: full paths with the prefix, strict request bodies, no server-owned field.

type Schema = { type?: string; properties?: Record<string, Schema>; required?: string[]; additionalProperties?: unknown; items?: Schema; anyOf?: Schema[] }
interface Parameter { name: string; in: string; required?: boolean; schema?: { enum?: string[] } }
interface Response { description: string; content?: Record<string, { schema: Schema & { $ref?: string } }> }
interface Operation { operationId?: string; summary?: string; parameters?: Parameter[]; requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> }; responses?: Record<string, Response>; tags?: string[] }
interface Doc { openapi: string; info: { title: string }; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } }

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
      for (const range of ['4XX', '5XX']) t.ok(operation.responses?.[range], `${row.path}: the error envelope is documented for ${range}`)
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

const operations = (doc: Doc) => Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })))

for (const vertical of ['b2b', 'consumer'] as const) {
  t.test(`${vertical}: a valid OpenAPI 3.1 document; every operation has an operationId, a summary, a 2xx answer, the error envelope and the CSRF header where the guard asks for it`, async (t) => {
    const doc = await documentFor(t, vertical)
    const validator = new Validator()
    const result = await validator.validate(doc as unknown as Record<string, unknown>)
    t.same(result, { valid: true }, 'valid for @seriousme/openapi-schema-validator')
    t.equal(validator.version, '3.1')

    const ids = new Set<string>()
    for (const { path, method, op } of operations(doc)) {
      const name = `${method.toUpperCase()} ${path}`
      t.match(op.operationId, /^[a-z][A-Za-z0-9]+$/, `${name}: operationId`)
      t.notOk(ids.has(op.operationId!), `${name}: operationId unique`)
      ids.add(op.operationId!)
      t.ok(typeof op.summary === 'string' && op.summary.length > 10, `${name}: summary`)
      const success = Object.entries(op.responses ?? {}).filter(([status]) => /^2/.test(status))
      t.ok(success.length > 0 && success.every(([status, r]) => status === '204' || (path.includes('/verify') ? r.description.length > 0 : r.content !== undefined)), `${name}: its 2xx answer is described`)
      for (const range of ['4XX', '5XX']) {
        t.equal(op.responses?.[range]?.content?.['application/json']?.schema.$ref, '#/components/schemas/ErrorEnvelope', `${name}: ${range} is the error envelope`)
      }
      const csrf = (op.parameters ?? []).find((p) => p.in === 'header' && p.name === 'x-csrf')
      if (method === 'post' && !path.startsWith('/auth/verify')) {
        t.match(csrf, { required: true, schema: { enum: ['1'] } }, `${name}: X-CSRF declared`)
      } else {
        t.notOk(csrf, `${name}: no CSRF header where the guard does not ask for it`)
      }
    }
    t.ok(Object.keys(doc.paths).every((p) => p.startsWith('/auth/') || ['/healthz', '/readyz', '/metrics'].includes(p)), 'nothing but the API: no demo, no docs routes')

    const login = doc.paths[vertical === 'b2b' ? '/auth/b2b/passwords/authenticate' : '/auth/passwords/authenticate']!.post!
    const answer = login.responses?.['200']?.content?.['application/json']?.schema as { $ref: string }
    const component = doc.components.schemas[answer.$ref.split('/').at(-1)!] as Schema
    t.ok(component.properties?.[vertical === 'b2b' ? 'member' : 'user'], 'the login answer is Stytch\'s schema')
    t.notMatch(JSON.stringify(doc), /"(session_token|session_jwt|intermediate_session_token)":/, 'no token field in any schema')
    const resetStart = doc.paths[vertical === 'b2b' ? '/auth/b2b/passwords/email/reset/start' : '/auth/passwords/email/reset/start']!.post!
    t.same(Object.keys(resetStart.responses?.['200']?.content?.['application/json']?.schema.properties ?? {}), ['status_code', 'request_id'], 'reset start: the answer HIDE_ACCOUNT_EXISTENCE gives')
  })
}

t.test('a "Try it out" request built from the document passes the CSRF guard', async (t) => {
  const { app } = await buildTestApp(t)
  const doc = (await app.inject({ url: '/docs/json' })).json() as Doc
  const tryItOut = (path: string, body: unknown) => {
    const op = doc.paths[path]!.post!
    const headers: Record<string, string> = {}
    for (const p of op.parameters ?? []) if (p.in === 'header' && p.required) headers[p.name] = p.schema?.enum?.[0] ?? ''
    headers['content-type'] = Object.keys(op.requestBody?.content ?? {})[0] ?? ''
    // what Swagger UI sends from /docs: a same-origin fetch
    return app.inject({ method: 'POST', url: path, headers: { ...headers, origin: 'http://localhost:80', host: 'localhost:80' }, payload: JSON.stringify(body) })
  }
  const strength = await tryItOut('/auth/b2b/passwords/strength_check', { password: 'a-Long-unusual-passphrase-42' })
  t.equal(strength.statusCode, 200, 'strength check answered')
  t.equal(strength.json().valid_password, true)
  const logout = await tryItOut('/auth/logout', {})
  t.equal(logout.statusCode, 204)
  const without = await app.inject({ method: 'POST', url: '/auth/logout', headers: { 'content-type': 'application/json' }, payload: '{}' })
  t.equal(without.json().error_type, 'csrf_failed', 'without the declared header: refused')
})

t.test('Swagger UI at /docs: on outside production, off in production unless DOCS_UI=true; /docs/json always', async (t) => {
  const production = { NODE_ENV: 'production', STYTCH_API_URL: 'https://test.stytch.com', LOG_LEVEL: 'silent' }
  const dev = await buildTestApp(t)
  const page = await dev.app.inject({ url: '/docs/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.headers['content-security-policy'], /script-src 'self'/, 'under the helmet CSP')
  t.notMatch(page.body, /<script>|<style|\son[a-z]+="/, 'no inline script, style or handler the CSP would block')
  t.equal((await dev.app.inject({ url: '/docs/static/swagger-ui-bundle.js' })).statusCode, 200)

  const prod = await buildApp(loadConfig({ ...production, STYTCH_PROJECT_ID: 'project-test-x', STYTCH_SECRET: 'shh' }), { logger: false })
  t.teardown(() => prod.close())
  t.equal((await prod.inject({ url: '/docs/' })).statusCode, 404, 'production: no UI')
  t.equal((await prod.inject({ url: '/docs/json' })).statusCode, 200, 'production: the document')
  const on = await buildApp(loadConfig({ ...production, STYTCH_PROJECT_ID: 'project-test-x', STYTCH_SECRET: 'shh', DOCS_UI: 'true' }), { logger: false })
  t.teardown(() => on.close())
  t.equal((await on.inject({ url: '/docs/' })).statusCode, 200, 'DOCS_UI=true: the UI in production too')
})

t.test('the demo routes are not in the document', async (t) => {
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }), { logger: false, demo: { outbox: () => [] } })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/demo/config' })).statusCode, 200, 'the demo is served')
  const doc = (await app.inject({ url: '/docs/json' })).json() as Doc
  t.same(Object.keys(doc.paths).filter((p) => !p.startsWith('/auth/') && !['/healthz', '/readyz', '/metrics'].includes(p)), [])
})
