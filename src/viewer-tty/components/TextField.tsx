// A one-line text input: type, Backspace, Enter submits, Esc cancels.
// Ink hands over a paste (or a burst from a slow link) as one chunk, "Ada Lovelace\r", and several
// chunks back to back before React renders again. So the field applies each chunk character by
// character to the value it holds in a ref (the latest, not the last render's), and Enter submits
// that. What follows the Enter, in that chunk or in chunks before the next field listens, goes to
// the shared type-ahead buffer, where the next field starts.
import { Text, useInput } from 'ink';
import { useEffect, useRef, useState } from 'react';

export interface TextFieldProps {
  label: string;
  placeholder?: string;
  /** Keys typed for the next field before it listens: this field starts with them and leaves its own there. */
  typeahead?: { current: string };
  onSubmit(value: string): void;
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

export function TextField({ label, placeholder, typeahead, onSubmit, onCancel }: TextFieldProps) {
  const value = useRef('');
  const done = useRef(false);
  const [shown, setShown] = useState('');

  const apply = (typed: string) => {
    if (done.current) {
      if (typeahead) typeahead.current += typed;
      return;
    }
    const edit = applyTyped(value.current, typed);
    value.current = edit.value;
    setShown(edit.value);
    if (edit.kind === 'submit') {
      done.current = true;
      if (typeahead) typeahead.current = edit.rest;
      onSubmit(edit.value);
    }
  };

  useEffect(() => {
    // What was typed for this field before it listened, once.
    const early = typeahead?.current ?? '';
    if (typeahead) typeahead.current = '';
    if (early) apply(early);
  }, []);

  useInput((input, key) => {
    if (key.escape) {
      if (!done.current) onCancel();
      done.current = true;
    } else if (key.return) apply('\r');
    else if (key.backspace || key.delete) apply('\x7f');
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
