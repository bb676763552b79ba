import {
  ArrowDownWideNarrow,
  ArrowLeftRight,
  Box,
  Braces,
  CalendarClock,
  CircleDot,
  CircleStop,
  Clock,
  CloudDownload,
  CloudUpload,
  CodeXml,
  CopyMinus,
  Database,
  DatabaseZap,
  FileCode,
  FileInput,
  FileOutput,
  FileText,
  FingerprintPattern,
  FolderOpen,
  Funnel,
  GitCompare,
  Globe,
  Hand,
  Hourglass,
  Layers,
  ListEnd,
  ListTree,
  Mail,
  Merge,
  OctagonX,
  Pencil,
  Play,
  Rabbit,
  Radio,
  RadioTower,
  Reply,
  Route,
  Send,
  Sheet,
  Sigma,
  Siren,
  Sparkles,
  Split,
  SquareFunction,
  TextCursorInput,
  Trash2,
  Waves,
  Waypoints,
  Webhook,
  Workflow,
  type LucideIcon,
} from 'lucide-react';

/**
 * ICONS maps the lucide icon names (kebab case) that node types use to their components. Only these
 * are imported, to keep the bundle small; a name missing here draws a box. The Go test
 * internal/nodes/builtin TestDocs fails when a built-in type uses a name that is not a key here.
 */
export const ICONS: Readonly<Record<string, LucideIcon>> = {
  'arrow-down-wide-narrow': ArrowDownWideNarrow,
  'arrow-left-right': ArrowLeftRight,
  braces: Braces,
  'calendar-clock': CalendarClock,
  'circle-dot': CircleDot,
  'circle-stop': CircleStop,
  clock: Clock,
  'cloud-download': CloudDownload,
  'cloud-upload': CloudUpload,
  'code-xml': CodeXml,
  'copy-minus': CopyMinus,
  database: Database,
  'database-zap': DatabaseZap,
  'file-code': FileCode,
  'file-input': FileInput,
  'file-output': FileOutput,
  'file-text': FileText,
  filter: Funnel,
  fingerprint: FingerprintPattern,
  'folder-open': FolderOpen,
  'git-compare': GitCompare,
  globe: Globe,
  hand: Hand,
  hourglass: Hourglass,
  layers: Layers,
  'list-end': ListEnd,
  'list-tree': ListTree,
  mail: Mail,
  merge: Merge,
  'octagon-x': OctagonX,
  pencil: Pencil,
  play: Play,
  rabbit: Rabbit,
  radio: Radio,
  'radio-tower': RadioTower,
  reply: Reply,
  route: Route,
  send: Send,
  sheet: Sheet,
  sigma: Sigma,
  siren: Siren,
  sparkles: Sparkles,
  split: Split,
  'square-function': SquareFunction,
  'text-cursor-input': TextCursorInput,
  'trash-2': Trash2,
  waves: Waves,
  waypoints: Waypoints,
  webhook: Webhook,
  workflow: Workflow,
};

/** TONES colours an icon's tile by the type's category. */
const TONES: Readonly<Record<string, string>> = {
  Code: 'bg-rose-100 text-rose-700 dark:bg-rose-950 dark:text-rose-300',
  Data: 'bg-sky-100 text-sky-700 dark:bg-sky-950 dark:text-sky-300',
  Databases: 'bg-cyan-100 text-cyan-700 dark:bg-cyan-950 dark:text-cyan-300',
  Files: 'bg-lime-100 text-lime-700 dark:bg-lime-950 dark:text-lime-300',
  Flow: 'bg-violet-100 text-violet-700 dark:bg-violet-950 dark:text-violet-300',
  HTTP: 'bg-emerald-100 text-emerald-700 dark:bg-emerald-950 dark:text-emerald-300',
  Triggers: 'bg-amber-100 text-amber-700 dark:bg-amber-950 dark:text-amber-300',
};

/** iconFor returns the component of a lucide icon name, or a box for a name that is not mapped. */
export function iconFor(name: string): LucideIcon {
  return Object.hasOwn(ICONS, name) ? ICONS[name]! : Box;
}

/** NodeIcon draws a node type's icon on a tile coloured by its category (data-icon-known says whether the name is mapped). */
export function NodeIcon({ category, icon, size = 'md' }: { category: string; icon: string; size?: 'md' | 'sm' }) {
  const Icon = iconFor(icon);
  const tone = TONES[category] ?? 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300';
  return (
    <span
      aria-hidden
      className={`inline-flex shrink-0 items-center justify-center rounded-md ${tone} ${size === 'sm' ? 'size-6' : 'size-8'}`}
      data-icon={icon}
      data-icon-known={Icon !== Box}
    >
      {/* Icon comes from the module-level ICONS map, so it is the same component on every render. */}
      {/* eslint-disable-next-line react-hooks/static-components */}
      <Icon className={size === 'sm' ? 'size-3.5' : 'size-4'} />
    </span>
  );
}
