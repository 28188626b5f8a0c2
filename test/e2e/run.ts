import 'reflect-metadata';
import { lifecycle } from './lifecycle';
import { scale } from './scale';

/** `npm run e2e [-- <suite>…]`: the end-to-end suites, each against real processes. */
const suites: Record<string, () => Promise<void>> = { lifecycle, scale };

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const chosen = names.length ? names : Object.keys(suites);
  const unknown = chosen.filter((n) => !suites[n]);
  if (unknown.length) {
    console.error(`unknown e2e suite ${unknown.join(', ')}; known: ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
  for (const name of chosen) {
    console.log(`\n== e2e: ${name}`);
    await suites[name]();
  }
  if (process.exitCode) console.error('\ne2e: FAILED');
  else console.log('\ne2e: all passed');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
