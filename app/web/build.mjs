// Builds the parents' page into OUTDIR: the scripts bundled and minified
// with esbuild, assets named by their content's hash (cached for a year),
// index.html and sw.js under fixed names (revalidated), and a gzip copy of
// each file that the relay serves to browsers that accept it.
//   node app/web/build.mjs OUTDIR
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) { console.error('usage: node build.mjs OUTDIR'); process.exit(2); }
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const hash = (b) => createHash('sha256').update(b).digest('hex').slice(0, 12);
const common = { bundle: true, minify: true, write: false, target: ['chrome100', 'firefox110', 'safari16'],
                 legalComments: 'none', logLevel: 'error' };
const files = {};
function emit(name, bytes) {
  files[name] = bytes;
  writeFileSync(join(out, name), bytes);
  writeFileSync(join(out, name + '.gz'), gzipSync(bytes, { level: 9 }));
}

const app = (await build({ ...common, entryPoints: [join(here, 'src/app.js')], format: 'esm' })).outputFiles[0].contents;
const appName = `assets/app.${hash(app)}.js`;
emit(appName, app);
const css = readFileSync(join(here, 'src/style.css'));
const cssName = `assets/style.${hash(css)}.css`;
emit(cssName, css);
const html = Buffer.from(readFileSync(join(here, 'src/index.html'), 'utf8')
  .replace('APP_JS', appName.slice(7)).replace('STYLE_CSS', cssName.slice(7)));
emit('index.html', html);
emit('manifest.webmanifest', readFileSync(join(here, 'src/manifest.webmanifest')));

const assets = ['/', '/' + appName, '/' + cssName, '/manifest.webmanifest'];
const version = hash(Buffer.concat([app, css, html]));
const sw = (await build({ ...common, entryPoints: [join(here, 'src/sw.js')], format: 'iife',
  banner: { js: `self.JIASHU_BUILD=${JSON.stringify(version)};self.JIASHU_ASSETS=${JSON.stringify(assets)};` } }))
  .outputFiles[0].contents;
emit('sw.js', sw);

let total = 0;
for (const [name, bytes] of Object.entries(files)) total += gzipSync(bytes, { level: 9 }).length;
writeFileSync(join(out, 'files.txt'), Object.keys(files).join('\n') + '\n');
console.log(`web: ${Object.keys(files).length} files, ${total} bytes compressed`);
