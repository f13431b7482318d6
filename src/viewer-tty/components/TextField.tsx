// A one-line text input: type, Backspace, Enter submits, Esc cancels.
// Ink hands over a paste (or a burst from a slow link) as one chunk, "Ada Lovelace\r", and several
// chunks back to back before React renders again. So the field applies each chunk character by
// character to the value it holds in a ref (the latest, not the last render's), and Enter submits
// that; what follows the Enter in the chunk goes to the caller (the next field's first keys).
import { Text, useInput } from 'ink';
import { useEffect, useRef, useState } from 'react';

export interface TextFieldProps {
  label: string;
  placeholder?: string;
  /** Keys typed before the field appeared (the rest of the chunk that submitted the field before). */
  initial?: string;
  onSubmit(value: string, rest: string): void;
  onCancel(): void;
}

export type FieldEdit = { kind: 'edit'; value: string } | { kind: 'submit'; value: string; rest: string };

/** Applies typed text (any number of characters, Enter and Backspace among them) to `value`. */
export function applyTyped(value: string, typed: string): FieldEdit {
  const chars = [...typed];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '\r' || ch === '\n') return { kind: 'submit', value: value.trim(), rest: chars.slice(i + 1).join('') };
    if (ch === '\x7f' || ch === '\b') value = [...value].slice(0, -1).join('');
    else if (ch >= ' ') value += ch;
  }
  return { kind: 'edit', value };
}

export function TextField({ label, placeholder, initial = '', onSubmit, onCancel }: TextFieldProps) {
  const value = useRef('');
  const done = useRef(false);
  const [shown, setShown] = useState('');

  const apply = (typed: string) => {
    if (done.current) return;
    const edit = applyTyped(value.current, typed);
    value.current = edit.value;
    setShown(edit.value);
    if (edit.kind === 'submit') {
      done.current = true;
      onSubmit(edit.value, edit.rest);
    }
  };

  useEffect(() => {
    if (initial) apply(initial);
    // Only what was typed before the field appeared, once.
  }, []);

  useInput((input, key) => {
    if (done.current) return;
    if (key.return) apply('\r');
    else if (key.escape) {
      done.current = true;
      onCancel();
    } else if (key.backspace || key.delete) apply('\x7f');
    else if (input && !key.ctrl && !key.meta) apply(input);
  });
  return (
    <Text>
      {label}: <Text color="cyan">{shown}</Text>
      <Text inverse> </Text>
      {shown === '' && placeholder ? <Text dimColor> {placeholder}</Text> : null}
    </Text>
  );
}
