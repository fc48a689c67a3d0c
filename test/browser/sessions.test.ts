import t from 'tap'
import { chromiumInstalled, launch, logIn, newContext, screenshot, sessionStatus, SKIP_MESSAGE, startDemo, view } from './fixtures.js'

// The sessions panel with two browsers signed in to one member: "sign out this device" ends the
// other one, "sign out everywhere" ends both; the other browser's next /auth/verify past
// JWT_MAX_AGE_SECONDS is a 401 (the emulator's clock drives the BFF's verifier here).

const MAX_AGE_SECONDS = 20

if (!chromiumInstalled()) {
  t.skip(SKIP_MESSAGE, () => {})
} else {
  const browser = await launch(t)
  const demo = await startDemo(t, { JWT_MAX_AGE_SECONDS: String(MAX_AGE_SECONDS) }, { now: (emulator) => emulator.emulator.clock.now() })
  const clock = demo.emulator.emulator.clock

  /** What a gateway's forward-auth call would answer for this browser's cookies. */
  const verifyStatus = async (page: import('playwright-core').Page) =>
    page.evaluate(async () => (await fetch('/auth/verify', { credentials: 'include' })).status)

  const signedIn = async () => {
    const context = await newContext(t, browser)
    const page = await context.newPage()
    await page.goto(demo.origin)
    await logIn(page)
    await view(page, 'whoami')
    return { context, page }
  }

  t.test('sign out this device, then sign out everywhere, across two browsers', async (t) => {
    const laptop = await signedIn()
    const phone = await signedIn()
    await laptop.page.click('#sessions-refresh')
    await laptop.page.locator('#sessions-list .session').nth(1).waitFor()

    await t.test('the panel lists both sessions, this browser marked', async (t) => {
      const rows = laptop.page.locator('#sessions-list .session')
      t.equal(await rows.count(), 2)
      t.equal(await laptop.page.locator('#sessions-list .session.current').count(), 1)
      t.match(await rows.first().textContent(), /This browser[\s\S]*password \(knowledge\)[\s\S]*Sign out this device/)
      t.match(await rows.nth(1).textContent(), /Another device/)
      t.notMatch(await laptop.page.content(), /session_token|session_jwt|eyJ[A-Za-z0-9_-]+\.eyJ/, 'no token on the page')
      await screenshot(laptop.page, 'sessions-1-two-devices')
    })

    await t.test('"sign out this device" on the other row signs the phone out, not the laptop', async (t) => {
      await laptop.page.locator('#sessions-list .session:not(.current) .sign-out').click()
      await laptop.page.locator('#sessions-list .session:not(.current)').waitFor({ state: 'detached' })
      t.equal(await laptop.page.locator('#sessions-list .session').count(), 1, 'one session left: this one')
      t.match(await laptop.page.textContent('#message'), /That device is signed out/)
      t.equal(await sessionStatus(phone.page), 401, 'the phone\'s session is over upstream')
      t.equal(await sessionStatus(laptop.page), 200, 'the laptop is still in')
      t.same(demo.emulator.emulator.requests.filter((r) => r.path === '/v1/b2b/sessions/revoke').map((r) => Object.keys(r.body as object)), [['member_session_id']])
      await phone.page.reload()
      await view(phone.page, 'login')
    })

    await t.test('"sign out everywhere": both browsers out; the other one\'s verify is 401 within JWT_MAX_AGE_SECONDS', async (t) => {
      await logIn(phone.page)
      await view(phone.page, 'whoami')
      t.equal(await verifyStatus(phone.page), 200, 'the phone passes forward auth')

      await laptop.page.click('#sessions-everywhere')
      await view(laptop.page, 'login')
      t.match(await laptop.page.textContent('#message'), /Signed out on every device/)
      t.same(await laptop.context.cookies(), [], 'every cookie of this browser expired')
      t.equal(await sessionStatus(laptop.page), 401)

      t.equal(await verifyStatus(phone.page), 200, 'a young JWT still passes locally: the documented window')
      clock.advance((MAX_AGE_SECONDS + 1) * 1000)
      t.equal(await verifyStatus(phone.page), 401, 'past JWT_MAX_AGE_SECONDS the phone is refused')
      t.same(await phone.context.cookies(), [], 'and its cookies are expired')
      t.same(demo.answered('POST', '/auth/logout'), [204])
      await phone.page.reload()
      await view(phone.page, 'login')
      await screenshot(laptop.page, 'sessions-2-everywhere')
    })
  })
}
