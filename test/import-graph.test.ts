// The layering of src/, read from the source itself: every relative import (static, dynamic,
// re-export) is resolved to the folder it lands in and checked against the rooms that folder may
// not enter. A new import across a wall fails here, naming the file and the line.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Folder (relative to src/) → folders its files must never import from. */
const WALLS: Record<string, string[]> = {
  'agent/session': ['agent/openctrol', 'broker', 'viewer-tty', 'commands', 'client'],
  'agent/openctrol': ['agent/session', 'broker', 'viewer-tty', 'commands', 'client'],
  'agent/platform': ['agent/session', 'agent/openctrol', 'broker', 'viewer-tty', 'commands', 'client'],
  'viewer-tty': ['agent', 'broker', 'commands'],
  broker: ['agent', 'viewer-tty', 'commands', 'client'],
  client: ['agent', 'broker', 'viewer-tty', 'commands'],
  protocol: ['agent', 'broker', 'viewer-tty', 'commands', 'client', 'shared'],
  // shared sits on protocol (the tunnel socket speaks its WebSocket frames); protocol never the reverse.
  shared: ['agent', 'broker', 'viewer-tty', 'commands', 'client'],
};

interface Edge {
  from: string;
  line: number;
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

/** Every relative import in src/, as src-relative paths of importer and imported. */
function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((text, index) => {
        for (const match of text.matchAll(IMPORT)) {
          const target = relative(SRC, resolve(dirname(file), match[1]!));
          edges.push({ from: relative(SRC, file), line: index + 1, to: target });
        }
      });
  }
  return edges;
}

const inside = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);

const edges = importEdges();

t.test('the scanner sees the imports it is meant to police', async (t) => {
  t.ok(edges.length > 100, `${edges.length} relative imports found in src/`);
  t.ok(
    edges.some((e) => inside(e.from, 'agent/session') && inside(e.to, 'agent/platform')),
    'session/ → platform/ is seen (so a session/ → openctrol/ import would be too)',
  );
  t.ok(
    edges.some((e) => e.from === 'commands/agent-code.ts' && e.to === 'agent/session/session-agent.js'),
    'a dynamic import() is seen',
  );
});

for (const [folder, forbidden] of Object.entries(WALLS)) {
  t.test(`src/${folder} imports nothing from ${forbidden.map((f) => `src/${f}`).join(', ')}`, async (t) => {
    const crossings = edges
      .filter((e) => inside(e.from, folder) && forbidden.some((f) => inside(e.to, f)))
      .map((e) => `src/${e.from}:${e.line} imports src/${e.to}`);
    t.same(crossings, [], crossings.length ? 'move the shared piece down a layer (agent/platform, shared or protocol)' : 'none');
  });
}
