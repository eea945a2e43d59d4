/**
 * Reads the server's CPU profile from `npm run bench -- --only=load --profile` page by page:
 * for each page loaded (at each number of connections), where its CPU time went, by package or
 * source folder, and the functions with the most time of their own and in total.
 *
 *   node bench/profile-summary.ts [bench/results/latest-only-load.json] [--top=20] [--only=tracker,audit]
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LoadBenchResult, ProfileWindow } from './load.bench.ts';

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type CpuProfile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };

const args = process.argv.slice(2);
const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const resultsPath = args.find((arg) => !arg.startsWith('--')) ?? 'bench/results/latest-only-load.json';
const top = Number(option('top') ?? 20);
const only = option('only')?.split(',');

const results = JSON.parse(fs.readFileSync(resultsPath, 'utf8')) as { load?: LoadBenchResult };
const load = results.load;
if (!load?.profile || !load.profileWindows) throw new Error(`${resultsPath} has no profile: run the load benchmark with --profile`);
const profile = JSON.parse(fs.readFileSync(load.profile, 'utf8')) as CpuProfile;

const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parents = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);

/** Where a frame's code lives: a package, a folder of the app, Node itself, or V8's own bookkeeping. */
function placeOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const packageAt = url.lastIndexOf('node_modules/');
  if (packageAt >= 0) {
    const parts = url.slice(packageAt + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const srcAt = url.indexOf('/src/');
  if (srcAt >= 0) return path.dirname(url.slice(srcAt + 1));
  return url;
}

const frameKey = (frame: CallFrame) => `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${frame.lineNumber + 1}`;

function summarise(window: ProfileWindow) {
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const places = new Map<string, number>();
  let busy = 0;
  let time = profile.startTime;
  profile.samples.forEach((sample, index) => {
    time += profile.timeDeltas[index]!;
    if (time < window.startUs || time > window.endUs) return;
    const delta = profile.timeDeltas[index + 1] ?? 0;
    const node = nodes.get(sample)!;
    if (node.callFrame.functionName === '(idle)') return;
    busy += delta;
    self.set(frameKey(node.callFrame), (self.get(frameKey(node.callFrame)) ?? 0) + delta);
    places.set(placeOf(node.callFrame), (places.get(placeOf(node.callFrame)) ?? 0) + delta);
    const seen = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parents.get(id)) {
      const key = frameKey(nodes.get(id)!.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + delta);
    }
  });
  return { busy, self, total, places };
}

const ms = (us: number) => `${(us / 1000).toFixed(0)} ms`;
const share = (us: number, of: number) => `${((100 * us) / Math.max(1, of)).toFixed(1)}%`;
const ranked = (map: Map<string, number>, count: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, count);

for (const window of load.profileWindows) {
  if (only && !only.includes(window.key)) continue;
  const { busy, self, total, places } = summarise(window);
  const wall = window.endUs - window.startUs;
  console.log(`\n## ${window.key} at ${window.connections} connections: ${ms(busy)} of CPU in ${ms(wall)}`);
  console.log('\nby place:');
  for (const [place, us] of ranked(places, 15)) console.log(`  ${share(us, busy).padStart(6)}  ${place}`);
  console.log('\nself time:');
  for (const [key, us] of ranked(self, top)) console.log(`  ${share(us, busy).padStart(6)}  ${key}`);
  console.log('\ntotal time (app code):');
  const appTotals = new Map([...total].filter(([key]) => key.includes(' src/')));
  for (const [key, us] of ranked(appTotals, top)) console.log(`  ${share(us, busy).padStart(6)}  ${key}`);
}
