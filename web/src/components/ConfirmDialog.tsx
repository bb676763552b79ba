import type { ReactNode } from 'react';

import { Button } from './Button';
import { Dialog } from './Dialog';

/** ConfirmDialogProps describe a yes/no question. */
export interface ConfirmDialogProps {
  busy?: boolean;
  cancelLabel?: string;
  children?: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onCancel: () => void;
  onConfirm: () => void;
  open: boolean;
  title: string;
}

/** ConfirmDialog asks the user to confirm an action. */
export function ConfirmDialog({ busy, cancelLabel = 'Cancel', children, confirmLabel, danger, onCancel, onConfirm, open, title }: ConfirmDialogProps) {
  return (
    <Dialog
      footer={
        <>
          <Button onClick={onCancel}>{cancelLabel}</Button>
          <Button autoFocus disabled={busy} onClick={onConfirm} variant={danger ? 'danger' : 'primary'}>
            {confirmLabel}
          </Button>
        </>
      }
      onClose={onCancel}
      open={open}
      title={title}
    >
      <div className="text-sm text-zinc-600 dark:text-zinc-300">{children}</div>
    </Dialog>
  );
}
