import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

// A scriptable stand-in for Stytch, for failure modes the emulator never produces (hangs, resets,
// garbage). Each test sets `handler`; every request is recorded.

export interface Recorded { method: string; url: string; headers: IncomingMessage['headers']; body: string }

export interface FakeUpstream {
  url: string
  requests: Recorded[]
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void
  /** sockets currently open towards the fake (to check nothing leaks) */
  openSockets: () => number
  close: () => Promise<void>
}

export async function startFakeUpstream (): Promise<FakeUpstream> {
  const sockets = new Set<Socket>()
  const fake: FakeUpstream = {
    url: '',
    requests: [],
    handler: (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"status_code":200,"request_id":"request-id-test-fake"}') },
    openSockets: () => sockets.size,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    })
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      fake.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      fake.handler(req, res, body)
    })
  })
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return fake
}

export function json (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
}
