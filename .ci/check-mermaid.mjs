// Parses each file named on the command line with Mermaid's own parser (mermaid.parse),
// the check GitHub's renderer would make first. Mermaid expects a browser; jsdom gives it
// the window and document it touches while loading, so no browser is downloaded.
// Run by .ci/check-mermaid from the directory it installed mermaid and jsdom into.
import { readFile } from 'node:fs/promises';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!DOCTYPE html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

let passed = 0;
const failed = [];
for (const file of process.argv.slice(2)) {
  const text = await readFile(file, 'utf8');
  try {
    const result = await mermaid.parse(text);
    // The files are amlfw's flowcharts; any other diagram type is a bug too.
    if (!result || !String(result.diagramType).startsWith('flowchart')) {
      throw new Error(`expected a flowchart, got ${result && result.diagramType}`);
    }
    passed += 1;
  } catch (error) {
    failed.push(file);
    const message = String((error && error.message) || error).split('\n').slice(0, 6).join('\n    ');
    console.log(`FAIL ${file}\n    ${message}`);
  }
}
const version = JSON.parse(await readFile(new URL('./node_modules/mermaid/package.json', import.meta.url), 'utf8')).version;
console.log(`mermaid ${version}: ${passed} passed, ${failed.length} failed`);
process.exit(failed.length === 0 && passed > 0 ? 0 : 1);
