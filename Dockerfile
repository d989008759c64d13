# syntax=docker/dockerfile:1
# The API server. Stores are chosen with CHIRP_*_URL; without them it runs on the embedded
# default, with its SQLite file and media under /data (mount a volume there).

# The browser files (GraphiQL, React, graphql-ws) come from npm, pinned in web/package-lock.json;
# this stage only installs them, so node stays out of the final image.
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CHIRP_DATA_DIR=/data \
    CHIRP_USERS_URL=sqlite:////data/chirp.db CHIRP_TWEETS_URL=sqlite:////data/chirp.db \
    CHIRP_SEARCH_URL=sqlite:////data/chirp.db CHIRP_MEDIA_URL=file:////data/media

WORKDIR /srv/chirp
COPY pyproject.toml README.md ./
COPY app ./app
COPY schema ./schema
COPY resolvers ./resolvers
COPY loaders ./loaders
COPY storage ./storage
RUN pip install --no-cache-dir -e . && useradd --system --create-home chirp \
    && mkdir -p /data && chown chirp /data
# What `make install` does after `npm ci`: copy the files app/assets.py names into
# app/static/vendor (node_modules is mounted for this step only, not kept in a layer).
RUN --mount=type=bind,from=web,source=/web/node_modules,target=/srv/chirp/web/node_modules \
    python -m app.assets

USER chirp
VOLUME /data
EXPOSE 8000
CMD ["sh", "-c", "chirp migrate && exec chirp serve --host 0.0.0.0 --port 8000"]
