import { randomBytes, randomUUID } from 'node:crypto'
import { SignJWT, compactVerify, decodeProtectedHeader, exportJWK, generateKeyPair, type JWTPayload } from 'jose'

/** Opaque tokens (session tokens, ISTs, reset tokens): random base64url, like Stytch's. */
export function opaqueToken (): string {
  return randomBytes(32).toString('base64url')
}

/** Stytch-style ids: `member-test-<uuid>`, `organization-test-<uuid>`, ... */
export function stytchId (prefix: string): string {
  return `${prefix}-test-${randomUUID()}`
}

export interface PublicJwk {
  kty: string
  use: 'sig'
  key_ops: string[]
  alg: 'RS256'
  kid: string
  x5c: string[]
  x5tS256: string
  n: string
  e: string
}

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>

interface SigningKey {
  kid: string
  privateKey: KeyPair['privateKey']
  publicKey: KeyPair['publicKey']
  jwk: PublicJwk
}

/** RS256 signing keys. The newest signs; every key ever generated stays in the JWKS. */
export class KeyRing {
  private keys: SigningKey[] = []

  async rotate (): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
    const kid = stytchId('jwk')
    const exported = await exportJWK(publicKey)
    const jwk: PublicJwk = {
      kty: exported.kty ?? 'RSA',
      use: 'sig',
      key_ops: ['verify'],
      alg: 'RS256',
      kid,
      x5c: [],
      x5tS256: '',
      n: exported.n ?? '',
      e: exported.e ?? ''
    }
    this.keys.push({ kid, privateKey, publicKey, jwk })
  }

  get currentKid (): string {
    return this.current().kid
  }

  /** Newest first, as a JWKS document's `keys`. */
  jwks (): PublicJwk[] {
    return this.keys.map((k) => k.jwk).reverse()
  }

  async sign (payload: JWTPayload): Promise<string> {
    const key = this.current()
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(key.privateKey)
  }

  /** Verifies the signature only (not `exp`): Stytch accepts an expired JWT of a live session. */
  async verifySignature (jwt: string): Promise<JWTPayload | undefined> {
    try {
      const { kid, alg } = decodeProtectedHeader(jwt)
      const key = this.keys.find((k) => k.kid === kid)
      if (!key || alg !== 'RS256') return undefined
      const { payload } = await compactVerify(jwt, key.publicKey, { algorithms: ['RS256'] })
      const claims: unknown = JSON.parse(new TextDecoder().decode(payload))
      return typeof claims === 'object' && claims !== null ? (claims as JWTPayload) : undefined
    } catch {
      return undefined
    }
  }

  private current (): SigningKey {
    const key = this.keys.at(-1)
    if (!key) throw new Error('KeyRing has no key: call rotate() first')
    return key
  }
}
