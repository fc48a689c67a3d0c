import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:net'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { listenFailure } from '../../src/listen.js'
import { DEMO } from '../helper.js'

// Ports, as a person running the commands sees them: the service and the standalone emulator run
// side by side (the service's embedded emulator takes an ephemeral port unless EMULATOR_PORT pins
// one), and a port that cannot be listened on ends the process with exit code 1 and one line
// naming the port and the variable that sets it, no stack. Real processes (src/server.ts and
// src/emulator/main.ts under tsx) over real sockets.

const REPO = fileURLToPath(new URL('../../', import.meta.url))
// Only a bound for a process that hangs: tsx compiles on start, and eight of them on a loaded
// 2-core machine take a while. Nothing here measures speed.
const START_MS = 240_000
t.setTimeout(600_000)
t.jobs = 2 // the scenarios are independent processes

interface Proc {
  stdout: () => string
  stderr: () => string
  /** resolves with the first match of `re` in stdout, rejects if the process exits first */
  waitFor: (re: RegExp) => Promise<RegExpExecArray>
  exited: Promise<number | null>
}

function run (t: Test, script: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let out = ''
  let err = ''
  const waiters: Array<() => void> = []
  child.stdout.on('data', (c: Buffer) => { out += String(c); for (const w of waiters) w() })
  child.stderr.on('data', (c: Buffer) => { err += String(c) })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (re) => new Promise((resolve, reject) => {
      const check = () => { const m = re.exec(out); if (m) { clearTimeout(timer); resolve(m) } }
      const timer = setTimeout(() => reject(new Error(`${script} printed nothing matching ${re} in time\n${err}`)), START_MS)
      waiters.push(check)
      check()
      void exited.then((code) => { clearTimeout(timer); reject(new Error(`${script} exited (${code}) before printing ${re}\n${err}`)) })
    })
  }
}

/** the service in emulator mode (no credentials) on an ephemeral PORT; resolves with its origin */
async function startService (t: Test, env: Record<string, string> = {}): Promise<{ origin: string, emulatorUrl: string }> {
  const proc = run(t, 'src/server.ts', { PORT: '0', ...env })
  const [, origin] = await proc.waitFor(/BFF:\s+(http:\/\/\S+?)\/auth/)
  const [, emulatorUrl] = await proc.waitFor(/Emulator:\s+(http:\/\/\S+)/)
  return { origin: (origin as string).replace('localhost', '127.0.0.1'), emulatorUrl: emulatorUrl as string }
}

async function demoLogin (origin: string) {
  const res = await fetch(`${origin}/auth/b2b/passwords/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf': '1' },
    body: JSON.stringify({ organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password })
  })
  await res.arrayBuffer()
  return { status: res.status, cookies: res.headers.getSetCookie().map((c) => c.split('=')[0]) }
}

function holdPort (t: Test): Promise<number> {
  const server: Server = createServer()
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)))
}

t.test('the one line for each listen failure', async (t) => {
  const busy = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'listen' })
  t.equal(listenFailure(busy, { what: 'stytch-bff', host: '0.0.0.0', port: 3000, portVariable: 'PORT', hostVariable: 'HOST' }),
    'stytch-bff: cannot listen on 0.0.0.0:3000: the port is already in use; set PORT to a free port')
  t.equal(listenFailure(busy, { what: 'Stytch emulator', host: '127.0.0.1', port: 3001, portVariable: 'EMULATOR_PORT' }),
    'Stytch emulator: cannot listen on 127.0.0.1:3001: the port is already in use; set EMULATOR_PORT to a free port (0 picks one)')
  const denied = Object.assign(new Error('listen EACCES'), { code: 'EACCES', syscall: 'listen' })
  t.match(listenFailure(denied, { what: 'stytch-bff', host: '0.0.0.0', port: 80, portVariable: 'PORT' }), /0\.0\.0\.0:80: permission denied .*; set PORT to a free port$/)
  const noAddress = Object.assign(new Error('listen EADDRNOTAVAIL'), { code: 'EADDRNOTAVAIL', syscall: 'listen' })
  t.match(listenFailure(noAddress, { what: 'stytch-bff', host: '10.9.9.9', port: 3000, portVariable: 'PORT', hostVariable: 'HOST' }), /10\.9\.9\.9:3000: the address is not available .*; set HOST to an address of this machine$/)
  t.equal(listenFailure(new Error('something else'), { what: 'x', host: 'h', port: 1, portVariable: 'PORT' }), undefined, 'other errors are not listen failures')
})

t.test('two services side by side on different PORTs both work, each with its own emulator', async (t) => {
  const [a, b] = await Promise.all([startService(t), startService(t)])
  t.not(a.origin, b.origin, 'two different ports')
  t.not(a.emulatorUrl, b.emulatorUrl, 'two embedded emulators on different ephemeral ports')
  for (const [name, service] of [['first', a], ['second', b]] as const) {
    const login = await demoLogin(service.origin)
    t.equal(login.status, 200, `${name} service: the demo login succeeds`)
    t.ok(login.cookies.includes('stytch_session') && login.cookies.includes('stytch_session_jwt'), `${name} service: session cookies set`)
  }
})

t.test('the service and the standalone emulator side by side both work; a pinned EMULATOR_PORT that is taken is one line, exit 1', async (t) => {
  const emulator = run(t, 'src/emulator/main.ts', { EMULATOR_PORT: '0' })
  const [, url] = await emulator.waitFor(/listening on (http:\/\/\S+)/)
  const [, projectId] = await emulator.waitFor(/STYTCH_PROJECT_ID=(\S+)/)
  const [, secret] = await emulator.waitFor(/STYTCH_SECRET=(\S+)/)
  const service = await startService(t)
  t.not(service.emulatorUrl, url, 'the service did not try the standalone emulator\'s port')

  t.equal((await demoLogin(service.origin)).status, 200, 'the service logs in through its embedded emulator')
  const direct = await fetch(`${url}/v1/b2b/passwords/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from(`${projectId}:${secret}`).toString('base64') },
    body: JSON.stringify({ organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password })
  })
  t.equal(direct.status, 200, 'the standalone emulator answers a Stytch client')
  t.match(await direct.json(), { member_authenticated: true })

  const port = new URL(url as string).port
  const pinned = run(t, 'src/server.ts', { PORT: '0', EMULATOR_PORT: port })
  t.equal(await pinned.exited, 1, 'exit code 1')
  t.equal(pinned.stderr(), `stytch-bff (embedded Stytch emulator): cannot listen on 127.0.0.1:${port}: the port is already in use; set EMULATOR_PORT to a free port (0 picks one)\n`, 'one line naming the port and EMULATOR_PORT')
  t.notMatch(pinned.stdout(), /stack|EADDRINUSE/, 'no stack on stdout either')
})

t.test('a PORT that is taken: one line naming it and PORT, exit code 1, no stack', async (t) => {
  const port = await holdPort(t)
  const service = run(t, 'src/server.ts', { PORT: String(port) })
  t.equal(await service.exited, 1, 'exit code 1')
  t.equal(service.stderr(), `stytch-bff: cannot listen on 127.0.0.1:${port}: the port is already in use; set PORT to a free port\n`)
  t.notMatch(service.stdout(), /stack|EADDRINUSE/, 'no stack on stdout either')
})

t.test('the standalone emulator on a taken or malformed EMULATOR_PORT: one line, exit code 1', async (t) => {
  const port = await holdPort(t)
  const busy = run(t, 'src/emulator/main.ts', { EMULATOR_PORT: String(port) })
  const bad = run(t, 'src/emulator/main.ts', { EMULATOR_PORT: '30o1' })
  t.equal(await busy.exited, 1)
  t.equal(busy.stderr(), `Stytch emulator: cannot listen on 127.0.0.1:${port}: the port is already in use; set EMULATOR_PORT to a free port (0 picks one)\n`)
  t.equal(await bad.exited, 1)
  t.equal(bad.stderr(), 'Stytch emulator: EMULATOR_PORT must be a whole number between 0 and 65535 (got "30o1")\n')
  t.equal(busy.stdout() + bad.stdout(), '', 'nothing else printed')
})
