import { createServer } from 'node:http'
import t from 'tap'
import type { Page } from 'playwright-core'
import { DEMO, chromiumInstalled, launch, logIn, newContext, screenshot, sessionStatus, SKIP_MESSAGE, startDemo, view } from './fixtures.js'

// A page on another local origin (another port of localhost: same site, so SameSite=Strict cookies
// DO travel with its requests) that is not in ALLOWED_ORIGINS. CORS keeps it from reading answers;
// the Origin check and the CSRF header keep it from logging the user in or out.

interface Attempt { outcome: 'blocked' | 'answered'; error?: string; type?: string; status?: number; body?: string }

/** fetch() run by the other origin's own script, as an attacker's page would. */
async function attempt (page: Page, url: string, init: Record<string, unknown>): Promise<Attempt> {
  return page.evaluate(async ({ url, init }) => {
    try {
      const res = await fetch(url, init as RequestInit)
      return { outcome: 'answered' as const, type: res.type, status: res.status, body: await res.text() }
    } catch (err) {
      return { outcome: 'blocked' as const, error: String(err) }
    }
  }, { url, init })
}

/** A plain HTML form posted by the other page: a top-level navigation, no CORS involved. */
async function postForm (page: Page, url: string, text: string): Promise<void> {
  await page.evaluate(`(() => {
    const form = document.createElement('form')
    form.method = 'POST'
    form.enctype = 'text/plain'
    form.action = ${JSON.stringify(url)}
    const field = document.createElement('input')
    field.name = ${JSON.stringify(text)}
    field.value = ''
    form.append(field)
    document.body.append(form)
    form.submit()
  })()`)
}

/** Writes what the other page's script got onto that page, for the screenshot. */
async function report (page: Page, lines: string[]): Promise<void> {
  await page.evaluate(`document.getElementById('log').textContent = ${JSON.stringify(lines.join('\n'))}`)
}

const unreadable = (a: Attempt) => a.outcome === 'blocked' || (a.type === 'opaque' && a.status === 0 && a.body === '')

if (!chromiumInstalled()) {
  t.skip(SKIP_MESSAGE, () => {})
} else {
  const browser = await launch(t)
  const demo = await startDemo(t)
  const { emulator } = demo.emulator
  const names = demo.config.cookie.names

  const other = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8')
    res.end('<!doctype html><title>Another origin</title><h1>Another local origin</h1><pre id="log"></pre>')
  })
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => other.close(resolve)))
  const address = other.address()
  const otherOrigin = `http://localhost:${typeof address === 'object' && address ? address.port : 0}`
  const bff = `${demo.origin}${demo.config.prefix}`

  t.not(otherOrigin, demo.origin)
  t.notOk(demo.config.allowedOrigins.includes(otherOrigin), 'the other origin is not in ALLOWED_ORIGINS')

  t.test('a logged-in user: the other origin cannot read /auth/session nor log the user out', async (t) => {
    const context = await newContext(t, browser)
    const page = await context.newPage()
    await page.goto(demo.origin)
    await logIn(page)
    await view(page, 'whoami')
    const sessionBefore = (await context.cookies()).find((c) => c.name === names.session)?.value
    t.ok(sessionBefore)

    const attacker = await context.newPage()
    await attacker.goto(otherOrigin)

    await t.test('cannot read /auth/session', async (t) => {
      const before = demo.answered('GET', '/auth/session').length
      const cors = await attempt(attacker, `${bff}/session`, { credentials: 'include' })
      t.equal(cors.outcome, 'blocked', `CORS refuses the read (${cors.error})`)
      t.same(demo.answered('GET', '/auth/session').slice(before), [403], 'the BFF refused the foreign Origin')
      const noCors = await attempt(attacker, `${bff}/session`, { credentials: 'include', mode: 'no-cors' })
      // Without CORS the browser sends no Origin on a GET; whatever the BFF answers, the
      // browser keeps it from the script (Cross-Origin-Resource-Policy: same-origin).
      t.ok(unreadable(noCors), 'a no-cors read gets nothing it can look at')
      t.notMatch(JSON.stringify([cors, noCors]), /demo@example|member-test|session/, 'no identity leaked to the script')
      await report(attacker, [`GET ${bff}/session`, `  cors:    ${cors.outcome} ${cors.error ?? ''}`, `  no-cors: ${noCors.outcome} type=${noCors.type ?? ''} status=${noCors.status ?? ''}`])
      await screenshot(attacker, 'cross-origin-1-read-session')
    })

    await t.test('cannot log the user out', async (t) => {
      const json = await attempt(attacker, `${bff}/logout`, {
        method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json', 'X-CSRF': '1' }, body: '{}'
      })
      t.equal(json.outcome, 'blocked', 'the preflight for the CSRF header is refused')

      const simple = await attempt(attacker, `${bff}/logout`, { method: 'POST', credentials: 'include', mode: 'no-cors', body: '{}' })
      t.ok(unreadable(simple))
      t.same(demo.answered('POST', '/auth/logout'), [403], 'the BFF refused the "simple" cross-origin POST, cookies and all')

      await postForm(attacker, `${bff}/logout`, '{}')
      await attacker.waitForURL(`${bff}/logout`)
      t.match(await attacker.textContent('body'), /origin_not_allowed/, 'a form post lands on the 403')

      t.equal(emulator.count('/v1/b2b/sessions/revoke'), 0, 'no revoke reached Stytch')
      t.equal((await context.cookies()).find((c) => c.name === names.session)?.value, sessionBefore, 'the session cookie is untouched')
      t.same(demo.answered('POST', '/auth/logout'), [403, 403], 'the form post was refused too')
      await page.reload()
      await view(page, 'whoami')
      t.equal(await sessionStatus(page), 200, 'still logged in')
      await screenshot(attacker, 'cross-origin-2-logout-refused')
    })
  })

  t.test('the other origin cannot log a browser in (login CSRF)', async (t) => {
    const context = await newContext(t, browser)
    const attacker = await context.newPage()
    await attacker.goto(otherOrigin)
    const logins = emulator.count('/v1/b2b/passwords/authenticate')
    const answeredBefore = demo.answered('POST', '/auth/b2b/passwords/authenticate').length
    const url = `${bff}/b2b/passwords/authenticate`
    const credentials = JSON.stringify({ organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password })

    const json = await attempt(attacker, url, {
      method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json', 'X-CSRF': '1' }, body: credentials
    })
    t.equal(json.outcome, 'blocked', 'the preflight is refused')
    const simple = await attempt(attacker, url, { method: 'POST', credentials: 'include', mode: 'no-cors', body: credentials })
    t.ok(unreadable(simple))
    await postForm(attacker, url, credentials)
    await attacker.waitForURL(url)
    t.match(await attacker.textContent('body'), /origin_not_allowed/)
    t.same(demo.answered('POST', '/auth/b2b/passwords/authenticate').slice(answeredBefore), [403, 403], 'both simple POSTs refused (the JSON one never left the preflight)')

    t.equal(emulator.count('/v1/b2b/passwords/authenticate'), logins, 'no login reached Stytch')
    t.same(await context.cookies(), [], 'no cookie was set')
    const page = await context.newPage()
    await page.goto(demo.origin)
    await view(page, 'login')
    await screenshot(attacker, 'cross-origin-3-login-refused')
  })
}
