// @ts-check
// The demo single-page app: plain JavaScript, no build step, type-checked by `tsc -p demo`.
// It talks to the BFF exactly as a real SPA would: fetch with credentials, the CSRF header and JSON
// bodies. It never sees a Stytch token: they live in httpOnly cookies.

/**
 * @typedef {{ vertical: 'b2b' | 'consumer', prefix: string, csrfHeader: string,
 *   demo: { email: string, password: string, organization: string } }} DemoConfig
 * @typedef {{ status: number, data: any }} ApiAnswer
 * @typedef {{ organization_id: string, member_id: string, organization_name: string }} MfaTarget
 * @typedef {{ kind: string, to: string, created_at: string, link?: string, code?: string }} OutboxMessage
 * @typedef {{ email: string, organization: string, totp_code: string, totp_expires_in: number, recovery_codes: string[] }} Authenticator
 */

const VIEWS = ['loading', 'login', 'mfa', 'discovery', 'forgot', 'reset', 'whoami']

/** @type {DemoConfig} */
let config
/** @type {MfaTarget | undefined} */
let mfaTarget

// ---- DOM helpers

/** @param {string} id */
function el (id) {
  const found = document.getElementById(id)
  if (!found) throw new Error(`#${id} missing from the page`)
  return found
}

/** @param {string} id */
function input (id) {
  const found = el(id)
  if (!(found instanceof HTMLInputElement || found instanceof HTMLSelectElement)) throw new Error(`#${id} is not a field`)
  return found
}

/** @param {string} tag @param {string} [text] @param {string} [className] */
function make (tag, text, className) {
  const node = document.createElement(tag)
  if (text !== undefined) node.textContent = text
  if (className !== undefined) node.className = className
  return node
}

/** @param {string} name */
function show (name) {
  for (const view of VIEWS) el(`view-${view}`).hidden = view !== name
  document.body.dataset.view = name
  const focus = el(`view-${name}`).querySelector('input, button')
  if (focus instanceof HTMLElement) focus.focus()
}

/** @param {string} text @param {'error' | 'info'} [kind] */
function say (text, kind = 'info') {
  const box = el('message')
  box.textContent = text
  box.className = `message ${kind}`
  box.hidden = text === ''
}

// ---- the BFF, as any SPA calls it

/**
 * @param {'GET' | 'POST'} method
 * @param {string} path under the prefix
 * @param {unknown} [body]
 * @returns {Promise<ApiAnswer>}
 */
async function api (method, path, body) {
  /** @type {RequestInit} */
  const init = { method, credentials: 'include', headers: { Accept: 'application/json' } }
  if (method === 'POST') {
    init.headers = { Accept: 'application/json', 'Content-Type': 'application/json', [config.csrfHeader]: '1' }
    init.body = JSON.stringify(body ?? {})
  }
  const res = await fetch(config.prefix + path, init)
  const text = await res.text()
  let data = null
  try { data = text === '' ? null : JSON.parse(text) } catch { data = { error_message: text } }
  return { status: res.status, data }
}

const FRIENDLY = /** @type {Record<string, string>} */ ({
  pkce_expected_code_verifier: 'This reset link only works in the browser that asked for it (PKCE). Open it there, or ask for a new link here.',
  pkce_mismatch: 'This reset link only works in the browser that asked for it (PKCE). Open it there, or ask for a new link here.',
  unauthorized_credentials: 'Wrong email or password.',
  rate_limited: 'Too many attempts: wait a moment and try again.'
})

/** @param {ApiAnswer} answer */
function sayError (answer) {
  const d = answer.data ?? {}
  const type = typeof d.error_type === 'string' ? d.error_type : `http_${answer.status}`
  const text = FRIENDLY[type] ?? (typeof d.error_message === 'string' ? d.error_message : 'Request failed')
  say(`${text} (${type})`, 'error')
}

/**
 * Runs a form's action with its button disabled; network failures become a message.
 * @param {HTMLElement} form @param {() => Promise<void>} action
 */
function onSubmit (form, action) {
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const button = form.querySelector('button[type=submit]')
    if (button instanceof HTMLButtonElement) button.disabled = true
    say('')
    action()
      .catch(() => say('Could not reach the BFF.', 'error'))
      .finally(() => { if (button instanceof HTMLButtonElement) button.disabled = false })
  })
}

// ---- views

async function showWhoami () {
  const answer = await api('GET', '/session')
  if (answer.status === 401 && (await resumePendingLogin(answer.data))) return
  if (answer.status !== 200) {
    showLogin()
    if (answer.status !== 401) sayError(answer)
    return
  }
  const d = answer.data
  /** @type {Array<[string, string]>} */
  const facts = config.vertical === 'b2b'
    ? [
        ['Name', d.member?.name || '—'],
        ['Email', d.member?.email_address ?? ''],
        ['Organization', `${d.organization?.organization_name ?? ''} (${d.organization?.organization_slug ?? ''})`],
        ['Member ID', d.member?.member_id ?? ''],
        ['Roles', (d.member_session?.roles ?? []).join(', ')],
        ['Factors', factors(d.member_session?.authentication_factors)],
        ['Session expires', localTime(d.member_session?.expires_at)]
      ]
    : [
        ['Email', d.user?.emails?.[0]?.email ?? ''],
        ['User ID', d.user?.user_id ?? ''],
        ['Roles', (d.session?.roles ?? []).join(', ')],
        ['Factors', factors(d.session?.authentication_factors)],
        ['Session expires', localTime(d.session?.expires_at)]
      ]
  const list = el('whoami')
  list.replaceChildren(...facts.flatMap(([k, v]) => [make('dt', k), make('dd', v)]))
  el('whoami-json').textContent = JSON.stringify(d, null, 2)
  el('js-cookies').textContent = document.cookie === '' ? '(empty: the session cookies are httpOnly)' : document.cookie
  show('whoami')
  await refreshSessions()
}

/** @param {any} list */
function factors (list) {
  return Array.isArray(list) ? list.map((f) => `${f.type} (${f.delivery_method})`).join(', ') : ''
}

/** @param {unknown} iso */
function localTime (iso) {
  return typeof iso === 'string' ? new Date(iso).toLocaleString() : ''
}

function showLogin () {
  history.replaceState(null, '', '/')
  show('login')
}

/**
 * A login half way through (after a reload, say): GET /session answered 401 mfa_required or
 * discovery_pending with what this step needs. Returns whether a step was resumed.
 * @param {any} data the 401's error envelope
 */
async function resumePendingLogin (data) {
  const pending = data?.intermediate_session
  if (data?.error_type === 'discovery_pending' && pending) {
    showDiscovery(pending.discovered_organizations ?? [], pending.email_address ?? '')
    return true
  }
  if (data?.error_type !== 'mfa_required') return false
  if (!pending?.organization?.organization_id || !pending.member_id) {
    // Stytch did not say which organization this login was for: start again.
    await api('POST', '/logout', {})
    showLogin()
    say('That login could not be resumed: log in again.')
    return true
  }
  showMfa({
    organization_id: pending.organization.organization_id,
    member_id: pending.member_id,
    organization_name: pending.organization.organization_name || 'This organization'
  })
  await refreshOutbox()
  say('Your login is waiting for its second factor.')
  return true
}

/** @param {MfaTarget} target */
function showMfa (target) {
  mfaTarget = target
  el('mfa-organization').textContent = target.organization_name
  input('mfa-method').value = 'sms'
  input('mfa-code').value = ''
  updateMfaLabel()
  show('mfa')
}

/**
 * Where a B2B authentication lands: logged in, or a second factor to give.
 * @param {any} data a Stytch answer carrying member_authenticated
 */
async function afterB2BAuthentication (data) {
  if (data.member_authenticated !== false) return showWhoami()
  showMfa({
    organization_id: data.organization?.organization_id ?? data.organization_id,
    member_id: data.member_id ?? data.member?.member_id,
    organization_name: data.organization?.organization_name ?? 'This organization'
  })
  // Stytch texts the member's default factor by itself; otherwise ask for a code.
  if (data.mfa_required?.secondary_auth_initiated !== 'sms_otp') await sendSmsCode()
  else await refreshOutbox()
  say('Enter the code sent to the member\'s phone (see the emulator outbox).')
}

async function sendSmsCode () {
  if (!mfaTarget) return
  const answer = await api('POST', '/b2b/otps/sms/send', { organization_id: mfaTarget.organization_id, member_id: mfaTarget.member_id })
  if (answer.status !== 200) sayError(answer)
  await refreshOutbox()
}

function updateMfaLabel () {
  const method = input('mfa-method').value
  el('mfa-code-label').textContent = method === 'sms' ? 'Code sent by SMS' : method === 'totp' ? 'Code from your authenticator app' : 'Recovery code'
  el('mfa-resend').hidden = method !== 'sms'
  if (method !== 'sms') refreshOutbox().catch(() => {}) // a fresh TOTP code
}

/** @param {any[]} organizations @param {string} email */
function showDiscovery (organizations, email) {
  el('discovery-email').textContent = email
  const list = el('discovery-organizations')
  list.replaceChildren(...organizations.map((entry) => {
    const org = entry.organization ?? {}
    const button = make('button', '', 'choice')
    button.setAttribute('type', 'button')
    button.dataset.organizationId = org.organization_id
    button.append(make('strong', org.organization_name), make('span', ` ${org.organization_slug}`, 'muted'))
    if (entry.mfa_required) button.append(make('span', 'MFA', 'badge'))
    button.addEventListener('click', () => {
      say('')
      exchange(org.organization_id).catch(() => say('Could not reach the BFF.', 'error'))
    })
    const item = make('li')
    item.append(button)
    return item
  }))
  if (organizations.length === 0) list.replaceChildren(make('li', 'No organization found for this email.', 'muted'))
  show('discovery')
}

/** @param {string} organizationId */
async function exchange (organizationId) {
  const answer = await api('POST', '/b2b/discovery/intermediate_sessions/exchange', { organization_id: organizationId })
  if (answer.status !== 200) return sayError(answer)
  await afterB2BAuthentication(answer.data)
}

/**
 * Asks strength_check before a reset: a weak password gets Stytch's feedback, not a failed reset.
 * @param {string} password
 */
async function strongEnough (password) {
  const path = config.vertical === 'b2b' ? '/b2b/passwords/strength_check' : '/passwords/strength_check'
  const answer = await api('POST', path, { password })
  if (answer.status !== 200) {
    sayError(answer)
    return false
  }
  const d = answer.data
  if (d.valid_password !== false) {
    el('reset-feedback').hidden = true
    return true
  }
  // consumer: feedback.{warning,suggestions,luds_requirements}; B2B: zxcvbn_feedback + luds_feedback
  const zxcvbn = d.feedback ?? d.zxcvbn_feedback ?? {}
  const luds = d.feedback?.luds_requirements ?? d.luds_feedback ?? {}
  /** @type {string[]} */
  const tips = [...(Array.isArray(zxcvbn.suggestions) ? zxcvbn.suggestions : [])]
  if (luds.missing_characters > 0) tips.push(`Add at least ${luds.missing_characters} more character${luds.missing_characters > 1 ? 's' : ''}.`)
  if (luds.missing_complexity > 0) tips.push(`Mix in ${luds.missing_complexity} more kind${luds.missing_complexity > 1 ? 's' : ''} of character (lower case, upper case, digits, symbols).`)
  el('reset-feedback-warning').textContent = `This password is too weak (score ${d.score ?? '?'} of 4). ${zxcvbn.warning ?? ''}`.trim()
  el('reset-feedback-suggestions').replaceChildren(...tips.map((tip) => make('li', tip)))
  el('reset-feedback').hidden = false
  return false
}

// ---- outbox (emulator only: a real deployment sends real emails)

async function refreshOutbox () {
  const res = await fetch('/demo/outbox', { credentials: 'same-origin' })
  if (!res.ok) return
  /** @type {{ messages: OutboxMessage[], authenticator?: Authenticator }} */
  const { messages, authenticator } = await res.json()
  renderAuthenticator(authenticator)
  const list = el('outbox-list')
  list.replaceChildren(...messages.map(renderMessage))
  if (messages.length === 0) list.replaceChildren(make('li', 'Nothing sent yet.', 'muted'))
}

/**
 * What the demo member's authenticator app shows now, and its recovery codes not used yet.
 * @param {Authenticator | undefined} a
 */
function renderAuthenticator (a) {
  const box = el('authenticator')
  box.hidden = a === undefined || config.vertical !== 'b2b'
  if (a === undefined) return
  el('authenticator-who').textContent = `${a.email} in ${a.organization}`
  el('totp-code').textContent = a.totp_code
  el('totp-expires').textContent = `(${a.totp_expires_in} s left)`
  const codes = el('recovery-codes')
  codes.replaceChildren(...a.recovery_codes.map((code) => {
    const item = make('li')
    item.append(make('code', code, 'recovery-code'))
    return item
  }))
  if (a.recovery_codes.length === 0) codes.replaceChildren(make('li', 'All used.', 'muted'))
}

/** @param {OutboxMessage} m */
function renderMessage (m) {
  const item = make('li', '', `message-${m.kind}`)
  const title = m.kind === 'sms_otp' ? `SMS to ${m.to}` : `Email to ${m.to}: reset your password`
  item.append(make('strong', title), make('span', ` ${localTime(m.created_at)}`, 'muted'))
  if (m.code !== undefined) {
    const p = make('p', 'Your code: ')
    p.append(make('code', m.code, 'otp-code'))
    item.append(p)
  }
  if (m.link !== undefined && /^https?:\/\//.test(m.link)) {
    const a = /** @type {HTMLAnchorElement} */ (make('a', 'Open the reset link', 'reset-link'))
    a.href = m.link
    const p = make('p')
    p.append(a)
    item.append(p)
    // The PKCE cookie belongs to this origin: a link to another one (127.0.0.1 vs localhost) cannot complete.
    const target = new URL(m.link).origin
    if (target !== location.origin) item.append(make('p', `The link leads to ${target}: open the demo there to ask for it, or the reset cannot complete.`, 'muted'))
  }
  return item
}

// ---- sessions panel: every device signed in to this account, and the ways to end them

/**
 * @typedef {{ session_id?: string, member_session_id?: string, current: boolean, started_at?: string,
 *   last_accessed_at?: string, expires_at?: string, authentication_factors?: unknown[] }} ListedSession
 */

async function refreshSessions () {
  const answer = await api('GET', '/sessions')
  if (answer.status === 401) return showLogin() // this session ended (signed out elsewhere)
  if (answer.status !== 200) return sayError(answer)
  /** @type {ListedSession[]} */
  const sessions = answer.data?.member_sessions ?? answer.data?.sessions ?? []
  el('sessions-list').replaceChildren(...sessions.map(renderSession))
}

/** @param {ListedSession} session */
function renderSession (session) {
  const id = session.member_session_id ?? session.session_id ?? ''
  const item = make('li', undefined, session.current ? 'session current' : 'session')
  item.dataset.sessionId = id
  const title = make('strong', session.current ? 'This browser' : 'Another device')
  const facts = make('span', `signed in ${localTime(session.started_at)} · last active ${localTime(session.last_accessed_at)} · expires ${localTime(session.expires_at)} · ${factors(session.authentication_factors)}`, 'muted')
  const button = make('button', 'Sign out this device', 'link sign-out')
  if (button instanceof HTMLButtonElement) button.type = 'button'
  button.addEventListener('click', () => { signOutSession(id, session.current).catch(() => say('Could not reach the BFF.', 'error')) })
  item.append(title, make('br'), facts, make('br'), button)
  return item
}

/** @param {string} id @param {boolean} current */
async function signOutSession (id, current) {
  const answer = await api('POST', '/sessions/revoke', { session_id: id })
  if (answer.status !== 200) return sayError(answer)
  if (current) {
    showLogin()
    return say('This browser is signed out.')
  }
  say('That device is signed out.')
  await refreshSessions()
}

async function signOutEverywhere () {
  const answer = await api('POST', '/logout', { everywhere: true })
  if (answer.status !== 204) {
    showLogin()
    return sayError(answer)
  }
  showLogin()
  say('Signed out on every device.')
}

function wireSessions () {
  el('sessions-refresh').addEventListener('click', () => { refreshSessions().catch(() => say('Could not reach the BFF.', 'error')) })
  el('sessions-everywhere').addEventListener('click', () => { signOutEverywhere().catch(() => say('Could not reach the BFF.', 'error')) })
}

// ---- wiring

async function start () {
  const res = await fetch('/demo/config', { credentials: 'same-origin' })
  config = await res.json()
  document.body.dataset.vertical = config.vertical
  el('vertical-badge').textContent = config.vertical === 'b2b' ? 'B2B' : 'Consumer'
  for (const node of document.querySelectorAll('.b2b-only')) {
    if (node instanceof HTMLElement) node.hidden = config.vertical !== 'b2b'
  }
  for (const node of document.querySelectorAll('.prefix')) node.textContent = config.prefix
  input('login-org').required = config.vertical === 'b2b'
  input('login-org').value = config.demo.organization
  input('login-email').value = config.demo.email
  input('forgot-email').value = config.demo.email
  el('demo-hint').textContent = `Demo login: ${config.demo.email} / ${config.demo.password}` +
    (config.vertical === 'b2b' ? ` in ${config.demo.organization}, or in mfa-org to see the MFA step.` : '')

  onSubmit(el('login-form'), async () => {
    const email = input('login-email').value
    const password = input('login-password').value
    const answer = config.vertical === 'b2b'
      ? await api('POST', '/b2b/passwords/authenticate', { organization_id: input('login-org').value.trim(), email_address: email, password })
      : await api('POST', '/passwords/authenticate', { email, password })
    if (answer.status !== 200) return sayError(answer)
    input('login-password').value = ''
    if (config.vertical === 'b2b') await afterB2BAuthentication(answer.data)
    else await showWhoami()
  })

  el('discovery-button').addEventListener('click', () => {
    const form = el('login-form')
    const ready = input('login-email').checkValidity() && input('login-password').checkValidity()
    if (form instanceof HTMLFormElement && !ready) return form.reportValidity()
    say('')
    const email = input('login-email').value
    api('POST', '/b2b/passwords/discovery/authenticate', { email_address: email, password: input('login-password').value })
      .then((answer) => {
        if (answer.status !== 200) return sayError(answer)
        input('login-password').value = ''
        showDiscovery(answer.data.discovered_organizations ?? [], answer.data.email_address ?? email)
      })
      .catch(() => say('Could not reach the BFF.', 'error'))
  })

  el('forgot-button').addEventListener('click', () => {
    say('')
    input('forgot-org').value = input('login-org').value
    input('forgot-email').value = input('login-email').value
    show('forgot')
  })

  onSubmit(el('forgot-form'), async () => {
    const email = input('forgot-email').value
    const org = input('forgot-org').value.trim()
    const answer = config.vertical === 'consumer'
      ? await api('POST', '/passwords/email/reset/start', { email })
      : org === ''
        ? await api('POST', '/b2b/passwords/discovery/email/reset/start', { email_address: email })
        : await api('POST', '/b2b/passwords/email/reset/start', { organization_id: org, email_address: email })
    if (answer.status !== 200) return sayError(answer)
    await refreshOutbox()
    say('If that account exists, a reset link is on its way. Here the emulator\'s outbox shows it: open the link in this browser.')
  })

  onSubmit(el('reset-form'), async () => {
    const params = new URLSearchParams(location.search)
    const token = params.get('token') ?? ''
    const type = params.get('stytch_token_type')
    const password = input('reset-password').value
    if (!(await strongEnough(password))) return
    const answer = config.vertical === 'consumer'
      ? await api('POST', '/passwords/email/reset', { token, password })
      : type === 'discovery'
        ? await api('POST', '/b2b/passwords/discovery/email/reset', { password_reset_token: token, password })
        : await api('POST', '/b2b/passwords/email/reset', { password_reset_token: token, password })
    if (answer.status !== 200) return sayError(answer)
    input('reset-password').value = ''
    history.replaceState(null, '', '/') // the token has done its job: keep it out of the address bar
    say('Password changed.')
    if (config.vertical === 'consumer') await showWhoami()
    else if (type === 'discovery') showDiscovery(answer.data.discovered_organizations ?? [], answer.data.email_address ?? '')
    else await afterB2BAuthentication(answer.data)
  })

  input('reset-password').addEventListener('input', () => { el('reset-feedback').hidden = true })
  input('mfa-method').addEventListener('change', updateMfaLabel)
  el('mfa-resend').addEventListener('click', () => { sendSmsCode().catch(() => say('Could not reach the BFF.', 'error')) })
  onSubmit(el('mfa-form'), async () => {
    if (!mfaTarget) return showLogin()
    const { organization_id, member_id } = mfaTarget
    const code = input('mfa-code').value.trim()
    const method = input('mfa-method').value
    const answer = method === 'sms'
      ? await api('POST', '/b2b/otps/sms/authenticate', { organization_id, member_id, code })
      : method === 'totp'
        ? await api('POST', '/b2b/totps/authenticate', { organization_id, member_id, code })
        : await api('POST', '/b2b/recovery_codes/recover', { organization_id, member_id, recovery_code: code })
    if (answer.status !== 200) return sayError(answer)
    mfaTarget = undefined
    say('')
    await showWhoami()
  })

  el('logout-button').addEventListener('click', () => {
    api('POST', '/logout', {})
      .then((answer) => {
        if (answer.status !== 204) return sayError(answer)
        showLogin()
        say('You are logged out.')
      })
      .catch(() => say('Could not reach the BFF.', 'error'))
  })

  // Back to log in from the MFA step or the organization picker: the login half way through is
  // dropped, its intermediate-session cookie with it (POST /logout expires every cookie; there is
  // no session to revoke). Elsewhere nothing is dropped: a reset link asked for still works.
  for (const back of document.querySelectorAll('button.back')) {
    back.addEventListener('click', () => {
      say('')
      const pending = ['mfa', 'discovery'].includes(document.body.dataset.view ?? '')
      mfaTarget = undefined
      if (!pending) return showLogin()
      api('POST', '/logout', {})
        .then((answer) => { if (answer.status !== 204) sayError(answer) })
        .catch(() => say('Could not reach the BFF.', 'error'))
        .finally(showLogin)
    })
  }
  // While a code is being typed, keep the authenticator's TOTP code current.
  setInterval(() => { if (document.body.dataset.view === 'mfa') refreshOutbox().catch(() => {}) }, 10_000)
  el('outbox-refresh').addEventListener('click', () => { refreshOutbox().catch(() => {}) })
  wireSessions()

  await refreshOutbox()
  if (location.pathname === '/reset') {
    if (!new URLSearchParams(location.search).get('token')) say('This reset link has no token.', 'error')
    show('reset')
  } else {
    await showWhoami()
  }
}

start().catch(() => say('The demo could not start: is the BFF running?', 'error'))
