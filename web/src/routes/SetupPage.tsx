import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';

import { Button } from '@components/Button';
import { Field, FormError } from '@components/Field';
import { AuthFrame } from '@features/auth/AuthFrame';
import { errorMessage, fieldErrors, isApiError } from '@services/http';
import { setupFirstRun } from '@services/identity';
import { useDocumentTitle } from '@hooks/use-document-title';

/**
 * SetupPage is the first run: while the server has no user it creates the owner account and names
 * the first workspace, then signs the owner in. The server's reasons (a weak password) show on the
 * field they are about.
 */
export function SetupPage() {
  useDocumentTitle('Set up');
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ email: '', name: '', password: '', workspace: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<React.ReactNode>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => {
    setForm((f) => ({ ...f, [k]: e.target.value }));
    if (errors[k]) setErrors(({ [k]: _, ...rest }) => rest);
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    setErrors({});
    setBusy(true);
    try {
      await setupFirstRun({ email: form.email.trim(), name: form.name, password: form.password, workspace: form.workspace });
      queryClient.clear();
      navigate('/workflows', { replace: true });
    } catch (err) {
      setBusy(false);
      if (isApiError(err, 409)) {
        setError(
          <>
            This server is already set up.{' '}
            <Link className="font-medium underline" to="/login">
              Sign in
            </Link>
          </>,
        );
        return;
      }
      const byField = isApiError(err) ? fieldErrors(err.problem) : {};
      setErrors(byField);
      const known = ['email', 'name', 'password', 'workspace'];
      if (!Object.keys(byField).some((k) => known.includes(k))) setError(errorMessage(err));
    }
  };

  return (
    <AuthFrame subtitle="Create the owner account and your first workspace." title="Welcome to ConcertMaster">
      <form className="space-y-4" data-page="setup" noValidate onSubmit={submit}>
        <FormError>{error}</FormError>
        <Field autoComplete="name" autoFocus error={errors.name} label="Your name" name="name" onChange={set('name')} value={form.name} />
        <Field autoComplete="username" error={errors.email} label="E-mail" name="email" onChange={set('email')} required type="email" value={form.email} />
        <Field
          autoComplete="new-password"
          error={errors.password}
          hint="At least 10 characters; a phrase of several words is strong and easy to remember."
          label="Password"
          name="password"
          onChange={set('password')}
          required
          type="password"
          value={form.password}
        />
        <Field error={errors.workspace} label="Workspace name" name="workspace" onChange={set('workspace')} placeholder="My workspace" value={form.workspace} />
        <Button className="w-full" disabled={busy || !form.email.trim() || !form.password} type="submit" variant="primary">
          {busy ? 'Setting up…' : 'Create the owner account'}
        </Button>
      </form>
    </AuthFrame>
  );
}
