import fs from 'node:fs';
import path from 'node:path';
import { ROOT_DIR, SRC_DIR } from './views.ts';

export const PUBLIC_DIR = path.join(ROOT_DIR, 'public');
const STYLESHEET = path.join(PUBLIC_DIR, 'stylesheets', 'application.css');

/** Compiles src/assets/application.scss to public/stylesheets/application.css. */
export async function buildAssets(options: { force?: boolean } = {}): Promise<string> {
  if (!options.force && fs.existsSync(STYLESHEET)) return STYLESHEET;
  const sass = await import('sass');
  const result = await sass.compileAsync(path.join(SRC_DIR, 'assets', 'application.scss'), {
    style: 'compressed',
    loadPaths: [ROOT_DIR],
    quietDeps: true,
    logger: sass.Logger.silent,
    silenceDeprecations: ['import'],
  });
  fs.mkdirSync(path.dirname(STYLESHEET), { recursive: true });
  fs.writeFileSync(STYLESHEET, result.css);
  return STYLESHEET;
}
