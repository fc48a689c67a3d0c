import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// The module graph runs one way: routes/ and plugins/ use src/, and nothing in src/ imports from
// them except the app assembly (src/app.ts). Every plugin names itself and the plugins it needs,
// so fastify-plugin refuses a wrong registration order at start-up.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const ASSEMBLY = 'src/app.ts'

function sources (dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)).split(sep).join('/'))
}

/** Repository-relative files a source file imports (static and dynamic imports, re-exports). */
function importsOf (file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const found: string[] = []
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const target = resolve(ROOT, dirname(file), m[1] as string)
    found.push(relative(ROOT, target).split(sep).join('/'))
  }
  return found
}

t.test('nothing in src/ imports from routes/ or plugins/ except the app assembly', async (t) => {
  const files = sources('src')
  t.ok(files.length > 20, `src/ has its sources (${files.length})`)
  const backwards = files
    .filter((f) => f !== ASSEMBLY)
    .flatMap((f) => importsOf(f).filter((i) => /^(routes|plugins)\//.test(i)).map((i) => `${f} -> ${i}`))
  t.same(backwards, [], 'no import from src/ into routes/ or plugins/')
  t.ok(importsOf(ASSEMBLY).some((i) => i.startsWith('routes/')), 'the assembly is where routes are imported (the check sees imports)')
})

t.test('plugins do not import routes', async (t) => {
  const found = sources('plugins').flatMap((f) => importsOf(f).filter((i) => i.startsWith('routes/')).map((i) => `${f} -> ${i}`))
  t.same(found, [])
})

t.test('every plugin declares its name and its dependencies, and they exist', async (t) => {
  const plugins: Array<{ file: string, name: string, dependencies: string[], readsConfig: boolean }> = []
  for (const file of sources('plugins')) {
    const mod = await import(join(ROOT, file)) as { default: Record<symbol, unknown> }
    const meta = mod.default[Symbol.for('plugin-meta')] as { name?: string, dependencies?: string[] } | undefined
    t.ok(meta?.name, `${file} is a named fastify-plugin`)
    t.ok(Array.isArray(meta?.dependencies), `${file} declares its dependencies`)
    const text = readFileSync(join(ROOT, file), 'utf8')
    plugins.push({ file, name: meta?.name ?? '', dependencies: meta?.dependencies ?? [], readsConfig: /\bapp\.config\b|\{[^}]*\bconfig\b[^}]*\}\s*=\s*app\b/.test(text) })
  }
  const names = new Set(plugins.map((p) => p.name))
  t.ok(names.has('config'), 'a config plugin exists')
  for (const { file, name, dependencies, readsConfig } of plugins) {
    for (const dep of dependencies) t.ok(names.has(dep), `${name} depends on ${dep}, a plugin of plugins/`)
    if (readsConfig && name !== 'config') t.ok(dependencies.includes('config'), `${file} reads app.config and depends on config`)
  }
})
