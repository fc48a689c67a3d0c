import t from 'tap'
import { hotp } from '../../src/emulator/store.js'
import { DEMO, chromiumInstalled, launch, logIn, newContext, screenshot, sessionStatus, scriptCookies, SKIP_MESSAGE, startDemo, view } from './fixtures.js'

// Log in, reload, log out in a real browser; the B2B MFA step and the discovery organization picker.

if (!chromiumInstalled()) {
  t.skip(SKIP_MESSAGE, () => {})
} else {
  const browser = await launch(t)
  const demo = await startDemo(t)
  const names = demo.config.cookie.names

  t.test('log in, reload, log out', async (t) => {
    const context = await newContext(t, browser)
    const page = await context.newPage()
    await page.goto(demo.origin)

    await t.test('after login /auth/session works while document.cookie holds no Stytch cookie', async (t) => {
      await logIn(page)
      await view(page, 'whoami')
      t.match(await page.textContent('#whoami'), /demo@example\.com[\s\S]*Demo Org \(demo-org\)/)
      t.equal(await scriptCookies(page), '', 'the page script sees no cookie at all')
      t.match(await page.textContent('#js-cookies'), /empty/)
      t.equal(await sessionStatus(page), 200)

      const cookies = await context.cookies()
      t.same(cookies.map((c) => c.name).sort(), [names.session, names.jwt].sort(), 'the session and JWT cookies, no IST left')
      for (const c of cookies) {
        t.match(c.name, /^__Host-/)
        t.match(c, { domain: 'localhost', path: '/', httpOnly: true, secure: true, sameSite: 'Strict' }, `${c.name} attributes`)
      }
      await screenshot(page, 'session-1-login')
    })

    await t.test('a reload stays logged in', async (t) => {
      const sessionId = async () => JSON.parse((await page.textContent('#whoami-json')) ?? '{}').member_session?.member_session_id
      const before = await sessionId()
      t.match(before, /^member-session-/)
      await page.reload()
      await view(page, 'whoami')
      t.equal(await sessionId(), before, 'the same session')
      t.match(await page.textContent('#whoami'), /demo@example\.com/)
      await screenshot(page, 'session-2-reload')
    })

    await t.test('logout logs out: cookies gone, session revoked, a reload shows the login form', async (t) => {
      await page.click('#logout-button')
      await view(page, 'login')
      t.match(await page.textContent('#message'), /logged out/)
      t.equal(await sessionStatus(page), 401)
      t.same(await context.cookies(), [], 'every __Host- cookie expired')
      t.equal(demo.emulator.emulator.count('/v1/b2b/sessions/revoke'), 1, 'revoked upstream')
      await page.reload()
      await view(page, 'login')
      await screenshot(page, 'session-3-logout')
    })
  })

  t.test('MFA organization: the SMS code from the outbox finishes the login', async (t) => {
    const context = await newContext(t, browser)
    const page = await context.newPage()
    await page.goto(demo.origin)
    await logIn(page, { org: 'mfa-org' })
    await view(page, 'mfa')
    t.match(await page.textContent('#mfa-organization'), 'MFA Org')
    t.same((await context.cookies()).map((c) => c.name), [names.intermediateSession], 'only the httpOnly IST between the two steps')
    t.equal(await scriptCookies(page), '')
    t.equal(await sessionStatus(page), 401, 'no session before the second factor')

    // Stytch texted the member's default factor by itself; ask for a fresh code (otps/sms/send).
    await page.locator('#outbox-list .otp-code').first().waitFor()
    const sent = await page.locator('#outbox-list .otp-code').count()
    await page.click('#mfa-resend')
    await page.locator('#outbox-list .otp-code').nth(sent).waitFor()
    t.equal(demo.emulator.emulator.count('/v1/b2b/otps/sms/send'), 1, 'otps/sms/send reached Stytch')
    const code = (await page.locator('#outbox-list .otp-code').first().textContent()) ?? ''
    t.match(code, /^\d{6}$/, 'the newest SMS code is in the outbox shown on the page')
    await page.fill('#mfa-code', code)
    await page.click('#mfa-button')
    await view(page, 'whoami')
    t.match(await page.textContent('#whoami'), /MFA Org \(mfa-org\)[\s\S]*otp \(sms\)/)
    t.same((await context.cookies()).map((c) => c.name).sort(), [names.session, names.jwt].sort(), 'the IST became a session')
    await screenshot(page, 'session-4-mfa-sms')
  })

  t.test('MFA organization: an authenticator app (TOTP) code and a recovery code work too', async (t) => {
    const context = await newContext(t, browser)
    const page = await context.newPage()
    await page.goto(demo.origin)
    // What the member's authenticator app and saved recovery codes hold: the emulator's store.
    const { store, clock } = demo.emulator.emulator
    const org = store.organization('mfa-org')
    const member = store.membersByEmail(DEMO.email).find((m) => m.organization_id === org?.organization_id)
    const totp = member?.totp ? hotp(member.totp.secret, Math.floor(clock.now() / 30_000)) : ''
    const recovery = member?.recovery_codes.find((c) => !c.used)?.code ?? ''

    await logIn(page, { org: 'mfa-org' })
    await view(page, 'mfa')
    await page.selectOption('#mfa-method', 'totp')
    t.match(await page.textContent('#mfa-code-label'), 'authenticator app')
    await page.fill('#mfa-code', totp)
    await page.click('#mfa-button')
    await view(page, 'whoami')
    t.match(await page.textContent('#whoami'), /MFA Org[\s\S]*totp \(authenticator_app\)/)
    await page.click('#logout-button')

    await logIn(page, { org: 'mfa-org' })
    await view(page, 'mfa')
    await page.selectOption('#mfa-method', 'recovery')
    t.match(await page.textContent('#mfa-code-label'), 'Recovery code')
    await page.fill('#mfa-code', recovery)
    await page.click('#mfa-button')
    await view(page, 'whoami')
    t.match(await page.textContent('#whoami'), /MFA Org[\s\S]*recovery_codes \(recovery_code\)/)
    await screenshot(page, 'session-5-mfa-totp-recovery')
  })

  t.test('discovery: log in without an organization, then pick one', async (t) => {
    const context = await newContext(t, browser)
    const page = await context.newPage()
    await page.goto(demo.origin)
    await view(page, 'login')
    await page.fill('#login-password', DEMO.password)
    await page.click('#discovery-button')
    await view(page, 'discovery')
    const choices = await page.locator('#discovery-organizations button').allTextContents()
    t.match(choices.join('|'), /Demo Org[\s\S]*\|[\s\S]*MFA Org/, 'both organizations of demo@example.com')
    t.same((await context.cookies()).map((c) => c.name), [names.intermediateSession])
    await page.click('#discovery-organizations button:has-text("Demo Org")')
    await view(page, 'whoami')
    t.match(await page.textContent('#whoami'), /Demo Org \(demo-org\)/)
    t.equal(await sessionStatus(page), 200)
    await screenshot(page, 'session-6-discovery')
  })
}
