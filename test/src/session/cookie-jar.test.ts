import type { FastifyReply, FastifyRequest } from 'fastify'
import t from 'tap'
import { buildTestApp, DEMO, setCookies } from '../../helper.js'

// The cookie jar through the app it belongs to: Set-Cookie lines from @fastify/cookie's
// serializer, values that round-trip, the attributes configuration asks for.

/** a reply that only records its headers */
function recordingReply (): { reply: FastifyReply; setCookie: () => string[] } {
  const headers: Record<string, unknown> = {}
  const reply = { header: (name: string, value: unknown) => { headers[name] = value; return reply } }
  return { reply: reply as unknown as FastifyReply, setCookie: () => (headers['set-cookie'] ?? []) as string[] }
}

const request = (cookie: string) => ({ headers: { cookie } }) as unknown as FastifyRequest

t.test('what is set is what is read, for values that need encoding', async (t) => {
  const { app } = await buildTestApp(t)
  const jar = app.cookieJar
  const values = ['plain-token_123', 'a b', 'semi;colon', 'comma,quote"back\\slash', 'per%cent', '%41%zz', 'eq=ual', 'ünïcødé ✓', 'base64/+==', '']
  for (const value of values.filter((v) => v !== '')) {
    const { reply, setCookie } = recordingReply()
    jar.apply(reply, { session: { value, maxAge: 60 } })
    const [line = ''] = setCookie()
    t.match(line, /^__Host-stytch_session=[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*; Max-Age=60; Path=\/; HttpOnly; Secure; SameSite=Strict$/, `${JSON.stringify(value)}: a valid cookie line`)
    const pair = line.split(';')[0] ?? ''
    t.equal(jar.read(request(`other=1; ${pair}`)).session, value, `${JSON.stringify(value)} read back as set`)
  }
  t.equal(jar.read(request('__Host-stytch_session=abc%2')).session, 'abc%2', 'a value that does not decode is read as it came')
  let duplicate: unknown
  try { jar.read(request('__Host-stytch_session=a; __Host-stytch_session=b')) } catch (err) { duplicate = err }
  t.match(duplicate, { statusCode: 400, errorType: 'invalid_request', message: 'Duplicate cookie __Host-stytch_session' }, 'a duplicate is still a 400')
})

t.test('login through the BFF: cookies carry the configured Domain and SameSite, expiry repeats them', async (t) => {
  const { app } = await buildTestApp(t, { COOKIE_DOMAIN: '.Example.com', COOKIE_SAMESITE: 'Lax' })
  const login = await app.inject({
    method: 'POST',
    url: '/auth/b2b/passwords/authenticate',
    headers: { 'x-csrf': '1', 'content-type': 'application/json' },
    payload: JSON.stringify({ organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password })
  })
  t.equal(login.statusCode, 200)
  const cookies = setCookies(login)
  t.same(cookies.map((c) => c.name).sort(), ['__Secure-stytch_intermediate_session', '__Secure-stytch_session', '__Secure-stytch_session_jwt'])
  for (const c of cookies) {
    t.same({ ...c.attributes, 'max-age': undefined, expires: undefined }, { 'max-age': undefined, expires: undefined, domain: 'example.com', path: '/', httponly: true, secure: true, samesite: 'Lax' }, `${c.name} attributes`)
  }
  const expired = cookies.find((c) => c.name === '__Secure-stytch_intermediate_session')
  t.equal(expired?.attributes['max-age'], '0')
  t.equal(expired?.attributes.expires, 'Thu, 01 Jan 1970 00:00:00 GMT')
})
