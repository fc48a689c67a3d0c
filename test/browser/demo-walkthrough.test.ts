import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { mkdir } from 'node:fs/promises'
import { ARTIFACTS, chromiumInstalled, launch, logIn, newContext, screenshot, sessionStatus, SKIP_MESSAGE, startDemo, view } from './fixtures.js'

// A person clicking through the whole demo in Chromium, with only what the page shows: every MFA
// option (the SMS code from the outbox, the TOTP code and a recovery code from the authenticator
// panel), discovery with an organization pick, a reset through the outbox with strength feedback,
// a reload in the middle of MFA and of discovery, logout. Emulator-mode rate limits (no override):
// every flow here, twice over, fits in them.

if (!chromiumInstalled()) {
  t.skip(SKIP_MESSAGE, () => {})
} else {
  const browser = await launch(t)
  const demo = await startDemo(t, { RATE_LIMIT_AUTH_PER_MINUTE: '', RATE_LIMIT_IDENTIFIER_PER_HOUR: '' })
  const names = demo.config.cookie.names

  const cookieNames = async (page: Page) => (await page.context().cookies()).map((c) => c.name).sort()
  const logOut = async (t: Test, page: Page) => {
    await page.click('#logout-button')
    await view(page, 'login')
    t.same(await page.context().cookies(), [], 'logged out: no cookie left')
  }
  const mfaWith = async (page: Page, method: 'totp' | 'recovery', code: () => Promise<string>) => {
    await logIn(page, { org: 'mfa-org' })
    await view(page, 'mfa')
    await page.selectOption('#mfa-method', method)
    await page.fill('#mfa-code', await code())
    await page.click('#mfa-button')
    await view(page, 'whoami')
  }

  t.test('every flow of the demo, twice, from the page alone', async (t) => {
    const context = await newContext(t, browser)
    const page = await context.newPage()
    const cspErrors: string[] = []
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text()) })
    await page.goto(demo.origin)
    t.equal(demo.config.rateLimit.authPerMinute, 120, 'the emulator-mode default')

    for (const round of [1, 2]) {
      await t.test(`round ${round}: password login and logout`, async (t) => {
        await logIn(page, { org: 'demo-org' })
        await view(page, 'whoami')
        t.match(await page.textContent('#whoami'), /Demo Org \(demo-org\)/)
        if (round === 1) await screenshot(page, 'walkthrough-1-whoami')
        await logOut(t, page)
      })

      await t.test(`round ${round}: MFA by SMS, the code read from the outbox`, async (t) => {
        await logIn(page, { org: 'mfa-org' })
        await view(page, 'mfa')
        const code = (await page.locator('#outbox-list .otp-code').first().textContent()) ?? ''
        t.match(code, /^\d{6}$/)
        await page.fill('#mfa-code', code)
        await page.click('#mfa-button')
        await view(page, 'whoami')
        t.match(await page.textContent('#whoami'), /MFA Org[\s\S]*otp \(sms\)/)
        await logOut(t, page)
      })

      await t.test(`round ${round}: MFA by authenticator app, the TOTP code read from the authenticator panel`, async (t) => {
        await mfaWith(page, 'totp', async () => {
          const code = (await page.textContent('#totp-code')) ?? ''
          t.match(code, /^\d{6}$/, 'the panel shows a TOTP code')
          if (round === 1) await screenshot(page, 'walkthrough-2-mfa')
          return code
        })
        t.match(await page.textContent('#whoami'), /totp \(authenticator_app\)/)
        await logOut(t, page)
      })

      await t.test(`round ${round}: MFA by recovery code, read from the authenticator panel; a used code disappears`, async (t) => {
        let used = ''
        await mfaWith(page, 'recovery', async () => {
          used = (await page.locator('#recovery-codes .recovery-code').first().textContent()) ?? ''
          t.match(used, /^\d{4}-\d{4}-\d{4}$/)
          return used
        })
        t.match(await page.textContent('#whoami'), /recovery_codes \(recovery_code\)/)
        await page.click('#outbox-refresh')
        // a locator, not a string predicate: the page's CSP forbids eval
        await page.locator('#recovery-codes .recovery-code', { hasText: used }).waitFor({ state: 'detached' })
        t.equal(await page.locator('#recovery-codes .recovery-code').count(), 10 - round, 'the panel lists the codes left')
        await logOut(t, page)
      })

      await t.test(`round ${round}: a reload in the middle of MFA resumes it; back to log in drops it`, async (t) => {
        await logIn(page, { org: 'mfa-org' })
        await view(page, 'mfa')
        await page.reload()
        await view(page, 'mfa')
        t.equal(await page.textContent('#mfa-organization'), 'MFA Org', 'the organization is known again')
        t.same(await cookieNames(page), [names.intermediateSession])
        if (round === 2) {
          // finish it after the reload, with the TOTP code on the page
          await page.selectOption('#mfa-method', 'totp')
          await page.fill('#mfa-code', (await page.textContent('#totp-code')) ?? '')
          await page.click('#mfa-button')
          await view(page, 'whoami')
          return logOut(t, page)
        }
        const loggedOut = page.waitForResponse((r) => r.url().endsWith('/auth/logout'))
        await page.click('#view-mfa button.back')
        t.equal((await loggedOut).status(), 204, 'back to log in asked the BFF to drop the login')
        await view(page, 'login')
        t.same(await page.context().cookies(), [], 'the intermediate-session cookie is gone')
        t.equal(await sessionStatus(page), 401)
      })

      await t.test(`round ${round}: discovery, a reload at the organization picker, then a pick`, async (t) => {
        await view(page, 'login')
        await page.fill('#login-password', 'demo-password-123!')
        await page.click('#discovery-button')
        await view(page, 'discovery')
        await page.reload()
        await view(page, 'discovery')
        const choices = await page.locator('#discovery-organizations button').allTextContents()
        t.match(choices.join('|'), /Demo Org[\s\S]*MFA Org|MFA Org[\s\S]*Demo Org/, 'the organizations are listed again')
        if (round === 1) await screenshot(page, 'walkthrough-3-discovery')
        await page.click('#discovery-organizations button:has-text("Demo Org")')
        await view(page, 'whoami')
        t.match(await page.textContent('#whoami'), /Demo Org \(demo-org\)/)
        await logOut(t, page)
      })

      await t.test(`round ${round}: reset through the outbox; a weak password gets the strength feedback`, async (t) => {
        await page.click('#forgot-button')
        await view(page, 'forgot')
        await page.fill('#forgot-org', 'demo-org')
        await page.click('#forgot-submit')
        const link = page.locator('#outbox-list .reset-link').first()
        await link.waitFor()
        await link.click()
        await view(page, 'reset')
        await page.fill('#reset-password', 'abc12')
        await page.click('#reset-submit')
        await page.locator('#reset-feedback').waitFor({ state: 'visible' })
        t.match(await page.textContent('#reset-feedback'), /too weak[\s\S]*more character/, 'the weak password is explained')
        if (round === 1) await screenshot(page, 'walkthrough-4-weak-password')
        await page.fill('#reset-password', 'demo-password-123!')
        await page.click('#reset-submit')
        await view(page, 'whoami')
        t.equal(new URL(page.url()).search, '', 'the token left the address bar')
        await logOut(t, page)
      })
    }

    const refused = [...demo.answered('POST', '/auth/b2b/passwords/authenticate'), ...demo.answered('POST', '/auth/b2b/otps/sms/authenticate')].filter((s) => s === 429)
    t.same(refused, [], 'no request was rate limited')
    t.same(cspErrors, [], 'no CSP violation on the demo page')
  })

  t.test('the API reference renders in Chromium under the helmet CSP', async (t) => {
    const context = await newContext(t, browser)
    const page = await context.newPage()
    const cspErrors: string[] = []
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text()) })
    const res = await page.goto(`${demo.origin}/docs/`)
    t.match(res?.headers()['content-security-policy'], /script-src 'self'/)
    await page.locator('.opblock').first().waitFor()
    t.ok(await page.locator('.opblock-summary-path:has-text("/auth/b2b/passwords/authenticate")').count() > 0, 'operations listed')
    t.equal(await page.locator('.opblock-summary-path:has-text("/demo")').count(), 0, 'no demo route')
    await page.locator('.opblock-summary-path:has-text("/auth/b2b/passwords/authenticate")').first().click()
    await page.locator('.parameters :text("x-csrf")').first().waitFor()
    await mkdir(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: `${ARTIFACTS}walkthrough-5-api-docs.png` }) // the first screen: the whole page is long
    // Swagger UI also tries one inline <style> (cosmetic); every script runs from our origin.
    t.same(cspErrors.filter((e) => !/inline style violates[\s\S]*style-src/.test(e)), [], 'no CSP violation but an inline style')
  })
}
