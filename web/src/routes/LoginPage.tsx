import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';

import { Button } from '@components/Button';
import { Field, FormError } from '@components/Field';
import { AuthFrame } from '@features/auth/AuthFrame';
import { loginError, safeNext } from '@features/auth/messages';
import { login } from '@services/identity';
import { useDocumentTitle } from '@hooks/use-document-title';

/** LoginPage signs a user in and returns them to the page they wanted (?next=). */
export function LoginPage() {
  useDocumentTitle('Sign in');
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await login(email.trim(), password);
      queryClient.clear();
      navigate(next, { replace: true });
    } catch (err) {
      setError(loginError(err));
      setBusy(false);
    }
  };

  return (
    <AuthFrame subtitle={params.get('reason') === 'expired' ? 'Your session ended: sign in again to continue.' : undefined} title="Sign in to ConcertMaster">
      <form className="space-y-4" data-page="login" noValidate onSubmit={submit}>
        <FormError>{error}</FormError>
        <Field autoComplete="username" autoFocus label="E-mail" name="email" onChange={(e) => setEmail(e.target.value)} required type="email" value={email} />
        <Field
          autoComplete="current-password"
          label="Password"
          name="password"
          onChange={(e) => setPassword(e.target.value)}
          required
          type="password"
          value={password}
        />
        <Button className="w-full" disabled={busy || !email.trim() || !password} type="submit" variant="primary">
          {busy ? 'Signing in…' : 'Sign in'}
        </Button>
      </form>
    </AuthFrame>
  );
}
