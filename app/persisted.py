"""Persisted queries: a client sends a document's SHA-256 instead of the document.

Automatic persisted queries (Apollo's protocol): a request carries
`extensions.persistedQuery = {"version": 1, "sha256Hash": H}`. Without `query`, the document
registered under H runs; an unknown H is answered with PERSISTED_QUERY_NOT_FOUND, and the
client retries with the query and the hash, which registers it. Documents are kept in the
cache port (Redis on the engines, shared by every process; the in-process LRU on the embedded
default) for `ttl_s`, with a small copy in the process: a hash names its document for good.

Trusted documents (CHIRP_TRUSTED_DOCUMENTS=manifest.json, or several paths separated by
commas): only the manifests' documents run, whether named by hash or sent in full; anything
else is refused with DOCUMENT_NOT_TRUSTED, and nothing is registered. The documents of the
web client the server itself serves at `/` (app/web/documents.json) are trusted with them."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.memory import TTLCache
from storage.ports import Cache

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_TRUSTED = "DOCUMENT_NOT_TRUSTED"
BAD_REQUEST = "BAD_REQUEST"
KEY_PREFIX = "pq:"  # pq:{sha256} -> the document (UTF-8)
LOCAL_DOCUMENTS = 1_024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MANIFEST_FORMAT = "apollo-persisted-query-manifest"
# Every document of the web client at `/` (app/web/operations.js), written by
# `make web-documents` (web/documents.mjs); a test fails when it is stale.
WEB_CLIENT_DOCUMENTS = Path(__file__).resolve().parent / "web" / "documents.json"


class DocumentRefused(Exception):
    """The request names no document Chirp will run. Answered before anything executes:
    HTTP `status`, a GraphQL error with `code`."""

    def __init__(self, message: str, code: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class ManifestError(ValueError):
    """CHIRP_TRUSTED_DOCUMENTS names a file that is not a usable manifest."""


def sha256_of(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """The trusted documents, by the SHA-256 of their text."""

    documents: Mapping[str, str]

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        """Apollo's persisted-query manifest (`{"format": "apollo-persisted-query-manifest",
        "operations": [{"id", "body", ...}]}`) or a plain `{"<sha256>": "<document>"}` map
        (graphql-codegen's and Relay's persisted documents). Every id must be its body's
        SHA-256: a manifest that says otherwise is refused rather than half trusted."""
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ManifestError(f"cannot read the trusted documents {path}: {error}") from None
        pairs = _manifest_pairs(raw, path)
        documents: dict[str, str] = {}
        for key, body in pairs:
            digest = sha256_of(body)
            if key.lower() != digest:
                raise ManifestError(
                    f"{path}: the document listed as {key} has the SHA-256 {digest}; "
                    "ids must be the SHA-256 of the document's text"
                )
            documents[digest] = body
        if not documents:
            raise ManifestError(f"{path} lists no documents")
        return cls(documents)


def trusted_manifest(paths: str) -> Manifest | None:
    """CHIRP_TRUSTED_DOCUMENTS: a manifest's path, or several separated by commas (a web
    app's, a mobile app's), with the web client's own documents; None when it is empty.
    Raises ManifestError naming the first file that cannot be used."""
    if not paths.strip():
        return None
    named: list[str | Path] = [path.strip() for path in paths.split(",") if path.strip()]
    if not named:  # "," from two unset variables: refused, never read as "trust anything"
        raise ManifestError(f"{paths!r} names no manifest (leave it empty to trust any document)")
    documents: dict[str, str] = {}
    for path in [*named, WEB_CLIENT_DOCUMENTS]:
        documents.update(Manifest.load(path).documents)
    return Manifest(documents)


def _manifest_pairs(raw: Any, path: str | Path) -> list[tuple[str, str]]:
    if isinstance(raw, dict) and raw.get("format") == _MANIFEST_FORMAT:
        operations = raw.get("operations")
        if not isinstance(operations, list) or not all(
            isinstance(op, dict)
            and isinstance(op.get("id"), str)
            and isinstance(op.get("body"), str)
            for op in operations
        ):
            raise ManifestError(f"{path}: `operations` must be a list of {{id, body}} objects")
        return [(op["id"], op["body"]) for op in operations]
    if isinstance(raw, dict) and all(
        isinstance(key, str) and isinstance(value, str) for key, value in raw.items()
    ):
        return list(raw.items())
    raise ManifestError(
        f"{path}: expected Apollo's persisted-query manifest or a {{sha256: document}} map"
    )


class PersistedDocuments:
    def __init__(self, cache: Cache, ttl_s: float, manifest: Manifest | None = None) -> None:
        self._cache = cache
        self._ttl_s = ttl_s
        self._manifest = manifest
        self._local: TTLCache[str, str] = TTLCache(max_entries=LOCAL_DOCUMENTS)

    @property
    def trusted_only(self) -> bool:
        return self._manifest is not None

    async def document(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The document a request runs: its own `query`, or the one its hash names. Raises
        DocumentRefused. None only when the request has neither (strawberry says so)."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if self._manifest is not None and query is not None:
                self._trusted(sha256_of(query))
            return query
        digest = _requested_hash(persisted)
        if query is not None and sha256_of(query) != digest:
            raise DocumentRefused(
                "The query's SHA-256 is not extensions.persistedQuery.sha256Hash.", HASH_MISMATCH
            )
        if self._manifest is not None:
            return self._trusted(digest)
        if query is not None:
            await self._register(digest, query)
            return query
        found = await self._find(digest)
        if found is None:
            # Apollo's clients look for this message as well as the code; 200, as a GraphQL
            # answer the client is expected to act on (send the query with the hash).
            raise DocumentRefused("PersistedQueryNotFound", NOT_FOUND, status=200)
        return found

    def _trusted(self, digest: str) -> str:
        assert self._manifest is not None
        document = self._manifest.documents.get(digest)
        if document is None:
            raise DocumentRefused(
                "This server runs only its trusted documents, and this is not one of them.",
                NOT_TRUSTED,
            )
        return document

    async def _find(self, digest: str) -> str | None:
        document = self._local.get(digest)
        if document is not None:
            return document
        (stored,) = await self._cache.get_many([KEY_PREFIX + digest])
        if stored is None:
            return None
        document = stored.decode()
        if sha256_of(document) != digest:  # not what was registered: never run it
            return None
        self._keep(digest, document)
        return document

    async def _register(self, digest: str, document: str) -> None:
        # Written each time, though this process may know it: another process may have
        # seen it expire, and a retry with the query is how a client registers it again.
        await self._cache.set_many({KEY_PREFIX + digest: document.encode()}, self._ttl_s)
        self._keep(digest, document)

    def _keep(self, digest: str, document: str) -> None:
        self._local.set(digest, document, self._ttl_s)


def _requested_hash(persisted: Any) -> str:
    if not isinstance(persisted, dict):
        raise DocumentRefused("extensions.persistedQuery must be an object.", BAD_REQUEST)
    if persisted.get("version") != 1:
        raise DocumentRefused("Only version 1 of persisted queries is supported.", NOT_SUPPORTED)
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower()):
        raise DocumentRefused(
            "extensions.persistedQuery.sha256Hash must be a SHA-256 in 64 hex digits.",
            BAD_REQUEST,
        )
    return digest.lower()
