// The trusted-documents manifest of the web client at `/`: every document in
// app/web/operations.js, in Apollo's persisted-query manifest format, ids being the SHA-256
// of the exact text the client sends. `make web-documents` writes it to
// app/web/documents.json (checked in; a test fails when it is stale), and the server trusts
// these documents whenever CHIRP_TRUSTED_DOCUMENTS is set (app/persisted.py).
//
//   node web/documents.mjs > app/web/documents.json

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

const source = await readFile(new URL("../app/web/operations.js", import.meta.url), "utf8");
// The client's module as the browser loads it (it has no imports), without copying it.
const operations = await import(`data:text/javascript,${encodeURIComponent(source)}`);

const entries = Object.entries(operations)
  .filter(([, body]) => typeof body === "string")
  .map(([exported, body]) => {
    const [, type, name] = body.match(/\b(query|mutation|subscription)\s+(\w+)/) ?? [];
    if (!name) throw new Error(`${exported}: a document needs a named operation`);
    return { id: createHash("sha256").update(body).digest("hex"), name, type, body };
  })
  .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

const manifest = { format: "apollo-persisted-query-manifest", version: 1, operations: entries };
process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
