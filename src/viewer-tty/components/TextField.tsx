// A one-line text input: type, Backspace, Enter submits, Esc cancels.
import { Text, useInput } from 'ink';
import { useState } from 'react';

export interface TextFieldProps {
  label: string;
  placeholder?: string;
  onSubmit(value: string): void;
  onCancel(): void;
}

export function TextField({ label, placeholder, onSubmit, onCancel }: TextFieldProps) {
  const [value, setValue] = useState('');
  useInput((input, key) => {
    if (key.return) onSubmit(value.trim());
    else if (key.escape) onCancel();
    else if (key.backspace || key.delete) setValue((v) => v.slice(0, -1));
    else if (input && !key.ctrl && !key.meta) setValue((v) => v + input.replace(/[\r\n]/g, ''));
  });
  return (
    <Text>
      {label}: <Text color="cyan">{value}</Text>
      <Text inverse> </Text>
      {value === '' && placeholder ? <Text dimColor> {placeholder}</Text> : null}
    </Text>
  );
}
