import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, extname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// The repository stands alone: a fresh clone with nothing beside it has every file its README,
// docs, comments and messages point to. Over every tracked text file this fails on
//   - a markdown link or inline-code path (in *.md) that leaves the repository or names a file
//     that is not in it,
//   - any mention of a sibling "shared" folder, of a SPEC file or of its numbered sections,
//   - issue or ticket numbers (the rule itself belongs in the text, not a pointer to a tracker),
//   - an absolute path of a developer's machine.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const SELF = relative(ROOT, fileURLToPath(import.meta.url)).split(sep).join('/')

// Built from pieces so that this file does not trip its own check when read as text.
const UP = '\\.\\./'
const FORBIDDEN: Array<{ what: string, re: RegExp }> = [
  { what: 'a path into a sibling "shared" folder', re: new RegExp(`(${UP})+shared\\b`) },
  { what: 'a SPEC file', re: new RegExp('\\b' + 'SPEC' + '\\.md\\b') },
  { what: 'a numbered SPEC section', re: new RegExp('\\b' + 'SPEC' + '(\'s)?\\s+(sections?\\s+)?\\d') },
  { what: 'a SPEC reference', re: new RegExp('\\b(the|of|in|by|follows?)\\s+' + 'SPEC' + '\\b') },
  { what: 'an issue or ticket number', re: new RegExp('\\b(' + 'issue' + '|ticket)s?\\s*#?\\d+', 'i') },
  { what: 'an absolute path of a developer machine', re: new RegExp('(^|[\\s\'"`(=:])/(' + 'work' + '|home|Users)/[A-Za-z]') }
]

/** Lines of `text` that break a forbidden-text rule, as "line N: what". */
export function forbiddenMentions (text: string): string[] {
  const found: string[] = []
  text.split('\n').forEach((line, i) => {
    for (const { what, re } of FORBIDDEN) if (re.test(line)) found.push(`line ${i + 1}: ${what}: ${line.trim().slice(0, 120)}`)
  })
  return found
}

/**
 * Relative targets of markdown links `[x](target)`, images included, and of inline code that
 * starts with ./ or ../, in a markdown file. URLs with a scheme, mail and page anchors are left out.
 */
export function markdownTargets (text: string): string[] {
  const out: string[] = []
  const noFences = text.replace(/^```[\s\S]*?^```/gm, '')
  for (const m of noFences.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1] as string)
  for (const m of noFences.matchAll(/^\[[^\]]+\]:\s*(\S+)/gm)) out.push(m[1] as string)
  for (const m of noFences.matchAll(/`(\.{1,2}\/[^`\s]*)`/g)) out.push(m[1] as string)
  return out.filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
}

/** Why `target`, written in `file` (repository-relative), is not a file of the repository, or undefined. */
export function badTarget (root: string, file: string, target: string, exists: (abs: string) => boolean): string | undefined {
  const path = decodeURIComponent(target.replace(/[#?].*$/, ''))
  if (path === '') return undefined
  const abs = path.startsWith('/') ? join(root, path) : resolve(root, dirname(file), path)
  const rel = relative(root, abs)
  if (rel === '..' || rel.startsWith('..' + sep) || resolve(rel) === rel) return `${target} leaves the repository`
  if (!exists(abs)) return `${target} is not in the repository`
  return undefined
}

const TEXT = new Set(['.md', '.ts', '.mts', '.js', '.mjs', '.cjs', '.json', '.html', '.css', '.sh', '.yml', '.yaml', '.conf', '.example', '.txt', ''])

function trackedFiles (): string[] | string {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      .split('\0').filter((f) => f !== '')
  } catch (err) {
    return `git ls-files failed (${(err as Error).message.split('\n')[0]}): not a git checkout`
  }
}

t.test('the checks catch what they are meant to catch', async (t) => {
  const exists = (abs: string) => abs === join('/r', 'docs', 'contract.md') || abs === join('/r', 'README.md')
  t.equal(badTarget('/r', 'README.md', 'docs/contract.md#errors', exists), undefined, 'a file of the repository with an anchor')
  t.equal(badTarget('/r', 'docs/x.md', '../README.md', exists), undefined, 'up one level, still inside')
  t.match(badTarget('/r', 'README.md', '../shared/SPEC.md', exists), /leaves the repository/)
  t.match(badTarget('/r', 'docs/x.md', '../../elsewhere/a.md', exists), /leaves the repository/)
  t.match(badTarget('/r', 'README.md', 'docs/missing.md', exists), /not in the repository/)
  t.same(markdownTargets('see [a](docs/a.md) and ![img](docs/p.png "t"), [b](https://x.y/z), [c](#top), `../up/file.md`, `npm test`\n[ref]: ./r.md\n```\n[in](fence.md)\n```\n'),
    ['docs/a.md', 'docs/p.png', './r.md', '../up/file.md'])
  const up = '..' + '/'
  t.equal(forbiddenMentions(`the contract is \`${up}shared/` + 'SPEC.md`').length, 2, 'sibling folder and SPEC file')
  t.equal(forbiddenMentions('// ' + 'SPEC' + ' section 4: every answer').length, 1)
  t.equal(forbiddenMentions('follows the ' + 'SPEC' + '.').length, 1)
  t.equal(forbiddenMentions('targets of ' + 'issue' + ' 8').length, 1)
  t.equal(forbiddenMentions('see ' + 'Issue' + ' #12').length, 1)
  t.equal(forbiddenMentions("readFileSync('/" + 'work' + "/shared/x')").length, 1, 'machine path')
  t.same(forbiddenMentions('an OpenAPI spec, 12 issues, /v1/b2b/sessions, specs'), [], 'ordinary words pass')
})

const listing = trackedFiles()
t.test('tracked files link and refer only to files inside the repository', { skip: typeof listing === 'string' ? listing : false }, async (t) => {
  const files = typeof listing === 'string' ? [] : listing
  t.ok(files.includes('README.md') && files.includes('docs/contract.md'), 'the listing holds the README and the contract')
  const tracked = new Set(files)
  const exists = (abs: string) => {
    const rel = relative(ROOT, abs).split(sep).join('/')
    return tracked.has(rel) || [...tracked].some((f) => f.startsWith(rel.replace(/\/$/, '') + '/')) || existsSync(abs)
  }
  const problems: string[] = []
  let checked = 0
  for (const file of files) {
    if (file === SELF || file === 'package-lock.json') continue
    if (!TEXT.has(extname(file)) || !existsSync(join(ROOT, file))) continue
    const text = readFileSync(join(ROOT, file), 'utf8')
    if (text.includes('\0')) continue
    checked++
    for (const p of forbiddenMentions(text)) problems.push(`${file} ${p}`)
    if (file.endsWith('.md')) {
      for (const target of markdownTargets(text)) {
        const bad = badTarget(ROOT, file, target, exists)
        if (bad !== undefined) problems.push(`${file}: ${bad}`)
      }
    }
  }
  t.ok(checked > 50, `${checked} tracked text files read`)
  t.same(problems, [], 'no reference outside the repository, to a SPEC file or to an issue number')
})
