import { Cloud, Database, DatabaseZap, KeyRound, Layers, Mail, Rabbit, Radio, Send, Sparkles, type LucideIcon } from 'lucide-react';

import { iconFor } from './NodeIcon';

/**
 * CREDENTIAL_ICONS maps the lucide icon names credential types use (internal/credential/types.go) to
 * their components; any other name is looked up among the node types' icons, then drawn as a box.
 */
export const CREDENTIAL_ICONS: Readonly<Record<string, LucideIcon>> = {
  cloud: Cloud,
  database: Database,
  'database-zap': DatabaseZap,
  'key-round': KeyRound,
  layers: Layers,
  mail: Mail,
  rabbit: Rabbit,
  radio: Radio,
  send: Send,
  sparkles: Sparkles,
};

/** CredentialTypeIcon draws a credential type's icon on a tile. */
export function CredentialTypeIcon({ icon, size = 'md' }: { icon: string | undefined; size?: 'md' | 'sm' }) {
  const name = icon ?? '';
  const Icon = Object.hasOwn(CREDENTIAL_ICONS, name) ? CREDENTIAL_ICONS[name]! : name ? iconFor(name) : KeyRound;
  return (
    <span
      aria-hidden
      className={`inline-flex shrink-0 items-center justify-center rounded-md bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-300 ${size === 'sm' ? 'size-6' : 'size-8'}`}
      data-icon={name}
    >
      {/* Icon comes from a module-level map, so it is the same component on every render. */}
      {/* eslint-disable-next-line react-hooks/static-components */}
      <Icon className={size === 'sm' ? 'size-3.5' : 'size-4'} />
    </span>
  );
}
