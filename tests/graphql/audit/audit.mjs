// Runs graphql-http's GraphQL-over-HTTP audit against AUDIT_URL and prints every result
// as one JSON array: [{id, name, status: "ok" | "warn" | "error", reason}].
// The gateway wants a bearer token on /graphql: AUDIT_TOKEN is added to every request.
import { auditServer } from 'graphql-http';

const url = process.env.AUDIT_URL;
const token = process.env.AUDIT_TOKEN;

function authenticated(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: authenticated });
const report = results.map(({ id, name, status, reason }) => ({
  id,
  name,
  status,
  reason: reason ?? null,
}));
process.stdout.write(JSON.stringify(report));
