import clsx from 'clsx';
import { Search } from 'lucide-react';

/** SearchInputProps: label is the box's accessible name (it has no visible label); onChange gets the text. */
export interface SearchInputProps {
  /** className is the wrapper's: its width and margins. */
  className?: string;
  disabled?: boolean;
  label: string;
  onChange: (value: string) => void;
  placeholder: string;
  value: string;
}

/** SearchInput is a search box with a magnifier in it, as the lists and pickers filter with. */
export function SearchInput({ className, disabled, label, onChange, placeholder, value }: SearchInputProps) {
  return (
    <div className={clsx('relative', className)}>
      <Search aria-hidden className="pointer-events-none absolute top-2.5 left-2.5 size-4 text-zinc-400" />
      <input
        aria-label={label}
        className="cm-input pl-8"
        disabled={disabled}
        onChange={(e) => onChange(e.target.value)}
        placeholder={placeholder}
        type="search"
        value={value}
      />
    </div>
  );
}
