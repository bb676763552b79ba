import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';

import { addTag, MAX_TAGS, TagsInput } from './TagsInput';

describe('addTag', () => {
  it.each([
    { name: 'adds a trimmed tag', raw: '  nightly ', tags: [], want: ['nightly'] },
    { name: 'ignores blank input', raw: '   ', tags: ['a'], want: ['a'] },
    { error: /already a tag/, name: 'refuses a duplicate ignoring case', raw: 'FINANCE', tags: ['finance'], want: ['finance'] },
    { error: /1 to 32/, name: 'refuses a quote', raw: 'a"b', tags: [], want: [] },
    { error: /1 to 32/, name: 'refuses a leading dash', raw: '-x', tags: [], want: [] },
    { name: 'accepts unicode letters', raw: 'Ünïcode v1.2', tags: [], want: ['Ünïcode v1.2'] },
    {
      error: /at most 20/,
      name: 'refuses a 21st tag',
      raw: 'one more',
      tags: Array.from({ length: MAX_TAGS }, (_, i) => `t${i}`),
      want: Array.from({ length: MAX_TAGS }, (_, i) => `t${i}`),
    },
  ])('$name', ({ error, raw, tags, want }) => {
    const got = addTag(tags, raw);
    expect(got.tags).toEqual(want);
    if (error) expect(got.error).toMatch(error);
    else expect(got.error).toBeUndefined();
  });
});

function Harness({ initial }: { initial: string[] }) {
  const [tags, setTags] = useState(initial);
  return (
    <>
      <label htmlFor="t">Tags</label>
      <TagsInput id="t" onChange={setTags} tags={tags} />
      <output data-testid="value">{tags.join('|')}</output>
    </>
  );
}

describe('TagsInput', () => {
  it('adds on Enter and comma, removes by button and Backspace, and explains a refusal', async () => {
    const user = userEvent.setup();
    render(<Harness initial={['ops']} />);
    const input = screen.getByLabelText('Tags');
    await user.type(input, 'finance{Enter}nightly,');
    expect(screen.getByTestId('value')).toHaveTextContent('ops|finance|nightly');
    await user.click(screen.getByRole('button', { name: 'Remove tag finance' }));
    expect(screen.getByTestId('value')).toHaveTextContent('ops|nightly');
    await user.type(input, '{Backspace}');
    expect(screen.getByTestId('value')).toHaveTextContent(/^ops$/);
    await user.type(input, 'OPS{Enter}');
    expect(screen.getByRole('alert')).toHaveTextContent('already a tag');
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByTestId('value')).toHaveTextContent(/^ops$/);
  });
});
