import { KeyObject } from 'node:crypto'
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose'
import t from 'tap'
import { JwtVerifier, identityFromSessionAnswer, type JwtVerifierOptions } from '../../../src/session/jwt-verifier.js'

// The verifier alone, with keys of our own and a clock we move: every claim check, the cache,
// and the JWKS fetch policy (once, then at most once per 30 s on an unknown kid).

const PROJECT = 'project-test-00000000-0000-4000-8000-000000000000'
const API = 'https://api.example.test'
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0)
const SESSION_CLAIM = 'https://stytch.com/session'
const ORG_CLAIM = 'https://stytch.com/organization'

type Key = Awaited<ReturnType<typeof generateKeyPair>> & { kid: string }

async function newKey (kid: string): Promise<Key> {
  return { ...(await generateKeyPair('RS256', { extractable: true })), kid }
}

async function jwk (key: Key) {
  return { ...(await exportJWK(key.publicKey)), kid: key.kid, alg: 'RS256', use: 'sig' }
}

function claims (nowMs: number, extra: JWTPayload = {}): JWTPayload {
  const iat = Math.floor(nowMs / 1000)
  return {
    sub: 'member-test-1',
    iss: `stytch.com/${PROJECT}`,
    aud: [PROJECT],
    iat,
    nbf: iat,
    exp: iat + 300,
    [SESSION_CLAIM]: { id: 'member-session-test-1', roles: ['stytch_member', 'admin'] },
    [ORG_CLAIM]: { organization_id: 'organization-test-1', slug: 'demo-org' },
    ...extra
  }
}

function sign (key: Key, payload: JWTPayload, header: Record<string, unknown> = {}) {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header }).sign(key.privateKey)
}

async function setup (opts: Partial<JwtVerifierOptions> = {}) {
  const clock = { now: T0 }
  const key = await newKey('jwk-test-1')
  const served = { keys: [await jwk(key)] as unknown[] }
  let fetches = 0
  const verifier = new JwtVerifier({
    projectId: PROJECT,
    apiUrl: API,
    vertical: 'b2b',
    maxAgeSeconds: 60,
    now: () => clock.now,
    fetchJwks: async () => { fetches++; return structuredClone(served) },
    ...opts
  })
  return { verifier, key, served, clock, fetches: () => fetches }
}

const B2B_HEADERS = {
  'x-stytch-session-id': 'member-session-test-1',
  'x-stytch-member-id': 'member-test-1',
  'x-stytch-organization-id': 'organization-test-1',
  'x-stytch-roles': 'stytch_member,admin'
}

t.test('a valid session JWT gives the identity headers; the JWKS is fetched once', async (t) => {
  const { verifier, key, clock, fetches } = await setup()
  const token = await sign(key, claims(clock.now))
  t.same(await verifier.verify(token), B2B_HEADERS)
  t.same(verifier.cached(token), B2B_HEADERS, 'then answered from the cache')
  t.same(await verifier.verify(await sign(key, claims(clock.now, { sub: 'member-test-2' }))), { ...B2B_HEADERS, 'x-stytch-member-id': 'member-test-2' })
  t.equal(fetches(), 1)
  t.equal(verifier.loaded, true)
})

t.test('the issuer may be the API base URL (custom domains)', async (t) => {
  const { verifier, key, clock } = await setup()
  t.ok(await verifier.verify(await sign(key, claims(clock.now, { iss: API }))))
  t.equal(await verifier.verify(await sign(key, claims(clock.now, { iss: 'https://evil.example' }))), undefined)
})

t.test('not accepted locally: wrong typ, aud, iss, alg, expired, not yet valid, too old, missing claims', async (t) => {
  const { verifier, key, clock } = await setup()
  const now = clock.now
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const otherKey = await newKey('jwk-test-1') // same kid, other key: a forgery
  const cases: Record<string, string | Promise<string>> = {
    'typ at+jwt': sign(key, claims(now), { typ: 'at+jwt' }),
    'no typ': new SignJWT(claims(now)).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(key.privateKey),
    'audience of another project': sign(key, claims(now, { aud: ['project-test-other'] })),
    'issuer of another project': sign(key, claims(now, { iss: 'stytch.com/project-test-other' })),
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims(now))}.`,
    'alg HS256': new SignJWT(claims(now)).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: key.kid }).sign(new TextEncoder().encode('x'.repeat(32))),
    'alg RS512 with the right key': new SignJWT(claims(now)).setProtectedHeader({ alg: 'RS512', typ: 'JWT', kid: key.kid }).sign(KeyObject.from(key.privateKey)),
    'signed by another key with the same kid': sign(otherKey, claims(now)),
    'expired (exp in the past, iat young)': sign(key, claims(now, { exp: Math.floor(now / 1000) - 1 })),
    'not yet valid': sign(key, claims(now, { nbf: Math.floor(now / 1000) + 60 })),
    'older than JWT_MAX_AGE_SECONDS': sign(key, claims(now - 61_000)),
    'no iat': sign(key, claims(now, { iat: undefined })),
    'no session id': sign(key, claims(now, { [SESSION_CLAIM]: { roles: [] } })),
    'no organization on B2B': sign(key, claims(now, { [ORG_CLAIM]: undefined })),
    'a role that would split the header': sign(key, claims(now, { [SESSION_CLAIM]: { id: 's', roles: ['a,b'] } })),
    'a header-unsafe id': sign(key, claims(now, { sub: 'member\r\nx-injected: 1' })),
    garbage: 'not.a.jwt'
  }
  for (const [name, token] of Object.entries(cases)) {
    t.equal(await verifier.verify(await token), undefined, name)
  }
  t.equal(verifier.jwksFetches, 1, 'none of them re-fetched the JWKS (the kid was known)')
})

t.test('the cache re-checks JWT_MAX_AGE_SECONDS and exp on every hit', async (t) => {
  const { verifier, key, clock } = await setup({ maxAgeSeconds: 60 })
  const token = await sign(key, claims(clock.now))
  t.ok(await verifier.verify(token))
  clock.now += 59_000
  t.ok(verifier.cached(token), 'still young')
  clock.now += 1_000
  t.equal(verifier.cached(token), undefined, 'too old: no longer trusted from the cache')
  t.equal(await verifier.verify(token), undefined, 'nor by a fresh verification')

  const { verifier: v300, key: k300, clock: c300 } = await setup({ maxAgeSeconds: 300 })
  const shortLived = await sign(k300, claims(c300.now, { exp: Math.floor(c300.now / 1000) + 30 }))
  t.ok(await v300.verify(shortLived))
  c300.now += 30_000
  t.equal(v300.cached(shortLived), undefined, 'expired before its max age: gone at exp')
})

t.test('a cached token is matched whole: the same signature under another payload is not trusted', async (t) => {
  const { verifier, key, clock } = await setup()
  const token = await sign(key, claims(clock.now))
  t.ok(await verifier.verify(token))
  const [header, , signature] = token.split('.')
  const payload = Buffer.from(JSON.stringify(claims(clock.now, { sub: 'member-attacker' }))).toString('base64url')
  const grafted = `${header}.${payload}.${signature}`
  t.equal(verifier.cached(grafted), undefined, 'no cache hit')
  t.equal(await verifier.verify(grafted), undefined, 'and no local verification')
  t.equal(verifier.cached(token)?.['x-stytch-member-id'], 'member-test-1', 'the genuine token is still cached')
})

t.test('JWT_MAX_AGE_SECONDS=0 never trusts a JWT locally', async (t) => {
  const { verifier, key, clock } = await setup({ maxAgeSeconds: 0 })
  t.equal(await verifier.verify(await sign(key, claims(clock.now))), undefined)
})

t.test('the cache is bounded: the oldest entry goes first', async (t) => {
  const { verifier, key, clock } = await setup({ cacheSize: 2 })
  const tokens = await Promise.all([1, 2, 3].map((n) => sign(key, claims(clock.now, { sub: `member-test-${n}` }))))
  for (const token of tokens) t.ok(await verifier.verify(token))
  t.equal(verifier.cached(tokens[0]!), undefined, 'evicted')
  t.ok(verifier.cached(tokens[1]!))
  t.ok(verifier.cached(tokens[2]!))
})

t.test('key rotation: an unknown kid re-fetches the JWKS at most once per 30 s', async (t) => {
  const { verifier, key, served, clock, fetches } = await setup()
  t.ok(await verifier.verify(await sign(key, claims(clock.now))))
  t.equal(fetches(), 1)

  const rotated = await newKey('jwk-test-2')
  served.keys.unshift(await jwk(rotated))
  clock.now += 10_000
  t.equal(await verifier.verify(await sign(rotated, claims(clock.now))), undefined, '10 s after the last fetch: not re-fetched, not accepted locally')
  t.equal(fetches(), 1)

  clock.now += 20_000
  const [a, b] = await Promise.all([
    verifier.verify(await sign(rotated, claims(clock.now, { sub: 'member-test-a' }))),
    verifier.verify(await sign(rotated, claims(clock.now, { sub: 'member-test-b' })))
  ])
  t.ok(a && b, '30 s after: re-fetched, both accepted')
  t.equal(fetches(), 2, 'one fetch for concurrent unknown kids')

  const attacker = await newKey('jwk-test-attacker')
  for (let i = 0; i < 20; i++) {
    clock.now += 1_000
    t.equal(await verifier.verify(await sign(attacker, claims(clock.now))), undefined)
  }
  t.equal(fetches(), 2, 'forged kids cannot make it hammer the JWKS: still no fetch within 30 s')
  clock.now += 10_000
  await verifier.verify(await sign(attacker, claims(clock.now)))
  t.equal(fetches(), 3, 'one more after 30 s, no more')
  t.ok(await verifier.verify(await sign(key, claims(clock.now, { sub: 'member-test-old-key' }))), 'old keys still served are still accepted')
})

t.test('parallel first verifications share one JWKS fetch', async (t) => {
  const { verifier, key, clock, fetches } = await setup()
  const token = await sign(key, claims(clock.now))
  const results = await Promise.all(Array.from({ length: 50 }, () => verifier.verify(token)))
  t.ok(results.every((r) => r !== undefined))
  t.equal(fetches(), 1)
})

t.test('a JWKS that cannot be fetched or used: nothing accepted, retried after a second, reported', async (t) => {
  const reasons: string[] = []
  let answer: () => Promise<unknown> = async () => { throw new Error('connection refused') }
  const { verifier, key, clock, served } = await setup({ fetchJwks: () => answer(), onJwksError: (r) => reasons.push(r) })
  const token = await sign(key, claims(clock.now))
  t.equal(await verifier.verify(token), undefined)
  t.equal(await verifier.verify(token), undefined)
  t.equal(verifier.jwksFetches, 1, 'not retried at once')
  t.equal(verifier.loaded, false)
  answer = async () => ({ keys: 'nope' })
  clock.now += 1_000
  t.equal(await verifier.verify(await sign(key, claims(clock.now))), undefined)
  t.equal(verifier.jwksFetches, 2)
  t.same(reasons, ['connection refused', 'JWKS answer has no keys'])
  answer = async () => served
  clock.now += 1_000
  t.equal(await verifier.load(), true, 'load() for readiness')
  t.ok(await verifier.verify(await sign(key, claims(clock.now))))
})

t.test('consumer JWTs: X-Stytch-User-Id, no organization needed', async (t) => {
  const { verifier, key, clock } = await setup({ vertical: 'consumer' })
  const token = await sign(key, claims(clock.now, { sub: 'user-test-1', [ORG_CLAIM]: undefined, [SESSION_CLAIM]: { id: 'session-test-1', roles: ['stytch_user'] } }))
  t.same(await verifier.verify(token), { 'x-stytch-session-id': 'session-test-1', 'x-stytch-user-id': 'user-test-1', 'x-stytch-roles': 'stytch_user' })
})

t.test('identity from a sessions/authenticate answer', async (t) => {
  t.same(identityFromSessionAnswer(true, { member_session: { member_session_id: 's', member_id: 'm', organization_id: 'o', roles: ['r1', 'r2'] } }),
    { 'x-stytch-session-id': 's', 'x-stytch-member-id': 'm', 'x-stytch-organization-id': 'o', 'x-stytch-roles': 'r1,r2' })
  t.same(identityFromSessionAnswer(false, { session: { session_id: 's', user_id: 'u', roles: [] } }),
    { 'x-stytch-session-id': 's', 'x-stytch-user-id': 'u', 'x-stytch-roles': '' })
  t.equal(identityFromSessionAnswer(true, { session: { session_id: 's', user_id: 'u' } }), undefined)
  t.equal(identityFromSessionAnswer(false, {}), undefined)
})
