/** ok/FAIL lines, as the scale suite prints them; any FAIL makes the run exit non-zero. */
export function check(ok: boolean, what: string, detail?: unknown): boolean {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}${!ok && detail !== undefined ? `\n         ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
  if (!ok) process.exitCode = 1;
  return ok;
}

/**
 * Runs one part of the suite; a part that throws is one FAIL line (with the reason) and the
 * parts after it still run, each against what is left.
 */
export async function part(name: string, run: () => Promise<void>): Promise<void> {
  console.log(`  -- ${name}`);
  const started = Date.now();
  try {
    await run();
  } catch (err) {
    check(false, `${name}: ${(err as Error).message.split('\n')[0]}`, (err as Error).stack?.split('\n').slice(1, 4).join(' | '));
  }
  console.log(`     (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
