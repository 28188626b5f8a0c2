import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BootError } from '../api';

/**
 * `parseArgs` for the zpack commands: a mistyped option (`--bogus`, `--email` without a value) is
 * one line naming it and the usage (invalid_arguments), as every other refusal of the CLI is,
 * rather than Node's TypeError and its stack.
 */
export function commandArgs<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    if (!String((err as NodeJS.ErrnoException).code ?? '').startsWith('ERR_PARSE_ARGS_')) throw err;
    throw new BootError(`${(err as Error).message}\n${usage}`, 'invalid_arguments');
  }
}
