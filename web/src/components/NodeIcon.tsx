import {
  Box,
  Clock,
  Funnel,
  Globe,
  Hourglass,
  Merge,
  OctagonX,
  Pencil,
  Play,
  Split,
  SquareFunction,
  Route,
  Webhook,
  type LucideIcon,
} from 'lucide-react';

const ICONS: Record<string, LucideIcon> = {
  clock: Clock,
  filter: Funnel,
  function: SquareFunction,
  globe: Globe,
  hourglass: Hourglass,
  merge: Merge,
  pencil: Pencil,
  play: Play,
  split: Split,
  switch: Route,
  webhook: Webhook,
  'x-octagon': OctagonX,
};

const TONES: Record<string, string> = {
  Data: 'bg-sky-100 text-sky-700 dark:bg-sky-950 dark:text-sky-300',
  Flow: 'bg-violet-100 text-violet-700 dark:bg-violet-950 dark:text-violet-300',
  Network: 'bg-emerald-100 text-emerald-700 dark:bg-emerald-950 dark:text-emerald-300',
  Triggers: 'bg-amber-100 text-amber-700 dark:bg-amber-950 dark:text-amber-300',
};

/** NodeIcon draws a node type's icon on a tile coloured by its category. */
export function NodeIcon({ category, icon, size = 'md' }: { category: string; icon: string; size?: 'md' | 'sm' }) {
  const Icon = ICONS[icon] ?? Box;
  const tone = TONES[category] ?? 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300';
  return (
    <span aria-hidden className={`inline-flex shrink-0 items-center justify-center rounded-md ${tone} ${size === 'sm' ? 'size-6' : 'size-8'}`}>
      <Icon className={size === 'sm' ? 'size-3.5' : 'size-4'} />
    </span>
  );
}
