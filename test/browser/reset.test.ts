import t from 'tap'
import type { Page } from 'playwright-core'
import { DEMO, chromiumInstalled, launch, logIn, newContext, screenshot, sessionStatus, scriptCookies, SKIP_MESSAGE, startDemo, view } from './fixtures.js'

// Forgot password -> the emulator's outbox (shown on the page) -> the reset link -> a new password.
// The link is bound to the browser that asked for it (PKCE cookie).

const NEW_PASSWORD = 'a new passphrase, with spaces ✓'

/** From the login form to a reset link in the outbox; answers the link's address. */
async function askForResetLink (page: Page, org?: string): Promise<string> {
  await view(page, 'login')
  await page.click('#forgot-button')
  await view(page, 'forgot')
  if (org !== undefined) await page.fill('#forgot-org', org)
  await page.click('#forgot-submit')
  await page.waitForSelector('#message:has-text("reset link is on its way")')
  const link = page.locator('#outbox-list a.reset-link').first()
  return (await link.getAttribute('href')) ?? ''
}

/** On the reset page: type the new password and submit. */
async function setNewPassword (page: Page, password = NEW_PASSWORD): Promise<void> {
  await view(page, 'reset')
  await page.fill('#reset-password', password)
  await page.click('#reset-submit')
}

if (!chromiumInstalled()) {
  t.skip(SKIP_MESSAGE, () => {})
} else {
  const browser = await launch(t)

  t.test('B2B: the outbox link completes the reset in the browser that asked for it', async (t) => {
    const demo = await startDemo(t)
    const context = await newContext(t, browser)
    const page = await context.newPage()
    await page.goto(demo.origin)
    const href = await askForResetLink(page)
    t.match(href, new RegExp(`^${demo.origin}/reset\\?stytch_token_type=multi_tenant_passwords&token=`), 'the link leads back to the demo')
    t.same((await context.cookies()).map((c) => c.name), [demo.config.cookie.names.pkce], 'the PKCE verifier waits in an httpOnly cookie')

    await page.click('#outbox-list a.reset-link >> nth=0') // a person clicks the link in the email
    await setNewPassword(page)
    await view(page, 'whoami')
    t.match(await page.textContent('#message'), /Password changed/)
    t.match(await page.textContent('#whoami'), /Demo Org \(demo-org\)/)
    t.equal(new URL(page.url()).search, '', 'the token is gone from the address bar')
    t.same((await context.cookies()).map((c) => c.name).sort(), [demo.config.cookie.names.session, demo.config.cookie.names.jwt].sort(), 'PKCE cookie spent')

    await page.click('#logout-button')
    await logIn(page, { password: DEMO.password })
    await page.waitForSelector('#message.error')
    t.match(await page.textContent('#message'), /unauthorized_credentials/, 'the old password no longer works')
    await logIn(page, { password: NEW_PASSWORD })
    await view(page, 'whoami')
    await screenshot(page, 'reset-1-b2b-completed')
  })

  t.test('the same link fails in a second browser context (PKCE) and still works in the first', async (t) => {
    const demo = await startDemo(t)
    const asker = await newContext(t, browser)
    const page = await asker.newPage()
    await page.goto(demo.origin)
    const href = await askForResetLink(page)

    const other = await newContext(t, browser)
    const stranger = await other.newPage()
    await stranger.goto(href)
    await setNewPassword(stranger)
    await stranger.waitForSelector('#message.error')
    t.match(await stranger.textContent('#message'), /only works in the browser that asked for it.*pkce_expected_code_verifier/)
    t.equal(await sessionStatus(stranger), 401, 'no session in the second browser')
    t.same(await other.cookies(), [], 'no cookie at all in the second browser')
    await screenshot(stranger, 'reset-2-second-browser-refused')

    await page.goto(href)
    await setNewPassword(page)
    await view(page, 'whoami')
    t.equal(await sessionStatus(page), 200, 'the asking browser completes the reset')
  })

  t.test('B2B without an organization: a discovery reset ends at the organization picker', async (t) => {
    const demo = await startDemo(t)
    const context = await newContext(t, browser)
    const page = await context.newPage()
    await page.goto(demo.origin)
    const href = await askForResetLink(page, '')
    t.match(href, /stytch_token_type=discovery/)
    await page.goto(href)
    await setNewPassword(page)
    await view(page, 'discovery')
    await page.click('#discovery-organizations button:has-text("Demo Org")')
    await view(page, 'whoami')
    t.match(await page.textContent('#whoami'), /Demo Org \(demo-org\)/)
    await screenshot(page, 'reset-3-discovery')
  })

  t.test('consumer: log in, reset through the outbox link (token), log out', async (t) => {
    const demo = await startDemo(t, { STYTCH_VERTICAL: 'consumer' })
    const context = await newContext(t, browser)
    const page = await context.newPage()
    await page.goto(demo.origin)
    await view(page, 'login')
    t.notOk(await page.isVisible('#login-org'), 'no organization field')
    await logIn(page)
    await view(page, 'whoami')
    t.match(await page.textContent('#whoami'), /demo@example\.com[\s\S]*user-test-/)
    t.equal(await scriptCookies(page), '')
    await page.click('#logout-button')

    const href = await askForResetLink(page)
    t.match(href, /stytch_token_type=reset_password&token=/)
    await page.goto(href)
    await setNewPassword(page)
    await view(page, 'whoami')
    t.equal(await sessionStatus(page), 200)
    await page.click('#logout-button')
    await view(page, 'login')
    t.equal(await sessionStatus(page), 401)
    await logIn(page, { password: NEW_PASSWORD })
    await view(page, 'whoami')
    await screenshot(page, 'reset-4-consumer')
  })
}
