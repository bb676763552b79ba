import clsx from 'clsx';
import { Puzzle } from 'lucide-react';

import type { NodeTypePluginFromAPI } from '@services/nodeTypes';

const KINDS = { process: 'a process', wasm: 'WebAssembly' } as const;

/** pluginTitle says where a node type comes from: "From plugin hello-wasm@1.0.0 (WebAssembly)". */
export function pluginTitle(plugin: NodeTypePluginFromAPI): string {
  return `From plugin ${plugin.name}@${plugin.version} (${KINDS[plugin.kind] ?? plugin.kind})`;
}

/** PluginBadge marks a node type that a plugin adds; its title names the plugin and version. */
export function PluginBadge({ className, plugin }: { className?: string; plugin: NodeTypePluginFromAPI }) {
  const title = pluginTitle(plugin);
  return (
    <span
      className={clsx(
        'inline-flex shrink-0 items-center gap-0.5 rounded px-1 text-[10px] leading-4 font-semibold tracking-wide text-violet-700 uppercase ring-1 ring-violet-200 ring-inset dark:text-violet-300 dark:ring-violet-800',
        className,
      )}
      data-plugin={`${plugin.name}@${plugin.version}`}
      data-testid="plugin-badge"
      title={title}
    >
      <Puzzle aria-hidden className="size-2.5" />
      Plugin
      <span className="sr-only">{` ${plugin.name}@${plugin.version}`}</span>
    </span>
  );
}
