import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { buildEmulator } from '../src/emulator/app.js'

// What the fake upstream answers, captured from one real login against the embedded emulator:
// the B2B passwords/authenticate body, the sessions/authenticate body and the JWKS shape. The fake
// re-signs the session JWT (same header and claims, fresh iat/exp) with its own RSA key, so the
// service verifies a real RS256 token against a JWKS the fake serves.

export interface Fixture {
  projectId: string
  secret: string
  organizationId: string
  email: string
  password: string
  /** emulator answers; session_jwt is replaced by the fake */
  loginBody: Record<string, unknown>
  sessionBody: Record<string, unknown>
  jwtClaims: Record<string, unknown>
  kid: string
  privateKeyPem: string
  jwks: { keys: Array<Record<string, unknown>>; [field: string]: unknown }
}

export async function captureFixture (): Promise<Fixture> {
  const emulator = await buildEmulator({})
  try {
    const { projectId, secret, demoPassword } = emulator.emulator
    const authorization = 'Basic ' + Buffer.from(`${projectId}:${secret}`).toString('base64')
    const headers = { authorization, 'content-type': 'application/json' }
    const email = 'demo@example.com'
    const login = await emulator.inject({
      method: 'POST',
      url: '/v1/b2b/passwords/authenticate',
      headers,
      payload: { organization_id: 'demo-org', email_address: email, password: demoPassword, session_duration_minutes: 60 }
    })
    if (login.statusCode !== 200) throw new Error(`emulator login answered ${login.statusCode}: ${login.body}`)
    const loginBody = login.json<Record<string, unknown>>()
    const session = await emulator.inject({
      method: 'POST',
      url: '/v1/b2b/sessions/authenticate',
      headers,
      payload: { session_token: loginBody.session_token, session_duration_minutes: 60 }
    })
    if (session.statusCode !== 200) throw new Error(`emulator sessions/authenticate answered ${session.statusCode}: ${session.body}`)
    const jwksRes = await emulator.inject({ method: 'GET', url: `/v1/b2b/sessions/jwks/${projectId}` })
    const emulatorJwks = jwksRes.json<{ keys: Array<Record<string, unknown>> }>()

    const jwt = String(loginBody.session_jwt)
    const jwtClaims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>

    // Our own key in the emulator's JWKS shape.
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const kid = `jwk-test-${randomUUID()}`
    const publicJwk = publicKey.export({ format: 'jwk' })
    const template = emulatorJwks.keys[0] ?? {}
    const jwks = { ...emulatorJwks, keys: [{ ...template, kid, n: publicJwk.n, e: publicJwk.e }] }

    return {
      projectId,
      secret,
      organizationId: String(loginBody.organization_id),
      email,
      password: demoPassword,
      loginBody,
      sessionBody: session.json<Record<string, unknown>>(),
      jwtClaims,
      kid,
      privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      jwks
    }
  } finally {
    await emulator.close()
  }
}
