import { completeB2B, discoveredOrganizations, memberOrFail, memberSessionFields, organizationOrFail } from '../b2b.js'
import type { EmulatorContext } from '../context.js'
import { errors, fail } from '../errors.js'
import { optString, reqString, sessionMinutes } from '../fields.js'
import { memberJson, memberSessionJson, organizationJson } from '../render.js'
import { get, post, type EmulatorRoute } from '../route.js'
import {
  exactlyOne,
  revokeNamedSession,
  intermediateSession,
  revokeAllSessions,
  sessionFromBody,
  touchSession
} from '../sessions.js'
import type { Member, Organization, Session } from '../store.js'

function sessionMember (ctx: EmulatorContext, session: Session): { member: Member; org: Organization } {
  const member = ctx.store.members.get(session.subject_id) ?? errors.sessionNotFound()
  return { member, org: organizationOrFail(ctx, member.organization_id) }
}

export const b2bSessionRoutes: EmulatorRoute[] = [
  post('/v1/b2b/sessions/authenticate', async (ctx, body) => {
    const minutes = sessionMinutes(body)
    const session = (await sessionFromBody(ctx, body, 'b2b', true))!
    const { member, org } = sessionMember(ctx, session)
    touchSession(ctx, session, minutes, body)
    return { member: memberJson(member), organization: organizationJson(org), ...(await memberSessionFields(ctx, session, org)) }
  }),

  // GET /v1/b2b/sessions?organization_id=&member_id=: the member's active sessions, oldest first.
  get('/v1/b2b/sessions', (ctx, query) => {
    const org = organizationOrFail(ctx, reqString(query, 'organization_id'))
    const member = memberOrFail(ctx, org, reqString(query, 'member_id'))
    const sessions = ctx.store.activeSessions(member.member_id).filter((s) => s.vertical === 'b2b')
    return { member_sessions: sessions.map((s) => memberSessionJson(s, org)) }
  }),

  post('/v1/b2b/sessions/revoke', async (ctx, body) => {
    const id = optString(body, 'member_session_id')
    const token = optString(body, 'session_token')
    const jwt = optString(body, 'session_jwt')
    const memberId = optString(body, 'member_id')
    exactlyOne(['member_session_id', 'session_token', 'session_jwt', 'member_id'], [id, token, jwt, memberId])
    if (memberId !== undefined) {
      if (!ctx.store.members.has(memberId)) errors.memberNotFound()
      revokeAllSessions(ctx, memberId)
      return {}
    }
    await revokeNamedSession(ctx, 'b2b', { id, token, jwt })
    return {}
  }),

  post('/v1/b2b/sessions/exchange', async (ctx, body) => {
    const org = organizationOrFail(ctx, reqString(body, 'organization_id'))
    sessionMinutes(body)
    const session = (await sessionFromBody(ctx, body, 'b2b', true))!
    const { member: current } = sessionMember(ctx, session)
    const member = ctx.store.memberIn(org.organization_id, current.email_address) ?? errors.memberNotFound()
    if (member === current) return completeB2B(ctx, { member, org, body, added: [], extend: session })
    return completeB2B(ctx, { member, org, body, added: [], prior: session.factors })
  }),

  post('/v1/b2b/discovery/organizations', async (ctx, body) => {
    const istToken = optString(body, 'intermediate_session_token')
    exactlyOne(
      ['intermediate_session_token', 'session_token', 'session_jwt'],
      [istToken, optString(body, 'session_token'), optString(body, 'session_jwt')]
    )
    if (istToken !== undefined) {
      const ist = intermediateSession(ctx, istToken)
      return {
        email_address: ist.email,
        discovered_organizations: discoveredOrganizations(ctx, ist.email, ist.factors),
        ...(ist.organization_id !== undefined ? { organization_id_hint: ist.organization_id } : {})
      }
    }
    const session = (await sessionFromBody(ctx, body, 'b2b', true))!
    const { member } = sessionMember(ctx, session)
    return {
      email_address: member.email_address,
      discovered_organizations: discoveredOrganizations(ctx, member.email_address, session.factors)
    }
  }),

  post('/v1/b2b/discovery/intermediate_sessions/exchange', async (ctx, body) => {
    const ist = intermediateSession(ctx, reqString(body, 'intermediate_session_token'))
    const org = organizationOrFail(ctx, reqString(body, 'organization_id'))
    sessionMinutes(body)
    if (ist.organization_id !== undefined && ist.organization_id !== org.organization_id) {
      fail(400, 'invalid_intermediate_session_token_for_organization', 'This intermediate session belongs to another organization.')
    }
    const member = ctx.store.memberIn(org.organization_id, ist.email) ?? errors.memberNotFound()
    return completeB2B(ctx, { member, org, body, added: [], ist })
  }),

  post('/v1/b2b/discovery/organizations/create', async (ctx, body) => {
    const ist = intermediateSession(ctx, reqString(body, 'intermediate_session_token'))
    sessionMinutes(body)
    if (!ist.discovery) {
      fail(400, 'invalid_intermediate_session_token_for_organization', 'Only a discovery intermediate session can create an organization.')
    }
    const name = optString(body, 'organization_name') ?? `${ist.email.split('@')[0] ?? 'new'}'s Organization`
    const slug = optString(body, 'organization_slug') ?? `${name.toLowerCase().replace(/[^a-z0-9._~-]+/g, '-')}-${ctx.store.organizations.size}`
    if (!/^[A-Za-z0-9._~-]{2,128}$/.test(slug)) fail(400, 'invalid_organization_slug', 'organization_slug must be 2-128 of [A-Za-z0-9-._~].')
    if (ctx.store.organization(slug)) fail(400, 'organization_slug_already_used', 'An organization with this slug already exists.')
    const mfaPolicy = optString(body, 'mfa_policy') === 'REQUIRED_FOR_ALL' ? 'REQUIRED_FOR_ALL' : 'OPTIONAL'
    const org = ctx.store.createOrganization({ organization_name: name, organization_slug: slug, mfa_policy: mfaPolicy })
    const member = ctx.store.createMember(org, ist.email, { is_admin: true })
    return completeB2B(ctx, { member, org, body, added: [], ist })
  })
]
