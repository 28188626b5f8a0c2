import { BootError } from '../api';
import type { CliCommand, PluginRuntime } from '../api';

export interface PluginCommand {
  name: string;
  plugin: string;
  command: CliCommand<unknown>;
  runtime: PluginRuntime<unknown>;
}

/** `zpack <name>` commands plugins add; names are unique across plugins, roles and the kernel's own commands. */
export class CommandRegistry {
  private readonly commands = new Map<string, PluginCommand>();

  define(entry: PluginCommand): void {
    if (!/^[a-z][a-z0-9-]*$/.test(entry.name)) {
      throw new BootError(`plugin "${entry.plugin}": command name "${entry.name}" must be lower-case letters, digits and dashes`, 'invalid_command');
    }
    const prior = this.commands.get(entry.name);
    if (prior) throw new BootError(`command "${entry.name}" is defined by both "${prior.plugin}" and "${entry.plugin}"`, 'command_defined_twice');
    this.commands.set(entry.name, entry);
  }

  get(name: string): PluginCommand | undefined {
    return this.commands.get(name);
  }

  list(): PluginCommand[] {
    return [...this.commands.values()];
  }
}
