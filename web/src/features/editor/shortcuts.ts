import { modKey } from '@lib/keys';

/** SHORTCUTS lists the editor's keyboard shortcuts, as the help dialog shows them. */
export const SHORTCUTS: { keys: string[]; what: string }[] = [
  { keys: [`${modKey}+S`], what: 'Save' },
  { keys: [`${modKey}+Enter`], what: 'Run…' },
  { keys: [`${modKey}+Shift+Enter`], what: 'Test the workflow (pinned nodes use their pinned output)' },
  { keys: [`${modKey}+Z`], what: 'Undo' },
  { keys: [`${modKey}+Shift+Z`, `${modKey}+Y`], what: 'Redo' },
  { keys: [`${modKey}+C`, `${modKey}+V`], what: 'Copy / paste the selected nodes' },
  { keys: [`${modKey}+A`], what: 'Select all nodes' },
  { keys: ['D'], what: 'Duplicate the selected nodes' },
  { keys: ['Delete', 'Backspace'], what: 'Delete the selection' },
  { keys: ['A', '/'], what: 'Add a node where the pointer is' },
  { keys: ['N'], what: 'Add a sticky note (double-click it to write Markdown)' },
  { keys: [`${modKey}+F`], what: 'Find a node by title, id or type' },
  { keys: ['F2'], what: 'Rename the selected node (or double-click its title)' },
  { keys: ['Shift+F10', 'Menu key'], what: 'Open the menu of the selected node (or right-click)' },
  { keys: ['F'], what: 'Zoom to fit' },
  { keys: ['L'], what: 'Auto-layout' },
  { keys: ['Shift+drag'], what: 'Select several nodes with a box' },
  { keys: [`${modKey}+click`], what: 'Add a node to the selection' },
  { keys: ['Arrow keys'], what: 'Move the selected nodes' },
  { keys: ['Esc'], what: 'Close the panel, clear the selection' },
  { keys: ['?'], what: 'This help' },
];
