// Apollo Client's persisted-query link against a running Chirp, as a web or mobile client
// uses it: hashed queries by GET, the full query sent only when the server asks for it.
// Run by tests/app/test_persisted_queries.py:
//   node web/clients/apollo-persisted.cjs http://127.0.0.1:PORT/graphql OPERATION USERNAME [TOKEN]
// (OPERATION names the query, so a test can ask with one the server has not seen yet.)
// It prints one JSON object: for each step, the requests it made and the data it got.
"use strict";

const { createHash } = require("node:crypto");
const { ApolloClient, HttpLink, InMemoryCache, gql } = require("@apollo/client/core");
const { createPersistedQueryLink } = require("@apollo/client/link/persisted-queries");

const [uri, operation, username, token] = process.argv.slice(2);

const PROFILE = gql(`
  query ${operation}($username: String!) {
    user(username: $username) {
      username
      displayName
    }
  }
`);

// A fetch that remembers what went over the wire.
function recordingFetch(requests) {
  return async (url, options) => {
    const response = await fetch(url, options);
    const body = typeof options.body === "string" ? JSON.parse(options.body) : null;
    const query = body ? body.query : new URL(url).searchParams.get("query");
    requests.push({
      method: options.method || "GET",
      sentQuery: Boolean(query),
      status: response.status,
      cacheControl: response.headers.get("cache-control"),
    });
    return response;
  };
}

function client(requests, headers) {
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");
  const persisted = createPersistedQueryLink({ sha256, useGETForHashedQueries: true });
  const http = new HttpLink({ uri, fetch: recordingFetch(requests), headers });
  return new ApolloClient({ link: persisted.concat(http), cache: new InMemoryCache() });
}

async function step(name, apollo, requests) {
  const before = requests.length;
  const result = await apollo.query({
    query: PROFILE,
    variables: { username },
    fetchPolicy: "network-only",
  });
  return { name, requests: requests.slice(before), data: result.data };
}

async function main() {
  const steps = [];
  const first = [];
  const apollo = client(first, {});
  steps.push(await step("first", apollo, first));
  steps.push(await step("again", apollo, first));
  const other = [];
  steps.push(await step("another client", client(other, {}), other));
  if (token) {
    const viewer = [];
    const headers = { Authorization: `Bearer ${token}` };
    steps.push(await step("with a token", client(viewer, headers), viewer));
  }
  process.stdout.write(JSON.stringify({ steps }));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
