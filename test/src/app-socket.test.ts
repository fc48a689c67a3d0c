import t from 'tap'
import { request } from 'undici'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { buildEmulator } from '../../src/emulator/app.js'
import { DEMO } from '../helper.js'

// Over a real listening socket, as a browser or gateway reaches it.
t.test('login and session over a real socket', async (t) => {
  const emulator = await buildEmulator({})
  const url = await emulator.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => emulator.close())
  const app = await buildApp(loadConfig({ STYTCH_PROJECT_ID: emulator.emulator.projectId, STYTCH_SECRET: emulator.emulator.secret, STYTCH_API_URL: url, LOG_LEVEL: 'silent' }))
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())

  const login = await request(`${base}/auth/b2b/passwords/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf': '1' },
    body: JSON.stringify({ organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password })
  })
  t.equal(login.statusCode, 200)
  const text = await login.body.text()
  t.notMatch(text, /session_token|session_jwt/)
  const setCookie = login.headers['set-cookie'] as string[]
  t.ok(Array.isArray(setCookie) && setCookie.length === 3)
  t.ok(setCookie.every((c) => /; HttpOnly/.test(c)))
  t.ok(login.headers['x-request-id'])
  const cookie = setCookie.filter((c) => !/Max-Age=0/.test(c)).map((c) => c.split(';')[0]).join('; ')
  const session = await request(`${base}/auth/session`, { headers: { cookie } })
  t.equal(session.statusCode, 200)
  t.equal((await session.body.json() as { member: { email_address: string } }).member.email_address, DEMO.email)
})
