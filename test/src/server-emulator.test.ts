import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// `npm start` without credentials, outside production: the server loads the embedded emulator
// (its own build, loaded only here) and the demo, and logs in against it. The production image,
// which leaves the emulator out, is checked by scripts/container-test.sh.

const REPO = fileURLToPath(new URL('../../', import.meta.url))
// Only a bound for a process that hangs: tsx compiles on start, which takes a while on a loaded
// 2-core machine. Nothing here measures start-up speed.
const START_MS = 240_000
t.setTimeout(600_000)

t.test('without credentials the server starts the embedded emulator and answers a demo login', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', EMULATOR_PORT: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr += String(c) })
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in time\n${stderr}`)), START_MS)
    child.stdout.on('data', (c: Buffer) => {
      stdout += String(c)
      if (/Demo login:.*\n/.test(stdout)) { clearTimeout(timer); resolve(stdout) }
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}\n${stderr}`)) })
  })
  t.match(banner, /running against the embedded Stytch emulator/)
  const base = /BFF:\s+(http:\/\/[^\s]+)\/auth/.exec(banner)?.[1]
  t.ok(base, 'the banner names the BFF address')
  const password = /Demo login:\s+demo@example\.com \/ (\S+)/.exec(banner)?.[1] ?? ''
  const login = await fetch(`${base}/auth/b2b/passwords/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf': '1' },
    body: JSON.stringify({ organization_id: 'demo-org', email_address: 'demo@example.com', password })
  })
  t.equal(login.status, 200, 'the demo login succeeds against the embedded emulator')
  t.ok(login.headers.getSetCookie().some((c) => c.startsWith('stytch_session=')), 'session cookie set')
  child.kill('SIGTERM')
  t.equal(await new Promise((resolve) => child.on('exit', resolve)), 0, 'exits 0 on SIGTERM')
})
