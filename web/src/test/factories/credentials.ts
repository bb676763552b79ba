import type { CredentialFromAPI, CredentialTypeFromAPI } from '@services/credentials';

/** credentialTypesFactory are credential types shaped like the server's (internal/credential/types.go). */
export function credentialTypesFactory(): CredentialTypeFromAPI[] {
  return [
    {
      description: 'Sends Authorization: Bearer <token> with HTTP requests.',
      icon: 'key-round',
      name: 'httpBearer',
      schema: {
        additionalProperties: false,
        properties: { token: { format: 'password', maxLength: 16384, title: 'Token', type: 'string', writeOnly: true } },
        required: ['token'],
        type: 'object',
      },
      title: 'HTTP bearer token',
    },
    {
      description: 'A PostgreSQL server: a connection URL, or host, port, database, user and password.',
      icon: 'database',
      name: 'postgres',
      schema: {
        additionalProperties: false,
        anyOf: [{ required: ['host', 'user'] }],
        properties: {
          host: { examples: ['db.example.com'], title: 'Host', type: 'string' },
          port: { default: 5432, maximum: 65535, minimum: 1, title: 'Port', type: 'integer' },
          database: { title: 'Database', type: 'string' },
          user: { title: 'User', type: 'string' },
          password: { format: 'password', title: 'Password', type: 'string', writeOnly: true },
          sslmode: { default: 'prefer', enum: ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'], title: 'SSL mode', type: 'string' },
          tls: { default: false, title: 'Use TLS', type: 'boolean' },
        },
        type: 'object',
      },
      title: 'PostgreSQL',
    },
    {
      description: 'A MySQL or MariaDB server.',
      icon: 'database',
      name: 'mysql',
      schema: { properties: { host: { title: 'Host', type: 'string' }, password: { title: 'Password', type: 'string', writeOnly: true } }, type: 'object' },
      title: 'MySQL / MariaDB',
    },
  ];
}

/** credentialFactory builds a stored credential as the API lists it (secrets as "[stored]"). */
export function credentialFactory(overrides: Partial<CredentialFromAPI> & Pick<CredentialFromAPI, 'id' | 'name' | 'type'>): CredentialFromAPI {
  return { createdAt: '2026-01-01T00:00:00Z', data: {}, updatedAt: '2026-01-02T00:00:00Z', ...overrides };
}
