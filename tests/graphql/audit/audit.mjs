// Runs graphql-http's GraphQL-over-HTTP audit against AUDIT_URL and prints one JSON object:
// {results: [{id, name, status: "ok" | "warn" | "error", reason}], serverErrors: [...]},
// the latter every 5xx answer with its body, so that a failed verdict says why.
// The gateway wants a bearer token on /graphql: AUDIT_TOKEN is added to every request.
// The audits are those of auditServer, run one after the other rather than all at once,
// so that a busy machine's connection pool cannot turn a verdict into a 503.
import { serverAudits } from 'graphql-http';

const url = process.env.AUDIT_URL;
const token = process.env.AUDIT_TOKEN;

const serverErrors = [];

async function authenticated(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  const response = await fetch(input, { ...init, headers });
  if (response.status >= 500) {
    serverErrors.push({ status: response.status, body: await response.clone().text() });
  }
  return response;
}

const results = [];
for (const { fn } of serverAudits({ url, fetchFn: authenticated })) {
  results.push(await fn());
}
const report = results.map(({ id, name, status, reason }) => ({
  id,
  name,
  status,
  reason: reason ?? null,
}));
process.stdout.write(JSON.stringify({ results: report, serverErrors }));
