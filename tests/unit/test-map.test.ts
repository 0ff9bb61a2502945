// The module-to-test map (tests/README.md) names only files that exist: a module or a test renamed or removed fails
// here until the map follows.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = join(__dirname, '../..');
const rows = readFileSync(join(ROOT, 'tests/README.md'), 'utf8').split('\n').filter((l) => /^\| `[^`]+` \| `/.test(l));

describe('tests/README.md map', () => {
  test('every module and every test it names exists', () => {
    expect(rows.length).toBeGreaterThan(100);
    const missing = rows.flatMap((row) => {
      const [module, tests] = row.split(' | ');
      const paths = [module.replace(/^\| `|`$/g, ''), ...[...tests.matchAll(/`([^`]+)`/g)].map((m) => `tests/${m[1].split(' ')[0]}`)];
      // Patterns (<op>, *) stand for a family of files: their fixed folder must exist.
      return paths.map((p) => (/[<*]/.test(p) ? p.slice(0, p.lastIndexOf('/', p.search(/[<*]/)) + 1) : p)).filter((p) => !existsSync(join(ROOT, p)));
    });
    expect(missing).toEqual([]);
  });
});
