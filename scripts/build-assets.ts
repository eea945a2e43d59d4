// Builds the stylesheet from GOV.UK Frontend and MOJ Frontend sources with the council's
// own font and colour. Runs after `npm install` and, if the file is missing, at start.
import { buildAssets } from '../src/platform/assets.ts';

const file = await buildAssets({ force: true });
console.log(`built ${file}`);
